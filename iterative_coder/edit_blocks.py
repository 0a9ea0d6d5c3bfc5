"""SEARCH/REPLACE edit blocks: how a Coder may answer with only the lines it changes.

The form is the one models know from Aider::

    ```python
    <<<<<<< SEARCH
    def area(r):
        return 3.14 * r * r
    =======
    def area(r):
        return math.pi * r * r
    >>>>>>> REPLACE
    ```

:func:`find_blocks` reads the blocks of a reply (a file name line before the fence or inside it, or
no fence at all, is fine); :func:`apply_blocks` applies them, in order, to a copy of the previous
script. Each SEARCH is found by an exact match first; then by a match that ignores white space at
the ends of lines and a uniform change of indentation (the replacement is re-indented by it); then
by a close match (difflib ratio of at least :data:`CLOSE_RATIO` over the same number of lines)
that is the only one. A SEARCH that matches two places is never applied. Nothing here writes a file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .extract import reply_lines, unparsed_lines, without_thinking

_SEARCH = re.compile(r"\s*<{5,9} ?SEARCH>?\s*")
_DIVIDER = re.compile(r"\s*={5,9}\s*")
_REPLACE = re.compile(r"\s*>{5,9} ?REPLACE<?\s*")
_FENCE = re.compile(r"\s*(?:`{3,}|~{3,})\S*\s*")
CLOSE_RATIO = 0.9  # below this, a near match is more likely a different place than a typo
CLEARLY = 3  # a close match is the only one when every other place differs at least 3 times as much
CONTEXT_LINES = 2  # lines shown around the nearest match of a SEARCH that failed
# The close-match search's work, as the sum of len(window) * len(SEARCH) characters over the windows
# fully compared (difflib's ratio grows with that product): 1-2 s of CPU. Past it, the
# SEARCH is refused as not found. A 300-line SEARCH in a 400-line script once took 154 s.
CLOSE_WORK = 50_000_000

EXACT, LOOSE, CLOSE, ALREADY = "exact", "white space", "close", "already there"
NOT_FOUND, AMBIGUOUS, EMPTY = "not_found", "ambiguous", "empty_search"


@dataclass(frozen=True)
class EditBlock:
    """One SEARCH/REPLACE block of a reply: its number (from 1) and its two sections' lines."""

    number: int
    search: tuple[str, ...]
    replace: tuple[str, ...]


@dataclass(frozen=True)
class FoundBlocks:
    """The blocks of a reply, and what is wrong with its form (``None`` when nothing is)."""

    blocks: tuple[EditBlock, ...]
    malformed: str | None = None  # e.g. "block 2 has no >>>>>>> REPLACE line"


@dataclass(frozen=True)
class BlockFailure:
    """A block that did not apply: why, and the actual lines nearest to its SEARCH."""

    block: EditBlock
    reason: str  # not_found | ambiguous | empty_search
    why: str  # e.g. "its SEARCH lines are not in the script"
    nearest_from: int = 0  # the number (from 1) of the first nearest line; 0 when none are shown
    nearest: tuple[str, ...] = ()


@dataclass(frozen=True)
class Applied:
    """What became of a reply's blocks: the new script when every block applied, else ``None``."""

    code: str | None
    partial: str  # the script with the blocks that did apply (for another try at the others)
    failures: tuple[BlockFailure, ...]
    matched: tuple[tuple[int, str], ...]  # (block number, how it was found) for each block that applied


@dataclass(frozen=True)
class _Place:
    start: int
    end: int
    replacement: list[str]
    how: str


def has_edit_blocks(reply: str) -> bool:
    """Whether a reply holds SEARCH/REPLACE blocks: a SEARCH marker with a divider or a REPLACE
    marker after it, outside any fenced block that parses as Python."""
    lines = unparsed_lines(without_thinking(reply))
    first = next((i for i, line in enumerate(lines) if _SEARCH.fullmatch(line)), None)
    return first is not None and any(
        _DIVIDER.fullmatch(line) or _REPLACE.fullmatch(line) for line in lines[first + 1 :]
    )


