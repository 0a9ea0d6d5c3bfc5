"""Reviews the tool can trust: the Reviewer's reply is parsed, cleaned and checked in code.

Whatever the model sends (JSON, JSON cut off mid-way, plain text, a hundred copies of one point),
``review_vN.md`` comes out the same shape: the verdict, a coverage table with one row per numbered
requirement of the plan, then at most :data:`MAX_POINTS` distinct points, most important first.
"""

from __future__ import annotations

import difflib
import json
import re

from .records.review import APPROVE, REVISE, Coverage, EarlierPoint, Point, Review

__all__ = ["APPROVE", "REVISE", "Coverage", "EarlierPoint", "Point", "Review", "parse_review"]

MAX_POINTS = 10
SIMILARITY = 0.85  # difflib ratio at or above which two points say the same thing
CATEGORIES = ("failing", "missing", "robustness", "style")
STATUSES = ("met", "partly", "missing")

_VERDICT_LINE = re.compile(r"^\W*verdict\W*\s*(approve|revise)\b\W*$", re.IGNORECASE)
_BARE_VERDICT = re.compile(r"^\W*(approve|revise)\W*$", re.IGNORECASE)
_JSON_VERDICT = re.compile(r'"verdict"\s*:\s*"(approve|revise)"', re.IGNORECASE)
_FLAT_OBJECT = re.compile(r"\{[^{}]*\}")
_NUMBERED = re.compile(r"^\s*(?:[-*+]\s+)?(\d+)[.)]\s+(.+)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.+)$")
# A coverage row in plain text: a table row (``| 2 | met | ... |``) or ``R2: met - ...``; never a
# numbered point such as ``1. Missing error handling``.
_COVERAGE_LINE = re.compile(
    r"^\s*(?:\|\s*(?:R|req(?:uirement)?\.?\s*)?|(?:R|req(?:uirement)?\.?\s*))(\d+)\s*[|:.)\-]\s*"
    r"\**(met|partly|missing)\**\s*[|:\-—]*\s*(.*?)\s*\|?\s*$",
    re.IGNORECASE,
)
_REQUIREMENT = re.compile(r"^\s*(\d+)[.)]\s+(.+)$")


def requirement_numbers(plan: str) -> list[str]:
    """The numbers of the plan's numbered requirements (the section named Requirements, else any list)."""
    section = re.split(r"^#+\s*requirements?\b.*$", plan, maxsplit=1, flags=re.IGNORECASE | re.MULTILINE)
    text = section[1] if len(section) > 1 else plan
    text = re.split(r"^#+\s", text, maxsplit=1, flags=re.MULTILINE)[0] if len(section) > 1 else text
    numbers: dict[str, None] = {}  # in order, each once: linear however long the plan
    for line in text.splitlines():
        match = _REQUIREMENT.match(line)
        if match:
            numbers.setdefault(match.group(1))
    return list(numbers)


def parse_review(reply: str, requirements: list[str] | None = None) -> Review:
    """Parse the Reviewer's reply (JSON, cut-off JSON, or plain text) into a clean :class:`Review`."""
    text, was_cut = cut_repetition(reply)
    review = _from_json(text) or _from_partial_json(text) or _from_text(text)
    if was_cut:
        review.notes.append("The Reviewer's reply repeated itself; the repetition was cut.")
    review.points = distinct_points(review.points)
    review.coverage = _one_row_per_requirement(review.coverage, requirements or [])
    return review


def _from_json(text: str) -> Review | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or "verdict" not in data:
        return None
    verdict = str(data.get("verdict", "")).strip().upper()
    review = Review(verdict=verdict if verdict in (APPROVE, REVISE) else REVISE)
    if verdict not in (APPROVE, REVISE):
        review.notes.append("The Reviewer gave no clear verdict; counted as REVISE.")
    for item in _dicts(data.get("coverage")):
        review.coverage.append(_coverage_from(item))
    for item in _dicts(data.get("points")):
        point = _point_from(item)
        if point:
            review.points.append(point)
    for item in _dicts(data.get("previous_points")):
        review.earlier.append(_earlier_from(item))
    return review


def _from_partial_json(text: str) -> Review | None:
    """A reply cut off mid-JSON: keep the verdict and every complete inner object."""
    verdict = _JSON_VERDICT.search(text)
    if not verdict or "{" not in text:
        return None
    review = Review(verdict=verdict.group(1).upper(), parsed_from="partial json")
    review.notes.append("The Reviewer's reply was cut off; what arrived complete is kept.")
    for raw in _FLAT_OBJECT.findall(text[text.find("{") + 1 :]):
        try:
            item = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(item, dict):
            continue
        if "status" in item and "requirement" in item:
            review.coverage.append(_coverage_from(item))
        elif "point" in item and "status" in item:
            review.earlier.append(_earlier_from(item))
        else:
            point = _point_from(item)
            if point:
                review.points.append(point)
    return review


