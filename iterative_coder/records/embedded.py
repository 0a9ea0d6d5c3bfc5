"""A record carried inside a Markdown file: one JSON line in a trailing HTML comment.

The comment is written in the same atomic write as the prose, so the two can never disagree.
"""

from __future__ import annotations

import json
from typing import Any

_OPEN = "<!-- iterative_coder record "
_CLOSE = " -->"


def embed(markdown: str, record: dict[str, Any]) -> str:
    """``markdown`` followed by ``record`` as a one-line HTML comment."""
    # "<" and ">" only occur inside JSON strings; escaped, no text can open or close a comment.
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    line = line.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{markdown.rstrip()}\n\n{_OPEN}{line}{_CLOSE}\n"


def extract(text: str) -> dict[str, Any] | None:
    """The record embedded in ``text`` (the last one), or None when there is none or it is damaged."""
    start = text.rfind(_OPEN)
    if start < 0:
        return None
    end = text.find(_CLOSE, start)
    if end < 0:
        return None
    try:
        record = json.loads(text[start + len(_OPEN) : end])
    except (json.JSONDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def prose_of(text: str) -> str:
    """The Markdown without its embedded record (what a person or a prompt should see)."""
    start = text.rfind(_OPEN)
    return text if start < 0 else text[:start].rstrip() + "\n"
