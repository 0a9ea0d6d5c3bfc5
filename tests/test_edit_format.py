"""Revisions as edits, through the real client and the fake server: the Coder is asked for SEARCH/REPLACE
blocks, the tool applies them and writes the whole script; blocks that do not apply get one more try
with the nearest lines, then the whole file is asked for. And once end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drive import in_session, review_to_answer, run, start_workspace
from edit_cases import (
    Fix,
    checks_fix,
    count_fix,
    edits_reply,
    main_fix,
    program,
    title_fix,
    whole_reply,
)
from fake_openai import FakeOpenAIServer
from recording_ui import RecordingUI
from scripted import PLAN_1, TESTS, review

from iterative_coder.coding import EDIT_LINES, write_version
from iterative_coder.records.calls import CallRecord
from iterative_coder.settings import Settings
from iterative_coder.status import history
from iterative_coder.workspace import Workspace

SCRIPT = program(150)
RULES = "# How to answer: SEARCH/REPLACE edit blocks"
# A SEARCH from a wrong memory of validate_book: nothing like it is in the script.
NOT_THERE = Fix(
    'def validate_book(record):\n    """Check a book record."""\n    errors = []\n'
    '    if not record["title"]:\n        errors.append("no title")\n',
    "def validate_book(record):\n    return []\n",
)


def write_v2(server: FakeOpenAIServer, root: Path, edit_format: str = "diff", previous: str = SCRIPT):
    """``write_version`` for version 2 of a workspace whose script_v1.py is ``previous``."""
    start_workspace(root)
    (root / "script_v1.py").write_text(previous)
    review_to_answer(root)
    ui = RecordingUI()
    settings = Settings(edit_format=edit_format, interactive=False)
    written = in_session(server, root, ui, settings, lambda ctx: write_version(ctx, 2))
    return written, ui


def coder_calls(root: Path) -> list[dict]:
    return [
        call for call in json.loads((root / "session.json").read_text())["calls"] if call["role"] == "coder"
    ]


def test_a_single_block_is_applied_and_the_whole_script_written(fake_server, tmp_path: Path) -> None:
    fix = count_fix("book")
    reply = edits_reply(fix)
    fake_server.enqueue("coder", reply)
    written, ui = write_v2(fake_server, tmp_path)
    assert written and (tmp_path / "script_v2.py").read_text() == fix.on(SCRIPT)
    prompt = fake_server.requests_for("coder")[0].text
    assert prompt.index("The script above is script_v1.py") < prompt.index(RULES)  # after what changes
    assert "Applied the Coder's 1 edit block." in ui.texts("info")
    assert "Coder: The checks now cover what the review pointed out." in ui.texts("info")
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-1]["reply"] == reply  # the raw reply, blocks and all
    (call,) = coder_calls(tmp_path)
    assert (call["asked"], call["answered"]) == ("edits", "edits")


def test_an_ambiguous_search_is_refused_and_asked_once_more(fake_server, tmp_path: Path) -> None:
    fix = title_fix("loan")
    vague = Fix("    problems = []\n", "    problems = []  # sentences\n")
    fake_server.enqueue("coder", edits_reply(fix, vague), edits_reply(count_fix("loan")))
    written, ui = write_v2(fake_server, tmp_path)
    assert written
    assert (tmp_path / "script_v2.py").read_text() == count_fix("loan").on(fix.on(SCRIPT))  # block 1 kept
    again = fake_server.requests_for("coder")[1].text
    places = [n for n, line in enumerate(fix.on(SCRIPT).splitlines(), start=1) if line == "    problems = []"]
    listed = ", ".join(map(str, places[:-1])) + f" and {places[-1]}"
    why = (
        f"its SEARCH lines match {len(places)} places (at lines {listed}); add lines around the change so "
        "that they match one place only"
    )
    assert f"## Block 2: {why}" in again
    assert "The other one applied and is kept: do not send it again." in again
    assert ui.texts("warn") == [
        f"The Coder's edit blocks did not apply (block 2: {why}); asking once more, with the lines nearest "
        "to each."
    ]


def test_a_search_that_matches_nothing_gets_the_nearest_lines_then_the_whole_file_is_asked_for(
    fake_server, tmp_path: Path
) -> None:
    expected = title_fix("book").on(SCRIPT)
    fake_server.enqueue("coder", edits_reply(NOT_THERE), edits_reply(NOT_THERE), whole_reply(expected))
    written, ui = write_v2(fake_server, tmp_path)
    assert written and (tmp_path / "script_v2.py").read_text() == expected
    first, second, third = (request.text for request in fake_server.requests_for("coder"))
    assert "The lines of the script nearest to that SEARCH (lines " in second
    nearest = second.split("nearest to that SEARCH")[1]
    assert '\ndef validate_book(record):\n    """The problems of a book record' in nearest
    assert RULES in second and RULES not in third
    assert "this time send the complete new script" in third
    assert ui.texts("warn")[-1] == (
        "The Coder's edits could not be used twice (the last time: block 1: its SEARCH lines are not in the "
        "script); asking for the whole script_v2.py instead."
    )
    assert [(c["asked"], c["answered"]) for c in coder_calls(tmp_path)] == [
        ("edits", "edits"),
        ("edits", "edits"),
        ("whole", "whole"),
    ]
    row = history(Workspace(tmp_path)).versions[1]
    assert (row.answered, row.fallback) == ("whole", True)
    assert row.coder_output == f"{row.coder_output_tokens:,} whole after failed edits"