def find_blocks(reply: str) -> FoundBlocks:
    """The SEARCH/REPLACE blocks of a reply, in order (none when it holds none).

    Markers count only outside fenced blocks that parse as Python (a whole script may hold them in
    a string); a section wrapped in a fence of its own is unwrapped.
    """
    text = without_thinking(reply)
    raw, marks = reply_lines(text), unparsed_lines(text)
    blocks: list[EditBlock] = []
    i = 0
    while i < len(marks):
        if not _SEARCH.fullmatch(marks[i]):
            i += 1
            continue
        number = len(blocks) + 1
        divider = _next_mark(marks, i + 1, _DIVIDER)
        if divider is None:
            return FoundBlocks(tuple(blocks), f"block {number} has no ======= line after its SEARCH")
        end = _next_mark(marks, divider + 1, _REPLACE)
        if end is None:
            return FoundBlocks(tuple(blocks), f"block {number} has no >>>>>>> REPLACE line")
        if any(_SEARCH.fullmatch(line) or _DIVIDER.fullmatch(line) for line in marks[divider + 1 : end]):
            return FoundBlocks(tuple(blocks), f"block {number} has a second marker before its REPLACE")
        blocks.append(EditBlock(number, _unfenced(raw[i + 1 : divider]), _unfenced(raw[divider + 1 : end])))
        i = end + 1
    return FoundBlocks(tuple(blocks))


def _next_mark(lines: list[str], start: int, mark: re.Pattern[str]) -> int | None:
    """The index of the next line that is ``mark``, stopping at the next SEARCH marker."""
    for index in range(start, len(lines)):
        if mark.fullmatch(lines[index]):
            return index
        if _SEARCH.fullmatch(lines[index]):
            return None
    return None


def _unfenced(lines: list[str]) -> tuple[str, ...]:
    """A section's lines without a fence line wrapped around them (an opening one, a closing one)."""
    if lines and _FENCE.fullmatch(lines[0]):
        lines = lines[1:]
    if lines and _FENCE.fullmatch(lines[-1]):
        lines = lines[:-1]
    return tuple(lines)


def apply_blocks(previous: str, blocks: Sequence[EditBlock]) -> Applied:
    """Apply ``blocks`` in order to a copy of ``previous``; every block is tried, so that every
    failure is reported, but the new script (``code``) exists only when all of them applied."""
    lines = previous.splitlines()
    failures: list[BlockFailure] = []
    matched: list[tuple[int, str]] = []
    for block in blocks:
        place = _locate(lines, block)
        if isinstance(place, BlockFailure):
            if _already_there(lines, block):
                matched.append((block.number, ALREADY))
            else:
                failures.append(place)
            continue
        lines[place.start : place.end] = place.replacement
        matched.append((block.number, place.how))
    text = "\n".join(lines) + "\n" if lines else ""
    return Applied(None if failures else text, text, tuple(failures), tuple(matched))


def _trimmed(lines: Sequence[str]) -> tuple[list[str], int, int]:
    """Lines without the blank lines at either end, and how many there were at the start and end."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return list(lines[start:end]), start, len(lines) - end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _shape(lines: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """Lines as compared loosely: no white space at their ends beyond the indentation they all
    share, which is returned too (blank lines count as empty)."""
    indent = min((_indent(line) for line in lines if line.strip()), default=0)
    return tuple(line[indent:].rstrip() if line.strip() else "" for line in lines), indent


def _places(lines: list[str], wanted: Sequence[str]) -> list[int]:
    """Every index where ``wanted`` occurs in ``lines`` exactly."""
    n = len(wanted)
    return [i for i in range(len(lines) - n + 1) if lines[i] == wanted[0] and lines[i : i + n] == wanted]


def _locate(lines: list[str], block: EditBlock) -> _Place | BlockFailure:
    """Where ``block``'s SEARCH is in ``lines`` and what replaces it, or why it cannot be placed."""
    core, lead, trail = _trimmed(block.search)
    if not core:
        why = "its SEARCH section is empty (quote the lines the change goes after, and repeat them)"
        return BlockFailure(block, EMPTY, why)
    search = list(block.search)
    exact = _places(lines, search)
    if len(exact) == 1:
        start, replace = exact[0], list(block.replace)
        if len(replace) > len(search) and lines[start : start + len(replace)] == replace:
            return _Place(start, start + len(replace), replace, ALREADY)  # it only added lines, and has
        return _Place(start, start + len(search), replace, EXACT)
    if len(exact) > 1:
        return _ambiguous(block, exact)
    replace = _trimmed_like(block.replace, lead, trail)
    wanted, indent = _shape(core)
    n = len(core)
    loose = [i for i in range(len(lines) - n + 1) if _shape(lines[i : i + n])[0] == wanted]
    if len(loose) == 1:
        start = loose[0]
        return _Place(start, start + n, _reindented(replace, lines[start : start + n], indent), LOOSE)
    if len(loose) > 1:
        return _ambiguous(block, loose)
    return _close(lines, block, core, replace)


