"""The Manager's answer to a draft (a plan, acceptance tests): an approval, a change request for the
agent, or a command of these prompts.

A command never reaches an agent; what is a command is :func:`answers.as_command`'s rule (a path
such as ``/tmp/data.txt ...`` is text, not a command). The commands are one
table (:data:`COMMANDS`): the dispatcher, the question, ``/help`` and the line for an unknown command
all come from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .answers import as_command, help_lines, is_assent, normalized, send_one_word
from .editor import EditorUnavailable, edit_text

if TYPE_CHECKING:
    from .manager import Manager
    from .ui import UI

OVERRIDE = "/approve"  # approves too; typed again after a refusal: saved although the tool found a problem


def is_approval(answer: str) -> bool:
    """Whether the Manager's answer approves: a word of :data:`answers.ASSENT` or ``/approve``, alone
    (case and closing punctuation ignored)."""
    return is_assent(answer) or normalized(answer) == OVERRIDE


@dataclass(frozen=True)
class Flaw:
    """What the tool found wrong with a draft: the reason, the message that sends the draft back to
    its agent, and whether it stands in the way of an approval (``/approve`` twice saves it anyway)."""

    reason: str
    retry: str
    blocks: bool = True


@dataclass(frozen=True)
class DraftPrompt:
    """One prompt about a draft: how it starts, what the draft is called ("this plan"), and the names
    of the :data:`COMMANDS` it offers."""

    lead: str
    draft: str
    commands: tuple[str, ...] = ("/approve", "/edit", "/stop", "/help")

    @property
    def question(self) -> str:
        """The question as the Manager sees it."""
        return f"{self.lead} Commands: {', '.join(self.commands)}."

    def unknown(self, name: str) -> str:
        """The line for a command this prompt does not know."""
        return f"Unknown command {name}. Here: {', '.join(self.commands)}."


@dataclass
class Asking:
    """One question about a draft, until it has an answer."""

    manager: Manager
    ui: UI
    title: str  # the agent's, e.g. "Planner"
    prompt: DraftPrompt
    draft: str | None  # None: the reply held nothing to approve
    flaw: Flaw | None = None
    refused: bool = False  # an approval of this blocked draft was refused once


@dataclass(frozen=True)
class Answer:
    """What the Manager said: ``approved``, ``/stop``, ``/skip``, ``ended`` (input ended), or
    ``change`` with the change request for the agent."""

    outcome: str
    change: str = ""


# A handler gets the question and the command's arguments; it returns the answer, or None to ask again.
Handler = Callable[[Asking, str], Awaitable[Answer | None]]


@dataclass(frozen=True)
class DraftCommand:
    """One command of the prompts about a draft; ``help`` may name ``{draft}`` and ``{title}``."""

    name: str
    help: str
    handler: Handler


async def _approval(asking: Asking, overriding: bool) -> Answer | None:
    """An approval word, or ``/approve`` (``overriding``): refused once for a draft with a blocking flaw."""
    ui, flaw = asking.ui, asking.flaw
    if asking.draft is None:
        ui.warn("There is nothing to approve yet; say what you want instead.")
        return None
    if flaw is None or not flaw.blocks:
        return Answer("approved")
    if asking.refused and overriding:
        ui.warn(f"Saved although {flaw.reason}.")
        return Answer("approved")
    asking.refused = True
    ui.warn(f"Not approved: {flaw.reason}. Type {OVERRIDE} to save it anyway, or say what to change.")
    return None


async def _typed(asking: Asking, answer: str) -> Answer | None:
    """An answer that is not a command: Enter, an approval, or a change request (a single word only
    once confirmed)."""
    if not answer:
        return None
    if is_approval(answer):
        return await _approval(asking, normalized(answer) == OVERRIDE)
    title = asking.title
    send = await send_one_word(asking.manager, answer, f"the {title} as a change request", title)
    if send is None:
        return Answer("ended")
    return Answer("change", answer) if send else None


async def _approve(asking: Asking, _arguments: str) -> Answer | None:
    return await _approval(asking, overriding=True)


async def _edit(asking: Asking, _arguments: str) -> Answer | None:
    hint = (
        f"What the {asking.title} should change in {asking.prompt.draft}.",
        "Lines starting with # are left out. Save and close the editor to send it; save it empty to send "
        "nothing.",
    )
    try:
        text = edit_text(hint)
    except EditorUnavailable as exc:
        asking.ui.warn(f"{exc} Nothing sent.")
        return None
    if not text:
        asking.ui.info("Nothing was written in the editor; nothing sent.")
        return None
    asking.ui.info(f"From the editor:\n{text}")  # what is sent, seen before it goes
    return await _typed(asking, text)


async def _skip(_asking: Asking, _arguments: str) -> Answer:
    return Answer("/skip")


async def _stop(_asking: Asking, _arguments: str) -> Answer:
    return Answer("/stop")


async def _help(asking: Asking, _arguments: str) -> None:
    asking.ui.info(help_text(asking.prompt, asking.title))
    return None


COMMANDS: tuple[DraftCommand, ...] = (
    DraftCommand("/approve", "approve {draft}; after a refusal, typing it again saves anyway", _approve),
    DraftCommand("/edit", "write what to change in your editor ($VISUAL or $EDITOR)", _edit),
    DraftCommand("/skip", "go on without automatic acceptance checks", _skip),
    DraftCommand("/stop", "stop here (resume later)", _stop),
    DraftCommand("/help", "these commands", _help),
)
_BY_NAME = {command.name: command for command in COMMANDS}
APPROVAL_WORDS = "approve, yes, ok"  # examples of answers.ASSENT, for the help


def help_text(prompt: DraftPrompt, title: str) -> str:
    """The help of ``prompt``, from the command table: what Enter, approval words, other text and each
    of its commands do."""
    rows = [
        ("Enter", "nothing: the question is asked again"),
        (APPROVAL_WORDS, f"approve {prompt.draft} (so do lgtm, looks good and the like)"),
        ("other text", f"a change request for the {title} (a single word is confirmed first)"),
    ]
    rows += [(name, _BY_NAME[name].help.format(draft=prompt.draft, title=title)) for name in prompt.commands]
    return help_lines(rows)


async def answer_draft(asking: Asking) -> Answer:
    """Ask until the Manager answers the draft: an approval (refused once when the draft has a blocking
    flaw), a command that ends the talk, or a change request."""
    while True:
        answer = await asking.manager.ask(asking.prompt.question)
        if answer is None:
            return Answer("ended")
        command = as_command(answer, asking.prompt.commands)
        if command is not None:
            name, arguments = command
            if name not in asking.prompt.commands:
                asking.ui.warn(asking.prompt.unknown(name))
                continue
            result = await _BY_NAME[name].handler(asking, arguments)
        else:
            result = await _typed(asking, answer)
        if result is not None:
            return result
