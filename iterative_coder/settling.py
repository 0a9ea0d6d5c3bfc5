"""A verdict the tool can act on: an approval that assessed every requirement (and the Manager's
feedback), and a REVISE that names something the Coder can change.

The Reviewer is asked, briefly and in the same conversation, for what its review left out: the rows an
approval did not assess, or the changes a REVISE did not name. What it still cannot say becomes an
*approval in doubt*: the version goes to the Manager with the doubt in plain words (under ``--yes`` it
is accepted with the doubt recorded), never to the Coder with nothing to change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .agents import call_and_record
from .names import feedback_name, script_name
from .prompt_files import render_prompt
from .records.review import APPROVE, DONE, NOT_ASSESSED, NOT_DONE, REVISE, Coverage, Point, Review
from .review import parse_reply

if TYPE_CHECKING:
    from autogen_agentchat.agents import AssistantAgent

    from .context import SessionContext
    from .records.run import TestOutcome

UNMET = ("missing", "partly")
CHANGED_VERDICT = "The tool changed the verdict from APPROVE to REVISE"
# A point in optional words, and one that names a requirement, a test or a failure (so it is required).
_OPTIONAL = re.compile(
    r"^(?:consider|you (?:could|might|may)|optionally|optional\b|nit\b|nice to have|it would be nice|maybe|"
    r"perhaps|could|might)",
    re.IGNORECASE,
)
_TRACES = re.compile(
    r"\b(?:r\d+|req(?:uirement)?s?\s*#?\d+|test_\w+|crash\w*|fail\w*|errors?|exceptions?|traceback|bugs?|wrong)\b",
    re.IGNORECASE,
)
TEST_OF_REQUIREMENT = re.compile(r"^test_?req(?:uirement)?_?(\d+)(?:_|$|\[)", re.IGNORECASE)


@dataclass(frozen=True)
class Judging:
    """One version's review being settled: the Reviewer that wrote it (its review in its context), the
    run's problems and test outcomes, and whether the script is the previous one unchanged."""

    ctx: SessionContext
    agent: AssistantAgent
    version: int
    problems: Sequence[str]
    outcomes: Sequence[TestOutcome]
    feedback_given: bool
    unchanged: bool
    ran: bool


def unassessed(review: Review) -> list[str]:
    """The requirements the review does not assess."""
    return [row.requirement for row in review.coverage if row.status == NOT_ASSESSED]


def feedback_unassessed(review: Review) -> bool:
    """The Manager gave feedback and the review does not say whether it is done."""
    return review.feedback is not None and review.feedback.status == NOT_ASSESSED


def actionable(review: Review, problems: Sequence[str]) -> bool:
    """Whether a REVISE gives the Coder something to act on: a point, a problem of the run, a
    requirement missing or partly met, or the Manager's feedback not done."""
    unmet = any(row.status in UNMET for row in review.coverage)
    not_done = review.feedback is not None and review.feedback.status == NOT_DONE
    return bool(review.points or problems or unmet or not_done)


def is_suggestion(point: Point) -> bool:
    """Whether a point is optional: not about failing or missing behaviour, tracing to no requirement,
    test or failure, and worded as a suggestion or a matter of style."""
    if point.category in ("failing", "missing") or _TRACES.search(f"{point.text} {point.where}"):
        return False
    return point.category == "style" or bool(_OPTIONAL.match(point.text.lstrip("*_ ")))


def keep_suggestions_apart(review: Review, points: list[Point]) -> list[Point]:
    """The points the Coder must act on; the optional ones go to the review's suggestions."""
    optional = [point.text for point in points if is_suggestion(point)]
    review.suggestions += [text for text in dict.fromkeys(optional) if text not in review.suggestions]
    return [point for point in points if not is_suggestion(point)]