def test_blocks_that_leave_a_syntax_error_are_not_written(fake_server, tmp_path: Path) -> None:
    broken = Fix(count_fix("book").old, count_fix("book").new.replace("> LIMIT:", "> LIMIT"))
    fake_server.enqueue("coder", edits_reply(broken), edits_reply(count_fix("book")))
    written, ui = write_v2(fake_server, tmp_path)
    assert written and (tmp_path / "script_v2.py").read_text() == count_fix("book").on(SCRIPT)
    line = count_fix("book").on(SCRIPT).splitlines().index('    if record.get("count", 0) > LIMIT:') + 1
    said = f"with its edits applied, the script would not parse (line {line}: expected ':')"
    assert ui.texts("warn") == [f"The Coder's reply was not saved: {said}; asking once more for edit blocks."]
    assert said in fake_server.requests_for("coder")[1].text


def test_a_lazy_replace_with_a_placeholder_is_refused(fake_server, tmp_path: Path) -> None:
    head = 'def validate_book(record):\n    """The problems of a book record, as sentences'
    head += ' (empty when it is fine)."""\n'
    whole = head + SCRIPT.split(head)[1].split("\n\n\n")[0] + "\n"
    lazy = Fix(whole, head + "    # ... rest of the function unchanged ...\n    return []\n")
    fake_server.enqueue("coder", edits_reply(lazy), edits_reply(count_fix("book")))
    written, ui = write_v2(fake_server, tmp_path)
    assert written and (tmp_path / "script_v2.py").read_text() == count_fix("book").on(SCRIPT)
    assert 'placeholder comment "# ... rest of the function unchanged ..."' in ui.texts("warn")[0]


def test_a_whole_file_sent_when_edits_were_asked_is_accepted(fake_server, tmp_path: Path) -> None:
    expected = count_fix("shelf").on(SCRIPT) if "validate_shelf" in SCRIPT else title_fix("book").on(SCRIPT)
    fake_server.enqueue("coder", whole_reply(expected))
    written, ui = write_v2(fake_server, tmp_path)
    assert written and (tmp_path / "script_v2.py").read_text() == expected and ui.texts("warn") == []
    assert [(c["asked"], c["answered"]) for c in coder_calls(tmp_path)] == [("edits", "whole")]


@pytest.mark.parametrize(("lines", "edits"), [(EDIT_LINES - 10, False), (EDIT_LINES + 40, True)])
def test_auto_asks_for_edits_only_once_the_script_is_long(
    fake_server, tmp_path: Path, lines: int, edits: bool
) -> None:
    previous = program(lines)
    fake_server.enqueue("coder", whole_reply(title_fix("book").on(previous)))
    assert write_v2(fake_server, tmp_path, "auto", previous)[0]
    assert (RULES in fake_server.requests_for("coder")[0].text) is edits


