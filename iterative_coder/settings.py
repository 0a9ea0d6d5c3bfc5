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
# What a session keeps in session.json, because --resume reads it back.
KEPT = ("max_iterations", "budget_tokens", "budget_usd", "cache_seed", "models")


class UsageError(Exception):
    """Bad input: one line for the person, exit code 2."""


@dataclass(frozen=True)
class Settings:
    """Everything a session runs with."""

    workspace: Path = Path(DEFAULT_WORKSPACE)
    resuming: bool = False
    task: str | None = None
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    execute: str = "never"  # ask | always | never: may generated code run?
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    sandbox: str = "off"  # auto | on | off: run generated code inside bubblewrap?
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
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

    def kept(self, models: Mapping[str, str]) -> dict[str, Any]:
        """What session.json keeps for ``--resume``: these settings and the model each role used."""
        return {name: getattr(self, name) for name in KEPT if name != "models"} | {"models": dict(models)}


def resolve_settings(
    args: argparse.Namespace, saved: Mapping[str, Any], person_at_terminal: bool
) -> Settings:
    """The session's settings: an option given now wins, else what the session saved, else a default."""
    directory, resuming = _workspace_dir(args)

    def kept(name: str) -> Any:
        value = getattr(args, name)
        return value if value is not None else saved.get(name)

    used = {} if args.model else (saved.get("models") or {})
    return Settings(
        workspace=directory,
        resuming=resuming,
        task=args.task,
        max_iterations=kept("max_iterations") or DEFAULT_MAX_ITERATIONS,
        execute=args.execute or ("ask" if person_at_terminal and not args.yes else "never"),
        run_timeout=args.run_timeout,
        sandbox=args.sandbox,
        request_timeout=args.request_timeout,
        tries=args.retries,
        stream=not args.no_stream,
        interactive=not args.yes,
        json=args.json,
        budget_tokens=kept("budget_tokens"),
        budget_usd=kept("budget_usd"),
        cache_seed=kept("cache_seed"),
        from_version=args.from_version,
        config_list=args.config_list,
        model=args.model,
        role_models={role: getattr(args, f"{role}_model") for role in ROLE_NAMES},
        saved_role_models=dict(used),
    )


def _workspace_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    """The workspace folder and whether the session is resumed; UsageError for a bad combination."""
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
