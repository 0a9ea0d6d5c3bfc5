"""A review (``review_vN.md``): the typed record, its Markdown writer and its reader; and a review
as reviewers write it (the verdict and status words, the Reviewer's JSON object), read into the record.

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
REVIEW_RECORD_FORMAT = (
    1  # ``feedback`` and ``doubt`` were added later: optional, so format 1 files still read
)
DONE, NOT_DONE, NOT_ASSESSED = "done", "not done", "not assessed"
CATEGORIES = ("failing", "missing", "robustness", "style")
_CATEGORY_WORDS = (
    ("failing", ("fail", "crash", "error", "exception", "traceback", "wrong", "bug")),
    ("missing", ("missing", "not implemented", "requirement", "does not support")),
    ("style", ("style", "naming", "docstring", "pep 8", "pep8", "comment", "format", "type hint")),
)


# Every word or phrase read as a verdict, in one table (docs/edits-and-reviews.md, "Reviews that
# converge"). A verdict value is compared in lower case with ``_`` and ``-`` as spaces, and matches when
# it starts with a phrase (the longest phrase wins, so "not approved" is REVISE).
VERDICT_WORDS: dict[str, str] = {
    **dict.fromkeys(("approve", "approved", "approves", "accept", "accepted", "lgtm", "looks good to me",
                     "ship it", "pass", "passed", "ok to merge"), APPROVE),
    **dict.fromkeys(("revise", "revision", "revisions needed", "needs revision", "reject", "rejected",
                     "changes requested", "request changes", "requested changes", "changes required",
                     "needs changes", "needs work", "not approved", "not accepted", "do not approve",
                     "dont approve", "fail", "failed"), REVISE),
}  # fmt: skip
# Idioms that approve only when the reply gives no verdict in any other way.
VERDICT_IDIOMS = ("lgtm", "looks good to me", "ship it")

# Coverage statuses as reviewers write them (words, emoji), the longest phrase first when read.
STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("met", "fully met", "done", "yes", "ok", "pass", "passed", "passes", "implemented",
                     "complete", "completed", "fulfilled", "satisfied", "✅", "✔", "☑", "🟢"), "met"),
    **dict.fromkeys(("partly", "partly met", "partial", "partially", "partially met", "mostly",
                     "in progress", "⚠", "🟡", "🟠", "~"), "partly"),
    **dict.fromkeys(("missing", "not met", "unmet", "no", "not done", "not implemented", "absent",
                     "fail", "failed", "fails", "❌", "✗", "✘", "🔴"), "missing"),
}  # fmt: skip


def _longest_first(table: dict[str, str]) -> str:
    return "|".join(re.escape(word) for word in sorted(table, key=len, reverse=True))


VERDICT_PHRASE = _longest_first(VERDICT_WORDS)  # a regular expression matching any of them
STATUS_PHRASE = _longest_first(STATUS_WORDS)
_TAG = re.compile(r"^\[(\w+)\]\s*")  # ``[failing]`` before a point
_LABEL = re.compile(r"^(?:final |overall )?(?:verdict|decision)(?: is)?\b ?(.*)$")
_VERDICT_AT_START = re.compile(rf"^(?:{VERDICT_PHRASE})(?: |$)")
_STATUS_AT_START = re.compile(rf"^(?:{STATUS_PHRASE})(?=\W|$)")


def plain_words(text: str) -> str:
    """Lower case words only: Markdown, punctuation and emoji gone, ``_`` and ``-`` as spaces."""
    text = re.sub(r"['’]", "", text.lower()).replace("_", " ")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def verdict_of(value: str) -> str | None:
    """The verdict a value starts with, by :data:`VERDICT_WORDS` (``Approve (minor nits)``: APPROVE)."""
    words = plain_words(value)
    if re.match(r"^(approve|revise)d? (or|and) (approve|revise)", words):  # the template, echoed
        return None
    match = _VERDICT_AT_START.match(words)
    return VERDICT_WORDS[match.group(0).strip()] if match else None


def find_verdict(text: str) -> str | None:
    """The verdict of a text reply: a ``Verdict:`` line (or heading, the word on the next line), else
    a short first line that is a verdict, else an idiom (``LGTM``, ``Ship it``) on a line of its own."""
    lines = [line for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        label = _LABEL.match(plain_words(line))
        rest = (label.group(1) or (lines[index + 1] if index + 1 < len(lines) else "")) if label else ""
        if rest and (verdict := verdict_of(rest)):
            return verdict
    if lines and len(plain_words(lines[0]).split()) <= 6 and (verdict := verdict_of(lines[0])):
        return verdict
    for index, line in enumerate(lines):
        plain = plain_words(line)
        if plain in VERDICT_IDIOMS or (index == 0 and plain.startswith(VERDICT_IDIOMS)):
            return APPROVE
    return None


def is_verdict_line(line: str) -> bool:
    """Whether a line only gives the verdict (``**Verdict:** APPROVE``, ``## Verdict``, ``LGTM!``)."""
    plain = plain_words(line)
    label = _LABEL.match(plain)
    return bool(label and (not label.group(1) or verdict_of(label.group(1)))) or plain in VERDICT_WORDS


def status_of(text: str) -> str | None:
    """met, partly or missing, from a status as reviewers write it (``✅ Met``, ``**partly**``...)."""
    match = _STATUS_AT_START.match(re.sub(r"[*_`\ufe0f]", "", text).strip().lower())
    return STATUS_WORDS[match.group(0)] if match else None


def reason_after_status(text: str) -> str:
    """What follows the status words of a cell or line (``✅ Met (exit status is 0)``: ``exit status is
    0``): the Reviewer's reason, kept with the row."""
    rest = text.strip()
    while True:
        lead = len(rest) - len(rest.lstrip(" *_`\ufe0f"))
        match = _STATUS_AT_START.match(rest[lead:].lower())
        if not match:
            break
        rest = rest[lead + match.end() :]
    rest = rest.strip().strip("*").strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    return rest.lstrip(" :—–-.;,").strip()


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


@dataclass(frozen=True)
class FeedbackCheck:
    """Whether the version does what the Manager's feedback on the version before asked."""

    status: str  # done | not done | not assessed
    evidence: str = ""


def feedback_of(status: str, evidence: str = "") -> FeedbackCheck:
    """The feedback row from a status as written: ``done`` (or met), anything else ``not done``."""
    found = status_of(status)
    return FeedbackCheck(NOT_ASSESSED if found is None else DONE if found == "met" else NOT_DONE, evidence)


@dataclass
class Review:
    """A parsed, cleaned review."""

    verdict: str
    coverage: list[Coverage] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    earlier: list[EarlierPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the tool changed, said in the review
    parsed_from: str = "json"  # json | partial json | repaired json | text | legacy file
    feedback: FeedbackCheck | None = None  # None: the version follows no feedback of the Manager
    doubt: str | None = None  # an approval in doubt: why (the Reviewer could not say what to change...)
    suspect_tests: list[str] = field(default_factory=list)  # failing tests that may be wrong, described
    suggestions: list[str] = field(default_factory=list)  # optional: traced to no requirement, test, crash

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
        if self.feedback:
            evidence = f": {self.feedback.evidence}" if self.feedback.evidence else ""
            lines += ["", "## The Manager's feedback", "", f"{self.feedback.status}{evidence}"]
        if self.suspect_tests:
            lines += ["", "## Suspect tests (not held against this version; /fix-tests)", ""]
            lines += [f"- {item}" for item in self.suspect_tests]
        lines += ["", "## Points", ""]
        for number, point in enumerate(self.points, start=1):
            where = f" ({point.where})" if point.where else ""
            lines.append(f"{number}. [{point.category}]{where} {point.text}")
        if not self.points:
            lines.append("None.")
        if self.suggestions:
            lines += ["", "## Suggestions (optional: not required of the next version)", ""]
            lines += [f"- {text}" for text in self.suggestions]
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
            feedback=_feedback_from(data.get("feedback")),
            doubt=str(data["doubt"]) if data.get("doubt") else None,
            suspect_tests=[str(item) for item in data.get("suspect_tests", [])],
            suggestions=[str(item) for item in data.get("suggestions", [])],
        )


def _feedback_from(data: object) -> FeedbackCheck | None:
    if not isinstance(data, dict):
        return None
    return FeedbackCheck(str(data.get("status", NOT_ASSESSED)), str(data.get("evidence", "")))


def from_reviewer_json(data: dict, parsed_from: str = "json") -> Review:
    """The review in the Reviewer's JSON object (keys in lower case), spelled as models spell it."""
    review = Review(verdict=REVISE, parsed_from=parsed_from)
    coverage = data.get("coverage") or data.get("requirements") or []
    if isinstance(coverage, dict):  # {"1": "met"} or {"1": {"status": ..., "evidence": ...}}
        coverage = [v | {"requirement": k} if isinstance(v, dict) else {"requirement": k, "status": v}
                    for k, v in coverage.items()]  # fmt: skip
    for item in _dicts(coverage):
        item = lower_keys(item)
        number = re.search(r"\d+", str(item.get("requirement", item.get("id", "?"))))
        status = status_of(str(item.get("status", ""))) or NOT_ASSESSED
        evidence = str(item.get("evidence", "")).strip()
        review.coverage.append(Coverage(number.group(0) if number else "?", status, evidence))
    points = data.get("points") or data.get("issues") or data.get("findings")
    for item in points if isinstance(points, list) else []:
        item = lower_keys(item) if isinstance(item, dict) else {"issue": item}
        text = item.get("issue") or item.get("text") or item.get("point") or item.get("description")
        if str(text or "").strip():
            review.points.append(
                reviewer_point(str(text), str(item.get("category", "")), str(item.get("where", "")))
            )
    review.earlier = [_earlier_from(lower_keys(item)) for item in _dicts(data.get("previous_points"))]
    feedback = data.get("feedback")
    if isinstance(feedback, (dict, str)):
        item = lower_keys(feedback) if isinstance(feedback, dict) else {"status": feedback}
        review.feedback = feedback_of(str(item.get("status", "")), str(item.get("evidence", "")).strip())
    return review


def _dicts(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def reviewer_point(text: str, category: str = "", where: str = "") -> Point:
    """A point with its ``[category]`` tag or given category, else one guessed from its words."""
    text = " ".join(text.replace("**", "").split())
    tag = _TAG.match(text)
    if tag and tag.group(1).lower() in CATEGORIES:
        category, text = tag.group(1), text[tag.end() :]
    category = category.strip().lower()
    if category not in CATEGORIES:
        category = next((c for c, words in _CATEGORY_WORDS if any(w in text.lower() for w in words)), "")
    return Point(text=text, category=category or "robustness", where=where.strip())


def _earlier_from(item: dict) -> EarlierPoint:
    status = str(item.get("status", "")).strip().lower()
    evidence = str(item.get("evidence", "")).strip()
    if status not in ("fixed", "open"):
        status = "unclear"
    if status == "open" and not evidence:
        # An open point must name its evidence in the new script; without it the claim is not kept.
        status, evidence = "unclear", "the Reviewer called it open but named no evidence"
    number = re.search(r"\d+", str(item.get("point", 0)))
    return EarlierPoint(number=int(number.group(0)) if number else 0, status=status, evidence=evidence)


def lower_keys(data: dict) -> dict:
    """The dictionary with its keys in lower case, stripped."""
    return {str(key).strip().lower(): value for key, value in data.items()}


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
