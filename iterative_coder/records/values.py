"""What a value read back from a JSON file the tool wrote may hold, checked at the boundary.

The file may have been edited by hand or by a program since: NaN or Infinity (Python's JSON reader
takes both), a number of thirty digits, a NUL, a megabyte of text, a lone surrogate (``"\\ud800"``, no
character at all). Each check gives what is wrong in a few words (``not a finite number``), or None.
"""

from __future__ import annotations

import json
import math

MAX_TEXT = 10_000  # characters of any text kept (a reason, a date)
MAX_NAME = 1_000  # characters of a name (a model's, a role's)
MAX_COUNT = 10**15  # the largest count kept (tokens, a version number, seconds, dollars)


def whole_problem(value: object, least: int, most: int) -> str | None:
    """What is wrong with ``value`` as a whole number from ``least`` to ``most``, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "not a whole number"
    if not least <= value <= most:
        return f"not from {least:,} to {most:,}"
    return None


def number_problem(value: object, most: float, *, above_zero: bool = False) -> str | None:
    """What is wrong with ``value`` as a finite number from 0 (or above it) to ``most``, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not a number"
    if not math.isfinite(value):
        return "not a finite number"
    if value > most or value < 0 or (above_zero and value == 0):
        return f"not above 0 and at most {most:,g}" if above_zero else f"not from 0 to {most:,g}"
    return None


def text_problem(value: object, most: int = MAX_TEXT) -> str | None:
    """What is wrong with ``value`` as text of at most ``most`` characters without a NUL, or None.
    (A lone surrogate is not a problem: :func:`textsafe.plain_text` replaces it.)"""
    if not isinstance(value, str):
        return "not text"
    if len(value) > most:
        return f"longer than {most:,} characters"
    if "\0" in value:
        return "holds a NUL character"
    return None


def shown(value: object) -> str:
    """``value`` as JSON, cut to 40 characters, for a message (one nested too deeply is named so)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__} nested too deeply"
    return text if len(text) <= 40 else text[:37] + "..."
