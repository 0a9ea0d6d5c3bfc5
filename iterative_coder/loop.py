"""The iteration loop as a step machine: write a version, review it, the Manager's turn, again.

Every agent call starts from a fresh context built from the files alone (the plan, the latest
script, its review and the Manager's feedback), so a prompt does not grow with N. The steps
themselves live in :mod:`coding`, :mod:`reviewing` and :mod:`manager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .accounting import totals
from .answers import confirmed
from .coding import reviewer_note, write_version
from .convergence import STALL_VERSIONS, VersionEvidence, stall_reason
from .manager import manager_turn, show_review
from .names import review_name, run_name, script_name
from .records.review import Review, read_review
from .records.run import read_run
from .resume import ResumePoint, Step
from .reviewing import review_version

if TYPE_CHECKING:
    from .context import SessionContext

GO_ON_QUESTION = "Go on with another version anyway? [y/N]"


class IterationLoop:
    """Runs versions from a resume point until the Manager accepts, stops, or the limit is reached."""

    def __init__(self, ctx: SessionContext) -> None:
        self.ctx = ctx
        self.reviews: dict[int, Review | None] = {}  # this session's reviews, read from files once
        self.stall: str | None = None  # the sentence that said why the loop ended "stalled"

    async def run(self, start: ResumePoint) -> tuple[str, int]:
        """Go on from ``start``; return how the loop ended and the last version."""
        step, version = start.step, start.version
        if step is Step.MANAGER and self.ctx.settings.interactive:  # resumed: the review it answers
            show_review(self.ctx, version, self.review_of(version))
        while True:
            if step is Step.CODE:
                if version > self.ctx.settings.max_iterations:
                    return "limit", version - 1
                if not await write_version(self.ctx, version):
                    return "no_code", version - 1
                step = Step.REVIEW
            elif step is Step.REVIEW:
                note = reviewer_note(self.ctx, version)  # the Coder insisted on the same script
                self.reviews[version] = await review_version(self.ctx, version, extra=note)
                self._report_spending(version)
                step = Step.MANAGER
                stall = self.no_progress(version)
                if stall and not await self._go_on_despite(stall):
                    self.stall = stall
                    return "stalled", version
            elif step is Step.MANAGER:
                decision = await manager_turn(self.ctx, version, self.review_of(version))
                if decision != "next":
                    return decision, version
                step, version = Step.CODE, version + 1
            elif step is Step.FINISHED:
                return "accepted", version
            else:
                raise ValueError(f"the iteration loop cannot start at step {step!r}")

    def review_of(self, version: int) -> Review | None:
        """The review of ``version``: the one made in this session, else the one in its file."""
        if version not in self.reviews:
            self.reviews[version] = read_review(self.ctx.workspace.read(review_name(version)))
        return self.reviews[version]

    def no_progress(self, version: int) -> str | None:
        """A plain sentence when the loop stopped converging at ``version``, else None (always None
        when the Reviewer approves it: an approval wins over a stall)."""
        read = self.ctx.workspace.read
        scripts = (
            (read(script_name(version - 1)), read(script_name(version))) if version > 1 else (None, None)
        )
        first = max(1, version - STALL_VERSIONS)  # the version before the last three judges the first
        evidence = [
            VersionEvidence(v, self.review_of(v), read_run(read(run_name(v)), v))
            for v in range(first, version + 1)
        ]
        return stall_reason(version, scripts, evidence)

    async def _go_on_despite(self, stall: str) -> bool:
        self.ctx.ui.warn(stall)
        if not self.ctx.settings.interactive:
            return False
        return bool(await confirmed(self.ctx.manager, GO_ON_QUESTION, "Not going on"))

    def _report_spending(self, version: int) -> None:
        calls = self.ctx.session.calls
        this = totals(call for call in calls if call.version == version)
        self.ctx.ui.info(f"v{version}: {this.describe()} · total {totals(calls).describe()}")
