"""What a Planner's reply holds: the plan without chatter before or after it and without its closing
question, whether it asks questions instead of planning, whether it is only a fragment of a plan, and
its shape (the numbers of its requirements).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .review import requirement_numbers

MAX_REQUIREMENTS = 20  # more than this, and the Manager is advised to trim the plan


def strip_closing_question(plan: str) -> str:
    """The plan without the Planner's closing request for approval."""
    paragraphs = re.split(r"\n\s*\n", plan.strip())
    while len(paragraphs) > 1:
        last_lines = paragraphs[-1].strip().splitlines()
        last = last_lines[-1].strip() if last_lines else ""
        is_list_item = re.match(r"^(\d+[.)]|[-*+])\s", last) is not None
        asks = not is_list_item and (last.endswith("?") or "approve" in last.lower())
        if last in {"---", "***", "___"} or (asks and len(last) < 300):
            if len(last_lines) > 1:
                paragraphs[-1] = "\n".join(last_lines[:-1])
            else:
                paragraphs.pop()
            continue
        break
    return "\n\n".join(paragraphs).strip() + "\n"


_THINKING = re.compile(r"<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_MARKDOWN_FENCE = re.compile(r"^```(?:markdown|md)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


# A paragraph that is talk about the plan, not part of it ("A few notes: ...", "Let me know if ...").
_CHATTER = re.compile(
    r"^(?:a few notes|some notes|notes?:|a note|let me know|feel free|i hope|hope this|happy to|"
    r"if you(?:'d| would) like|would you like|shall i|do you want|please let me know|any questions)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
_REQUIREMENTS_HEADING = re.compile(r"^#{1,6}\s*requirements?\b", re.IGNORECASE | re.MULTILINE)
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.+)$")


def strip_chatter(plan: str) -> str:
    """The plan without the talk after it: from the first paragraph after a heading that opens with
    chatter (``A few notes:``, ``Let me know ...``) to the end, when no heading follows it."""
    paragraphs = re.split(r"\n\s*\n", plan.strip())
    headed = False
    for index, paragraph in enumerate(paragraphs):
        headed = headed or bool(_HEADING.match(paragraph))
        opening = paragraph.strip().lstrip("*_ ")
        if headed and index and _CHATTER.match(opening) and not any(map(_HEADING.match, paragraphs[index:])):
            return "\n\n".join(paragraphs[:index]).strip() + "\n"
    return plan.strip() + "\n"


def clean_plan(reply: str) -> str:
    """The plan in the Planner's reply: without its thinking (``<think>...</think>``), taken out of a
    ```` ```markdown ```` fence wrapped around it, and without the closing question or the talk after it."""
    text = _THINKING.sub("", reply)
    fenced = _MARKDOWN_FENCE.search(text)
    fence_lines = [line for line in text.splitlines() if line.startswith("```")]
    if fenced and len(fence_lines) == 2 and re.search(r"^#", fenced.group(1), re.MULTILINE):
        text = fenced.group(1)
    return strip_closing_question(strip_chatter(text))


def asks_instead_of_planning(reply: str) -> bool:
    """Whether the Planner asked questions instead of writing a plan: no Requirements section, and its
    listed items are mostly questions (``Before I write the plan: 1. ...? 2. ...?``)."""
    text = _THINKING.sub("", reply)
    if _REQUIREMENTS_HEADING.search(text):
        return False
    items = [match.group(1).strip() for line in text.splitlines() if (match := _ITEM.match(line))]
    questions = [item for item in items if item.rstrip("*_ ").endswith("?")]
    return len(questions) >= 2 and len(questions) * 2 >= len(items)


def is_fragment(plan: str, previous: str | None) -> bool:
    """Whether a revised plan holds only what changed (``Updated requirement 5: ...``): the previous
    draft had a Requirements section and this one has none."""
    return (
        previous is not None
        and bool(_REQUIREMENTS_HEADING.search(previous))
        and not (_REQUIREMENTS_HEADING.search(plan))
    )


@dataclass(frozen=True)
class PlanShape:
    """What the tool makes of a plan: its numbered requirements."""

    requirements: tuple[str, ...]

    @property
    def ask_again(self) -> bool:
        """No numbered requirements: nothing to test or review against."""
        return not self.requirements

    @property
    def too_long(self) -> bool:
        """More requirements than one program should start with."""
        return len(self.requirements) > MAX_REQUIREMENTS


def plan_shape(plan: str) -> PlanShape:
    """The shape of a plan as saved (see :func:`clean_plan`)."""
    return PlanShape(tuple(requirement_numbers(plan)))
