"""From parsed arguments to a running session: settings, workspace checks, the lock, model clients,
the event loop, and how the session's end becomes an exit code."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import (
    ENV_SOURCE,
    NO_MODEL_MESSAGE,
    ConfigError,
    NothingConfigured,
    entries_for_roles,
    load_dotenv_file,
    resolve_model_entries,
)
from .endings import (
    ENDINGS,
    REASON_BY_EXIT_CODE,
    SessionEnd,
    interruption,
    interruption_behind,
)
from .errors import is_file_problem
from .execution.running import session_runs
from .execution.strays import stop_strays
from .execution.test_channel import remove_stale_reports
from .interruptions import interruption_for, signals_also_cancel, signals_stop_the_session
from .names import CACHE_FOLDER, TASK
from .preflight import check_workspace, not_begun, refuse_a_file
from .roles import ROLE_NAMES
from .secrets_env import make_memory_private, move_secrets_out_of_environ
from .session import SessionLog
from .settings import DEFAULT_WORKSPACE, Settings, UsageError, resolve_settings
from .workspace import Workspace, WorkspaceError, WorkspaceLock, inner_folder

if TYPE_CHECKING:
    from .config import ModelEntry
    from .ui import TerminalUI


def run_from_arguments(args: argparse.Namespace) -> int:
    """Resolve the settings, check the workspace, take its lock and run the session; the exit code."""
    with signals_stop_the_session():
        return _run_from_arguments(args)


def _run_from_arguments(args: argparse.Namespace) -> int:
    load_dotenv_file(Path.cwd())
    # Keys leave the process environment (and /proc/<pid>/environ) before any program can run.
    secrets = move_secrets_out_of_environ()
    make_memory_private()
    directory = Path(args.resume or args.workspace or DEFAULT_WORKSPACE)
    try:
        if args.resume:  # before its session.json is read: a file there is named as such
            refuse_a_file(directory, "--resume")
        continuing = not args.resume and not_begun(directory, args.task)
        saved = SessionLog.load(Workspace(directory)).settings if args.resume or continuing else {}
        settings = resolve_settings(args, saved, person_at_terminal=sys.stdin.isatty())
        if continuing:  # the same command again: go on as --resume would
            settings = replace(settings, resuming=True, task=None)
        check_workspace(settings.workspace, settings.resuming)
        workspace = Workspace(settings.workspace)
        argv = getattr(args, "argv", None) or sys.argv[1:]
        entries, settings, ui = model_entries(settings, {**os.environ, **secrets}, argv)
        roles = entries_for_roles(entries, chosen_models(settings, entries))
        if settings.resuming:
            workspace.check_versions()
        created = not settings.resuming and not workspace.root.exists()
        if not settings.resuming:
            workspace.root.mkdir(parents=True, exist_ok=True)
        with _dropped_if_left_empty(workspace.root, created), WorkspaceLock(workspace):
            # What happened before the session starts, said under its Workspace: line, by its UI.
            notes = stop_strays(workspace.root)  # what a tool killed during a run left running
            remove_stale_reports()  # and the empty report folders it could not remove
            if not settings.resuming and workspace.has_session():  # another process started one meanwhile
                check_workspace(settings.workspace, settings.resuming)
            # Read again now that no other process can write it; a new session starts afresh (a
            # session.json without task.md is left by a session that never got its request).
            session = SessionLog.load(workspace) if settings.resuming else SessionLog(workspace)
            if continuing:
                notes.append(f"{directory} holds a session that never got past its request: going on.")
            if settings.from_version:
                notes.append(_branch(workspace, session, settings))
            return run_session_process(settings, session, roles, ui, notes)
    except ConfigError as exc:
        raise UsageError(str(exc), "configuration") from None
    except WorkspaceError as exc:
        raise UsageError(str(exc), "workspace_unusable") from None


@contextlib.contextmanager
def _dropped_if_left_empty(folder: Path, created: bool) -> Iterator[None]:
    """A workspace folder this run created is removed again when it ends empty (stopped at the first
    question): nothing to resume, and no folder that makes the same command refuse to start."""
    try:
        yield
    finally:
        if created:
            with contextlib.suppress(OSError):  # not empty, or gone: leave it
                folder.rmdir()


def model_entries(
    settings: Settings, env: dict[str, str], argv: list[str]
) -> tuple[list[ModelEntry], Settings, TerminalUI | None]:
    """The model entries to use; the settings with the local server in use, if any; and the UI when
    one was made to ask which local model to use.

    With nothing configured: the local server the session used before (``--resume``), else one that
    answers on this machine (local_models.py), else the message that nothing is configured.
    """
    try:
        entries = resolve_model_entries(
            config_list_path=settings.config_list, model=settings.model, env=env, cwd=Path.cwd()
        )
        return entries, replace(settings, local_server=None), None
    except NothingConfigured:
        pass
    from .local_models import find_local_servers, offer

    url, model, ui = settings.local_server, settings.model or settings.saved_role_models.get("coder"), None
    if url is None:
        servers = find_local_servers(env)
        if not servers:
            raise ConfigError(NO_MODEL_MESSAGE)
        if settings.interactive and sys.stdin.isatty():
            ui = make_ui(settings)
        server, model = offer(servers, settings.model, argv, ui)
        url = server.base_url
    # The same entry as OPENAI_BASE_URL alone makes: any model name, and no key.
    entries = resolve_model_entries(
        config_list_path=None, model=model, env={**env, "OPENAI_BASE_URL": url}, cwd=Path.cwd()
    )
    return entries, replace(settings, local_server=url), ui


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


def _branch(workspace: Workspace, session: SessionLog, settings: Settings) -> str:
    """Set the versions after ``--from-version`` aside; the line that says where they went."""
    version = settings.from_version or 0
    branch = workspace.branch_from(version)
    session.clear_finished()
    return f"Later versions moved to {branch}; going on from script_v{version}.py."


def make_ui(settings: Settings) -> TerminalUI:
    """The session's terminal UI (on stderr under ``--json``)."""
    from .ui import TerminalUI

    return TerminalUI(stream_text=settings.stream, to_stderr=settings.json)


