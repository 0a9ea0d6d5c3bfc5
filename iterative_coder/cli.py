"""The command line: arguments, wiring and exit codes.

``--help`` and ``--version`` import nothing heavy; AutoGen is imported only to run a session.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

EXIT_USAGE = 2
EXIT_MODEL_UNAVAILABLE = 75
EXIT_INTERRUPTED = 130
DEFAULT_WORKSPACE = "workspace"
DEFAULT_MAX_ITERATIONS = 10


class UsageError(Exception):
    """Bad input: one line for the person, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = _Parser(
        prog="python -m iterative_coder",
        description=(
            "Grow one Python program with AI agents: agree a plan with the Planner, then the Coder writes "
            "script_vN.py, the Reviewer writes review_vN.md, and you add feedback, version after version. "
            "Every artifact is a file in the workspace folder."
        ),
        epilog=(
            "Model configuration, first that applies: --config-list PATH; env OAI_CONFIG_LIST (a path "
            "or the JSON); a file OAI_CONFIG_LIST here; OPENAI_API_KEY and/or OPENAI_BASE_URL (any "
            "OpenAI-compatible server, e.g. Ollama at http://localhost:11434/v1). "
            "A .env file here is read first."
        ),
    )
    parser.add_argument(
        "--workspace", metavar="DIR", help=f"folder for a new session (default: {DEFAULT_WORKSPACE}/)"
    )
    parser.add_argument("--resume", metavar="DIR", help="continue the session in DIR where it stopped")
    parser.add_argument("--task", metavar="TEXT", help="what to build (otherwise you are asked)")
    parser.add_argument(
        "--max-iterations",
        metavar="N",
        type=_positive_int,
        help=f"most versions to write (default: {DEFAULT_MAX_ITERATIONS}, or the session's own on --resume)",
    )
    parser.add_argument(
        "--model", metavar="NAME", help="the model (an entry of OAI_CONFIG_LIST, or the name to send)"
    )
    parser.add_argument("--config-list", metavar="PATH", help="an OAI_CONFIG_LIST JSON file of model entries")
    parser.add_argument("--no-stream", action="store_true", help="do not stream replies as they arrive")
    parser.add_argument(
        "--execute",
        choices=("ask", "always", "never"),
        help="may generated code run? (default: ask when you are at a terminal, else never)",
    )
    parser.add_argument(
        "--run-timeout",
        metavar="SECONDS",
        type=_positive_number,
        default=30.0,
        help="stop a run of generated code after this long (default: 30)",
    )
    parser.add_argument("--version", action="version", version=f"iterative_coder {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except UsageError as exc:
        print(f"iterative_coder: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _workspace_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    if args.resume:
        if args.task:
            raise UsageError("--task starts a new session; --resume continues one. Use one or the other.")
        if args.workspace and Path(args.workspace).resolve() != Path(args.resume).resolve():
            raise UsageError("--resume DIR names the workspace; leave out --workspace.")
        return Path(args.resume), True
    return Path(args.workspace or DEFAULT_WORKSPACE), False


def _check_workspace(directory: Path, resuming: bool) -> None:
    from .workspace import Workspace

    workspace = Workspace(directory)
    if resuming:
        if not directory.is_dir():
            raise UsageError(
                f"--resume {directory}: no such folder. Start a new session with: "
                f"python -m iterative_coder --workspace {shlex.quote(str(directory))}"
            )
        if not workspace.has_session():
            raise UsageError(
                f"--resume {directory}: no session there (no task.md, plan.md or session.json). "
                f"Start one with: python -m iterative_coder --workspace {shlex.quote(str(directory))}"
            )
        return
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--workspace {directory} is a file, not a folder. Pick a folder.")
    if workspace.has_session():
        raise UsageError(
            f"{directory} already holds a session; nothing was changed. Continue it with: "
            f"python -m iterative_coder --resume {shlex.quote(str(directory))}  (or pick another --workspace)"
        )


def _run(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_dotenv_file, resolve_model_entries

    directory, resuming = _workspace_dir(args)
    _check_workspace(directory, resuming)

    from .workspace import SessionLog, Workspace, WorkspaceError

    workspace = Workspace(directory)
    session = SessionLog.load(workspace)
    saved = session.settings
    load_dotenv_file(Path.cwd())
    env = dict(os.environ)
    try:
        entries = resolve_model_entries(
            config_list_path=args.config_list, model=args.model or saved.get("model"), env=env, cwd=Path.cwd()
        )
    except ConfigError as exc:
        if args.model or not saved.get("model"):
            raise UsageError(str(exc)) from None
        # The session's model is no longer configured: use the configuration's first entry.
        try:
            entries = resolve_model_entries(
                config_list_path=args.config_list, model=None, env=env, cwd=Path.cwd()
            )
        except ConfigError as again:
            raise UsageError(str(again)) from None

    entry = entries[0]
    stream = not args.no_stream
    max_iterations = args.max_iterations or saved.get("max_iterations") or DEFAULT_MAX_ITERATIONS
    session.settings.update({"model": entry.model, "stream": stream, "max_iterations": max_iterations})
    session.data["model"] = entry.model

    try:
        from .loop import LoopSettings

        settings = LoopSettings(
            max_iterations=max_iterations,
            execute=args.execute or ("ask" if sys.stdin.isatty() else "never"),
            run_timeout=args.run_timeout,
        )
        return _run_session(workspace, session, entry, args.task, resuming, stream, settings)
    except WorkspaceError as exc:
        raise UsageError(str(exc)) from None


def _run_session(workspace, session, entry, task, resuming, stream, settings) -> int:  # noqa: ANN001
    import asyncio
    import logging
    import warnings

    # AutoGen logs and warns through the standard machinery; keep that off the person's screen.
    logging.getLogger().addHandler(logging.NullHandler())
    warnings.filterwarnings("ignore")

    from .agents import AgentFactory
    from .app import resume_command, run_session
    from .models import create_role_clients, redact
    from .ui import TerminalUI

    ui = TerminalUI(stream_text=stream)
    if not resuming:
        workspace.root.mkdir(parents=True, exist_ok=True)
    session.save()
    ui.info(f"Workspace: {workspace.root}  ·  model: {entry.describe()}")
    clients = create_role_clients(entry, stream=stream)
    agents = AgentFactory(clients["default"], model_name=entry.model, stream=stream, role_clients=clients)
    loop = asyncio.new_event_loop()
    main_task = loop.create_task(
        run_session(workspace, session, agents, ui, settings, task=task, resuming=resuming)
    )
    try:
        end = loop.run_until_complete(main_task)
        return end.exit_code
    except KeyboardInterrupt:
        ui.info(f"\nStopped. Resume with: {resume_command(workspace)}")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a model or network failure: explain it, keep the files
        message, code = _explain_failure(exc, entry)
        ui.error(redact(message, [entry.api_key, os.environ.get("OPENAI_API_KEY")]))
        ui.info(f"Your files are kept. Resume with: {resume_command(workspace)}")
        return code
    finally:
        _shut_down(loop, clients.values())


def _explain_failure(exc: Exception, entry) -> tuple[str, int]:  # noqa: ANN001
    import openai

    from .workspace import WorkspaceError

    if isinstance(exc, WorkspaceError):
        return str(exc), EXIT_USAGE
    where = entry.describe()
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return (
            f"The model server refused the API key for {where} ({exc.status_code}). "
            f"Check the api_key of that entry or OPENAI_API_KEY.",
            EXIT_USAGE,
        )
    if isinstance(exc, openai.NotFoundError):
        return (
            f"The model server does not know model {entry.model} ({where}, 404). "
            f"Check the model name (--model) and base_url.",
            EXIT_USAGE,
        )
    if isinstance(exc, openai.APITimeoutError):
        return f"The model at {where} did not answer in time.", EXIT_MODEL_UNAVAILABLE
    if isinstance(exc, openai.APIConnectionError):
        return f"Cannot reach the model server for {where}: is it running, and is the URL right?", (
            EXIT_MODEL_UNAVAILABLE
        )
    if isinstance(exc, openai.APIStatusError):
        return (
            f"The model server for {where} failed ({exc.status_code}): {exc.message}",
            EXIT_MODEL_UNAVAILABLE,
        )
    if isinstance(exc, openai.APIError):
        return f"The model call to {where} failed: {exc.message}", EXIT_MODEL_UNAVAILABLE
    if os.environ.get("ITERATIVE_CODER_DEBUG"):
        raise exc
    return f"Unexpected error: {type(exc).__name__}: {exc}", 1


def _shut_down(loop, clients) -> None:  # noqa: ANN001
    """Cancel what is still running and close the model clients, without waiting on a person."""
    import asyncio

    try:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2))
        for client in clients:
            loop.run_until_complete(asyncio.wait_for(client.close(), timeout=2))
    except (Exception, KeyboardInterrupt):
        pass
    finally:
        loop.close()
