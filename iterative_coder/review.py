"""Reviews the tool can trust: the Reviewer's reply is parsed, cleaned and checked in code.

Whatever the model sends (JSON, JSON in a fence or between prose, JSON cut off at the token limit,
Markdown with headings, tables and praise, ``<think>`` blocks, a hundred copies of one point),
``review_vN.md`` comes out the same shape: the verdict, a coverage table with one row per numbered
requirement of the plan, then at most :data:`MAX_POINTS` distinct points, most important first. The
words read as verdicts and statuses are tables in :mod:`records.review`.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field, replace

from .records import review as words
from .records.review import APPROVE, REVISE, Coverage, EarlierPoint, Point, Review

__all__ = ["APPROVE", "REVISE", "Coverage", "EarlierPoint", "Point", "Review", "parse_review"]

MAX_POINTS = 10
MAX_CANDIDATES = 200  # points read from one reply, before duplicates are dropped
CUT_OFF_NOTE = "The Reviewer's reply was cut off at the model's token limit; what arrived complete is kept."
SIMILARITY = 0.85  # difflib ratio at or above which two points say the same thing
OVERLAP = 0.8  # ... or the share of words two points of 6 words or more have in common
REVIEW_KEYS = ("coverage", "points", "issues", "findings", "previous_points")  # lists, besides a verdict
# Section headings: praise gives no points; when a reply has issue sections, only they give points.
PRAISE = re.compile(r"\b(strengths?|what works|works well|positives?|good|praise|highlights?|well done)\b")
ISSUES = re.compile(
    r"\b(issues?|problems?|points?|suggestions?|required changes|changes required|must fix|fix(es)?|nits?|"
    r"findings?|bugs?|concerns?|improvements?|recommendations?|weakness(es)?|blockers?|to do|todo)\b"
)

_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.IGNORECASE | re.DOTALL)
_THINK_END = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_REVIEW_START = re.compile(r"\{\s*[\"']?(?:verdict|decision|coverage|points|issues)\b", re.IGNORECASE)
_KEY = re.compile(r'\s*,?\s*("(?:[^"\\]|\\.)*")\s*:\s*')
_SEPARATOR = re.compile(r"\s*,?\s*")
_HEADING = re.compile(r"^(?:#{1,6}\s+(.+?)\s*#*|\*\*(.+?)\*\*\s*(?:\([^)]*\))?\s*:?\s*(.*))$")
_COLON_LABEL = re.compile(r"^[A-Z][^.!?|`]{0,80}:$")
_ITEM = re.compile(r"^(?:[-*+•]|\d+[.)])\s+(.+)$")
_REQ_LINE = re.compile(
    r"^(?:[-*+•]\s+)?(?:[✅✔☑❌✗✘⚠🟢🟡🟠🔴]\ufe0f?\s*)?(?:R|Req(?:uirement)?\.?\s*#?)\s*(\d+)\b(.*)$",
    re.IGNORECASE,
)
_FEEDBACK_LINE = re.compile(r"^(?:[-*+•]\s+)?(?:the )?(?:manager['’]?s? )?feedback\b(.*)$", re.IGNORECASE)
_STATUS_AFTER = re.compile(rf"(?:^|[—–:|]|\s-)\s*((?:{words.STATUS_PHRASE})(?=\W|$))(.*)$", re.IGNORECASE)
# "All requirements are met", "The script meets every requirement of the plan": an approval's coverage.
_ALL_MET = re.compile(
    r"(?<!not )\b(?:all|every|each)(?: one)?(?: of)?(?: the)?(?: \w+)? requirements? "
    r"(?:in |of )?(?:the plan )?(?:are|is|have been|has been)(?: all| fully| now)? "
    r"(?:met|satisfied|implemented|fulfilled|covered|addressed)\b"
    r"|(?<!not )\b(?:meets|satisfies|fulfils|fulfills|covers|implements) (?:all|every|each)(?: one)?"
    r"(?: of)?(?: the)?(?: \w+)? requirements?\b"
)
_REQUIREMENT = re.compile(r"^\s*(\d+)[.)]\s+(.+)$")
_SPECIFIC = re.compile(
    r"`([^`]+)`|\b(\w+(?:[._]\w+)+)\b|\b(\w+)\(|(?<![\w.])(\d+)\b|\b([A-Za-z][a-z]+[A-Z]\w*)\b"
)


@dataclass
class ParsedReply:
    """A parsed reply: the review (its verdict REVISE until one is found) and the verdict found."""

    review: Review
    verdict: str | None  # None: the reply gives no verdict anywhere


def requirement_numbers(plan: str) -> list[str]:
    """The numbers of the plan's numbered requirements (the section named Requirements, else any list
    item that is not a question)."""
    section = re.split(r"^#+\s*requirements?\b.*$", plan, maxsplit=1, flags=re.IGNORECASE | re.MULTILINE)
    text = section[1] if len(section) > 1 else plan
    text = re.split(r"^#+\s", text, maxsplit=1, flags=re.MULTILINE)[0] if len(section) > 1 else text
    numbers: dict[str, None] = {}  # in order, each once: linear however long the plan
    for line in text.splitlines():
        match = _REQUIREMENT.match(line)
        if match and (len(section) > 1 or not match.group(2).rstrip("*_ ").endswith("?")):  # not a question
            numbers.setdefault(match.group(1))
    return list(numbers)


def parse_reply(reply: str, requirements: list[str] | None = None, cut_off: bool = False) -> ParsedReply:
    """Parse the Reviewer's reply in whatever shape it came. ``cut_off``: the model said it stopped
    at its token limit (only then is the reply called cut off, and only complete JSON items kept)."""
    text = strip_thinking(reply)
    data, parsed_from = find_json(text, cut_off)
    text, repeated = cut_repetition(text) if data is None else (text, False)
    review = _from_text(text) if data is None else words.from_reviewer_json(data, parsed_from)
    verdict = words.verdict_of(str(data.get("verdict") or data.get("decision") or "")) if data else None
    verdict = verdict or words.find_verdict(text)
    review.verdict = verdict or REVISE
    if repeated:
        review.notes.append("The Reviewer's reply repeated itself; the repetition was cut.")
    if cut_off:
        review.notes.append(CUT_OFF_NOTE)
    review.points = distinct_points(review.points)
    review.coverage = _one_row_per_requirement(review.coverage, requirements or [])
    if all_met_said(words.plain_words(text)):
        review.coverage = [
            Coverage(row.requirement, "met", "the Reviewer: all requirements are met")
            if row.status == words.NOT_ASSESSED else row
            for row in review.coverage
        ]  # fmt: skip
    return ParsedReply(review, verdict)


def all_met_said(plain: str) -> bool:
    """Whether a review (in :func:`records.review.plain_words`) says every requirement is met, with no
    exception after it (``all requirements are met except 3``)."""
    found = _ALL_MET.search(plain)
    return found is not None and not re.match(
        r"\s*(?:except|but|apart from|other than|besides|save for|bar)\b", plain[found.end() :]
    )


def parse_review(reply: str, requirements: list[str] | None = None, cut_off: bool = False) -> Review:
    """:func:`parse_reply`, with a reply that gives no verdict counted as REVISE (and a note)."""
    parsed = parse_reply(reply, requirements, cut_off)
    if parsed.verdict is None:
        parsed.review.notes.append("The Reviewer gave no verdict; counted as REVISE.")
    return parsed.review


def strip_thinking(text: str) -> str:
    """The reply without ``<think>...</think>``; an unclosed ``<think>`` at the start is all thought,
    and a lone ``</think>`` (its opening tag was in the prompt template) ends the thinking."""
    text = _THINK.sub("", text)
    if re.match(r"\s*<think(?:ing)?>", text, re.IGNORECASE):
        return ""
    return _THINK_END.split(text)[-1]


def cut_repetition(reply: str, limit: int = 3) -> tuple[str, bool]:
    """Cut the reply where a substantial line comes back for the ``limit``-th time."""
    counts: dict[str, int] = {}
    lines = reply.splitlines()
    for index, line in enumerate(lines):
        key = normalise(line)
        if len(key) >= 12:
            counts[key] = counts.get(key, 0) + 1
            if counts[key] >= limit:
                return "\n".join(lines[:index]), True
    return reply, False


def verdict_alone(reply: str) -> str | None:
    """The verdict of a reply asked for the verdict alone: as any reply, else the one verdict in it."""
    plain = words.plain_words(strip_thinking(reply))
    found = {words.VERDICT_WORDS[w] for w in re.findall(rf"\b(?:{words.VERDICT_PHRASE})\b", plain)}
    return parse_reply(reply).verdict or (found.pop() if len(found) == 1 else None)


def find_json(text: str, cut_off: bool) -> tuple[dict | None, str]:
    """The review object in a reply (keys in lower case; of several, the last complete one) and how it
    was read: ``json`` (complete, with prose or fences around it), ``partial json`` (cut off: whole values
    and whole list items only), or ``repaired json`` (malformed: trailing commas, single quotes...
    mended by json-repair)."""
    decoder, start, found, after = json.JSONDecoder(), None, None, 0
    for match in re.finditer(r"\{", text):
        if match.start() < after:
            continue  # inside a review object already read
        try:
            value, end = decoder.raw_decode(text, match.start())
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested thousands deep
            start = match.start() if start is None and _REVIEW_START.match(text, match.start()) else start
            continue
        if _is_review(value):  # of several (a corrected one after the first), the last counts
            found, after = value, end
    if found is not None:
        return words.lower_keys(found), "json"
    if start is None:
        return None, ""
    if cut_off:
        return words.lower_keys(_complete_part(text, start)), "partial json"
    import json_repair  # only for malformed JSON; it costs 30 ms to import

    try:
        repaired = json_repair.loads(text[start:])
    except RecursionError:
        return None, ""
    for value in repaired if isinstance(repaired, list) else [repaired]:
        if _is_review(value):
            return words.lower_keys(value), "repaired json"
    return None, ""


def _is_review(value: object) -> bool:
    data = words.lower_keys(value) if isinstance(value, dict) else {}
    return "verdict" in data or "decision" in data or any(isinstance(data.get(k), list) for k in REVIEW_KEYS)


def _complete_part(text: str, start: int) -> dict:
    """What arrived complete of an object cut off mid-way: each whole value, and the whole items of
    a list that was cut."""
    decoder, data, pos = json.JSONDecoder(), {}, start + 1
    while key := _KEY.match(text, pos):
        name, pos = key.group(1)[1:-1], key.end()  # review keys are plain words: no escapes
        if not text.startswith("[", pos):
            try:
                data[name], pos = decoder.raw_decode(text, pos)
            except (json.JSONDecodeError, RecursionError):
                break
            continue
        data[name], pos = (items := []), pos + 1
        while not text.startswith("]", pos := _SEPARATOR.match(text, pos).end()):
            try:
                item, pos = decoder.raw_decode(text, pos)
            except (json.JSONDecodeError, RecursionError):
                return data
            items.append(item)
        pos += 1
    return data


@dataclass
class _Section:
    kind: str  # praise | issues | coverage | other
    items: list[list[str]] = field(default_factory=list)  # bullets and numbered items, line by line
    paragraphs: list[list[str]] = field(default_factory=list)


def _kind(title: str) -> str:
    plain = words.plain_words(title)
    if "coverage" in plain:
        return "coverage"
    return "praise" if PRAISE.search(plain) else "issues" if ISSUES.search(plain) else "other"


def _from_text(text: str) -> Review:
    """Sections by heading, coverage from tables and ``R1: met`` lines, points from items."""
    review = Review(verdict=REVISE, parsed_from="text")
    sections, current, header, in_fence, row = [_Section("other")], None, None, False, False
    for line in text.splitlines():
        stripped = line.strip()
        header = header if stripped.startswith("|") else None
        goes_on, row = row and not _ITEM.match(stripped) and not _HEADING.match(stripped), False
        if stripped.startswith("```") or in_fence:
            in_fence, current = in_fence != stripped.startswith("```"), None
        elif not stripped or words.is_verdict_line(stripped):
            current = None
        elif stripped.startswith("|"):
            header, current = _table_row(review, stripped, header), None
        elif read := _coverage_line(review, stripped):
            current, row = None, read == "requirement"
        elif goes_on:  # the evidence of the coverage line before goes on
            last, row = review.coverage[-1], True
            review.coverage[-1] = replace(last, evidence=f"{last.evidence} {stripped}".strip())
        elif heading := _heading(stripped, current is None):
            kind, rest = heading
            if kind != "other" or not rest:
                sections.append(_Section(kind))
            current = [rest] if rest else None
            sections[-1].paragraphs += [current] if current else []
        elif item := _ITEM.match(stripped):
            current = [item.group(1)]
            sections[-1].items.append(current)
        elif current is not None:
            current.append(stripped)
        else:
            current = [stripped]
            sections[-1].paragraphs.append(current)
    review.points = _points_of(sections)
    return review


def _heading(line: str, starts_paragraph: bool) -> tuple[str, str] | None:
    """A heading, a bold label (``**Suggestions**``, ``**One nit** (optional): text``) or a short line
    ending in a colon: its kind and the text after it. A bold lead-in that names no kind of section
    (``**main()** crashes ...``) is text of the section it is in."""
    heading = _HEADING.match(line)
    if heading:
        title, rest = heading.group(1) or heading.group(2), (heading.group(3) or "").strip()
        return _kind(title), (f"{title} {rest}" if rest and _kind(title) == "other" else rest)
    return (_kind(line), "") if starts_paragraph and _COLON_LABEL.match(line) else None


def _table_row(review: Review, line: str, header: list[str] | None) -> list[str] | None:
    """Read one table row; the header it set, if it is one. Only a row with a status is coverage."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    names = [words.plain_words(cell) for cell in cells]
    if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
        return header
    if header is None and any(name.startswith(("status", "result")) for name in names):
        return names
    status_at = next((i for i, n in enumerate(header or []) if n.startswith(("status", "result"))), 1)
    if len(cells) <= status_at or (status := words.status_of(cells[status_at])) is None:
        return header
    number = re.match(r"(?:r|req|requirement)? ?(\d+)\b", names[0])
    reason = words.reason_after_status(cells[status_at])  # ``✅ met (exit status is 0)``
    rest = " ".join(cell for i, cell in enumerate(cells) if i not in (0, status_at) and cell)
    rest = f"{rest} {reason}".strip()
    if number:
        review.coverage.append(Coverage(number.group(1), status, rest))
    elif names[0].startswith(("feedback", "manager")):
        review.feedback = words.feedback_of(cells[status_at], rest)
    return header


