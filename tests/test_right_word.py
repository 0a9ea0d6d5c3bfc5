"""The right word at the right prompt: approval words approve, a single word reaches an agent only once
confirmed, an answer starting with / is a command and never reaches an agent, the review can be seen
again (and is, on resume), /run runs at once and finds the files its arguments name, and /edit writes
feedback or a change request in the person's editor."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from drive import in_session, run_loop
from recording_ui import RecordingUI
from scripted import PLAN_1, TESTS, review, script

from iterative_coder.editor import EditorUnavailable, edit_text, editor_command
from iterative_coder.manager import DONE_QUESTION
from iterative_coder.names import PLAN, TASK
from iterative_coder.planning import run_planning
from iterative_coder.reviewing import RUN_QUESTION
from iterative_coder.settings import Settings
from iterative_coder.workspace import Workspace


def test_approve_at_a_revise_review_asks_whether_done_was_meant_through_the_cli(
    fake_server, run_cli, tmp_path: Path
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    cli = run_cli("--task", "count words", "--execute", "never")
    cli.expect('Reply "approve" to accept this plan')
    cli.answer("/show")
    cli.expect("Unknown command /show. Here: /approve, /edit, /stop, /help.")
    cli.answer("/help")
    cli.expect("a change request for the Planner")
    cli.answer("yes")
    cli.expect('Reply "approve" to accept these acceptance tests')
    cli.answer("approve")
    cli.expect("Your turn on version 1. Enter goes on to version 2")
    cli.answer("approve")
    cli.expect(DONE_QUESTION)
    cli.answer("n")
    cli.expect("Not accepted, and nothing sent to the Coder.")
    cli.answer("/review")
    cli.expect("REVIEW-MARKER-1")  # the review again, after the question
    cli.answer("/help")
    cli.expect("go on to v2")
    cli.answer("/frob")
    cli.expect("Unknown command /frob; /help lists the commands.")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    lines = [line.strip() for line in cli.output.splitlines()]
    assert any(line.startswith("/run [ARGS...]") and "runs/v1-manual/" in line for line in lines)
    assert any(line.startswith("/edit ") for line in lines) and "/fix-tests" not in cli.output
    asked, after = cli.output.split(DONE_QUESTION)
    assert "REVIEW-MARKER-1" in asked and after.count("REVIEW-MARKER-1") == 1  # made, then /review
    assert len(fake_server.requests_for("planner")) == 1  # "yes" approved the plan; no command reached it
    assert len(fake_server.requests_for("coder")) == 1
    assert not list(tmp_path.glob("**/feedback_v*.md"))


def test_approval_words_accept_an_approving_review(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["OK."])
    assert (outcome, version) == ("accepted", 1)
    assert not list(tmp_path.glob("feedback_*")) and len(fake_server.requests_for("coder")) == 1
    assert DONE_QUESTION not in ui.texts("ask")


def test_a_single_word_is_sent_to_the_coder_only_once_confirmed(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    answers = ["fine", "n", "yes", "n", "fine", "y", "/stop"]
    outcome, version, ui = run_loop(fake_server, tmp_path, answers)
    assert (outcome, version) == ("stopped", 2)
    asked = ui.texts("ask")
    assert asked[1] == asked[5] == 'Send "fine" to the Coder as feedback? [y/N]'
    assert asked[3] == DONE_QUESTION  # "yes" on a REVISE review is not feedback
    assert (tmp_path / "feedback_v1.md").read_text() == "fine\n"
    assert len(fake_server.requests_for("coder")) == 2 and "fine" in fake_server.requests_for("coder")[1].text


def test_yes_approves_the_plan_and_a_single_word_change_is_confirmed(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("planner", PLAN_1)
    Workspace(tmp_path).write(TASK, "count words\n")
    ui = RecordingUI(["shorter", "n", "yes"])
    assert in_session(fake_server, tmp_path, ui, Settings(), run_planning) == "approved"
    assert len(fake_server.requests_for("planner")) == 1  # neither answer reached the Planner
    assert ui.texts("ask")[1] == 'Send "shorter" to the Planner as a change request? [y/N]'
    assert "count_words(text)" in (tmp_path / PLAN).read_text()


def test_slash_answers_at_the_plan_prompt_are_commands_and_edit_writes_the_change(
    fake_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_editor(tmp_path, monkeypatch)
    root = tmp_path / "workspace"
    fake_server.enqueue("planner", PLAN_1, PLAN_1)
    Workspace(root).write(TASK, "count words\n")
    ui = RecordingUI(["/skip", "/show", "/edit", "/approve"])
    assert in_session(fake_server, root, ui, Settings(), run_planning) == "approved"
    unknown = "Unknown command {}. Here: /approve, /edit, /stop, /help."  # /skip is the test prompt's
    assert ui.texts("warn") == [unknown.format("/skip"), unknown.format("/show")]
    requests = fake_server.requests_for("planner")
    assert len(requests) == 2 and "Use argparse for the options.\nHandle an empty file." in requests[1].text
    assert "a note to myself" not in requests[1].text and (root / PLAN).exists()


def test_resuming_at_the_managers_turn_shows_the_review_again(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    run_loop(fake_server, tmp_path, ["/stop"])
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/review", "/stop"])
    assert outcome == "stopped"
    assert ui.events[0][0] == "markdown" and ui.events[0][1].startswith("review_v1.md\nVerdict: REVISE")
    assert ui.events[1][0] == "ask"  # the review comes before the question
    shown = ui.texts("markdown")
    assert len(shown) == 2 and "REVIEW-MARKER-1" in shown[1]  # and again for /review
    assert len(fake_server.requests_for("reviewer")) == 1


def test_run_copies_the_files_its_arguments_name_from_where_the_tool_started(
    fake_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, root = tmp_path / "start", tmp_path / "workspace"
    start.mkdir()
    (start / "data.txt").write_text("one two three\n")
    (tmp_path / "other.txt").write_text("a b\n")
    monkeypatch.chdir(start)
    code = (
        "import sys\nsizes = [len(open(name).read().split()) for name in sys.argv[1:]]\n"
        "open('counts.txt', 'w').write(repr(sizes))"
    )
    fake_server.enqueue("coder", f"```python\n{code}\n```")
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    answers = ["n", "/run data.txt ../other.txt", "/stop"]  # typing /run is the consent to run
    _, _, ui = run_loop(fake_server, root, answers, execute="ask")
    assert ui.texts("ask").count(RUN_QUESTION) == 1 and ui.texts("ask")[0] == RUN_QUESTION
    assert not (root / "run_v1.md").exists()  # "n" before the review: no automatic run
    folder = root / "runs" / "v1-manual"
    assert (folder / "counts.txt").read_text() == "[3, 2]"
    assert (
        f"Copied data.txt, ../other.txt (as other.txt) from {start} into that folder: the program runs there."
        in ui.texts("info")
    )
    assert "python script_v1.py data.txt other.txt: exit 0" in ui.texts("result")
    assert (start / "data.txt").read_text() == "one two three\n"  # the person's file is only read


def use_editor(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor that checks the hint is there and appends two lines and a comment line to the file."""
    editor = folder / "editor.sh"
    editor.write_text(
        "#!/bin/sh\ngrep -q 'Lines starting with # are left out' \"$1\" || exit 3\n"
        "printf 'Use argparse for the options.\\n# a note to myself\\nHandle an empty file.\\n' >> \"$1\"\n"
    )
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))


def test_edit_writes_the_feedback_in_the_editor(fake_server, tmp_path: Path, monkeypatch) -> None:
    use_editor(tmp_path, monkeypatch)
    root = tmp_path / "workspace"
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    outcome, version, _ = run_loop(fake_server, root, ["/edit", "/stop"])
    assert (outcome, version) == ("stopped", 2)
    feedback = "Use argparse for the options.\nHandle an empty file.\n"
    assert (root / "feedback_v1.md").read_text() == feedback
    assert "Handle an empty file." in fake_server.requests_for("coder")[1].text


def test_an_editor_that_saves_nothing_sends_nothing_and_a_missing_one_is_named() -> None:
    assert edit_text(["a hint"], {"EDITOR": "true", "PATH": "/usr/bin:/bin"}) == ""
    with pytest.raises(EditorUnavailable, match="No editor found: set EDITOR"):
        editor_command({"PATH": ""})
    with pytest.raises(EditorUnavailable, match="Cannot start the editor /nonexistent/ed"):
        edit_text(["a hint"], {"VISUAL": "/nonexistent/ed"})
    assert editor_command({"VISUAL": "code --wait", "EDITOR": "vi"}) == ["code", "--wait"]
