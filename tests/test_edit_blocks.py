"""SEARCH/REPLACE blocks read from replies shaped the way models write them, and applied to a copy of
the previous script: exactly, with indentation drift, by a unique close match, or not at all."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from edit_cases import Fix, block, checks_fix, count_fix, edits_reply, indented, main_fix, program, title_fix

from iterative_coder.edit_blocks import (
    ALREADY,
    AMBIGUOUS,
    CLOSE,
    EMPTY,
    EXACT,
    LOOSE,
    NOT_FOUND,
    EditBlock,
    apply_blocks,
    find_blocks,
    has_edit_blocks,
)

SCRIPT = program(150)
TODO = (Path(__file__).parent / "replies" / "coder" / "previous" / "todo.py").read_text()
SEARCH_REPLACE = (Path(__file__).parent / "replies" / "coder" / "07-search-replace-blocks.txt").read_text()


def applied(reply: str, script: str = SCRIPT):
    found = find_blocks(reply)
    assert found.malformed is None
    return apply_blocks(script, found.blocks)


def test_a_single_exact_block_gives_the_whole_new_script() -> None:
    fix = count_fix("book")
    result = applied(edits_reply(fix))
    assert result.code == fix.on(SCRIPT) and result.failures == ()
    assert result.matched == ((1, EXACT),)


def test_several_blocks_apply_in_order() -> None:
    fixes = [count_fix("book"), title_fix("author"), checks_fix(SCRIPT), main_fix()]
    expected = SCRIPT
    for fix in fixes:
        expected = fix.on(expected)
    result = applied(edits_reply(*fixes))
    assert result.code == expected
    assert [how for _, how in result.matched] == [EXACT] * 4


def test_the_real_todo_reply_applies_to_its_previous_script() -> None:
    result = apply_blocks(TODO, find_blocks(SEARCH_REPLACE).blocks)
    assert result.code is not None and "class TodoFileError(Exception):" in result.code
    assert "except TodoFileError as error:" in result.code and result.matched == ((1, EXACT), (2, EXACT))


@pytest.mark.parametrize("drift", [-4, 4, -8])
def test_indentation_drift_is_undone_and_the_replacement_reindented(drift: int) -> None:
    fix = count_fix("loan")
    if drift < -4:  # the body of an if, with all its indentation lost
        fix = Fix(
            '        problems.append("loan count is negative")\n', '        problems.append("loan < 0")\n'
        )
    result = applied(edits_reply(Fix(indented(fix.old, drift), indented(fix.new, drift))))
    assert result.code == fix.on(SCRIPT)
    assert result.matched == ((1, LOOSE),)


def test_trailing_white_space_and_a_spurious_blank_line_do_not_stop_a_match() -> None:
    fix = title_fix("member")
    search = "\n" + fix.old.replace('title"):\n', 'title"):   \n')
    result = applied(edits_reply(Fix(search, "\n" + fix.new)))
    assert result.code == fix.on(SCRIPT)


def test_a_typo_in_one_search_line_is_a_close_match_when_it_is_the_only_one() -> None:
    fix = count_fix("member")
    typo = fix.old.replace("count is negative", "count is negativ")
    result = applied(edits_reply(Fix(typo, fix.new)))
    assert result.code == fix.on(SCRIPT)
    assert result.matched == ((1, CLOSE),)


def test_an_ambiguous_search_is_refused_with_the_places_it_matches() -> None:
    search = "    problems = []\n"
    result = applied(edits_reply(Fix(search, "    problems: list[str] = []\n")))
    assert result.code is None
    (failure,) = result.failures
    assert failure.reason == AMBIGUOUS
    lines = [str(n) for n, line in enumerate(SCRIPT.splitlines(), start=1) if line == "    problems = []"]
    assert len(lines) >= 2
    assert failure.why.startswith(f"its SEARCH lines match {len(lines)} places (at lines {lines[0]}, ")


def test_a_close_match_in_two_places_is_refused_too() -> None:
    # One word off in a check every validate_ function has (book, author...): no place is the one.
    search = '    if record.get("count", 0) < 0:\n        problems.append("xxxx count is negative")\n'
    result = applied(edits_reply(Fix(search, search.replace("< 0", "<= 0"))))
    assert result.code is None and result.failures[0].reason == AMBIGUOUS


def test_a_search_that_matches_nothing_reports_the_nearest_actual_lines() -> None:
    search = 'def validate_loan(record, strict=True):\n    """Check a loan."""\n    problems = []\n'
    result = applied(edits_reply(Fix(search, search + "    strict = bool(strict)\n")))
    assert result.code is None
    (failure,) = result.failures
    assert failure.reason == NOT_FOUND and failure.why == "its SEARCH lines are not in the script"
    lines = SCRIPT.splitlines()
    assert "def validate_loan(record):" in failure.nearest
    first = failure.nearest_from
    assert list(failure.nearest) == lines[first - 1 : first - 1 + len(failure.nearest)]


def test_all_blocks_apply_or_none_does() -> None:
    good, bad = count_fix("book"), Fix("    return undefined_thing\n", "    return 1\n")
    result = applied(edits_reply(good, bad))
    assert result.code is None and [f.block.number for f in result.failures] == [2]
    assert result.partial == good.on(SCRIPT)  # kept for another try at block 2 only


def test_a_block_sent_again_after_it_applied_changes_nothing() -> None:
    fix = count_fix("book")
    once = fix.on(SCRIPT)
    result = applied(edits_reply(fix, title_fix("book")), once)
    assert result.code == title_fix("book").on(once)
    assert result.matched == ((1, ALREADY), (2, EXACT))
    title = title_fix("book")
    assert applied(edits_reply(title), title.on(SCRIPT)).matched == ((1, ALREADY),)


def test_an_empty_search_is_refused_and_an_empty_replace_deletes() -> None:
    assert applied(edits_reply(Fix("", "import os\n"))).failures[0].reason == EMPTY
    doomed = 'def format_book(record):\n    """One line of the report for a book record."""\n'
    result = applied(edits_reply(Fix(doomed, "")))
    assert result.code == SCRIPT.replace(doomed, "")


@pytest.mark.parametrize(
    "shape",
    ["file name before the fence", "file name inside the fence", "no fence", "one fence, two blocks", "CRLF"],
)
def test_the_shapes_models_send_blocks_in(shape: str) -> None:
    one, two = count_fix("book"), title_fix("loan")
    body = [f"<<<<<<< SEARCH\n{f.old}=======\n{f.new}>>>>>>> REPLACE\n" for f in (one, two)]
    reply = {
        "file name before the fence": edits_reply(one, two),
        "file name inside the fence": "".join(f"```python\nscript.py\n{b}```\n\n" for b in body),
        "no fence": "Changes:\n\n" + "\n".join(body) + "\nDone.",
        "one fence, two blocks": "```python\n" + "\n".join(body) + "```\n",
        "CRLF": edits_reply(one, two).replace("\n", "\r\n"),
    }[shape]
    assert applied(reply).code == two.on(one.on(SCRIPT))


def test_a_section_in_a_fence_of_its_own_is_unwrapped() -> None:
    fix = count_fix("book")
    reply = f"<<<<<<< SEARCH\n```python\n{fix.old}```\n=======\n```python\n{fix.new}```\n>>>>>>> REPLACE\n"
    assert applied(reply).code == fix.on(SCRIPT)


def test_blocks_in_thinking_or_quoted_in_a_whole_script_are_not_edits() -> None:
    fix = count_fix("book")
    thinking = "<think>\n" + block(fix.old, "    pass\n") + "</think>\n"
    assert find_blocks(thinking + edits_reply(fix)).blocks[0].replace == tuple(fix.new.splitlines())
    whole = '```python\nMARKERS = """\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"""\n```\n'
    assert find_blocks(whole).blocks == () and not has_edit_blocks(whole)
    assert has_edit_blocks(SEARCH_REPLACE)


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("<<<<<<< SEARCH\nx = 1\n>>>>>>> REPLACE\n", "block 1 has no ======= line after its SEARCH"),
        ("<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n", "block 1 has no >>>>>>> REPLACE line"),
        (
            "<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n=======\nx = 3\n>>>>>>> REPLACE\n",
            "block 1 has a second marker before its REPLACE",
        ),
    ],
)
def test_a_malformed_block_is_named(reply: str, said: str) -> None:
    assert find_blocks(reply).malformed == said


def test_a_long_search_that_matches_nothing_is_refused_in_seconds() -> None:
    """A 300-line SEARCH against a 400-line script once took 154 s of close-match search."""
    script = "".join(f"    value_{i} = compute(x{i}, y{i % 7})  # step {i}\n" for i in range(400))
    search = tuple(f"    other_{i} = calc(z{i}, w{i % 5})  # stage {i}" for i in range(300))
    started = time.process_time()
    applied = apply_blocks(script, [EditBlock(1, search, ("pass",))])
    assert time.process_time() - started < 5
    assert [failure.reason for failure in applied.failures] == [NOT_FOUND]
