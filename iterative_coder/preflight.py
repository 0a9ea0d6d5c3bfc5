"""Whether a folder can hold the session asked for: a new one, a resumed one, or one that never got
past its request and goes on by the command that started it."""

from __future__ import annotations

import shlex
from pathlib import Path

from .names import LOG, SESSION, TASK, resume_command
from .settings import UsageError
from .workspace import Workspace


def check_workspace(directory: Path, resuming: bool) -> None:
    """Refuse a workspace that cannot be used as asked, with what to do instead."""
    workspace = Workspace(directory)
    start = f"python -m iterative_coder --workspace {shlex.quote(str(directory))}"
    if resuming:
        if not directory.is_dir():
            raise UsageError(
                f"--resume {directory}: no such folder. Start a new session with: {start}",
                "workspace_unusable",
            )
        if not workspace.has_session():
            if workspace.exists(SESSION):
                raise UsageError(
                    f"--resume {directory}: no task.md there (only a session.json, left by a session that "
                    f"never got its request), so there is nothing to continue. Start a new session with: "
                    f"{start} --task TEXT",
                    "workspace_unusable",
                )
            raise UsageError(
                f"--resume {directory}: no session there (no task.md or plan.md). Start one with: {start}",
                "workspace_unusable",
            )
        return
    if directory.exists() and not directory.is_dir():
        raise UsageError(
            f"--workspace {directory} is a file, not a folder. Pick a folder.", "workspace_unusable"
        )
    if workspace.has_session():
        raise UsageError(
            f"{directory} already holds a session; nothing was changed. Continue it with: "
            f"{resume_command(directory)}  (or pick another --workspace)",
            "workspace_unusable",
        )


def not_begun(directory: Path, task: str | None) -> bool:
    """Whether ``directory`` holds a session that never got past its request: task.md with only
    session.json and log.jsonl beside it (its first model call failed, or it stopped before a plan was
    approved). Running the command that started it goes on with it; a different ``--task`` is refused
    (that one belongs in another folder)."""
    workspace = Workspace(directory)
    if not directory.is_dir() or TASK not in workspace.names() or workspace.names() - {TASK, SESSION, LOG}:
        return False
    before = (workspace.read(TASK) or "").strip()
    if task and task.strip() and task.strip() != before:
        shown = before if len(before) <= 60 else before[:57] + "..."
        raise UsageError(
            f"{directory} holds a session that never got past its request, for another task "
            f"({shown!r}); nothing was changed. Continue that one with: {resume_command(directory)}  "
            "(or pick another --workspace for this task)",
            "workspace_unusable",
        )
    return True
