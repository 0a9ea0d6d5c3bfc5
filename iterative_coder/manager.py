"""The Manager: the person, as an AgentChat ``UserProxyAgent``, and their turn after each review.

The commands of the Manager's turn are one table (:data:`COMMANDS`): the dispatcher and ``/help``
both come from it, so the help can never disagree with the commands.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autogen_agentchat.agents import UserProxyAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken

from .answers import as_command, confirmed, help_lines, is_assent, send_one_word
from .editor import EditorUnavailable, edit_text
from .execution.demo import no_display_note
from .execution.guard import guarded
from .execution.running import stop_all_programs
from .execution.runs import prepare_manual_run, run_attached
from .installing import ready_environment, with_environment
from .names import ACCEPTANCE, feedback_name, review_name, run_name, script_name
from .planning import fix_tests
from .records.run import read_run
from .terminal_input import terminal_given_back

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

    def tell(self, text: str) -> None:
        """A line for the person, e.g. what their answer was taken to mean."""
        self._ui.info(text)


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


def _always(_turn: Turn) -> bool:
    return True


@dataclass(frozen=True)
class Command:
    """One command of the Manager's turn; ``help`` may name ``{version}``, and ``offered`` says whether
    this turn's help and question list it."""

    name: str
    usage: str
    help: str
    handler: Handler
    offered: Callable[[Turn], bool] = _always


async def _diff(turn: Turn, _arguments: str) -> None:
    if turn.version <= 1:
        turn.ctx.ui.info("This is the first version; there is nothing to compare it with.")
        return None
    old, new = script_name(turn.version - 1), script_name(turn.version)
    read = turn.ctx.workspace.read
    turn.ctx.ui.show_diff(old, read(old) or "", new, read(new) or "")
    return None


def _other_modes(current: str) -> str:
    """The ``--execute`` modes that let code run, but the one in use: what a hint may suggest."""
    return " or ".join(f"--execute {mode}" for mode in ("ask", "always") if mode != current)


async def _run(turn: Turn, arguments: str) -> None:
    ctx = turn.ctx
    try:
        args = shlex.split(arguments)
    except ValueError as exc:
        ctx.ui.warn(f"Cannot read those arguments ({exc}); quote them as in a shell.")
        return None
    if ctx.execute == "never":  # under ask, typing /run is the consent
        ctx.ui.info(f"Not run (--execute never). To allow it, resume with {_other_modes(ctx.execute)}.")
        return None
    name = script_name(turn.version)
    if (no_display := no_display_note(turn.ctx.workspace, turn.version)) is not None:
        turn.ctx.ui.info(no_display)
        return None
    script = ctx.workspace.read(name) or ""
    environment = await ready_environment(ctx, turn.version, script)  # the one its runs had
    if not isinstance(environment, str) and environment.problem:
        ctx.ui.warn(f"{name} was not run: {environment.describe()}.")
    if isinstance(environment, str) or environment.problem:
        return None
    execution, start = with_environment(ctx.execution, ctx), Path.cwd()  # where the person started the tool
    run = prepare_manual_run(execution, turn.version, script, args, start)
    ctx.ui.info(f"Running {name} in {run.folder} with your keyboard and screen; Ctrl-C ends it.")
    if run.copied:
        files = ", ".join(named if named == copy else f"{named} (as {copy})" for named, copy in run.copied)
        ctx.ui.info(f"Copied {files} from {start} into that folder: the program runs there.")
    previous = signal.signal(signal.SIGINT, lambda _number, _frame: stop_all_programs())
    try:
        with terminal_given_back():
            result = await guarded(ctx, lambda: run_attached(execution, run))
    finally:
        signal.signal(signal.SIGINT, previous)
    stopped = result.exit_code in (-signal.SIGKILL, -signal.SIGINT)
    if stopped:
        ctx.ui.info("")  # the program's last line may have no end: the result starts on its own line
    ended = "ended by Ctrl-C" if stopped else result.description
    command = " ".join(["python", name, *map(shlex.quote, run.args)])
    ctx.ui.show_result(command, ended, result.exit_code == 0)
    return None


def unloadable_tests(turn: Turn) -> str | None:
    """pytest's reason when this version's run could not load acceptance_test.py itself, else None."""
    record = read_run(turn.ctx.workspace.read(run_name(turn.version)), turn.version)
    return record.tests_unloadable if record else None


def suspects_of(turn: Turn) -> str | None:
    """The review's suspect tests (failing on every version while their requirement is met), or None."""
    suspects = turn.review.suspect_tests if turn.review is not None else []
    return "; ".join(suspects) if suspects else None


