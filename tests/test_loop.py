"""The iteration loop without a terminal: a recording UI, the real client, the fake server."""

from __future__ import annotations

from pathlib import Path

from drive import run_loop
from scripted import review, script


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
    assert any(text.startswith("Unknown command /frobnicate.") for text in ui.texts("warn"))
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
    fake_server.enqueue("reviewer", review(2, "APPROVE"))
    outcome, version, _ = run_loop(fake_server, tmp_path, [""], max_iterations=2)
    assert (outcome, version) == ("accepted", 2)
    assert "handle empty files" in fake_server.requests_for("coder")[1].text


def test_a_reply_without_verdict_counts_as_revise(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", "Looks mostly fine.\n1. Add docstrings.")
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    review_text = (tmp_path / "review_v1.md").read_text()
    assert review_text.startswith(
        "Verdict: REVISE\n\n> The Reviewer gave no verdict line; counted as REVISE.\n"
    )
    assert "\n## Points\n\n1. [style] Add docstrings.\n" in review_text
    assert "The Reviewer gave no verdict line; counted as REVISE." in ui.texts("warn")
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
