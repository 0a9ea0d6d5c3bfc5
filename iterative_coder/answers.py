"""What a short answer means: one table of the words that say "yes, this one", and the rule that an
answer of one word reaches an agent only once the person confirms it.

At the plan and test prompts these words approve the draft; at the version prompt they accept an
approving review (as Enter does) and, on any other review, ask whether ``/done`` was meant. The
prompts' ``/help`` is laid out here too (:func:`help_lines`). Nothing here imports AutoGen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .manager import Manager

# Every word or phrase that approves, alone (case, spacing and closing punctuation aside).
ASSENT: frozenset[str] = frozenset(
    {"approve", "approved", "accept", "accepted", "done", "ok", "okay", "yes", "y", "lgtm",
     "looks good", "sounds good"}
)  # fmt: skip
YES: frozenset[str] = frozenset({"y", "yes"})  # what confirms a ``[y/N]`` question
_CLOSING_PUNCTUATION = ".!?,;: "


def normalized(answer: str) -> str:
    """The answer in lower case, its words one space apart, without closing punctuation."""
    return " ".join(answer.lower().split()).rstrip(_CLOSING_PUNCTUATION)


def is_assent(answer: str) -> bool:
    """Whether the answer is one of the words of :data:`ASSENT` alone."""
    return normalized(answer) in ASSENT


def is_yes(answer: str | None) -> bool:
    """Whether the answer to a ``[y/N]`` question is yes (anything else, and no answer, is no)."""
    return answer is not None and normalized(answer) in YES


def one_word(answer: str) -> bool:
    """Whether the answer is a single word: too short to be sent to an agent unconfirmed."""
    return len(answer.split()) < 2


async def confirmed(manager: Manager, question: str) -> bool | None:
    """Ask a ``[y/N]`` question; whether the answer is yes, or None when input ended."""
    answer = await manager.ask(question)
    return None if answer is None else is_yes(answer)


async def send_one_word(manager: Manager, answer: str, to: str) -> bool | None:
    """Whether ``answer`` goes to ``to`` (e.g. "the Coder as feedback"): yes at once when it has two
    words or more, else the person is asked; None when input ended."""
    if not one_word(answer):
        return True
    return await confirmed(manager, f'Send "{answer}" to {to}? [y/N]')


def help_lines(rows: Sequence[tuple[str, str]]) -> str:
    """A prompt's ``/help``: one row a line, what to type, then what it does, in aligned columns."""
    width = max(len(typed) for typed, _ in rows)
    return "\n".join(f"{typed:<{width}}  {does}" for typed, does in rows)
