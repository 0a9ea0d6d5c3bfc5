"""What a newcomer tripped on (issue 25), replayed as a person meets it: the real CLI in a pseudo-
terminal of 80x24 where the screen matters, asserting what is on the screen and in the files."""

from __future__ import annotations

from pathlib import Path

import pytest
from drive import start_workspace
from fake_openai import FakeOpenAIServer
from scripted import good_script, review

from iterative_coder.answers import ALWAYS, YES, is_always, is_yes, said_back

SMALL = (24, 80)  # rows, columns: the smallest terminal a person is likely to use


def words(text: str) -> str:
    """``text`` with its line breaks and runs of spaces made single spaces: a sentence wrapped at 80
    columns reads as one line again."""
    return " ".join(text.split())


@pytest.mark.parametrize("answer", ["y", "Yes.", "ok", "OK!", " okay "])
def test_every_yes_no_question_reads_one_table_of_yes(answer: str) -> None:
    assert is_yes(answer) and not is_always(answer)


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (None, "Not run: input ended."),
        ("", "Not run: Enter means no."),
        ("No", "Not run."),
        ("nah", 'Not run: "nah" is not a yes (y, yes or ok).'),
    ],
)
def test_an_answer_that_is_not_yes_is_said_back(answer: str | None, line: str) -> None:
    assert not is_yes(answer) and said_back("Not run", answer) == line
    assert not YES & ALWAYS


def test_the_run_question_takes_the_same_words_and_says_a_no_back(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    (tmp_path / "ws").mkdir()
    start_workspace(tmp_path / "ws")
    fake_server.enqueue("coder", good_script(1), good_script(2).replace("count FILE", "count FILE2"))
    fake_server.enqueue("coder", good_script(3).replace("count FILE", "count FILE3"))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"), review(3, "REVISE"))
    cli = run_cli("--resume", "ws", "--execute", "ask", "--max-iterations", "3", dimensions=SMALL)
    cli.expect("[y/N/a(lways)]")
    cli.answer("Yes.")
    cli.expect("run_v1.md")  # the run's panel
    cli.expect("Your turn on version 1")
    cli.answer("")
    cli.expect("[y/N/a(lways)]")
    cli.answer("nah")
    cli.expect("Not run:")
    cli.expect("Your turn on version 2")
    cli.answer("")
    cli.expect("[y/N/a(lways)]")
    cli.child.expect_exact("> ")
    cli.child.sendeof()  # Ctrl-D: not run, said back; the review goes on
    cli.expect("Not run:")
    cli.expect("That was the last iteration")
    cli.child.expect_exact("> ")
    cli.child.sendeof()
    cli.expect("Input ended.")
    assert cli.wait_exit() == 1
    screen = words(cli.output)
    assert 'Not run: "nah" is not a yes (y, yes or ok). The Reviewer judges the code without a run' in screen
    assert "Not run: input ended." in screen
    ws = tmp_path / "ws"
    assert (ws / "run_v1.md").exists() and not (ws / "run_v2.md").exists()
    assert not (ws / "run_v3.md").exists()
    assert "The script was not run" in fake_server.requests_for("reviewer")[1].text
