"""Where a session goes on: one pure function over the names of the files present."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .names import ACCEPTANCE, PLAN, feedback_name, review_name, script_name, versions_of


class Step(str, Enum):
    """The steps of a session, in order."""

    PLAN = "plan"
    TESTS = "tests"
    CODE = "code"
    REVIEW = "review"
    MANAGER = "manager"
    FINISHED = "finished"


_DESCRIPTIONS = {
    Step.PLAN: "Resuming at planning: no plan.md yet, planning again from task.md",
    Step.TESTS: f"Resuming after the plan: no {ACCEPTANCE} yet, agreeing the acceptance tests",
    Step.CODE: "Resuming at version {v}: writing {script}",
    Step.REVIEW: "Resuming at version {v}: reviewing {script}",
    Step.MANAGER: "Resuming at version {v}: your turn after {review}",
    Step.FINISHED: "This session is finished: {script} was accepted",
}


@dataclass(frozen=True)
class ResumePoint:
    """What the session does next: a step and the version it concerns."""

    step: Step
    version: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", Step(self.step))

    def describe(self) -> str:
        """A sentence for the screen, e.g. ``Resuming at version 4: reviewing script_v4.py``."""
        return _DESCRIPTIONS[self.step].format(
            v=self.version, script=script_name(self.version), review=review_name(self.version)
        )


def infer_resume_point(names: set[str], finished_version: int | None = None) -> ResumePoint:
    """Decide the next step from the file names present (the files decide, not the settings).

    ``finished_version`` is the version session.json says was accepted; it only counts while
    that version is still the latest reviewed one.
    """
    if PLAN not in names:
        return ResumePoint(Step.PLAN, 0)
    latest = max(versions_of(names, "script"), default=0)
    if latest == 0:
        # A session started before acceptance tests existed simply has none once it has scripts.
        return ResumePoint(Step.TESTS, 0) if ACCEPTANCE not in names else ResumePoint(Step.CODE, 1)
    if review_name(latest) not in names:
        return ResumePoint(Step.REVIEW, latest)
    if feedback_name(latest) in names:
        return ResumePoint(Step.CODE, latest + 1)
    if finished_version == latest:
        return ResumePoint(Step.FINISHED, latest)
    return ResumePoint(Step.MANAGER, latest)
