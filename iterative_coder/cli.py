"""The command line: arguments, wiring and exit codes.

``--help`` and ``--version`` import nothing heavy; AutoGen is imported only to run a session.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .endings import EXIT_INTERRUPTED, EXIT_USAGE
from .roles import ROLES
from .settings import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    DEFAULT_TRIES,
    DEFAULT_WORKSPACE,
    UsageError,
)


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


MAIN, AUTOMATION = None, "automation and cost"


def _option(group: str | None, flag: str, help_text: str, **options: Any) -> tuple[str | None, str, dict]:
    return group, flag, {"help": help_text, **options}


# The whole command line as one table: (group, flag, argparse options).
OPTIONS: tuple[tuple[str | None, str, dict[str, Any]], ...] = (
    _option(MAIN, "--workspace", f"folder for a new session (default: {DEFAULT_WORKSPACE}/)", metavar="DIR"),
    _option(MAIN, "--resume", "continue the session in DIR where it stopped", metavar="DIR"),
    _option(MAIN, "--task", "what to build (otherwise you are asked)", metavar="TEXT"),
    _option(
        MAIN,
        "--max-iterations",
        f"most versions to write (default: {DEFAULT_MAX_ITERATIONS}, or the session's own on --resume)",
        metavar="N",
        type=_positive_int,
    ),
    _option(MAIN, "--model", "the model (an entry of OAI_CONFIG_LIST, or the name to send)", metavar="NAME"),
    _option(MAIN, "--config-list", "an OAI_CONFIG_LIST JSON file of model entries", metavar="PATH"),
    _option(MAIN, "--no-stream", "do not stream replies as they arrive", action="store_true"),
    _option(
        MAIN,
        "--execute",
        "may generated code run? (default: ask when you are at a terminal, else never)",
        choices=("ask", "always", "never"),
    ),
    _option(
        MAIN,
        "--sandbox",
        "run generated code inside bubblewrap: auto (when installed), on (refuse to run without it), off "
        "(default: auto)",
        choices=("auto", "on", "off"),
        default="auto",
    ),
    _option(
        MAIN,
        "--run-timeout",
        f"stop a run of generated code after this long (default: {DEFAULT_RUN_TIMEOUT:g})",
        metavar="SECONDS",
        type=_positive_number,
        default=DEFAULT_RUN_TIMEOUT,
    ),
    _option(
        MAIN,
        "--request-timeout",
        f"give up on one model request after this long, then retry (default: {DEFAULT_REQUEST_TIMEOUT:g})",
        metavar="SECONDS",
        type=_positive_number,
        default=DEFAULT_REQUEST_TIMEOUT,
    ),
    _option(
        MAIN,
        "--retries",
        "tries per model for a call that fails (rate limit, server error...) before the next "
        f"OAI_CONFIG_LIST entry is tried (default: {DEFAULT_TRIES})",
        metavar="N",
        type=_positive_int,
        default=DEFAULT_TRIES,
    ),
    _option(
        AUTOMATION,
        "--yes",
        "no prompts: approve the first plan and tests, no feedback, iterate until the Reviewer "
        "approves or the limit (needs --task for a new session)",
        action="store_true",
    ),
    _option(AUTOMATION, "--json", "print one JSON object with the outcome at the end", action="store_true"),
    _option(
        AUTOMATION,
        "--budget-tokens",
        "stop before the session spends more tokens",
        metavar="N",
        type=_positive_int,
    ),
    _option(
        AUTOMATION,
        "--budget-usd",
        "stop before the session spends more dollars",
        metavar="X",
        type=_positive_number,
    ),
    _option(
        AUTOMATION,
        "--cache-seed",
        "cache model replies on disk under the workspace (one cache per seed); off by default",
        metavar="N",
        type=int,
    ),
    _option(
        AUTOMATION,
        "--from-version",
        "with --resume: go on from script_vK.py; later versions move to DIR/branches/",
        metavar="K",
        type=_positive_int,
    ),
    *(
        _option(
            AUTOMATION, role.flag, f"the OAI_CONFIG_LIST entry (by model) for the {role.name}", metavar="NAME"
        )
        for role in ROLES.values()
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, from :data:`OPTIONS`."""
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
    groups: dict[str | None, Any] = {None: parser}
    for group, flag, options in OPTIONS:
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        groups[group].add_argument(flag, **options)
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
        from .wiring import run_from_arguments

        return run_from_arguments(args)
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
