"""The iteration loop without a terminal: a recording UI, the real client, the fake server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drive import run_loop
from scripted import DIFF, LAZY, good_script, review, script


def test_the_longest_parsing_block_is_taken_and_the_screen_says_so(fake_server, tmp_path: Path) -> None:
    reply = "Usage:\n```bash\npython script.py file.txt\n```\nA helper:\n```python\nx = 1\n```\n" + script(1)
    fake_server.enqueue("coder", reply)
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["/stop"])
    assert (outcome, version) == ("stopped", 1)
    assert "# marker-script-v1" in (tmp_path / "script_v1.py").read_text()
    assert any("2 code blocks; took block 2" in text for text in ui.texts("info"))
    assert "marker-script-v1" in ui.streamed  # the reply was streamed to the screen as it came


def test_no_code_asks_again_twice_then_stops_without_writing(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", "I will write it soon.", "Sure!", "Here you go.")
    outcome, version, ui = run_loop(fake_server, tmp_path, [])
    assert (outcome, version) == ("no_code", 0)
    assert not (tmp_path / "script_v1.py").exists()
    requests = fake_server.requests_for("coder")
    assert len(requests) == 3
    assert "held no Python code" not in requests[0].text and "held no Python code" in requests[1].text
    assert "The Coder's reply came without Python code; asking again (2/3)." in ui.texts("warn")
    assert (
        ui.texts("warn")[-1]
        == "The Coder's replies came without Python code 3 times; script_v1.py was not written."
    )


def test_a_script_that_does_not_parse_is_kept_and_the_reviewer_is_told(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", "```python\ndef broken(:\n    pass\n```")
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    assert outcome == "stopped"
    assert (tmp_path / "script_v1.py").read_text() == "def broken(:\n    pass\n"
    assert "SyntaxError at line 1" in fake_server.requests_for("reviewer")[0].text
    assert any("does not parse (line 1" in text for text in ui.texts("warn"))


def test_manager_commands_do_not_become_feedback(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    outcome, version, ui = run_loop(
        fake_server, tmp_path, ["/diff", "/frobnicate", "/help", "", "/diff", "/stop"]
    )
    assert (outcome, version) == ("stopped", 2)
    assert not list(tmp_path.glob("feedback_*"))
    infos = ui.texts("info")
    assert "This is the first version; there is nothing to compare it with." in infos
    assert "Unknown command /frobnicate; /help lists the commands." in ui.texts("warn")
    assert ui.texts("diff") == ["script_v1.py -> script_v2.py"]


def test_iteration_limit_ends_the_loop_and_keeps_feedback_for_later(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["handle empty files"], max_iterations=1)
    assert (outcome, version) == ("limit", 1)
    assert "last iteration (1)" in ui.texts("ask")[-1]
    assert (tmp_path / "feedback_v1.md").read_text() == "handle empty files\n"
    assert not (tmp_path / "script_v2.py").exists()

    # A later run with a higher limit writes v2 from that feedback.
    fake_server.enqueue("coder", script(2))
    # Issue 22: an approval that does not assess the feedback is asked about it.
    fake_server.enqueue("reviewer", review(2, "APPROVE"), "Feedback: done — empty files count 0 words")
    outcome, version, _ = run_loop(fake_server, tmp_path, ["/done"], max_iterations=2)
    assert (outcome, version) == ("done", 2)
    assert "handle empty files" in fake_server.requests_for("coder")[1].text


def test_a_reply_without_verdict_counts_as_revise(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    # Issue 22: the point is a required one (an optional "Add docstrings." is a suggestion now).
    fake_server.enqueue(
        "reviewer", "Looks mostly fine.\n1. main() crashes on an empty file.", "I cannot say."
    )
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    review_text = (tmp_path / "review_v1.md").read_text()
    note = "The Reviewer gave no verdict, even when asked again; counted as REVISE."
    assert review_text.startswith(f"Verdict: REVISE\n\n> {note}\n")
    assert "\n## Points\n\n1. [failing] main() crashes on an empty file.\n" in review_text
    assert sum(shown.count(note) for shown in ui.texts("markdown") + ui.texts("warn")) == 1  # said once
    assert "Enter accepts" not in ui.texts("ask")[-1]


def test_agents_see_files_the_person_edited(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    run_loop(fake_server, tmp_path, ["/stop"])
    (tmp_path / "plan.md").write_text("# Word counter\n\n1. EDITED-REQUIREMENT: count words per line.\n")
    (tmp_path / "script_v1.py").write_text("# EDITED-BY-HAND\nprint('hi')\n")
    fake_server.enqueue("coder", script(2))
    fake_server.enqueue("reviewer", review(2, "REVISE"))
    run_loop(fake_server, tmp_path, ["", "/stop"])
    coder_v2 = fake_server.requests_for("coder")[1].text
    assert "EDITED-REQUIREMENT" in coder_v2 and "EDITED-BY-HAND" in coder_v2
    assert "EDITED-REQUIREMENT" in fake_server.requests_for("reviewer")[1].text


WHY = {
    LAZY: 'it has the placeholder comment "# ... rest of the code unchanged ..." where code should be',
    DIFF: "it is a diff, not the whole file",
}


def coder_replies(root: Path) -> list[str]:
    """The Coder's replies as log.jsonl keeps them, word for word."""
    log = [json.loads(line) for line in (root / "log.jsonl").read_text().splitlines()]
    return [entry["reply"] for entry in log if entry["role"] == "coder"]