def _coverage_line(review: Review, line: str) -> str:
    """Read ``R2: met - ...``, ``- **R1** `name` — met: ...`` or ``Feedback: done — ...``; what it was
    (``requirement``, ``feedback``, or "")."""
    text = line.replace("**", "")
    requirement = _REQ_LINE.match(text)
    feedback = None if requirement else _FEEDBACK_LINE.match(text)
    rest = requirement.group(2) if requirement else feedback.group(1) if feedback else ""
    found = _STATUS_AFTER.search(rest)
    if not found:
        return ""
    status, evidence = found.group(1), words.reason_after_status(found.group(2))
    if requirement:
        review.coverage.append(Coverage(requirement.group(1), words.status_of(status) or "partly", evidence))
        return "requirement"
    review.feedback = words.feedback_of(status, evidence)
    return "feedback"


def _points_of(sections: list[_Section]) -> list[Point]:
    """Items of issue sections (their paragraphs when they have none); items elsewhere only when no
    section is about issues; never anything under praise or coverage."""
    any_issues = any(section.kind == "issues" for section in sections)
    points = []
    for section in sections:
        if section.kind == "issues":
            points += [words.reviewer_point(" ".join(lines)) for lines in section.items or section.paragraphs]
        elif section.kind == "other" and not any_issues:
            points += [words.reviewer_point(" ".join(lines)) for lines in section.items]
    return [point for point in points if point.text]