def _from_text(text: str) -> Review:
    review = Review(verdict=REVISE, parsed_from="text")
    verdict_found = False
    for index, line in enumerate(text.strip().splitlines()):
        stripped = line.strip()
        if not verdict_found:
            match = _VERDICT_LINE.match(stripped) or (index == 0 and _BARE_VERDICT.match(stripped))
            if match:
                review.verdict, verdict_found = match.group(1).upper(), True
                continue
        coverage = _COVERAGE_LINE.match(stripped)
        if coverage:
            review.coverage.append(Coverage(coverage.group(1), coverage.group(2).lower(), coverage.group(3)))
            continue
        item = _NUMBERED.match(stripped) or _BULLET.match(stripped)
        if item:
            review.points.append(
                Point(text=item.group(item.lastindex or 1).strip(), category=_guess_category(stripped))
            )
    if not verdict_found:
        review.notes.append("The Reviewer gave no verdict line; counted as REVISE.")
    return review


def _dicts(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _coverage_from(item: dict) -> Coverage:
    status = str(item.get("status", "")).strip().lower()
    return Coverage(
        requirement=str(item.get("requirement", "?")).strip().lstrip("R#"),
        status=status if status in STATUSES else "partly",
        evidence=str(item.get("evidence", "")).strip(),
    )


def _point_from(item: dict) -> Point | None:
    text = str(item.get("issue") or item.get("text") or item.get("point") or "").strip()
    if not text:
        return None
    category = str(item.get("category", "")).strip().lower()
    return Point(
        text=text,
        category=category if category in CATEGORIES else _guess_category(text),
        where=str(item.get("where", "")).strip(),
    )


def _earlier_from(item: dict) -> EarlierPoint:
    status = str(item.get("status", "")).strip().lower()
    evidence = str(item.get("evidence", "")).strip()
    if status not in ("fixed", "open"):
        status = "unclear"
    if status == "open" and not evidence:
        # An open point must name its evidence in the new script; without it the claim is not kept.
        status, evidence = "unclear", "the Reviewer called it open but named no evidence"
    try:
        number = int(str(item.get("point", 0)).strip().lstrip("#"))
    except ValueError:
        number = 0
    return EarlierPoint(number=number, status=status, evidence=evidence)


def _guess_category(text: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in ("fail", "crash", "error", "exception", "traceback", "wrong", "bug")):
        return "failing"
    if any(word in lowered for word in ("missing", "not implemented", "requirement", "does not support")):
        return "missing"
    if any(
        word in lowered for word in ("style", "naming", "docstring", "pep 8", "pep8", "comment", "format")
    ):
        return "style"
    return "robustness"


def normalise(text: str) -> str:
    """Lower case, punctuation and list numbering gone, white space folded: for comparing points."""
    text = re.sub(r"^\s*(\d+[.)]|[-*+])\s*", "", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def similar(a: str, b: str) -> bool:
    """Whether two normalised texts say the same thing."""
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and (matcher.ratio() >= SIMILARITY)
    )


def distinct_points(points: list[Point]) -> list[Point]:
    """Points without exact or near duplicates, ranked by category, at most :data:`MAX_POINTS`."""
    kept: list[Point] = []
    seen: list[str] = []
    for point in points:
        key = normalise(f"{point.where} {point.text}")
        if not key or any(similar(key, other) for other in seen):
            continue
        kept.append(point)
        seen.append(key)
    kept.sort(key=lambda p: CATEGORIES.index(p.category) if p.category in CATEGORIES else len(CATEGORIES))
    return kept[:MAX_POINTS]


def cut_repetition(reply: str, limit: int = 3) -> tuple[str, bool]:
    """Cut the reply where a substantial line comes back for the ``limit``-th time."""
    counts: dict[str, int] = {}
    lines = reply.splitlines()
    for index, line in enumerate(lines):
        key = normalise(line)
        if len(key) < 12:
            continue
        counts[key] = counts.get(key, 0) + 1
        if counts[key] >= limit:
            return "\n".join(lines[:index]), True
    return reply, False


def _one_row_per_requirement(rows: list[Coverage], requirements: list[str]) -> list[Coverage]:
    if not requirements:
        return rows
    by_number: dict[str, Coverage] = {}
    for row in rows:
        by_number.setdefault(row.requirement, row)
    return [by_number.get(number, Coverage(number, "not assessed", "")) for number in requirements]


def enforce_consistency(review: Review, run_problems: list[str]) -> Review:
    """Apply the tool's rules: no approval past a missing requirement, a failing test or a crash;
    a REVISE with nothing to fix and everything met is an approval."""
    missing = [row.requirement for row in review.coverage if row.status == "missing"]
    if review.verdict == APPROVE and (missing or run_problems):
        reasons = ([f"requirement {', '.join(missing)} marked missing"] if missing else []) + run_problems
        review.verdict = REVISE
        review.notes.append(f"The tool changed the verdict from APPROVE to REVISE: {'; '.join(reasons)}.")
    elif (
        review.verdict == REVISE
        and not review.points
        and review.coverage
        and all(row.status == "met" for row in review.coverage)
        and not run_problems
    ):
        review.verdict = APPROVE
        review.notes.append(
            "The tool changed the verdict from REVISE to APPROVE: every requirement is met "
            "and there is nothing to fix."
        )
    return review