@pytest.mark.parametrize("fragment", [LAZY, DIFF], ids=["lazy", "diff in a python fence"])
def test_a_fragment_is_asked_again_and_the_whole_script_is_saved(
    fake_server, tmp_path: Path, fragment: str
) -> None:
    fake_server.enqueue("coder", script(1), fragment, good_script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["", "/stop"])
    assert (outcome, version) == ("stopped", 2)
    whole = (tmp_path / "script_v2.py").read_text()
    assert whole == good_script(2).split("```python\n")[1].split("```")[0]
    assert "rest of the code" not in whole and "+++ b/" not in whole
    assert f"The Coder's reply is not the whole script: {WHY[fragment]}; asking again (2/3)." in ui.texts(
        "warn"
    )
    coder = fake_server.requests_for("coder")
    assert len(coder) == 3 and WHY[fragment] in coder[2].text and WHY[fragment] not in coder[1].text
    assert [text.split("\n")[0] for text in ui.texts("code")] == ["script_v1.py", "script_v2.py"]
    assert "Coder: I kept it simple." in ui.texts("info")  # the Coder's words after its code
    assert coder_replies(tmp_path)[1] == fragment  # the refused reply is kept in the log
    assert len(fake_server.requests_for("reviewer")) == 2


def test_a_coder_insisting_on_fragments_writes_nothing(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), LAZY, DIFF, LAZY)
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, [""])
    assert (outcome, version) == ("no_code", 1)
    assert not (tmp_path / "script_v2.py").exists()
    assert ui.texts("warn")[-1] == (
        f"The Coder's replies were not the whole script 3 times (the last: {WHY[LAZY]}); "
        "script_v2.py was not written."
    )
    assert coder_replies(tmp_path)[1:] == [LAZY, DIFF, LAZY]
    assert len(fake_server.requests_for("reviewer")) == 1


def test_the_same_script_is_caught_before_it_is_saved_run_or_reviewed(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["", "/stop"])
    assert (outcome, version) == ("stopped", 2)
    assert (
        "The Coder's script_v2.py is the same as script_v1.py apart from white space and comments; "
        "not saved, asking once more for the changes."
    ) in ui.texts("warn")
    coder = fake_server.requests_for("coder")
    assert len(coder) == 3 and "it is the same script as script_v1.py" in coder[2].text
    reviewer = fake_server.requests_for("reviewer")
    assert len(reviewer) == 2 and "marker-script-v2" in reviewer[1].text
    assert "# marker-script-v2" in (tmp_path / "script_v2.py").read_text()
    assert [text.split("\n")[0] for text in ui.texts("code")] == ["script_v1.py", "script_v2.py"]


def same_twice(fake_server, verdict: str) -> None:
    """v1 reviewed REVISE; then the Coder sends v1 again twice (the second time with a new comment)."""
    again = script(1).replace("import sys", "import sys  # unchanged, on purpose")
    fake_server.enqueue("coder", script(1), script(1), again)
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, verdict))


def test_the_same_script_twice_is_reviewed_and_an_approval_accepts_it(fake_server, tmp_path: Path) -> None:
    same_twice(fake_server, "APPROVE")
    outcome, version, ui = run_loop(fake_server, tmp_path, ["", ""])
    assert (outcome, version) == ("accepted", 2)
    assert "# unchanged, on purpose" in (tmp_path / "script_v2.py").read_text()
    assert (
        "The Coder sent script_v1.py unchanged again as script_v2.py; the Reviewer is asked whether its "
        "points still stand." in ui.texts("warn")
    )
    assert [text.split("\n")[0] for text in ui.texts("code")] == ["script_v1.py"]  # not shown again in full
    told = fake_server.requests_for("reviewer")[1].text
    assert "# This version is unchanged" in told and "Say whether its points still stand" in told
    assert not any(text.startswith("No progress") for text in ui.texts("warn"))  # approval wins
    assert "Go on with another version anyway? [y/N]" not in ui.texts("ask")
    assert len(fake_server.requests_for("coder")) == 3


def test_the_same_script_twice_and_a_second_revise_is_a_stall(fake_server, tmp_path: Path) -> None:
    same_twice(fake_server, "REVISE")
    outcome, version, ui = run_loop(fake_server, tmp_path, ["", "n"])
    assert (outcome, version) == ("stalled", 2)
    assert ui.texts("warn")[-1] == (
        "No progress: script_v2.py is the same as script_v1.py apart from white space and comments."
    )
    assert ui.texts("ask")[-1] == "Go on with another version anyway? [y/N]"
