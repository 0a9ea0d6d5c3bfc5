"""Tests can be wrong too: a failing acceptance test that every version so far has failed while the
Reviewer assesses its requirement as met is a *suspect* test. It is shown as such (the test, the plan's
requirement, what it expects) and not held against the version; ``/fix-tests`` has the Tester fix it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .records.review import Coverage
from .records.run import RunRecord
from .settling import TEST_OF_REQUIREMENT

MIN_VERSIONS = 2  # one failing version says nothing about the test


@dataclass(frozen=True)
class Suspect:
    """A failing test that may be the one that is wrong."""

    name: str
    requirement: str
    expects: str  # pytest's message: what the test expected and what it got
    versions: int  # how many versions it failed, all of them so far

    def describe(self, plan: str) -> str:
        """The suspect in a sentence, with the plan's requirement and what the test expects."""
        said = requirement_text(plan, self.requirement)
        wording = f" (the plan: {said})" if said else ""
        return (
            f"{self.name} fails on every version so far (v1-v{self.versions}) while the Reviewer assesses "
            f"requirement {self.requirement}{wording} as met; the test says: {self.expects or 'no message'}"
        )


def requirement_text(plan: str, number: str) -> str:
    """The words of the plan's requirement ``number`` (its first line), or ""."""
    match = re.search(rf"^\s*{re.escape(number)}[.)]\s+(.+)$", plan, re.MULTILINE)
    return match.group(1).strip() if match else ""


def suspect_tests(runs: Sequence[RunRecord | None], coverage: Sequence[Coverage]) -> list[Suspect]:
    """The failing tests of the last of ``runs`` (one per version, from version 1) that failed in every
    one of them while ``coverage`` (the last review's) has their requirement met."""
    if len(runs) < MIN_VERSIONS or any(run is None for run in runs):
        return []
    met = {row.requirement for row in coverage if row.status == "met"}
    failed_in = [{outcome.name for outcome in run.failing} for run in runs if run is not None]
    found = []
    for outcome in runs[-1].failing if runs[-1] else ():
        number = TEST_OF_REQUIREMENT.match(outcome.name.rsplit("::", 1)[-1])
        if number and number.group(1) in met and all(outcome.name in names for names in failed_in):
            found.append(Suspect(outcome.name, number.group(1), outcome.message, len(runs)))
    return found
