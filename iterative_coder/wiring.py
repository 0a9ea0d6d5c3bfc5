"""From parsed arguments to a running session: settings, workspace checks, the lock, model clients,
the event loop, and how the session's end becomes an exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ENV_SOURCE, ConfigError, entries_for_roles, load_dotenv_file, resolve_model_entries
from .endings import REASON_BY_EXIT_CODE, SessionEnd
from .names import CACHE_FOLDER, resume_command
from .roles import ROLE_NAMES
from .secrets_env import make_memory_private, move_secrets_out_of_environ
from .session import SessionLog
from .settings import Settings, UsageError, resolve_settings
from .workspace import Workspace, WorkspaceError, WorkspaceLock, inner_folder

if TYPE_CHECKING:
    from .config import ModelEntry


def run_from_arguments(args: argparse.Namespace) -> int:
    """Resolve the settings, check the workspace, take its lock and run the session; the exit code."""
    load_dotenv_file(Path.cwd())
    # Keys leave the process environment (and /proc/<pid>/environ) before any program can run.
    secrets = move_secrets_out_of_environ()
    make_memory_private()
    directory = Path(args.resume or args.workspace or "workspace")
    saved = SessionLog.load(Workspace(directory)).settings if args.resume else {}
    settings = resolve_settings(args, saved, person_at_terminal=sys.stdin.isatty())
    check_workspace(settings.workspace, settings.resuming)
    workspace = Workspace(settings.workspace)
    try:
        entries = resolve_model_entries(
            config_list_path=settings.config_list,
            model=settings.model,
            env={**os.environ, **secrets},
            cwd=Path.cwd(),
        )
        roles = entries_for_roles(entries, chosen_models(settings, entries))
        if settings.resuming:
            workspace.check_versions()
        else:
            workspace.root.mkdir(parents=True, exist_ok=True)
        with WorkspaceLock(workspace):
            if not settings.resuming and workspace.has_session():  # another process started one meanwhile
                check_workspace(settings.workspace, settings.resuming)
            session = SessionLog.load(workspace)  # read again now that no other process can write it
            if settings.from_version:
                _branch(workspace, session, settings)
            return run_session_process(settings, workspace, session, roles)
    except (ConfigError, WorkspaceError) as exc:
        raise UsageError(str(exc)) from None


def check_workspace(directory: Path, resuming: bool) -> None:
    """Refuse a workspace that cannot be used as asked, with what to do instead."""
    workspace = Workspace(directory)
    start = f"python -m iterative_coder --workspace {shlex.quote(str(directory))}"
    if resuming:
        if not directory.is_dir():
            raise UsageError(f"--resume {directory}: no such folder. Start a new session with: {start}")
        if not workspace.has_session():
            raise UsageError(
                f"--resume {directory}: no session there (no task.md, plan.md or session.json). "
                f"Start one with: {start}"
            )
        return
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--workspace {directory} is a file, not a folder. Pick a folder.")
    if workspace.has_session():
        raise UsageError(
            f"{directory} already holds a session; nothing was changed. Continue it with: "
            f"{resume_command(directory)}  (or pick another --workspace)"
        )


def chosen_models(settings: Settings, entries: list[ModelEntry]) -> dict[str, str | None]:
    """Each role's model: its --ROLE-model flag, else (on resume, without --model) the model the
    session used for it, while the configuration still has it."""
    available = {entry.model for entry in entries}
    chosen: dict[str, str | None] = {}
    for role in ROLE_NAMES:
        before = settings.saved_role_models.get(role)
        keep = before if before in available or entries[0].source == ENV_SOURCE else None
        chosen[role] = settings.role_models.get(role) or keep
    return chosen


def _branch(workspace: Workspace, session: SessionLog, settings: Settings) -> None:
    version = settings.from_version or 0
    branch = workspace.branch_from(version)
    session.clear_finished()
    print(
        f"Later versions moved to {branch}; going on from script_v{version}.py.",
        file=sys.stderr if settings.json else sys.stdout,
    )


def run_session_process(
    settings: Settings, workspace: Workspace, session: SessionLog, roles: dict[str, list[ModelEntry]]
) -> int:
    """Build the UI, the clients and the context, run the session on an event loop; the exit code."""
    from .ui import TerminalUI

    # AutoGen logs through the standard machinery; keep that off the person's screen.
    logging.getLogger().addHandler(logging.NullHandler())
    ui = TerminalUI(stream_text=settings.stream, to_stderr=settings.json)
    session.settings.clear()
    session.settings.update(settings.kept({role: entries[0].model for role, entries in roles.items()}))
    session.data.pop("model", None)  # written by 0.1, never read
    if settings.resuming and session.rebuilt:
        ui.warn(f"{session.rebuilt}; rebuilt it from the files (the token counts of earlier calls are lost).")
    session.save()
    firsts = {role: entries[0].describe() for role, entries in roles.items()}
    if len(set(firsts.values())) == 1:
        ui.info(f"Workspace: {workspace.root}  ·  model: {firsts['coder']}")
    else:
        ui.info(
            f"Workspace: {workspace.root}  ·  models: " + ", ".join(f"{r} {m}" for r, m in firsts.items())
        )
    end = _run_on_event_loop(settings, workspace, session, roles, ui)
    if settings.json:  # one object, whatever happened
        from .app import json_result

        print(json.dumps(json_result(workspace, end), indent=2))
    return end.exit_code


def _run_on_event_loop(settings, workspace, session, roles, ui) -> SessionEnd:  # noqa: ANN001
    from .accounting import Budget
    from .agents import AgentFactory
    from .app import run_session
    from .config import redact
    from .context import SessionContext
    from .manager import Manager
    from .models import ClientOptions, create_role_clients

    cache_dir = (
        None
        if settings.cache_seed is None
        else inner_folder(workspace.root, CACHE_FOLDER, f"seed-{settings.cache_seed}")
    )
    options = ClientOptions(
        settings.stream, settings.request_timeout, settings.tries, cache_dir, ui.status, ui.warn
    )
    agents = AgentFactory(
        create_role_clients(roles, options),
        stream=settings.stream,
        budget=Budget(tokens=settings.budget_tokens, usd=settings.budget_usd),
    )
    ctx = SessionContext(workspace, session, agents, Manager(ui), ui, settings)
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(loop.create_task(run_session(ctx)))
    except KeyboardInterrupt:
        agents.cancellation.cancel()
        ui.info(f"\nStopped. Resume with: {resume_command(workspace.root)}")
        return SessionEnd("interrupted")
    except Exception as exc:  # a model or network failure: explain it, keep the files
        message, code = explain_failure(exc)
        ui.error(redact(message, [e.api_key for entries in roles.values() for e in entries]))
        ui.info(f"Your files are kept. Resume with: {resume_command(workspace.root)}")
        return SessionEnd(REASON_BY_EXIT_CODE.get(code, "error"))
    finally:
        _shut_down(loop, agents)


def _shut_down(loop: asyncio.AbstractEventLoop, agents: object) -> None:
    """Cancel what is still running and close the model clients, without waiting on a person."""
    try:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2))
        loop.run_until_complete(asyncio.wait_for(agents.close(), timeout=2))  # type: ignore[attr-defined]
    except (Exception, KeyboardInterrupt):
        pass
    finally:
        loop.close()


def explain_failure(exc: Exception) -> tuple[str, int]:
    """What to tell the person about an exception that ended the session, and the exit code."""
    from .errors import session_ending

    message, code, expected = session_ending(exc)
    if not expected and os.environ.get("ITERATIVE_CODER_DEBUG"):
        raise exc
    return message, code
