"""The Manager: the person, as an AgentChat ``UserProxyAgent``, and their turn after each review.

The commands of the Manager's turn are one table (:data:`COMMANDS`): the dispatcher and ``/help``
both come from it, so the help can never disagree with the commands.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autogen_agentchat.agents import UserProxyAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken

from .guard import guarded
from .names import (
    ACCEPTANCE,
    MANUAL_SUFFIX,
    RUNS_FOLDER,
    feedback_name,
    run_folder_name,
    run_name,
    script_name,
)
from .planning import fix_tests
from .records.run import read_run
from .reviewing import may_run
from .runner import stop_all_programs
from .runs import run_attached

if TYPE_CHECKING:
    from .context import SessionContext
    from .records.review import Review
    from .ui import UI


class Manager:
    """The person, as an AgentChat ``UserProxyAgent`` whose input is our terminal prompt."""

    END_OF_INPUT = "\x04"

    def __init__(self, ui: UI) -> None:
        self._ui = ui
        self._question = ""
        self.agent = UserProxyAgent("manager", input_func=self._input, description="The person.")

    async def _input(self, _default_prompt: str, _token: CancellationToken | None) -> str:
        # Runs on the event loop's (main) thread, so Ctrl-C raises KeyboardInterrupt right here
        # and readline line editing works.
        answer = self._ui.ask(self._question)
        return self.END_OF_INPUT if answer is None else answer

    async def ask(self, question: str) -> str | None:
        """Ask the person; their answer stripped, or None when input has ended."""
        self._question = question
        response = await self.agent.on_messages(
            [TextMessage(content=question, source="iterative_coder")], CancellationToken()
        )
        content = str(getattr(response.chat_message, "content", ""))
        return None if content == self.END_OF_INPUT else content.strip()


@dataclass(frozen=True)
class Turn:
    """The Manager's turn on one version."""

    ctx: SessionContext
    version: int
    review: Review | None

    @property
    def approved(self) -> bool:
        """The review approves this version."""
        return self.review is not None and self.review.approved

    @property
    def at_limit(self) -> bool:
        """This is the last version the iteration limit allows."""
        return self.version >= self.ctx.settings.max_iterations


