"""Compact reviews: the Reviewer writes only what is new, the tool carries the rest forward.

A compact reply (the Reviewer's JSON without ``previous_points``) gives coverage rows only for the
requirements whose status changed, the previous points still open (``open_points``; the others are
fixed) and the new points. With the previous review's record it becomes the whole :class:`Review` the
rest of the tool reads: a row the Reviewer left out is the previous review's row, saying so in its
evidence (or ``not assessed``, which the passing tests named after the requirement then settle, as
for any review); an open point keeps its words among the points. A reply in the full format, a text
review, or the review of the first version is read by :func:`review.parse_reply` as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass

from .convergence import MET, PARTLY, same_point
from .records.review import NOT_ASSESSED, Coverage, EarlierPoint, Point, Review, from_reviewer_json
from .review import ParsedReply, distinct_points, find_json, parse_reply, strip_thinking

CARRIED = "carried from"  # how a carried row's evidence begins: "carried from review_v2.md: ..."
OPEN, FIXED = "open", "fixed"


@dataclass(frozen=True)
class Baseline:
    """What a compact review leaves out is read from: the previous review and this version's run."""

    previous: Review | None
    name: str  # the previous review's file, e.g. ``review_v2.md``
    failing: tuple[str, ...] = ()  # acceptance tests that failed in this version's run


def read_reviewer_reply(
    reply: str, requirements: list[str], cut_off: bool, baseline: Baseline
) -> ParsedReply:
    """The Reviewer's reply as a whole review: a compact reply completed from ``baseline``; any other
    reply (full format, text, no previous review) parsed as before."""
    data, _how = find_json(strip_thinking(reply), cut_off)
    previous = baseline.previous
    if previous is None or data is None or "previous_points" in data:
        return parse_reply(reply, requirements, cut_off)
    parsed = parse_reply(reply, [], cut_off)
    review = parsed.review
    review.coverage = carried_coverage(review.coverage, requirements, baseline)
    review.earlier, carried = earlier_points(data.get("open_points"), review.points, previous)
    review.points = distinct_points(carried + review.points)
    return parsed


def carried_coverage(given: list[Coverage], requirements: list[str], baseline: Baseline) -> list[Coverage]:
    """One row per requirement: the Reviewer's, else the previous review's carried forward."""
    rows: dict[str, Coverage] = {}
    for row in given:
        rows.setdefault(row.requirement, row)
    before = {row.requirement: row for row in (baseline.previous.coverage if baseline.previous else [])}
    numbers = requirements or list(dict.fromkeys([*before, *rows]))
    return [rows.get(number) or _carried(before.get(number), number, baseline) for number in numbers]


def _carried(row: Coverage | None, number: str, baseline: Baseline) -> Coverage:
    """The previous row for a requirement the Reviewer left out; a ``met`` that a test named after the
    requirement now contradicts is ``partly``."""
    if row is None or row.status == NOT_ASSESSED:
        return Coverage(number, NOT_ASSESSED, "")
    failed = [name for name in baseline.failing if _tests_requirement(name, number)]
    if row.status == MET and failed:
        return Coverage(number, PARTLY, f"{failed[0]} failed in this run ({baseline.name} had it met)")
    if row.evidence.startswith(CARRIED):
        return row
    return Coverage(number, row.status, f"{CARRIED} {baseline.name}: {row.evidence}".rstrip(": "))


def _tests_requirement(test: str, number: str) -> bool:
    """Whether an acceptance test is named after requirement ``number`` (``test_req3_...``)."""
    name = test.rsplit("::", 1)[-1].lower()
    return name == f"test_req{number}" or name.startswith((f"test_req{number}_", f"test_req{number}["))


def earlier_points(
    open_items: object, new_points: list[Point], previous: Review
) -> tuple[list[EarlierPoint], list[Point]]:
    """The fate of each previous point (listed open, or raised again: open; else fixed), and the open
    points the new review does not raise again, to keep among its points."""
    listed = {}
    for item in open_items if isinstance(open_items, list) else []:
        fields = item if isinstance(item, dict) else {"point": item}
        listed.setdefault(str(fields.get("point", "")).strip(), str(fields.get("evidence", "")).strip())
    rows, carried = [], []
    for number, point in enumerate(previous.points, start=1):
        again = any(same_point(point, other) for other in new_points)
        if str(number) in listed or again:
            evidence = listed.get(str(number), "raised again in this review")
            rows.append({"point": number, "status": OPEN, "evidence": evidence})
            carried += [] if again else [point]
        else:
            rows.append({"point": number, "status": FIXED, "evidence": "not listed as open by the Reviewer"})
    return from_reviewer_json({"previous_points": rows}).earlier, carried