async def settle(judging: Judging, review: Review) -> Review:
    """The review with the tool's rules applied, after asking the Reviewer for what it left out."""
    review.coverage = assessed_by_tests(review.coverage, judging.outcomes)
    if not review.approved:  # an approval's suggestions ask nothing of anybody
        review.points = keep_suggestions_apart(review, review.points)
    # A run with problems overturns the approval anyway: no question for the Reviewer then.
    left_out = unassessed(review) or feedback_unassessed(review)
    asked_rows = review.approved and not judging.problems and bool(left_out)
    if asked_rows:
        await _ask_for_rows(judging, review)
    review = enforce_consistency(review, list(judging.problems), judging.outcomes)
    if not review.approved and not actionable(review, judging.problems):
        if not asked_rows:
            await _ask_what_to_change(judging, review)
        if not review.points and not review.approved:
            _in_doubt(review, doubt_of(review, asked_rows, judging.ran))
    elif review.approved and judging.feedback_given and judging.unchanged:
        name, previous = script_name(judging.version), script_name(judging.version - 1)
        doubt = (
            f"your feedback ({feedback_name(judging.version - 1)}) was not acted on: {name} is {previous} "
        )
        _in_doubt(review, doubt + "unchanged")
    elif review.approved and feedback_unassessed(review):
        _in_doubt(review, "the Reviewer did not say whether your feedback is done, even when asked")
    if not review.approved and not review.points:  # the Coder acts on points: the rules' reasons become them
        review.points = [Point(problem, "failing") for problem in judging.problems]
        review.points += [_point_of(row.requirement, row.status, row.evidence) for row in review.coverage
                          if row.status in UNMET]  # fmt: skip
    return review


def doubt_of(review: Review, asked_rows: bool, ran: bool) -> str:
    """Why an approval is in doubt, in words for the Manager."""
    numbers = unassessed(review)
    if asked_rows and numbers:
        plural = "s" if len(numbers) > 1 else ""
        return (
            f"the Reviewer approved but did not say whether requirement{plural} {', '.join(numbers)} "
            f"{'are' if plural else 'is'} met, even when asked"
        )
    run = "the run shows nothing failing" if ran else "the script was not run"
    named = "only optional suggestions (kept in the review)" if review.suggestions else "nothing to change"
    return f"the Reviewer asked for a revision but named {named}, even when asked, and {run}"


def _point_of(requirement: str, status: str, evidence: str) -> Point:
    said = f": {evidence}" if evidence else ""
    return Point(
        f"requirement {requirement} is {'partly met' if status == 'partly' else 'missing'}{said}", "missing"
    )


def _in_doubt(review: Review, doubt: str) -> None:
    review.verdict, review.doubt = APPROVE, doubt
    review.notes[:] = [note for note in review.notes if not note.startswith(CHANGED_VERDICT)]
    review.notes.append(f"Approval in doubt: {doubt}.")


async def _ask_for_rows(judging: Judging, review: Review) -> None:
    """Ask the Reviewer, once, for the rows its approval left out; say in the review what it answered."""
    numbers, feedback = unassessed(review), feedback_unassessed(review)
    lines = [f"R{number}: met, partly or missing — evidence" for number in numbers]
    lines += ["Feedback: done or not done — evidence"] if feedback else []
    what = _what_is_left(numbers, feedback)
    prompt = render_prompt(
        "reviewer_rows", script_name=script_name(judging.version), what=what, lines="\n".join(lines)
    )
    reply = await call_and_record(
        judging.ctx, judging.agent, prompt, judging.version, f"is asked about {what}"
    )
    answer = parse_reply(reply.text, numbers).review
    found = {row.requirement: row for row in answer.coverage if row.status != NOT_ASSESSED}
    review.coverage = [found.get(row.requirement, row) for row in review.coverage]
    said = [f"{number} {found[number].status}" for number in numbers if number in found]
    if feedback and answer.feedback is not None and answer.feedback.status != NOT_ASSESSED:
        review.feedback = answer.feedback
        review.notes[:] = [note for note in review.notes if "feedback is done" not in note]
        said.append(f"the feedback {answer.feedback.status}")
    answered = f"it answered: {', '.join(said)}" if said else "it still did not say"
    review.notes.append(f"The Reviewer's approval did not assess {what}; asked, {answered}.")


