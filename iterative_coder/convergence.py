"""Noticing a loop that no longer converges, and summarising what changed between versions."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

from .extract import parse_python
from .records.review import DONE, NOT_ASSESSED, NOT_DONE, Point, Review
from .records.run import RunRecord
from .review import normalise, similar, specifics

STALL_VERSIONS = 3  # this many versions in a row without progress is a stall
FIXED, MET, PARTLY, MISSING = "fixed", "met", "partly", "missing"


def code_shape(code: str) -> str | None:
    """The script's syntax tree as text (comments and layout are not in it), or None when it does
    not parse."""
    tree, _error = parse_python(code)
    return ast.dump(tree) if tree is not None else None


def _without_layout(code: str) -> str:
    """The text with white space and everything after a ``#`` gone (crude: ``#`` in a string too)."""
    return "".join("".join(line.split("#", 1)[0].split()) for line in code.splitlines())


def same_code(old: str, new: str) -> bool:
    """Whether two scripts are the same apart from white space and comments."""
    # Scripts that differ apart from layout and comments differ here too: the cheap test decides
    # most cases, and the syntax trees settle the rest.
    if _without_layout(old) != _without_layout(new):
        return False
    old_shape, new_shape = code_shape(old), code_shape(new)
    if old_shape is None or new_shape is None:
        return True
    return old_shape == new_shape


def diff_summary(old: str, new: str) -> str:
    """``+12 −3 lines; changed: main, parse_args``."""
    # Lines counted as a multiset: quick, and exact but for lines that only moved.
    old_lines, new_lines = Counter(old.splitlines()), Counter(new.splitlines())
    added = sum((new_lines - old_lines).values())
    removed = sum((old_lines - new_lines).values())
    old_defs, new_defs = _definitions(old), _definitions(new)
    changed = [name for name, source in new_defs.items() if old_defs.get(name) != source]
    gone = [name for name in old_defs if name not in new_defs]
    parts = [f"+{added} −{removed} lines"]
    if changed:
        parts.append("changed: " + ", ".join(changed[:8]) + (" …" if len(changed) > 8 else ""))
    if gone:
        parts.append("removed: " + ", ".join(gone[:8]))
    return "; ".join(parts)


