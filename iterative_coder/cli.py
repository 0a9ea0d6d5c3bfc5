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
ROLE_FLAGS = ("planner", "tester", "coder", "reviewer")  # config.ROLES, without importing it for --help
# Options a session keeps in session.json, so that --resume goes on with them.
KEPT_SETTINGS = ("budget_tokens", "budget_usd", "cache_seed")


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
    parser.add_argument(
        "--request-timeout",
        metavar="SECONDS",
        type=_positive_number,
        default=120.0,
        help="give up on one model request after this long, then retry (default: 120)",
    )
    parser.add_argument(
        "--retries",
        metavar="N",
        type=_positive_int,
        default=4,
        help="tries per model for a call that fails (rate limit, server error...) before the next "
        "OAI_CONFIG_LIST entry is tried (default: 4)",
    )
    automation = parser.add_argument_group("automation and cost")
    automation.add_argument(
        "--yes",
        action="store_true",
        help="no prompts: approve the first plan and tests, no feedback, iterate until the Reviewer "
        "approves or the limit (needs --task for a new session)",
    )
    automation.add_argument(
        "--json", action="store_true", help="print one JSON object with the outcome at the end"
    )
    automation.add_argument(
        "--budget-tokens", metavar="N", type=_positive_int, help="stop before the session spends more tokens"
    )
    automation.add_argument(
        "--budget-usd", metavar="X", type=_positive_number, help="stop before the session spends more dollars"
    )
    automation.add_argument(
        "--cache-seed",
        metavar="N",
        type=int,
        help="cache model replies on disk under the workspace (one cache per seed); off by default",
    )
    automation.add_argument(
        "--from-version",
        metavar="K",
        type=_positive_int,
        help="with --resume: go on from script_vK.py; later versions move to DIR/branches/",
    )
    for role in ROLE_FLAGS:
        automation.add_argument(
            f"--{role}-model", metavar="NAME", help=f"the OAI_CONFIG_LIST entry (by model) for the {role}"
        )
    parser.add_argument("--version", action="version", version=f"iterative_coder {__version__}")
    return parser


