"""Readying a version's environment in a session: the declarations checked, the install consented
(it runs code from the internet), shown and recorded. The work itself is :mod:`environment`'s."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from .answers import is_always, is_yes, said_back
from .execution.environment import CODER, ENV_FOLDER, MANAGER, Environment, is_ready, prepare, source
from .execution.guard import guarded
from .names import ACCEPTANCE, PLAN, RUNS_FOLDER, script_name
from .records.environment import EnvironmentRecord
from .script_metadata import declaration_fix, describe_undeclared, python_refused, read_metadata, undeclared
from .workspace import inner_folder

if TYPE_CHECKING:
    from .context import SessionContext
    from .execution.runs import Execution

INSTALL_QUESTION = "Install {packages} from {source} for {script}? [y/N/a]"


def environment_of(ctx: SessionContext) -> Environment:
    """The workspace's program environment (``runs/env``)."""
    return Environment(inner_folder(ctx.workspace.root, RUNS_FOLDER, ENV_FOLDER))


def declaration_problem(ctx: SessionContext, version: int, script: str) -> EnvironmentRecord | None:
    """A record of what the script fails to declare (for the Coder, with the block to put at its top),
    or None when every third-party import of it and of the tests is declared in a readable block."""
    name = script_name(version)
    plan, tests = ctx.workspace.read(PLAN) or "", ctx.workspace.read(ACCEPTANCE)
    try:
        requested = read_metadata(script).dependencies
    except ValueError as error:
        return EnvironmentRecord(problem=f"{name}: {error}", fixer=CODER)
    wrong_python = python_refused(read_metadata(script).requires_python)
    if wrong_python:
        return EnvironmentRecord(requested, problem=f"{name} {wrong_python}", fixer=MANAGER)
    missing = undeclared(script, name, tests, ACCEPTANCE, plan)
    if not missing:
        return None
    block = " / ".join(declaration_fix(script, missing).splitlines())
    said = f"{describe_undeclared(missing)}, not declared; put this block at the top of {name}: {block}"
    return EnvironmentRecord(requested, problem=said, fixer=CODER)


async def ready_environment(ctx: SessionContext, version: int, script: str) -> EnvironmentRecord | str:
    """The environment for ``script_v{version}.py``, ready (or a record of why it could not be made, and
    for whom); a sentence instead when the install was not allowed (the version is then not run)."""
    problem = declaration_problem(ctx, version, script)
    if problem is not None:
        return problem
    requested = read_metadata(script).dependencies
    environment, name = environment_of(ctx), script_name(version)
    packages = ", ".join(requested)
    if requested and not is_ready(environment.folder, requested):
        refusal = await _install_refusal(ctx, requested, name)
        if refusal is not None:
            ctx.ui.warn(refusal)
            return refusal
    root, sandbox = ctx.workspace.root, ctx.sandbox
    installing = requested and not is_ready(environment.folder, requested)
    progress = f"is installing {packages} for {name} from {source()}"
    with ctx.ui.working("Installer", progress) if installing else contextlib.nullcontext():
        record = await guarded(ctx, lambda: prepare(environment.folder, requested, sandbox, root))
    if requested and not record.reused and not record.problem:
        ctx.ui.info(f"Installed {', '.join(record.resolved)} for {name} in {record.seconds:.1f} s.")
    return record


async def _install_refusal(ctx: SessionContext, requested: tuple[str, ...], name: str) -> str | None:
    """None when installing ``requested`` is allowed (``--execute``: ``always``, or the Manager says so
    under ``ask``, once per set), else the sentence that says the version is not run and why."""
    packages = ", ".join(requested)
    not_run = f"{name} was not run: installing {packages} "
    if ctx.execute == "never":
        return not_run + "needs consent (--execute never); nothing was installed."
    if ctx.execute != "always" and not ctx.install_always:
        if requested not in ctx.install_answers:
            if not ctx.settings.interactive:
                return not_run + "needs consent; nothing was installed. Use --execute always to allow it."
            question = INSTALL_QUESTION.format(packages=packages, source=source(), script=name)
            answer = await ctx.manager.ask(question)
            ctx.install_always = is_always(answer)
            ctx.install_answers[requested] = ctx.install_always or is_yes(answer)
            if not ctx.install_answers[requested]:
                ctx.ui.info(said_back("Nothing installed", answer))
        if not ctx.install_answers[requested]:
            return not_run + "was not allowed; nothing was installed."
    return None


def say_not_installed(ctx: SessionContext, version: int, script: str) -> None:
    """Under ``--execute never``, one line naming the packages the version declares and did not get."""
    try:
        requested = read_metadata(script).dependencies
    except ValueError:
        return
    if ctx.execute == "never" and requested:
        packages = ", ".join(requested)
        ctx.ui.info(f"Nothing installed for {script_name(version)} ({packages}): --execute never.")


def with_environment(execution: Execution, ctx: SessionContext) -> Execution:
    """``execution`` running programs on the workspace's environment."""
    return replace(execution, environment=environment_of(ctx))