def _trimmed_like(replace: Sequence[str], lead: int, trail: int) -> list[str]:
    """REPLACE less as many blank lines at either end as SEARCH had there (as far as it has them)."""
    lines = list(replace)
    start = 0
    while start < min(lead, len(lines)) and not lines[start].strip():
        start += 1
    end = len(lines)
    while end > start and len(lines) - end < trail and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _reindented(replace: list[str], found: list[str], search_indent: int) -> list[str]:
    """REPLACE shifted by the difference between the indentation found and the one SEARCH had."""
    found_indent = _shape(found)[1]
    delta = found_indent - search_indent
    if delta == 0:
        return replace
    if delta > 0:
        model = next(line for line in found if line.strip() and _indent(line) == found_indent)
        pad = model[:delta]
        return [pad + line if line.strip() else line for line in replace]
    return [line[min(-delta, _indent(line)) :] if line.strip() else line for line in replace]


def _close(lines: list[str], block: EditBlock, core: list[str], replace: list[str]) -> _Place | BlockFailure:
    """The only place that is a close match for SEARCH, or a failure with the nearest lines."""
    try:
        scores = _scores(lines, core)
    except _TooCostly:
        return BlockFailure(block, NOT_FOUND, "its SEARCH lines are not in the script (copy them exactly)")
    n = len(core)
    if not scores:
        return BlockFailure(block, NOT_FOUND, "its SEARCH lines are not in the script")
    ratio, best = max(scores)
    if ratio >= CLOSE_RATIO:
        places = _distinct(scores, n, _floor(ratio))
        if len(places) > 1:
            return _ambiguous(block, sorted(places))
        return _Place(best, best + n, _reindented(replace, lines[best : best + n], _shape(core)[1]), CLOSE)
    start = max(0, best - CONTEXT_LINES)
    shown = tuple(lines[start : best + n + CONTEXT_LINES])
    return BlockFailure(block, NOT_FOUND, "its SEARCH lines are not in the script", start + 1, shown)


def _scores(lines: list[str], core: list[str]) -> list[tuple[float, int]]:
    """(similarity, index) of the windows of ``len(core)`` lines worth scoring: the best one, and
    every one that may be as good a guess (:func:`_floor`)."""
    n = len(core)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2("\n".join(_shape(core)[0]))
    scores: list[tuple[float, int]] = []
    best, work, wanted = 0.0, 0, len(matcher.b)
    for i in range(len(lines) - n + 1):
        matcher.set_seq1("\n".join(_shape(lines[i : i + n])[0]))
        bar = _floor(best)
        if matcher.real_quick_ratio() < bar or matcher.quick_ratio() < bar:
            continue
        work += len(matcher.a) * wanted
        if work > CLOSE_WORK:
            raise _TooCostly
        ratio = matcher.ratio()
        if ratio >= bar:
            scores.append((ratio, i))
            best = max(best, ratio)
    return scores


class _TooCostly(Exception):
    """The close-match search would take longer than :data:`CLOSE_WORK` allows."""


def _floor(best: float) -> float:
    """The similarity above which a place is as good a guess as one of similarity ``best``: another
    place is told apart only when it differs at least :data:`CLEARLY` times as much."""
    return max(0.0, 1 - CLEARLY * (1 - best))


def _distinct(scores: list[tuple[float, int]], n: int, floor: float) -> list[int]:
    """The best place, and every other place above ``floor`` that overlaps none picked before it."""
    picked: list[int] = []
    for ratio, i in sorted(scores, reverse=True):
        if (not picked or ratio > floor) and all(abs(i - j) >= n for j in picked):
            picked.append(i)
    return picked


def _ambiguous(block: EditBlock, places: list[int]) -> BlockFailure:
    starts = [str(i + 1) for i in places[:5]]
    listed = ", ".join(starts[:-1]) + " and " + starts[-1]
    why = (
        f"its SEARCH lines match {len(places)} places (at lines {listed}); add lines around the change "
        "so that they match one place only"
    )
    return BlockFailure(block, AMBIGUOUS, why)


def _already_there(lines: list[str], block: EditBlock) -> bool:
    """A block that failed but would change nothing: SEARCH and REPLACE the same, or a REPLACE of two
    lines or more that is already in the script once (a model sending again a block that applied)."""
    if _trimmed(block.search)[0] == _trimmed(block.replace)[0]:
        return True
    replace = _trimmed(block.replace)[0]
    return sum(1 for line in replace if line.strip()) >= 2 and len(_places(lines, replace)) == 1
