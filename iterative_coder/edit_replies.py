"""A Coder's reply read for ``script_vN.py``, whether it came as the whole file or as SEARCH/REPLACE
edit blocks, and the words that ask again when its blocks did not apply.

Edit blocks are only how a model answers: what is saved is always the whole script, checked like a
whole reply (it parses, it has no placeholder, it keeps the definitions still in use).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .edit_blocks import CLOSE, LOOSE, Applied, BlockFailure, FoundBlocks, apply_blocks, find_blocks
from .extract import ExtractedCode, parse_python
from .fragments import Context, Refusal, dropped_in, judge_reply, placeholder_in
from .prompt_files import render_prompt

EDITS, WHOLE = "edits", "whole"  # how a Coder is asked to answer, and how it did
CUT_OFF, NOT_APPLIED, MALFORMED, BROKEN = "cut_off", "not_applied", "malformed_edits", "does_not_parse"
_SHOWN_FAILURES = 2  # on the screen; the Coder is shown every one


@dataclass(frozen=True)
class Answer:
    """What a Coder's reply gives: the script (``extracted.code``), why it may not be saved (or
    None), how it came (``edits``, ``whole``, or None when it held neither), and what became of its
    edit blocks, if it had any."""

    extracted: ExtractedCode
    refusal: Refusal | None
    form: str | None
    applied: Applied | None = None


def read_answer(text: str, context: Context, base: str | None, cut_off: bool = False) -> Answer:
    """Read a Coder reply against ``context``. Edit blocks are applied to ``base`` (the previous script,
    or the previous script with the blocks of an earlier try that did apply); without a base (version
    1) they are refused as not the whole file. A reply cut off at the token limit is never saved."""
    found = find_blocks(text) if base is not None else FoundBlocks(())
    if found.blocks or found.malformed:
        answer = _from_blocks(found, context, base or "")
    else:
        extracted, refusal = judge_reply(text, context)
        answer = Answer(extracted, refusal, WHOLE if extracted.code is not None else None)
    if cut_off:
        return replace(answer, refusal=Refusal(CUT_OFF, "it was cut off at the model's token limit"))
    return answer


def _from_blocks(found: FoundBlocks, context: Context, base: str) -> Answer:
    nothing = ExtractedCode(None, len(found.blocks), None, None)
    if found.malformed:
        why = f"its edit blocks are not well formed ({found.malformed})"
        return Answer(nothing, Refusal(MALFORMED, why), EDITS)
    applied = apply_blocks(base, found.blocks)
    if applied.code is None:
        return Answer(nothing, Refusal(NOT_APPLIED, failures_line(applied)), EDITS, applied)
    code = applied.code
    error = parse_python(code)[1]
    extracted = ExtractedCode(code, len(found.blocks), error, _note(applied))
    if error and (context.previous is None or parse_python(context.previous)[1] is None):
        why = f"with its edits applied, the script would not parse ({error})"
        return Answer(extracted, Refusal(BROKEN, why), EDITS, applied)
    refusal = placeholder_in(code, context.previous) or dropped_in(code, context)
    return Answer(extracted, refusal, EDITS, applied)


def _note(applied: Applied) -> str:
    """One sentence for the screen: how many blocks applied, and which were found loosely."""
    count = len(applied.matched)
    said = f"Applied the Coder's {count} edit block{'s' if count != 1 else ''}"
    loose = [f"block {n} {_HOW[how]}" for n, how in applied.matched if how in _HOW]
    return said + (f" ({', '.join(loose)})" if loose else "") + "."


_HOW = {LOOSE: "with its white space corrected", CLOSE: "by a close match"}


def failures_line(applied: Applied) -> str:
    """The failed blocks in one line for the screen: ``block 2: its SEARCH lines are not in the
    script; block 3: ...``."""
    said = [f"block {f.block.number}: {f.why}" for f in applied.failures[:_SHOWN_FAILURES]]
    more = len(applied.failures) - _SHOWN_FAILURES
    return "; ".join(said) + (f"; and {more} more" if more > 0 else "")


def failed_blocks_prompt(applied: Applied) -> str:
    """What the Coder is told when some of its blocks did not apply: each failed block, why, and the
    actual lines nearest to its SEARCH."""
    failed, total = len(applied.failures), len(applied.failures) + len(applied.matched)
    what = (
        "its SEARCH/REPLACE block did not apply"
        if total == 1
        else f"{failed} of its {total} SEARCH/REPLACE blocks did not apply"
    )
    kept = {
        0: "",
        1: " The other one applied and is kept: do not send it again.",
    }.get(len(applied.matched), " The others applied and are kept: do not send them again.")
    failures = "\n".join(_failure(failure) for failure in applied.failures)
    return render_prompt("coder_edits_failed", what=what, kept=kept, failures=failures)


def _failure(failure: BlockFailure) -> str:
    nearest = ""
    if failure.nearest:
        last = failure.nearest_from + len(failure.nearest) - 1
        lines = "\n".join(failure.nearest)
        nearest = render_prompt("coder_edit_nearest", first=failure.nearest_from, last=last, lines=lines)
    block = failure.block
    return render_prompt(
        "coder_edit_failure",
        number=block.number,
        why=failure.why,
        search="\n".join(block.search),
        replace="\n".join(block.replace),
        nearest=nearest,
    )