def build_status_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m iterative_coder status DIR``."""
    parser = _Parser(
        prog="python -m iterative_coder status",
        description="Show a workspace's history (no model, no key needed).",
    )
    parser.add_argument("directory", metavar="DIR", help="the workspace folder")
    parser.add_argument("--json", action="store_true", help="the same data as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["status"]:
            return _status(build_status_parser().parse_args(argv[1:]))
        args = build_parser().parse_args(argv)
        return _run(args)
    except UsageError as exc:
        print(f"iterative_coder: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _status(args: argparse.Namespace) -> int:
    import json

    from .status import history, render_text
    from .workspace import Workspace, WorkspaceError

    workspace = Workspace(Path(args.directory))
    if not workspace.root.is_dir() or not workspace.has_session():
        raise UsageError(f"status {args.directory}: no session there (no task.md, plan.md or session.json).")
    try:
        report = history(workspace)
    except WorkspaceError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(report.to_json(), indent=2) if args.json else render_text(report))
    return 0


def _workspace_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    if args.from_version and not args.resume:
        raise UsageError("--from-version K goes with --resume DIR.")
    if args.yes and args.execute == "ask":
        raise UsageError("--execute ask needs a person; with --yes use --execute always or never.")
    if args.yes and not args.resume and not (args.task and args.task.strip()):
        raise UsageError("--yes needs --task TEXT for a new session (there is nobody to ask).")
    if args.resume:
        if args.task:
            raise UsageError("--task starts a new session; --resume continues one. Use one or the other.")
        if args.workspace and Path(args.workspace).resolve() != Path(args.resume).resolve():
            raise UsageError("--resume DIR names the workspace; leave out --workspace.")
        return Path(args.resume), True
    return Path(args.workspace or DEFAULT_WORKSPACE), False


def _check_workspace(directory: Path, resuming: bool) -> None:
    from .workspace import Workspace, resume_command

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
            f"{resume_command(directory)}  (or pick another --workspace)"
        )


def _run(args: argparse.Namespace) -> int:
    from .config import ConfigError, entries_for_roles, load_dotenv_file, resolve_model_entries

    directory, resuming = _workspace_dir(args)
    _check_workspace(directory, resuming)

    from .workspace import SessionLog, Workspace, WorkspaceError, WorkspaceLock

    workspace = Workspace(directory)
    load_dotenv_file(Path.cwd())
    env = dict(os.environ)
    try:
        saved = SessionLog.load(workspace).settings
        entries = resolve_model_entries(
            config_list_path=args.config_list, model=args.model, env=env, cwd=Path.cwd()
        )
        for name in KEPT_SETTINGS:  # an option given now wins; else the session's own
            if getattr(args, name) is None:
                setattr(args, name, saved.get(name))
        roles = entries_for_roles(entries, _chosen_models(args, saved, entries))
        if resuming:
            workspace.check_versions()
        else:
            workspace.root.mkdir(parents=True, exist_ok=True)
        with WorkspaceLock(workspace):
            if not resuming and workspace.has_session():  # another process started one meanwhile
                _check_workspace(directory, resuming)
            session = SessionLog.load(workspace)  # read again now that no other process can write it
            if args.from_version:
                branch = workspace.branch_from(args.from_version)
                session.clear_finished()
                print(
                    f"Later versions moved to {branch}; going on from script_v{args.from_version}.py.",
                    file=sys.stderr if args.json else sys.stdout,
                )
            return _run_session(args, workspace, session, roles, resuming)
    except (ConfigError, WorkspaceError) as exc:
        raise UsageError(str(exc)) from None


def _chosen_models(args: argparse.Namespace, saved: dict, entries: list) -> dict[str, str | None]:
    """Each role's model: its --ROLE-model flag, else (on resume, without --model) the model the
    session used for it, while the configuration still has it."""
    from .config import ENV_SOURCE

    used = {} if args.model else (saved.get("models") or {})
    available = {entry.model for entry in entries}
    chosen: dict[str, str | None] = {}
    for role in ROLE_FLAGS:
        before = used.get(role)
        keep = before if before in available or entries[0].source == ENV_SOURCE else None
        chosen[role] = getattr(args, f"{role}_model") or keep
    return chosen


def _run_session(args, workspace, session, roles, resuming: bool) -> int:  # noqa: ANN001
    import asyncio
    import json
    import logging
    import warnings

    # AutoGen logs and warns through the standard machinery; keep that off the person's screen.
    logging.getLogger().addHandler(logging.NullHandler())
    warnings.filterwarnings("ignore")

    from .accounting import Budget
    from .agents import AgentFactory
    from .app import SessionEnd, json_result, run_session
    from .config import redact
    from .loop import LoopSettings
    from .models import create_role_clients
    from .ui import TerminalUI
    from .workspace import inner_folder, resume_command

    stream = not args.no_stream
    entry = roles["coder"][0]
    settings = LoopSettings(
        max_iterations=args.max_iterations
        or session.settings.get("max_iterations")
        or DEFAULT_MAX_ITERATIONS,
        execute=args.execute or ("ask" if sys.stdin.isatty() and not args.yes else "never"),
        run_timeout=args.run_timeout,
        interactive=not args.yes,
    )
    session.settings.update(
        {"model": entry.model, "stream": stream, "max_iterations": settings.max_iterations}
        | {name: getattr(args, name) for name in KEPT_SETTINGS}
        | {"models": {role: entries[0].model for role, entries in roles.items()}}
    )
    session.data["model"] = entry.model
    ui = TerminalUI(stream_text=stream, to_stderr=args.json)
    if resuming and session.rebuilt:
        ui.warn(f"{session.rebuilt}; rebuilt it from the files (the token counts of earlier calls are lost).")
    session.save()
    firsts = {role: entries[0].describe() for role, entries in roles.items()}
    if len(set(firsts.values())) == 1:
        ui.info(f"Workspace: {workspace.root}  ·  model: {entry.describe()}")
    else:
        ui.info(
            f"Workspace: {workspace.root}  ·  models: " + ", ".join(f"{r} {m}" for r, m in firsts.items())
        )
    cache_dir = (
        None if args.cache_seed is None else inner_folder(workspace.root, ".cache", f"seed-{args.cache_seed}")
    )
    clients = create_role_clients(
        roles,
        stream=stream,
        timeout=args.request_timeout,
        tries=args.retries,
        cache_dir=cache_dir,
        status=ui.status,
        announce=ui.warn,
    )
    budget = Budget(tokens=args.budget_tokens, usd=args.budget_usd)
    agents = AgentFactory(stream=stream, model_name=entry.model, role_clients=clients, budget=budget)
    loop = asyncio.new_event_loop()
    main_task = loop.create_task(
        run_session(workspace, session, agents, ui, settings, task=args.task, resuming=resuming)
    )
    end = SessionEnd(1, "error")
    try:
        end = loop.run_until_complete(main_task)
    except KeyboardInterrupt:
        agents.cancellation.cancel()
        ui.info(f"\nStopped. Resume with: {resume_command(workspace.root)}")
        end = SessionEnd(EXIT_INTERRUPTED, "interrupted")
    except Exception as exc:  # a model or network failure: explain it, keep the files
        message, code = _explain_failure(exc)
        keys = [e.api_key for entries in roles.values() for e in entries] + [os.environ.get("OPENAI_API_KEY")]
        ui.error(redact(message, keys))
        ui.info(f"Your files are kept. Resume with: {resume_command(workspace.root)}")
        reason = {EXIT_MODEL_UNAVAILABLE: "model_unavailable", EXIT_USAGE: "configuration"}.get(code, "error")
        end = SessionEnd(code, reason)
    finally:
        _shut_down(loop, [role_client.client for role_client in clients.values()])
        if args.json:  # one object, whatever happened
            print(json.dumps(json_result(workspace, end), indent=2))
    return end.exit_code


def _explain_failure(exc: Exception) -> tuple[str, int]:
    import openai

    from .resilience import ModelAccessError, ModelUnavailable
    from .workspace import WorkspaceError

    if isinstance(exc, (WorkspaceError, ModelAccessError)):
        return str(exc), EXIT_USAGE
    if isinstance(exc, ModelUnavailable):
        return str(exc), EXIT_MODEL_UNAVAILABLE
    if isinstance(exc, openai.APIStatusError):  # e.g. 400: the same request would fail again
        return (
            f"The model server refused the request ({exc.status_code}): {exc.message}. Check the model's "
            "settings (context length, the options it accepts), or pick another with --model.",
            EXIT_USAGE,
        )
    if isinstance(exc, openai.APIError):
        return f"The model call failed: {exc.message}", EXIT_MODEL_UNAVAILABLE
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