def run_session_process(
    settings: Settings,
    session: SessionLog,
    roles: dict[str, list[ModelEntry]],
    ui: TerminalUI | None = None,
    notes: Sequence[str] = (),
) -> int:
    """Build the UI (unless given), the clients and the context, run the session (in the session's
    workspace) on an event loop; the exit code. ``notes``: lines on what happened before the start,
    shown under the header."""
    workspace = session.workspace
    # AutoGen logs through the standard machinery; keep that off the person's screen.
    logging.getLogger().addHandler(logging.NullHandler())
    ui = ui or make_ui(settings)
    session.settings.clear()
    session.settings.update(settings.kept({role: entries[0].model for role, entries in roles.items()}))
    if settings.resuming and (warning := session.warning()):
        ui.warn(warning)
    if not settings.resuming and settings.task and settings.task.strip():
        workspace.write(TASK, settings.task.strip() + "\n")  # task.md first: it makes the session
    if workspace.has_session():  # else session.json waits for the request (app.py writes both)
        session.save()
    firsts = {role: entries[0].describe() for role, entries in roles.items()}
    if len(set(firsts.values())) == 1:
        ui.info(f"Workspace: {workspace.root}  ·  model: {firsts['coder']}")
    else:
        ui.info(
            f"Workspace: {workspace.root}  ·  models: " + ", ".join(f"{r} {m}" for r, m in firsts.items())
        )
    for note in notes:  # what happened before the start (versions set aside), under the header
        ui.info(note)
    if settings.network:
        ui.info("The program's runs may use the network (--network, kept for this session).")
    end = _run_on_event_loop(settings, workspace, session, roles, ui)
    if settings.json:  # one object, whatever happened
        from .app import json_result

        print(json.dumps(json_result(workspace, end), indent=2))
    return end.exit_code


def _interrupted(exc: KeyboardInterrupt, workspace, agents, ui) -> SessionEnd:  # noqa: ANN001
    """Ctrl-C, SIGTERM or SIGHUP during the session: the call under way cancelled, the resume line."""
    from .app import go_on_line

    agents.cancellation.cancel()
    end = SessionEnd(interruption(exc))
    with contextlib.suppress(OSError):  # a terminal that hung up takes no more lines
        ui.info(f"\n{ENDINGS[end.reason].message} {go_on_line(workspace)}")
    return end


def _run_on_event_loop(settings, workspace, session, roles, ui) -> SessionEnd:  # noqa: ANN001
    from .accounting import Budget
    from .agents import AgentFactory
    from .app import go_on_line, run_session
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
        settings.stream,
        settings.request_timeout,
        settings.tries,
        cache_dir,
        ui.status,
        ui.warn,
        call_deadline=settings.call_deadline,
        max_reply_chars=settings.max_reply_chars,
    )
    agents = AgentFactory(
        create_role_clients(roles, options),
        stream=settings.stream,
        budget=Budget(tokens=settings.budget_tokens, usd=settings.budget_usd),
    )
    ctx = SessionContext(workspace, session, agents, Manager(ui), ui, settings)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(DaemonThreads())
    received: list[int] = []
    with session_runs():  # the task and the job threads it starts see the session's end
        try:
            task = loop.create_task(run_session(ctx))
            with signals_also_cancel(loop, task, received):
                return loop.run_until_complete(task)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
            return _interrupted(exc, workspace, agents, ui)
        except asyncio.CancelledError:
            if not received:
                raise
            return _interrupted(interruption_for(received[0]), workspace, agents, ui)
        except Exception as exc:  # a model, network or file failure: explain it, keep the files
            stop = interruption_behind(exc) or (interruption_for(received[0]) if received else None)
            if stop is not None:
                return _interrupted(stop, workspace, agents, ui)
            message, code = explain_failure(exc)
            message = redact(message, [e.api_key for entries in roles.values() for e in entries])
            ui.error(message)
            ui.info(f"Your files are kept. {go_on_line(workspace)}")
            reason = "file_error" if is_file_problem(exc) else REASON_BY_EXIT_CODE.get(code, "error")
            return SessionEnd(reason, error=message)
        finally:
            _shut_down(loop, agents)


class DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """The event loop's executor (``asyncio.to_thread``): each job on a daemon thread of its own.

    A session stopped mid-run (Ctrl-C, SIGTERM, SIGHUP) then exits at once instead of waiting, at
    exit, for a thread that still runs generated code (its program, then its tests...): the programs
    running are killed on the way out, and none starts after that (:func:`session_runs`).
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the job
                future.set_exception(exc)

        threading.Thread(target=work, name="iterative_coder-job", daemon=True).start()
        return future


def _shut_down(loop: asyncio.AbstractEventLoop, agents: object) -> None:
    """Stop the generated programs still running, cancel what is still running and close the model
    clients, without waiting on a person."""
    try:
        from .execution.running import stop_all_programs

        stop_all_programs(ending=True)
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
