"""A review (``review_vN.md``): the typed record, its Markdown writer and its reader.

The loop decides from :class:`Review` (the verdict, the points, the coverage); the Markdown is for
the person and the next prompts. Files written before records existed are read by
:func:`_legacy_review`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .embedded import embed, extract

APPROVE = "APPROVE"
REVISE = "REVISE"
REVIEW_RECORD_KIND = "review"
REVIEW_RECORD_FORMAT = 1


@dataclass(frozen=True)
class Coverage:
    """How far one numbered requirement is met, with the evidence."""

    requirement: str
    status: str  # met | partly | missing | not assessed
    evidence: str = ""


@dataclass(frozen=True)
class Point:
    """One thing to fix."""

    text: str
    category: str = "robustness"
    where: str = ""


@dataclass(frozen=True)
class EarlierPoint:
    """What became of a point of the previous review."""

    number: int
    status: str  # fixed | open | unclear
    evidence: str = ""


@dataclass
class Review:
    """A parsed, cleaned review."""

    verdict: str
    coverage: list[Coverage] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    earlier: list[EarlierPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the tool changed, said in the review
    parsed_from: str = "json"  # json | partial json | text | legacy file

    @property
    def approved(self) -> bool:
        """Whether the verdict is APPROVE."""
        return self.verdict == APPROVE

    def render(self) -> str:
        """The Markdown of ``review_vN.md`` as a person reads it (without the record)."""
        lines = [f"Verdict: {self.verdict}", ""]
        lines += [f"> {note}" for note in self.notes]
        if self.notes:
            lines.append("")
        lines += ["## Coverage", "", "| requirement | status | evidence |", "|---|---|---|"]
        lines += [f"| {row.requirement} | {row.status} | {_cell(row.evidence)} |" for row in self.coverage]
        if not self.coverage:
            lines.append("| - | not assessed | the plan has no numbered requirements |")
        lines += ["", "## Points", ""]
        for number, point in enumerate(self.points, start=1):
            where = f" ({point.where})" if point.where else ""
            lines.append(f"{number}. [{point.category}]{where} {point.text}")
        if not self.points:
            lines.append("None.")
        if self.earlier:
            lines += ["", "## Points of the previous review", ""]
            for item in self.earlier:
                evidence = f": {item.evidence}" if item.evidence else ""
                lines.append(f"- point {item.number}: {item.status}{evidence}")
        return "\n".join(lines).rstrip() + "\n"

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types."""
        return {"kind": REVIEW_RECORD_KIND, "format": REVIEW_RECORD_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Review:
        """The record from :meth:`to_json`'s output; ValueError when it is not one."""
        if data.get("kind") != REVIEW_RECORD_KIND or data.get("verdict") not in (APPROVE, REVISE):
            raise ValueError("not a review record")
        return cls(
            verdict=data["verdict"],
            coverage=[
                Coverage(str(c["requirement"]), str(c["status"]), str(c.get("evidence", "")))
                for c in data.get("coverage", [])
            ],  # fmt: skip
            points=[
                Point(str(p["text"]), str(p.get("category", "robustness")), str(p.get("where", "")))
                for p in data.get("points", [])
            ],  # fmt: skip
            earlier=[
                EarlierPoint(int(e["number"]), str(e["status"]), str(e.get("evidence", "")))
                for e in data.get("earlier", [])
            ],  # fmt: skip
            notes=[str(note) for note in data.get("notes", [])],
            parsed_from=str(data.get("parsed_from", "json")),
        )


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def write_review(review: Review) -> str:
    """The text of ``review_vN.md``: the review for people, with the record embedded."""
    return embed(review.render(), review.to_json())


def read_review(text: str | None) -> Review | None:
    """The review in a ``review_vN.md`` text; None when there is none or no verdict can be read."""
    if not text or not text.strip():
        return None
    data = extract(text)
    if data is not None:
        try:
            return Review.from_json(data)
        except (KeyError, TypeError, ValueError):
            pass
    return _legacy_review(text)


_LEGACY_VERDICT = re.compile(r"^\W*verdict\W*\s*(approve|revise)\b\W*$", re.IGNORECASE)
_LEGACY_POINT = re.compile(r"^\s*\d+[.)]\s+(?:\[(\w+)\]\s*)?(?:\(([^)]*)\)\s*)?(.+)$")
_LEGACY_COVERAGE = re.compile(r"^\| (\d+) \| (met|partly|missing|not assessed) \| (.*) \|$")


def _legacy_review(text: str) -> Review | None:
    """A ``review_vN.md`` written before records existed (iterative_coder 0.1)."""
    lines = text.strip().splitlines()
    verdict = _LEGACY_VERDICT.match(lines[0].strip())
    if not verdict:
        return None
    review = Review(verdict=verdict.group(1).upper(), parsed_from="legacy file")
    section = ""
    for line in lines[1:]:
        if line.startswith("## "):
            section = line[3:].strip().lower()
        elif section == "coverage" and (row := _LEGACY_COVERAGE.match(line.strip())):
            review.coverage.append(Coverage(row.group(1), row.group(2), row.group(3).replace("\\|", "|")))
        elif section == "points" and (point := _LEGACY_POINT.match(line)):
            review.points.append(
                Point(point.group(3).strip(), point.group(1) or "robustness", point.group(2) or "")
            )
        elif not section and line.startswith("> "):
            review.notes.append(line[2:].strip())
    return review