def _tests_to_fix(turn: Turn) -> bool:
    return unloadable_tests(turn) is not None or suspects_of(turn) is not None


async def _fix_tests(turn: Turn, _arguments: str) -> str | None:
    reason, suspects = unloadable_tests(turn), suspects_of(turn)
    if reason is None and suspects is None:
        turn.ctx.ui.info(
            f"The run of {script_name(turn.version)} loaded {ACCEPTANCE} and no test is suspect; there is "
            "nothing to fix. To change the tests, edit the file."
        )
        return None
    if reason is not None:
        outcome = await fix_tests(turn.ctx, turn.version, reason)
    else:
        outcome = await fix_tests(turn.ctx, turn.version, suspects or "", "tester_fix_suspect")
    return outcome if outcome in ("stopped", "ended") else None


async def _done(turn: Turn, _arguments: str) -> str:
    turn.ctx.session.mark_finished(turn.version, "done")
    return "done"


async def _stop(_turn: Turn, _arguments: str) -> str:
    return "stopped"


async def _help(turn: Turn, _arguments: str) -> None:
    turn.ctx.ui.info(help_text(turn))
    return None


def show_review(ctx: SessionContext, version: int, review: Review | None) -> None:
    """Show ``review_v{version}.md`` as it was shown when it was made."""
    if review is None:
        ctx.ui.info(f"{review_name(version)} holds no review that can be read.")
        return
    ctx.ui.show_markdown(review_name(version), review.render())


async def _review(turn: Turn, _arguments: str) -> None:
    show_review(turn.ctx, turn.version, turn.review)
    return None


async def _edit(turn: Turn, _arguments: str) -> str | None:
    name = script_name(turn.version)
    hint = (
        f"Your feedback on {name} for the Coder; it is saved as {feedback_name(turn.version)}.",
        "Lines starting with # are left out. Save and close the editor to send it; save it empty to send "
        "nothing.",
    )
    try:
        text = edit_text(hint)
    except EditorUnavailable as exc:
        turn.ctx.ui.warn(f"{exc} Nothing sent.")
        return None
    if not text:
        turn.ctx.ui.info("Nothing was written in the editor; nothing sent.")
        return None
    turn.ctx.ui.info(f"From the editor:\n{text}")  # what is sent, seen before it goes
    return await _answer(turn, text)


COMMANDS: tuple[Command, ...] = (
    Command("/edit", "/edit", "write your feedback in your editor ($VISUAL or $EDITOR)", _edit),
    Command("/review", "/review", "show this version's review again", _review),
    Command("/diff", "/diff", "changes since the previous version", _diff),
    Command(
        "/run",
        "/run [ARGS...]",
        "run it in runs/v{version}-manual/ at your keyboard (files in ARGS are copied in)",
        _run,
    ),
    Command("/done", "/done", "accept this version as final", _done),
    Command(
        "/fix-tests",
        "/fix-tests",
        f"have the Tester fix {ACCEPTANCE} (this version's run could not load it, or a test is suspect)",
        _fix_tests,
        _tests_to_fix,
    ),
    Command("/stop", "/stop", "stop here (resume later)", _stop),
    Command("/help", "/help", "these commands", _help),
)
_BY_NAME = {command.name: command for command in COMMANDS} | {"/?": COMMANDS[-1]}
APPROVAL_WORDS = "approve, done, ok"  # examples of answers.ASSENT, for the help
DONE_QUESTION = "Did you mean /done (accept this version as it is)? [y/N]"


def enter_does(turn: Turn) -> str:
    """What Enter does at this turn, as the help and the question say it."""
    if turn.approved:
        return f"accept v{turn.version} as final"
    if turn.at_limit:
        return "end the session (this was the last iteration)"
    return f"go on to v{turn.version + 1}"


def offered(turn: Turn) -> list[Command]:
    """The commands this turn's help and question list."""
    return [command for command in COMMANDS if command.offered(turn)]


def help_text(turn: Turn) -> str:
    """The help, from the command table, for this turn: one line for each thing to type."""
    words = "the same as Enter" if turn.approved else "asks whether you mean /done"
    rows = [("Enter", enter_does(turn)), (APPROVAL_WORDS, words)]
    rows += [("other text", "feedback for the Coder (a single word is confirmed first)")]
    rows += [(command.usage, command.help.format(version=turn.version)) for command in offered(turn)]
    return help_lines(rows)


