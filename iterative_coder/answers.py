"""What a short answer means: one table of the words that say "yes, this one", and the rule that an
answer of one word reaches an agent only once the person confirms it.

At the plan and test prompts these words approve the draft; at the version prompt they accept an
approving review (as Enter does) and, on any other review, ask whether ``/done`` was meant. The
prompts' ``/help`` is laid out here too (:func:`help_lines`). Nothing here imports AutoGen.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .manager import Manager

# Every word or phrase that approves, alone (case, spacing and closing punctuation aside).
ASSENT: frozenset[str] = frozenset(
    {"approve", "approved", "accept", "accepted", "done", "ok", "okay", "yes", "y", "lgtm",
     "looks good", "sounds good"}
)  # fmt: skip
# What confirms a yes/no question (``[y/N]``, and the run question); anything else is no.
YES: frozenset[str] = frozenset({"y", "yes", "ok", "okay"})
NO: frozenset[str] = frozenset({"n", "no"})  # a plain no: said back without a reason
ALWAYS: frozenset[str] = frozenset({"a", "always"})  # the run question's third answer: yes from now on
_CLOSING_PUNCTUATION = ".!?,;: "
_SHOWN_CHARS = 40  # of an answer said back


def normalized(answer: str) -> str:
    """The answer in lower case, its words one space apart, without closing punctuation."""
    return " ".join(answer.lower().split()).rstrip(_CLOSING_PUNCTUATION)


def is_assent(answer: str) -> bool:
    """Whether the answer is one of the words of :data:`ASSENT` alone."""
    return normalized(answer) in ASSENT


def is_yes(answer: str | None) -> bool:
    """Whether the answer to a ``[y/N]`` question is yes (anything else, and no answer, is no)."""
    return answer is not None and normalized(answer) in YES


def is_always(answer: str | None) -> bool:
    """Whether the answer to the run question is "always" (``a``)."""
    return answer is not None and normalized(answer) in ALWAYS


def said_back(if_no: str, answer: str | None) -> str:
    """The line that says an answer to a yes/no question was taken as no: ``if_no`` ("Not run"), and
    why, unless the answer was a plain no."""
    if answer is None:
        return f"{if_no}: input ended."
    if not answer.strip():
        return f"{if_no}: Enter means no."
    if normalized(answer) in NO:
        return f"{if_no}."
    shown = answer if len(answer) <= _SHOWN_CHARS else answer[: _SHOWN_CHARS - 1] + "…"
    return f'{if_no}: "{shown}" is not a yes (y, yes or ok).'


def as_command(answer: str, known: Collection[str]) -> tuple[str, str] | None:
    """The command an answer gives, as (name, arguments), or None when it is text for an agent.

    A line is a command when its first word is a slash word naming one of ``known`` (this prompt's
    commands), whatever follows (``/run data.txt``; case and closing punctuation aside: ``/Done.``),
    or when it is a slash word alone with no other slash in it (``/frob``: an unknown command, said
    so). Anything else is text: a first word that is a path (``/tmp/data.txt makes it crash``, or
    ``/tmp/data.txt`` alone), or an unknown slash word with more words after it (``/usr is full``).
    """
    if not answer.startswith("/"):
        return None
    first, *rest = answer.split(None, 1)
    name, arguments = normalized(first), rest[0] if rest else ""
    if name in known or (not arguments and "/" not in name[1:]):
        return name, arguments
    return None


def one_word(answer: str) -> bool:
    """Whether the answer is a single word: too short to be sent to an agent unconfirmed."""
    return len(answer.split()) < 2


async def confirmed(manager: Manager, question: str, if_no: str) -> bool | None:
    """Ask a ``[y/N]`` question; whether the answer is yes, or None when input ended. Any other answer
    is said back in one line: ``if_no`` ("Nothing sent to the Coder") and why it counts as no."""
    answer = await manager.ask(question)
    if answer is None:
        return None
    if is_yes(answer):
        return True
    manager.tell(said_back(if_no, answer))
    return False


async def send_one_word(manager: Manager, answer: str, to: str, title: str) -> bool | None:
    """Whether ``answer`` goes to ``to`` (e.g. "the Coder as feedback"): yes at once when it has two
    words or more, else the person is asked; None when input ended. ``title``: the agent, as in
    "Nothing sent to the Coder"."""
    if not one_word(answer):
        return True
    return await confirmed(manager, f'Send "{answer}" to {to}? [y/N]', f"Nothing sent to the {title}")


def help_lines(rows: Sequence[tuple[str, str]]) -> str:
    """A prompt's ``/help``: one row a line, what to type, then what it does, in aligned columns."""
    width = max(len(typed) for typed, _ in rows)
    return "\n".join(f"{typed:<{width}}  {does}" for typed, does in rows)
