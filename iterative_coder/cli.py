"""The command line: arguments, wiring and exit codes.

``--help`` and ``--version`` import nothing heavy; AutoGen is imported only to run a session.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .endings import EXIT_READER_GONE, EXIT_USAGE, SessionEnd, interruption, outcome_without_session
from .roles import ROLES
from .settings import (
    DEFAULT_CALL_DEADLINE,
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RUN_TIMEOUT,
    DEFAULT_TRIES,
    DEFAULT_WORKSPACE,
    EDIT_FORMATS,
    MAX_SECONDS,
    MOST,
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


def _seconds(text: str) -> float:
    value = _positive_number(text)
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SECONDS:,.0f} (a day), not {text}")
    return value


def _at_most(name: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, refusing a value above the setting's largest (settings.MOST, which session.json's
    reader checks too: a value given here is never refused when read back)."""

    @functools.wraps(parse)  # argparse names the type in its own message (invalid int value)
    def parse_bounded(text: str) -> Any:
        value, most = parse(text), MOST[name]
        shown = f"{most:,}" if isinstance(most, int) else f"{most:,.0f}"
        if value > most:
            raise argparse.ArgumentTypeError(f"must be at most {shown}, not {text}")
        if value < -most:  # a cache seed may be below 0
            raise argparse.ArgumentTypeError(f"must be at least -{shown}, not {text}")
        return value

    return parse_bounded


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
        type=_at_most("max_iterations", _positive_int),
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
        "--network",
        "let the program's runs use the network, still sandboxed from your files (kept for --resume; "
        "default: runs have no network)",
        action=argparse.BooleanOptionalAction,
        default=None,
    ),
    _option(
        MAIN,
        "--edit-format",
        "how the Coder sends versions 2 on: whole files, diff (SEARCH/REPLACE edit blocks), or auto "
        "(edits once the script is long; default: auto, or the session's own on --resume)",
        choices=EDIT_FORMATS,
    ),
    _option(
        MAIN,
        "--run-timeout",
        f"stop a run of generated code after this long (default: {DEFAULT_RUN_TIMEOUT:g})",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_RUN_TIMEOUT,
    ),
    _option(
        MAIN,
        "--request-timeout",
        "give up on a model request that sends nothing for this long, then retry "
        f"(default: {DEFAULT_REQUEST_TIMEOUT:g})",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_REQUEST_TIMEOUT,
    ),
    _option(
        MAIN,
        "--call-deadline",
        "cut one try of a model call after this long in all, even while the reply still trickles in, "
        f"then retry (default: {DEFAULT_CALL_DEADLINE:g})",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_CALL_DEADLINE,
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
        type=_at_most("budget_tokens", _positive_int),
    ),
    _option(
        AUTOMATION,
        "--budget-usd",
        "stop before the session spends more dollars",
        metavar="X",
        type=_at_most("budget_usd", _positive_number),
    ),
    _option(
        AUTOMATION,
        "--cache-seed",
        "cache model replies on disk under the workspace (one cache per seed); off by default",
        metavar="N",
        type=_at_most("cache_seed", int),
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
            "status DIR shows a workspace's history, with no model and no key (see status --help). "
            "Model configuration, first that applies: --config-list PATH; env OAI_CONFIG_LIST (a path "
            "or the JSON); a file OAI_CONFIG_LIST here; OPENAI_API_KEY and/or OPENAI_BASE_URL (any "
            "OpenAI-compatible server, e.g. Ollama at http://localhost:11434/v1). "
            "A .env file here is read first. With none of these, a local server (Ollama, LM Studio, "
            "llama.cpp, vLLM) answering on its usual port is offered."
        ),
    )
    groups: dict[str | None, Any] = {None: parser}
    for group, flag, options in OPTIONS:
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        groups[group].add_argument(flag, **options)
    parser.add_argument("--version", action="version", version=f"iterative_coder {__version__}")
    # The subcommand is parsed apart (main), so the usage names it here.
    usage = parser.format_usage().removeprefix("usage: ").rstrip()
    parser.usage = f"{usage}\n       python -m iterative_coder status DIR [--json]"
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
    """Run the command line; return the exit code.

    Whatever goes wrong ends as one line on stderr: bad input, a configuration or a file or folder
    the tool cannot use, an interruption, or a reader of stdout that went away. With ``--json`` the
    one object is printed on stdout for each of these too (a reader that went away reads nothing).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
    try:
        if argv[:1] == ["status"]:
            code = _status(build_status_parser().parse_args(argv[1:]))
        else:
            args = build_parser().parse_args(argv)
            args.argv = argv  # the command as given, to show it again with a change
            from .wiring import run_from_arguments

            code = run_from_arguments(args)
        sys.stdout.flush()  # a reader that went away (``| head -1``) shows here, not at exit
        return code
    except UsageError as exc:
        _error(str(exc))
        if _json_wanted(argv):
            _print_json(outcome_without_session(_directory(args), SessionEnd(exc.reason, error=str(exc))))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # before or after the session (in it, the session says so)
        _error("\nStopped.", prefix="")
        end = SessionEnd(interruption(exc))
        if _json_wanted(argv):
            _print_json(outcome_without_session(_directory(args), end))
        return end.exit_code
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        from .errors import file_problem

        _error(file_problem(exc))
        if args is not None and args.json:
            _print_json(_unusable_outcome(args, file_problem(exc)))
        return EXIT_USAGE


def _json_wanted(argv: list[str]) -> bool:
    """Whether the command line asks for ``--json`` (read from the words: it may not have parsed).

    ``status --json`` has an object of its own, which an error does not fake.
    """
    if argv[:1] == ["status"]:
        return False
    words = argv[: argv.index("--")] if "--" in argv else argv
    return any(len(word) >= 3 and "--json".startswith(word) for word in words)  # argparse takes --js


def _directory(args: argparse.Namespace | None) -> str | None:
    """The workspace folder the command names, or None when the command did not parse."""
    if args is None:
        return None
    return str(args.resume or args.workspace or DEFAULT_WORKSPACE)


def _error(text: str, prefix: str = "iterative_coder: error: ") -> None:
    """One line on stderr (a terminal that is gone is not another error)."""
    with contextlib.suppress(OSError):
        print(f"{prefix}{text}", file=sys.stderr)


def _print_json(data: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        print(json.dumps(data, indent=2))
        sys.stdout.flush()


def _reader_gone() -> int:
    """stdout's reader went away: stop quietly, and let nothing more be written to the closed pipe."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_READER_GONE


def _unusable_outcome(args: argparse.Namespace, error: str) -> dict[str, Any]:
    """The ``--json`` object of a session that could not start: the workspace as it is."""
    from .app import json_result
    from .workspace import Workspace

    directory = Path(args.resume or args.workspace or DEFAULT_WORKSPACE)
    return json_result(Workspace(directory), SessionEnd("workspace_unusable", error=error))


def _status(args: argparse.Namespace) -> int:
    from .status import history, render_text
    from .workspace import Workspace, WorkspaceError

    workspace = Workspace(Path(args.directory))
    if not workspace.root.is_dir() or not workspace.has_session():
        raise UsageError(f"status {args.directory}: no session there (no task.md or plan.md).")
    try:
        report = history(workspace)
    except WorkspaceError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(report.to_json(), indent=2) if args.json else render_text(report))
    return 0
