"""Long feedback or a change request written in the person's own editor (``/edit``): ``$VISUAL``,
else ``$EDITOR``, else the first of a few common editors found on PATH.

The editor runs in the foreground with the terminal, on a temporary file prefilled with a hint in
comment lines; what the person saves, without the comment lines, is the text.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

FALLBACK_EDITORS = ("nano", "vim", "vi")  # tried in this order when neither variable is set
COMMENT = "#"  # a line starting with this is left out of the text (as in a git commit message)


class EditorUnavailable(Exception):
    """No editor could be started, or it did not end well: one line for the person."""


def editor_command(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The command that starts the person's editor (the file name is added to it)."""
    for variable in ("VISUAL", "EDITOR"):
        value = environ.get(variable, "").strip()
        if not value:
            continue
        try:
            command = shlex.split(value)
        except ValueError as exc:
            raise EditorUnavailable(
                f"Cannot read ${variable} ({exc}); set it to an editor command."
            ) from None
        if command:
            return command
    for name in FALLBACK_EDITORS:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return [found]
    raise EditorUnavailable(
        "No editor found: set EDITOR (e.g. export EDITOR=nano) to use /edit, or type it at the prompt."
    )


def without_comments(text: str) -> str:
    """The text without its comment lines, stripped of blank lines around it."""
    kept = [line for line in text.splitlines() if not line.startswith(COMMENT)]
    return "\n".join(kept).strip()


@contextlib.contextmanager
def _terminal() -> Iterator[dict[str, object]]:
    """The editor's standard streams: ours, or the terminal itself when our output is not one
    (output redirected, ``--json``), so the editor never draws into a file."""
    if sys.stdout.isatty():
        yield {}
        return
    try:
        tty = open("/dev/tty", "r+b", buffering=0)  # noqa: SIM115 (closed below)
    except OSError:
        yield {}
        return
    with tty:
        yield {"stdin": tty, "stdout": tty}


def edit_text(hint: Sequence[str], environ: Mapping[str, str] = os.environ) -> str:
    """Open the editor on a file holding ``hint`` as comment lines; the text saved, without comment
    lines ("" when nothing was written). Raises :class:`EditorUnavailable`."""
    command = editor_command(environ)
    fd, name = tempfile.mkstemp(prefix="iterative-coder-feedback-", suffix=".md")
    path = Path(name)
    # Ctrl-C belongs to the editor while it runs; a Python handler (unlike SIG_IGN) is not inherited.
    previous = signal.signal(signal.SIGINT, lambda _number, _frame: None)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n" + "".join(f"{COMMENT} {line}\n" for line in hint))
        try:
            with _terminal() as streams:
                ended = subprocess.run([*command, str(path)], check=False, **streams)  # type: ignore[call-overload]
        except OSError as exc:
            raise EditorUnavailable(
                f"Cannot start the editor {command[0]} ({exc.strerror or exc}); check $VISUAL and $EDITOR."
            ) from None
        if ended.returncode != 0:
            raise EditorUnavailable(f"The editor {command[0]} exited with status {ended.returncode}.")
        return without_comments(path.read_text(encoding="utf-8", errors="replace"))
    finally:
        signal.signal(signal.SIGINT, previous)
        path.unlink(missing_ok=True)
