"""Test outcomes, and how many a run keeps by name (the rest are counted)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

RESULTS = ("passed", "failed", "error", "skipped")
FAILING = frozenset({"failed", "error"})
# A run keeps this many outcomes by name, the first and last failures among them, and counts the rest:
# 200,000 failing cases once made a 160 MB run_v1.md and 77-million-character prompts.
OUTCOMES_KEPT, FIRST_FAILURES, LAST_FAILURES = 100, 40, 10


@dataclass(frozen=True)
class TestOutcome:
    """One acceptance test's result."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    result: str  # passed | failed | error | skipped
    message: str = ""


def bounded_outcomes(outcomes: tuple[TestOutcome, ...]) -> tuple[tuple[TestOutcome, ...], Counter[str]]:
    """The outcomes kept by name, in their order: the first and last failures, then others up to
    :data:`OUTCOMES_KEPT`; and how many of each result were left out."""
    failing = [index for index, outcome in enumerate(outcomes) if outcome.result in FAILING]
    if len(failing) > FIRST_FAILURES + LAST_FAILURES:
        failing = failing[:FIRST_FAILURES] + failing[-LAST_FAILURES:]
    chosen = set(failing)
    others = (index for index, outcome in enumerate(outcomes) if outcome.result not in FAILING)
    chosen.update(itertools.islice(others, max(0, OUTCOMES_KEPT - len(chosen))))
    kept = tuple(outcome for index, outcome in enumerate(outcomes) if index in chosen)
    omitted = Counter(outcome.result for index, outcome in enumerate(outcomes) if index not in chosen)
    return kept, omitted
