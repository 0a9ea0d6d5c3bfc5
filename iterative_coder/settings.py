"""One frozen :class:`Settings` per session, resolved once by a pure function from the arguments,
what the session saved, and whether a person is at a terminal.

Nothing here imports AutoGen.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .roles import ROLE_NAMES

DEFAULT_WORKSPACE = "workspace"
DEFAULT_MAX_ITERATIONS = 10
DEFAULT_RUN_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 120.0
DEFAULT_TRIES = 4
DEFAULT_CALL_DEADLINE = 300.0  # seconds one try of a model call may take in all
DEFAULT_MAX_REPLY_CHARS = 400_000  # the most characters of one streamed reply
MAX_SECONDS = 86_400.0  # no timeout or deadline is longer than a day
# The largest value each number option takes, given on the command line or read back from session.json.
MOST = {"max_iterations": 100_000, "budget_tokens": 10**12, "budget_usd": 1e6, "cache_seed": 2**63 - 1}
EXECUTE_MODES = ("ask", "always", "never")
EDIT_FORMATS = ("auto", "whole", "diff")  # how the Coder answers from version 2 on
# What a session keeps in session.json, because --resume reads it back.
KEPT = (
    "max_iterations",
    "budget_tokens",
    "budget_usd",
    "cache_seed",
    "edit_format",
    "execute",
    "models",
    "local_server",  # the local server picked when nothing was configured (local_models.py)
    "network",
)


class UsageError(Exception):
    """Bad input: one line for the person, exit code 2. ``reason`` is the ending (endings.ENDINGS):
    ``usage``, ``configuration`` or ``workspace_unusable``."""

    def __init__(self, message: str, reason: str = "usage") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Settings:
    """Everything a session runs with."""

    workspace: Path = Path(DEFAULT_WORKSPACE)
    resuming: bool = False
    task: str | None = None
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    execute: str = "never"  # ask | always | never: may generated code run?
    execute_option: str | None = None  # the --execute given, now or by an earlier run: kept on resume
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    sandbox: str = "off"  # auto | on | off: run generated code inside bubblewrap?
    network: bool = False  # may the program's runs use the network? (kept for --resume)
    edit_format: str = "auto"  # auto | whole | diff: how the Coder sends a revision
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    call_deadline: float = DEFAULT_CALL_DEADLINE
    max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS
    tries: int = DEFAULT_TRIES
    stream: bool = True
    interactive: bool = True  # a person answers; without one the loop stops where it would ask
    json: bool = False
    budget_tokens: int | None = None
    budget_usd: float | None = None
    cache_seed: int | None = None
    from_version: int | None = None
    config_list: str | None = None
    model: str | None = None
    role_models: Mapping[str, str | None] = field(default_factory=dict)  # --ROLE-model flags
    saved_role_models: Mapping[str, str] = field(default_factory=dict)  # what each role used before
    local_server: str | None = None  # base URL of the local server in use when nothing is configured

    def kept(self, models: Mapping[str, str]) -> dict[str, Any]:
        """What session.json keeps for ``--resume``: these settings, the ``--execute`` that was given
        (not a default, which depends on where the session runs), and the model each role used."""
        values = {name: getattr(self, name) for name in KEPT if name not in ("execute", "models")}
        return values | {"execute": self.execute_option, "models": dict(models)}


def resolve_settings(
    args: argparse.Namespace, saved: Mapping[str, Any], person_at_terminal: bool
) -> Settings:
    """The session's settings: an option given now wins, else what the session saved, else a default.

    ``--execute`` given before is kept like the numbers; a kept ``ask`` needs a person: resumed
    without a terminal, or with ``--yes``, it is ``never`` (and stays kept for a later resume).
    """
    directory, resuming = _workspace_dir(args)
    no_person = args.yes or not person_at_terminal
    execute_option = args.execute or saved.get("execute")
    execute = execute_option or ("never" if no_person else "ask")
    if execute == "ask" and not args.execute and no_person:
        execute = "never"

    def kept(name: str) -> Any:
        value = getattr(args, name)
        return value if value is not None else saved.get(name)

    used = {} if args.model else (saved.get("models") or {})
    return Settings(
        workspace=directory,
        resuming=resuming,
        task=args.task,
        max_iterations=kept("max_iterations") or DEFAULT_MAX_ITERATIONS,
        execute=execute,
        execute_option=execute_option,
        run_timeout=args.run_timeout,
        sandbox=args.sandbox,
        network=bool(kept("network")),
        request_timeout=args.request_timeout,
        call_deadline=args.call_deadline,
        tries=args.retries,
        stream=not args.no_stream,
        interactive=not args.yes,
        json=args.json,
        budget_tokens=kept("budget_tokens"),
        budget_usd=kept("budget_usd"),
        cache_seed=kept("cache_seed"),
        edit_format=_edit_format(kept("edit_format")),
        from_version=args.from_version,
        config_list=args.config_list,
        model=args.model,
        role_models={role: getattr(args, f"{role}_model") for role in ROLE_NAMES},
        saved_role_models=dict(used),
        local_server=saved.get("local_server"),
    )


def _edit_format(value: object) -> str:
    """The edit format given or saved; a saved value this version does not know is ``auto``."""
    return value if isinstance(value, str) and value in EDIT_FORMATS else "auto"


def _workspace_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    """The workspace folder and whether the session is resumed; UsageError for a bad combination."""
    if args.task is not None:
        _check_utf8("--task", args.task)
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


def _check_utf8(flag: str, text: str) -> None:
    """UsageError when ``text`` came from bytes that are not UTF-8 (Python keeps them as surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = len(text[: exc.start].encode("utf-8", "surrogateescape"))
        raise UsageError(
            f"{flag} is not valid UTF-8 text (byte {byte}); give it as UTF-8, or leave it out and type "
            "the request when asked."
        ) from None