def _question(turn: Turn) -> str:
    doubt = turn.review.doubt if turn.review is not None else None
    if turn.approved and doubt:
        return (
            f"Approval of {script_name(turn.version)} in doubt: {doubt}. Enter accepts it as final anyway; "
            "or type feedback (/help for commands)."
        )
    if turn.approved:
        return (
            f"The Reviewer approves {script_name(turn.version)}. Enter accepts it as final; or type feedback "
            "(/help for commands)."
        )
    if turn.at_limit:
        return (
            f"That was the last iteration ({turn.ctx.settings.max_iterations}). Enter ends the session; "
            "/done accepts this version; feedback is saved for a later --resume with a higher "
            "--max-iterations."
        )
    names = [command.name for command in offered(turn)]
    return (
        f"Your turn on version {turn.version}. Enter goes on to version {turn.version + 1}; type feedback, "
        f"{', '.join(names[:-1])} or {names[-1]}."
    )


def _go_on(turn: Turn) -> str:
    """Enter (or an approval word on an approving review): how the turn ends."""
    if turn.approved:
        turn.ctx.session.mark_finished(turn.version, "accepted")
        return "accepted"
    return "limit" if turn.at_limit else "next"


async def _answer(turn: Turn, answer: str) -> str | None:
    """An answer that is not a command, typed or written in the editor: Enter, an approval word, or
    feedback (one word only once confirmed). How the turn ends, or None to ask again."""
    ctx = turn.ctx
    if not answer or (turn.approved and is_assent(answer)):
        return _go_on(turn)
    if is_assent(answer):  # "approve" on a review that does not approve: not feedback
        meant = await confirmed(ctx.manager, DONE_QUESTION, "Not accepted, and nothing sent to the Coder")
        if meant is None:
            return "ended"
        return await _done(turn, "") if meant else None
    send = await send_one_word(ctx.manager, answer, "the Coder as feedback", "Coder")
    if send is None:
        return "ended"
    if not send:
        return None
    path = ctx.workspace.write(feedback_name(turn.version), answer + "\n")
    later = "when you resume with a higher --max-iterations" if turn.at_limit else "next"
    ctx.ui.info(f"Feedback saved to {path}; the Coder gets it {later}.")
    return "limit" if turn.at_limit else "next"


async def unattended_turn(turn: Turn) -> str:
    """The turn with nobody to ask: an approval is accepted, else go on. An approval in doubt is accepted
    too, the doubt said and kept in the review: the Reviewer, asked, named nothing to change, so another
    version would be the same script again, and stopping would throw away a version nothing is known to
    be wrong with. Suspect tests go to the Tester once a session."""
    ctx, version, review = turn.ctx, turn.version, turn.review
    suspects = suspects_of(turn)
    if suspects is not None and not ctx.suspects_sent:
        ctx.suspects_sent = True
        ctx.ui.warn(f"Suspect tests, so the Tester is asked to check them: {suspects}.")
        if await fix_tests(ctx, version, suspects, "tester_fix_suspect") == "ended":
            return "ended"
    if not turn.approved:
        return "limit" if turn.at_limit else "next"
    if review is not None and review.doubt:
        ctx.ui.warn(
            f"Accepted {script_name(version)} with a doubt, recorded in {review_name(version)}: "
            f"{review.doubt}."
        )
    ctx.session.mark_finished(version, "accepted")
    return "accepted"


async def manager_turn(ctx: SessionContext, version: int, review: Review | None) -> str:
    """The Manager's turn after ``review_v{version}.md``: ``next``, or how the loop ends."""
    turn = Turn(ctx, version, review)
    if not ctx.settings.interactive:
        return await unattended_turn(turn)
    reason, suspects = unloadable_tests(turn), suspects_of(turn)
    if reason is not None:
        ctx.ui.warn(f"{ACCEPTANCE} itself does not load: {reason}. /fix-tests has the Tester fix it.")
    elif suspects is not None:
        ctx.ui.warn(
            f"Suspect tests, not held against v{version}: {suspects}. /fix-tests has the Tester check them."
        )
    while True:
        answer = await ctx.manager.ask(_question(turn))
        if answer is None:
            return "ended"
        command = as_command(answer, _BY_NAME)
        if command is not None:
            name, arguments = command
            if name not in _BY_NAME:
                ctx.ui.warn(f"Unknown command {name}; /help lists the commands.")
                continue
            outcome = await _BY_NAME[name].handler(turn, arguments)
        else:
            outcome = await _answer(turn, answer)
        if outcome is not None:
            return outcome