def _definitions(code: str) -> dict[str, str]:
    """Top-level functions and classes (and methods, as Class.method) with their source lines."""
    tree, _error = parse_python(code)
    if tree is None:
        return {}
    lines = code.splitlines()

    def source(node: ast.AST) -> str:
        return "\n".join(lines[node.lineno - 1 : node.end_lineno])  # type: ignore[attr-defined]

    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = source(node)
        elif isinstance(node, ast.ClassDef):
            methods = [
                item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
            found[node.name] = source(node) if not methods else ""
            for item in methods:
                found[f"{node.name}.{item.name}"] = source(item)
    return found


def same_point(a: Point, b: Point) -> bool:
    """Whether two points (of two reviews) are the same point: nearly the same words, and neither names
    an identifier, number, file or requirement the other does not (``step_1`` is not ``step_2``)."""
    text_a, text_b = f"{a.where} {a.text}", f"{b.where} {b.text}"
    names_a, names_b = specifics(text_a), specifics(text_b)
    return names_a == names_b and similar(normalise(text_a), normalise(text_b))


@dataclass(frozen=True)
class VersionEvidence:
    """What is known of one version: its review and its run (None when a file is missing or unreadable)."""

    version: int
    review: Review | None
    run: RunRecord | None = None


def points_fixed(now: Review, before: Review) -> bool:
    """Whether a point of the previous review was fixed: the Reviewer says so; for a previous point it
    gives no fate for, the new review no longer raising it (an ``open`` or ``unclear`` fate is kept)."""
    fates = {item.number: item.status for item in now.earlier}
    if FIXED in fates.values():
        return True
    return any(
        number not in fates and not any(same_point(point, other) for other in now.points)
        for number, point in enumerate(before.points, start=1)
    )


def more_tests_pass(now: RunRecord | None, before: RunRecord | None) -> bool:
    """Whether more acceptance tests pass than in the version before."""
    return now is not None and before is not None and now.count("passed") > before.count("passed")


def requirements_met(now: Review, before: Review) -> list[str]:
    """The requirements met now that were missing, partly met or not assessed before."""
    earlier = {row.requirement: row.status for row in before.coverage}
    return [
        row.requirement
        for row in now.coverage
        if row.status == MET and earlier.get(row.requirement, MET) != MET
    ]


def made_progress(now: VersionEvidence, before: VersionEvidence | None) -> bool:
    """Whether ``now`` moved on from ``before`` (the version just before it, None for the first): an
    approval, a previous point fixed, more tests passing, a requirement newly met, or the Manager's
    feedback done."""
    review = now.review
    if review is None or review.approved:
        return True  # no review: nothing to judge by, so never counted as a stall
    if review.feedback is not None and review.feedback.status == DONE:
        return True
    if before is None or before.version != now.version - 1:
        return False
    if more_tests_pass(now.run, before.run):
        return True
    return before.review is not None and bool(
        points_fixed(review, before.review) or requirements_met(review, before.review)
    )


def stalled_versions(evidence: list[VersionEvidence]) -> bool:
    """Whether the last :data:`STALL_VERSIONS` versions of ``evidence`` (oldest first; the version
    before them may lead, to judge the first) all made no progress."""
    if len(evidence) < STALL_VERSIONS:
        return False
    pairs = list(zip([None, *evidence], evidence, strict=False))[-STALL_VERSIONS:]
    return not any(made_progress(now, before) for before, now in pairs)


def what_did_not_move(evidence: list[VersionEvidence]) -> list[str]:
    """What stayed as it was over the last versions, in words: ``tests still 5/7``, ``requirements 3
    and 4 still missing``."""
    window = evidence[-STALL_VERSIONS:]
    latest = window[-1]
    parts = ["no previous point fixed"]
    if latest.run is not None and latest.run.tests_ran:
        passed = {item.run.count("passed") for item in window if item.run is not None}
        score = f"{latest.run.count('passed')}/{latest.run.tests_ran}"
        parts.append(f"tests still {score}" if len(passed) == 1 else f"no more tests passing ({score} now)")
    review = latest.review
    for status, words in ((MISSING, "missing"), (PARTLY, "partly met"), (NOT_ASSESSED, "not assessed")):
        numbers = [row.requirement for row in review.coverage if row.status == status] if review else []
        if numbers:
            label = "requirement" if len(numbers) == 1 else "requirements"
            parts.append(f"{label} {_and_list(numbers)} still {words}")
    if review is not None and review.feedback is not None and review.feedback.status == NOT_DONE:
        parts.append("the Manager's feedback still not done")
    return parts


def _and_list(items: list[str]) -> str:
    """``3``, ``3 and 4``, ``2, 3 and 4``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def stall_reason(
    version: int, scripts: tuple[str | None, str | None], evidence: list[VersionEvidence]
) -> str | None:
    """A plain sentence when the loop stopped converging at ``version``, else None.

    ``scripts`` are the previous and this version's script; ``evidence`` the latest versions, oldest
    first, ending with this version's (and, when there is one, the version before the last
    :data:`STALL_VERSIONS`, to judge the first of them). An approving review is never a stall: the
    same script the Coder insisted on, approved, is accepted.
    """
    latest = evidence[-1].review if evidence else None
    if latest is not None and latest.approved:
        return None
    old, new = scripts
    if old is not None and new is not None and same_code(old, new):
        return (
            f"No progress: script_v{version}.py is the same as script_v{version - 1}.py "
            "apart from white space and comments."
        )
    if stalled_versions(evidence):
        return f"No progress for {STALL_VERSIONS} versions: {', '.join(what_did_not_move(evidence))}."
    return None
