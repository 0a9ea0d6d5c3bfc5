"""Generated code cannot change the history: every workspace file is kept before a run, and what the
run changed, added or removed is put back afterwards and reported.

With the sandbox on, the workspace is not even visible to the program (only its run folder is); this
guard is for machines without one, and a second line of defence with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..names import RUNS_FOLDER
from ..workspace import atomic_write_text
from .sandbox import INSTALL_HINT, UPGRADE_HINT, unavailable_reason
from .trees import remove_tree, set_aside_from, set_aside_names

if TYPE_CHECKING:
    from ..context import SessionContext
    from ..workspace import Workspace

T = TypeVar("T")


def snapshot(workspace: Workspace) -> dict[str, bytes]:
    """The content of every file of the tool's in the workspace, by name."""
    kept = {}
    for name in workspace.names():
        with contextlib.suppress(OSError):
            kept[name] = workspace.path(name).read_bytes()
    return kept


def restore(workspace: Workspace, before: dict[str, bytes]) -> list[str]:
    """Put the workspace back as ``before`` had it; the names of the files that had been changed."""
    now = workspace.names()
    changed = []
    for name in sorted(now | set(before)):
        path = workspace.root / name
        if name not in before:
            clear(path)  # e.g. a forged feedback_v1.md
            changed.append(name)
            continue
        try:
            same = name in now and not path.is_symlink() and path.read_bytes() == before[name]
        except OSError:
            same = False
        if not same:
            clear(path)  # a link is replaced, never followed; a folder in a file's place goes
            atomic_write_text(path, before[name], durable=False)
            changed.append(name)
    return changed


def clear(path: Path) -> None:
    """Remove what is at ``path``, whatever its shape: a file, a link (never what it points to), a
    folder with all it holds (its links removed, not followed)."""
    if path.is_dir() and not path.is_symlink():
        remove_tree(path)
    else:
        path.unlink(missing_ok=True)


async def guarded(ctx: SessionContext, work: Callable[[], T]) -> T:
    """Run generated code (``work``, in a thread, off the event loop) with the history guarded."""
    if ctx.sandbox is None and not ctx.warned_unsandboxed:
        reason = "--sandbox off" if ctx.settings.sandbox == "off" else unavailable_reason()
        ctx.ui.warn(
            f"Generated code is not sandboxed ({reason}); to sandbox it, {INSTALL_HINT}. "
            "Unsandboxed, a program can reach this terminal: write to it and type into it."
        )
        ctx.warned_unsandboxed = True
    elif ctx.sandbox is not None and not ctx.sandbox.sized_tmp and not ctx.warned_unsandboxed:
        ctx.ui.warn(
            "This bubblewrap cannot size the sandbox's /tmp (--size): "
            f"a program can fill memory there; {UPGRADE_HINT}."
        )
        ctx.warned_unsandboxed = True
    before, aside = snapshot(ctx.workspace), set_aside_names(ctx.workspace.root / RUNS_FOLDER)
    try:
        return await asyncio.to_thread(work)
    finally:
        for name in restore(ctx.workspace, before):
            ctx.ui.warn(f"The program changed {name}; restored.")
        for line in set_aside_lines(ctx.workspace.root, aside):
            ctx.ui.warn(line)


def set_aside_lines(root: Path, before: set[str]) -> list[str]:
    """One line for each run folder set aside since ``before`` (it could not be removed for a run)."""
    return [
        f"{RUNS_FOLDER}/{set_aside_from(name)} could not be removed for this run; it was set aside as "
        f"{RUNS_FOLDER}/{name} (delete it once you no longer need it)."
        for name in sorted(set_aside_names(root / RUNS_FOLDER) - before)
    ]