def normalise(text: str) -> str:
    """Lower case, punctuation and list numbering gone, white space folded: for comparing points."""
    text = re.sub(r"^\s*(\d+[.)]|[-*+])\s*", "", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def similar(a: str, b: str) -> bool:
    """Whether two normalised texts say the same thing: nearly the same characters, or nearly the same
    words in another order."""
    if a == b:
        return True
    words_a, words_b = set(a.split()), set(b.split())
    if min(len(words_a), len(words_b)) >= 6 and len(words_a & words_b) / len(words_a | words_b) >= OVERLAP:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and (matcher.ratio() >= SIMILARITY)
    )


def specifics(text: str) -> set[str]:
    """The identifiers, numbers and file names a text names. Two points that each name one the other
    does not (``parse_a`` and ``parse_b``, requirement 2 and 3) are different points."""
    return {next(g for g in match.groups() if g).lower() for match in _SPECIFIC.finditer(text)}


def distinct_points(points: list[Point]) -> list[Point]:
    """Points without exact or near duplicates, ranked by category, at most :data:`MAX_POINTS` (of the
    first :data:`MAX_CANDIDATES`: a runaway's thousands of points cost little)."""
    kept: list[Point] = []
    seen: list[tuple[str, set[str]]] = []
    for point in points[:MAX_CANDIDATES]:
        text = f"{point.where} {point.text}"
        key, names = normalise(text), specifics(text)
        if not key or any(not (names - n and n - names) and similar(key, k) for k, n in seen):
            continue
        kept.append(point)
        seen.append((key, names))
    order = {category: index for index, category in enumerate(words.CATEGORIES)}
    return sorted(kept, key=lambda p: order.get(p.category, len(order)))[:MAX_POINTS]


def _one_row_per_requirement(rows: list[Coverage], requirements: list[str]) -> list[Coverage]:
    if not requirements:
        return rows
    by_number: dict[str, Coverage] = {}
    for row in rows:
        by_number.setdefault(row.requirement, row)
    return [by_number.get(number, Coverage(number, words.NOT_ASSESSED, "")) for number in requirements]
