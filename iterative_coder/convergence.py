"""Noticing a loop that no longer converges, and summarising what changed between versions."""

from __future__ import annotations

import ast
from collections import Counter

from .extract import parse_python
from .records.review import Review
from .review import normalise, similar

STALL_VERSIONS = 3  # the same points open this many versions in a row is no progress


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


def point_keys(review: Review) -> list[str]:
    """The review's points, normalised for comparison."""
    return [normalise(f"{point.where} {point.text}") for point in review.points]


def points_stay_open(reviews: list[Review | None]) -> bool:
    """Whether the last :data:`STALL_VERSIONS` reviews keep raising the same points."""
    recent = reviews[-STALL_VERSIONS:]
    if len(recent) < STALL_VERSIONS or any(review is None for review in recent):
        return False
    latest, *earlier = [point_keys(review) for review in reversed(recent) if review is not None]
    if not latest:
        return False
    return all(any(similar(point, other) for other in points) for points in earlier for point in latest)


def stall_reason(
    version: int, scripts: tuple[str | None, str | None], reviews: list[Review | None]
) -> str | None:
    """A plain sentence when the loop stopped converging at ``version``, else None.

    ``scripts`` are the previous and this version's script; ``reviews`` the latest reviews, oldest
    first, ending with this version's. An approving review is never a stall: the same script the
    Coder insisted on, approved, is accepted.
    """
    latest = reviews[-1] if reviews else None
    if latest is not None and latest.approved:
        return None
    old, new = scripts
    if old is not None and new is not None and same_code(old, new):
        return (
            f"No progress: script_v{version}.py is the same as script_v{version - 1}.py "
            "apart from white space and comments."
        )
    if latest is not None and points_stay_open(reviews):
        return f"No progress: the same review points have stayed open for {STALL_VERSIONS} versions in a row."
    return None