# A handler returns how the turn ends ("next", "done", "stopped"...), or None to ask again.
Handler = Callable[[Turn, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Command:
    """One command of the Manager's turn."""

    name: str
    usage: str
    help: str
    handler: Handler


async def _diff(turn: Turn, _arguments: str) -> None:
    if turn.version <= 1:
        turn.ctx.ui.info("This is the first version; there is nothing to compare it with.")
        return None
    old, new = script_name(turn.version - 1), script_name(turn.version)
    read = turn.ctx.workspace.read
    turn.ctx.ui.show_diff(old, read(old) or "", new, read(new) or "")
    return None


async def _run(turn: Turn, arguments: str) -> None:
    ctx = turn.ctx
    try:
        args = shlex.split(arguments)
    except ValueError as exc:
        ctx.ui.warn(f"Cannot read those arguments ({exc}); quote them as in a shell.")
        return None
    if not await may_run(ctx):
        how = "--execute never" if ctx.execute == "never" else "your answer"
        ctx.ui.info(f"Not run ({how}). To allow it, resume with --execute ask or --execute always.")
        return None
    name = script_name(turn.version)
    script = ctx.workspace.read(name) or ""
    execution = ctx.execution
    folder = ctx.workspace.root / RUNS_FOLDER / run_folder_name(turn.version, MANUAL_SUFFIX)
    ctx.ui.info(f"Running {name} in {folder} with your keyboard and screen; Ctrl-C ends it.")
    previous = signal.signal(signal.SIGINT, lambda _number, _frame: stop_all_programs())
    try:
        result = await guarded(ctx, lambda: run_attached(execution, turn.version, script, args))
    finally:
        signal.signal(signal.SIGINT, previous)
    stopped = result.exit_code in (-signal.SIGKILL, -signal.SIGINT)
    if stopped:
        ctx.ui.info("")  # the program's last line may have no end: the result starts on its own line
    ended = "ended by Ctrl-C" if stopped else result.description
    ctx.ui.show_result(" ".join(["python", name, *map(shlex.quote, args)]), ended, result.exit_code == 0)
    return None


def unloadable_tests(turn: Turn) -> str | None:
    """pytest's reason when this version's run could not load acceptance_test.py itself, else None."""
    record = read_run(turn.ctx.workspace.read(run_name(turn.version)), turn.version)
    return record.tests_unloadable if record else None


async def _fix_tests(turn: Turn, _arguments: str) -> str | None:
    reason = unloadable_tests(turn)
    if reason is None:
        turn.ctx.ui.info(
            f"The run of {script_name(turn.version)} loaded {ACCEPTANCE}; there is nothing to fix. "
            "To change the tests, edit the file."
        )
        return None
    outcome = await fix_tests(turn.ctx, turn.version, reason)
    return outcome if outcome in ("stopped", "ended") else None


async def _done(turn: Turn, _arguments: str) -> str:
    turn.ctx.session.mark_finished(turn.version, "done")
    return "done"


async def _stop(_turn: Turn, _arguments: str) -> str:
    return "stopped"


async def _help(turn: Turn, _arguments: str) -> None:
    turn.ctx.ui.info(help_text(turn))
    return None


COMMANDS: tuple[Command, ...] = (
    Command("/diff", "/diff", "changes since the previous version", _diff),
    Command("/run", "/run [ARGS...]", "run this version with arguments", _run),
    Command(
        "/fix-tests", "/fix-tests", f"have the Tester fix {ACCEPTANCE} when it does not load", _fix_tests
    ),
    Command("/done", "/done", "accept this version as final", _done),
    Command("/stop", "/stop", "stop here (resume later)", _stop),
    Command("/help", "/help", "these commands", _help),
)
_BY_NAME = {command.name: command for command in COMMANDS} | {"/?": COMMANDS[-1]}


def help_text(turn: Turn) -> str:
    """The help line, from the command table, for this turn."""
    enter = "Enter: accept this version" if turn.approved else "Enter: go on"
    parts = [enter, "any other text: feedback for the Coder"]
    parts += [f"{command.usage}: {command.help}" for command in COMMANDS]
    return " · ".join(parts)


def _question(turn: Turn) -> str:
    if turn.approved:
        return (
            f"The Reviewer approves {script_name(turn.version)}. Enter accepts it as final; or type feedback."
        )
    if turn.at_limit:
        return (
            f"That was the last iteration ({turn.ctx.settings.max_iterations}). Enter ends the session; "
            "/done accepts this version; feedback is saved for a later --resume with a higher "
            "--max-iterations."
        )
    return f"Your turn on version {turn.version}. Enter goes on; type feedback, /diff, /run, /done or /stop."


async def manager_turn(ctx: SessionContext, version: int, review: Review | None) -> str:
    """The Manager's turn after ``review_v{version}.md``: ``next``, or how the loop ends."""
    turn = Turn(ctx, version, review)
    if not ctx.settings.interactive:  # nobody to ask: an approval is accepted, else go on
        if turn.approved:
            ctx.session.mark_finished(version, "accepted")
            return "accepted"
        return "limit" if turn.at_limit else "next"
    reason = unloadable_tests(turn)
    if reason is not None:
        ctx.ui.warn(f"{ACCEPTANCE} itself does not load: {reason}. /fix-tests has the Tester fix it.")
    while True:
        answer = await ctx.manager.ask(_question(turn))
        if answer is None:
            return "ended"
        if answer.startswith("/"):
            name, _, arguments = answer.partition(" ")
            command = _BY_NAME.get(name.lower())
            if command is None:
                ctx.ui.warn(f"Unknown command {answer}. {help_text(turn)}")
                continue
            outcome = await command.handler(turn, arguments)
            if outcome is not None:
                return outcome
            continue
        if answer == "" and turn.approved:
            ctx.session.mark_finished(version, "accepted")
            return "accepted"
        if answer:
            path = ctx.workspace.write(feedback_name(version), answer + "\n")
            ctx.ui.info(f"Feedback saved to {path}; the Coder gets it next.")
        return "limit" if turn.at_limit else "next"
