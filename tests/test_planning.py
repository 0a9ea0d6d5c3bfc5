"""Planning: what counts as approval, and the plan saved without the Planner's closing question."""

from __future__ import annotations

import pytest
from test_e2e import PLAN_1

from iterative_coder.planning import is_approval, strip_closing_question


@pytest.mark.parametrize(
    "answer", ["approve", "Approve", "APPROVE.", "/approve", "sounds good", "Sounds good!"]
)
def test_approvals(answer: str) -> None:
    assert is_approval(answer)


@pytest.mark.parametrize("answer", ["don't approve", "approve but add a flag", "no", "", "good"])
def test_not_approvals(answer: str) -> None:
    assert not is_approval(answer)


def test_the_closing_question_is_dropped_and_the_plan_kept() -> None:
    plan = strip_closing_question(PLAN_1)
    assert plan.endswith("2. The program prints the count for the file given as its argument.\n")
    assert "approve" not in plan.lower()


def test_variants_of_the_closing_question() -> None:
    body = "# T\n\n## Requirements\n1. It works."
    for tail in (
        "\n\n---\n\nDoes this look right?",
        "\nShall I proceed?",
        "\n\nPlease approve or suggest changes.",
    ):
        assert strip_closing_question(body + tail) == body + "\n"


def test_a_requirement_that_asks_is_not_taken_for_the_closing_question() -> None:
    body = "# T\n\n## Requirements\n1. It works.\n2. Ask the user: continue?"
    assert strip_closing_question(body + "\n\nDo you approve this plan?") == body + "\n"


def test_a_plan_without_a_question_is_unchanged() -> None:
    body = "# T\n\n## Requirements\n1. Does it handle empty input? It must print 0."
    assert (
        strip_closing_question(body)
        == "# T\n\n## Requirements\n1. Does it handle empty input? It must print 0.\n"
    )