def _what_is_left(numbers: list[str], feedback: bool) -> str:
    parts = [f"requirement{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}"] if numbers else []
    return " and ".join(parts + (["the Manager's feedback"] if feedback else []))


async def _ask_what_to_change(judging: Judging, review: Review) -> None:
    """Ask the Reviewer, once, what the Coder must change for its REVISE; keep what it names."""
    prompt = render_prompt("reviewer_what_to_change", script_name=script_name(judging.version))
    reply = await call_and_record(
        judging.ctx, judging.agent, prompt, judging.version, "is asked what to change"
    )
    answer = parse_reply(reply.text)
    named = keep_suggestions_apart(review, answer.review.points)
    if named:
        review.points = named
        count = len(review.points)
        review.notes.append(
            f"The Reviewer's REVISE named nothing to change; asked, it named {count} "
            f"point{'s' if count > 1 else ''}."
        )
    elif answer.verdict == APPROVE and not unassessed(review):
        review.verdict = APPROVE
        review.notes.append("The Reviewer's REVISE named nothing to change; asked, it approved.")
    else:
        review.notes.append("The Reviewer's REVISE named nothing to change; asked, it named nothing.")


def assessed_by_tests(rows: list[Coverage], outcomes: Sequence[TestOutcome]) -> list[Coverage]:
    """Rows the Reviewer left ``not assessed`` are met when the acceptance tests named after the
    requirement (``test_req3_...``) ran and all passed."""
    tests: dict[str, list[TestOutcome]] = {}
    for outcome in outcomes:
        match = TEST_OF_REQUIREMENT.match(outcome.name.rsplit("::", 1)[-1])
        if match and outcome.result != "skipped":
            tests.setdefault(match.group(1), []).append(outcome)
    return [
        Coverage(row.requirement, "met", f"not assessed by the Reviewer; {ran[0].name} passed")
        if row.status == NOT_ASSESSED and (ran := tests.get(row.requirement)) and all(
            o.result == "passed" for o in ran
        )
        else row
        for row in rows
    ]  # fmt: skip


def enforce_consistency(
    review: Review, run_problems: list[str], outcomes: Sequence[TestOutcome] = ()
) -> Review:
    """Apply the tool's rules: no approval past a requirement missing or not assessed (a passing test
    named after it assesses it), the Manager's feedback not done, a failing test or a crash; a REVISE
    with nothing to fix, everything met (the feedback done) and a clean run is an approval."""
    review.coverage = assessed_by_tests(review.coverage, outcomes)
    rows, feedback = review.coverage, (review.feedback.status if review.feedback else DONE)
    all_met = bool(rows) and feedback == DONE and all(row.status == "met" for row in rows)
    facts = _requirements(review, "missing", "marked missing") + run_problems  # said first in the note
    facts += ["the Manager's feedback not done"] if feedback == NOT_DONE else []
    unknowns = _requirements(review, NOT_ASSESSED, NOT_ASSESSED)
    if review.verdict == APPROVE and facts + unknowns:
        review.verdict = REVISE
        also = f" Also: {'; '.join(unknowns)}." if facts and unknowns else ""
        note = "; ".join(facts or unknowns)
        review.notes.append(f"{CHANGED_VERDICT}: {note}.{also}")
    elif review.verdict == REVISE and all_met and not (review.points or facts or unknowns):
        review.verdict = APPROVE
        review.notes.append(
            "The tool changed the verdict from REVISE to APPROVE: every requirement is met "
            "and there is nothing to fix."
        )
    return review


def _requirements(review: Review, status: str, said: str) -> list[str]:
    numbers = [row.requirement for row in review.coverage if row.status == status]
    return [f"requirement{'s' if len(numbers) > 1 else ''} {', '.join(numbers)} {said}"] if numbers else []
