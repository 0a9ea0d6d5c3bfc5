"""Noticing a loop that no longer converges, and summarising what changed between versions."""

from __future__ import annotations

import ast
import difflib
import io
import tokenize

from .review import points_of, similar

STALL_VERSIONS = 3  # the same points open this many versions in a row is no progress


def code_tokens(code: str) -> list[str] | None:
    """The script's tokens without comments and layout, or None when it does not tokenize."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    try:
        return [
            tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline) if tok.type not in skip
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def same_code(old: str, new: str) -> bool:
    """Whether two scripts are the same apart from white space and comments."""
    old_tokens, new_tokens = code_tokens(old), code_tokens(new)
    if old_tokens is None or new_tokens is None:
        strip = lambda text: [line.split("#", 1)[0].strip() for line in text.splitlines()]  # noqa: E731
        return [line for line in strip(old) if line] == [line for line in strip(new) if line]
    return old_tokens == new_tokens


def diff_summary(old: str, new: str) -> str:
    """``+12 −3 lines; changed: main, parse_args``."""
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
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
    """Top-level functions and classes (and methods, as Class.method) with their source."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = ast.dump(node)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        found[f"{node.name}.{item.name}"] = ast.dump(item)
    return found


def points_stay_open(reviews: list[str | None]) -> bool:
    """Whether the last :data:`STALL_VERSIONS` reviews keep raising the same points."""
    if len(reviews) < STALL_VERSIONS or any(review is None for review in reviews[-STALL_VERSIONS:]):
        return False
    latest, *earlier = [points_of(review) for review in reversed(reviews[-STALL_VERSIONS:])]
    if not latest:
        return False
    return all(any(similar(point, other) for other in points) for points in earlier for point in latest)