def test_whole_mode_takes_edit_blocks_that_apply_and_refuses_those_that_do_not(
    fake_server, tmp_path: Path
) -> None:
    fake_server.enqueue("coder", edits_reply(NOT_THERE), edits_reply(count_fix("book")))
    written, ui = write_v2(fake_server, tmp_path, "whole")
    assert written and (tmp_path / "script_v2.py").read_text() == count_fix("book").on(SCRIPT)
    assert ui.texts("warn") == [
        "The Coder's reply is not the whole script: it is SEARCH/REPLACE edit blocks, not the whole file; "
        "asking again (2/3)."
    ]
    assert RULES not in "".join(request.text for request in fake_server.requests_for("coder"))


def test_how_the_coder_answered_is_kept_in_the_call_record_and_read_back() -> None:
    call = CallRecord("coder", 2, "m", 10, 5, 0.1, None, asked="edits", answered="whole")
    assert CallRecord.from_json(json.loads(json.dumps(call.to_json()))) == call
    reviewer = CallRecord("reviewer", 2, "m", 10, 5, 0.1, None)
    assert "asked" not in reviewer.to_json() and CallRecord.from_json(reviewer.to_json()) == reviewer
    with pytest.raises(ValueError):
        CallRecord.from_json({**call.to_json(), "answered": 3})


def test_three_versions_in_diff_mode_are_whole_files_byte_for_byte(
    fake_server, tmp_path: Path, model_env: dict[str, str]
) -> None:
    v2 = count_fix("author").on(SCRIPT)
    v3 = main_fix().on(checks_fix(v2).on(v2))
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", whole_reply(SCRIPT), edits_reply(count_fix("author")))
    fake_server.enqueue("coder", edits_reply(checks_fix(v2), main_fix()))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"), review(3, "APPROVE"))
    args = ["--task", "check library records", "--yes", "--json", "--edit-format", "diff"]
    result = run(args, tmp_path, model_env)
    assert result.returncode == 0, result.stderr[-2000:]
    workspace = tmp_path / "workspace"
    for version, expected in enumerate((SCRIPT, v2, v3), start=1):
        assert (workspace / f"script_v{version}.py").read_bytes() == expected.encode()
    versions = json.loads(result.stdout)["versions"]
    assert [(v["answered"], v["fallback"]) for v in versions] == [
        ("whole", False),
        ("edits", False),
        ("edits", False),
    ]
    assert versions[2]["coder_output_tokens"] * 4 < versions[0]["coder_output_tokens"]
    assert json.loads((workspace / "session.json").read_text())["settings"]["edit_format"] == "diff"
    report = history(Workspace(workspace))  # status --json: the Coder's output and how it came
    assert (report.versions[2].coder_output_tokens, report.versions[2].answered) == (
        versions[2]["coder_output_tokens"],
        "edits",
    )
    assert report.versions[2].coder_output == f"{versions[2]['coder_output_tokens']:,} edits"


def test_a_diff_sent_when_edit_blocks_were_asked_is_refused_in_the_words_of_what_was_asked(
    fake_server, tmp_path: Path
) -> None:
    fix = count_fix("book")
    diff = (
        "Here is the change.\n\n```diff\n--- a/script_v1.py\n+++ b/script_v1.py\n@@ -1,3 +1,3 @@\n"
        "-import sys\n+import sys  # changed\n import json\n```\n"
    )
    fake_server.enqueue("coder", diff, edits_reply(fix))
    written, ui = write_v2(fake_server, tmp_path)
    assert written and (tmp_path / "script_v2.py").read_text() == fix.on(SCRIPT)
    said = "it is a unified diff, not the SEARCH/REPLACE edit blocks that were asked for"
    assert ui.texts("warn") == [f"The Coder's reply was not saved: {said}; asking once more for edit blocks."]
    assert f"Your last reply was not saved: {said}." in fake_server.requests_for("coder")[1].text
    assert "not the whole file" not in " ".join(ui.texts("warn")) + fake_server.requests_for("coder")[1].text
