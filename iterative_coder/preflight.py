"""Whether a folder can hold the session asked for: a new one, a resumed one, or one that never got
past its request and goes on by the command that started it."""

from __future__ import annotations

import shlex
from pathlib import Path

from .names import LOG, SESSION, TASK, resume_command, script_name
from .session import SessionLog
from .settings import UsageError
from .workspace import Workspace


def refuse_a_file(directory: Path, option: str) -> None:
    """Refuse a file named where the workspace folder belongs, in the same words for each option."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(
            f"{option} {directory} is a file, not a folder. Name the workspace folder instead.",
            "workspace_unusable",
        )


def check_workspace(directory: Path, resuming: bool) -> None:
    """Refuse a workspace that cannot be used as asked, with what to do instead."""
    workspace = Workspace(directory)
    start = f"python -m iterative_coder --workspace {shlex.quote(str(directory))}"
    if resuming:
        refuse_a_file(directory, "--resume")
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
    refuse_a_file(directory, "--workspace")
    if workspace.has_session():
        finished = SessionLog.load(workspace).finished_version
        go_on = (
            f"Continue it with: {resume_command(directory)}"
            if finished is None  # a finished one only shows its summary again when resumed
            else f"It is finished ({script_name(finished)} accepted); to work on from a version: "
            f"{resume_command(directory)} --from-version {finished}"
        )
        raise UsageError(
            f"{directory} already holds a session; nothing was changed. {go_on}  (or pick another "
            "--workspace)",
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
