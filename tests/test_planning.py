"""Planning: what counts as approval, the plan saved without the Planner's closing question, and
acceptance tests agreed like the plan, with the commands of their prompt."""

from __future__ import annotations

import pytest
from drive import in_session
from recording_ui import RecordingUI
from scripted import PLAN_1

from iterative_coder.draft_answers import COMMANDS, is_approval
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.plan_text import strip_closing_question
from iterative_coder.planning import run_test_agreement
from iterative_coder.settings import Settings
from iterative_coder.workspace import Workspace


@pytest.mark.parametrize(
    "answer",
    ["approve", "Approve", "APPROVE.", "/approve", "sounds good", "Sounds good!", "yes", "y", "OK", "lgtm",
     "Looks  good!"],
)  # fmt: skip
def test_approvals(answer: str) -> None:
    assert is_approval(answer)


@pytest.mark.parametrize(
    "answer", ["don't approve", "approve but add a flag", "no", "", "good", "yes but shorter"]
)
def test_not_approvals(answer: str) -> None:
    assert not is_approval(answer)


def test_the_closing_question_is_dropped_and_the_plan_kept() -> None:
    plan = strip_closing_question(PLAN_1)
    assert plan.endswith("2. The program prints the count for the file given as its argument.\n")
    assert "approve" not in plan.lower()


def test_variants_of_the_closing_question() -> None:
    body = "# T\n\n## Requirements\n1. It works."
    for tail in (
        "\n\n---\n\nDoes this look right?",
        "\nShall I proceed?",
        "\n\nPlease approve or suggest changes.",
    ):
        assert strip_closing_question(body + tail) == body + "\n"


def test_a_requirement_that_asks_is_not_taken_for_the_closing_question() -> None:
    body = "# T\n\n## Requirements\n1. It works.\n2. Ask the user: continue?"
    assert strip_closing_question(body + "\n\nDo you approve this plan?") == body + "\n"


def test_a_plan_without_a_question_is_unchanged() -> None:
    body = "# T\n\n## Requirements\n1. Does it handle empty input? It must print 0."
    assert (
        strip_closing_question(body)
        == "# T\n\n## Requirements\n1. Does it handle empty input? It must print 0.\n"
    )


def test_acceptance_tests_are_agreed_like_the_plan(fake_server, tmp_path) -> None:
    first = "```python\nimport script\n\n\ndef test_req1():\n    assert script.count_words('a b') == 2\n```"
    second = (
        first
        + "\n\n```python\nimport script\n\n\ndef test_req1():\n    assert script.count_words('') == 0\n```"
    )
    fake_server.enqueue("tester", first, second)
    workspace, ui = agree_tests(fake_server, tmp_path, ["add a test for empty input", "approve"])
    requests = fake_server.requests_for("tester")
    assert "# The approved plan (plan.md)" in requests[0].text and "1. Count words." in requests[0].text
    # The Tester keeps the conversation: its first draft and the change are both in the second call.
    assert "count_words('a b')" in requests[1].text and "add a test for empty input" in requests[1].text
    assert (tmp_path / ACCEPTANCE).read_text().endswith("assert script.count_words('') == 0\n")
    assert [text.split("\n")[0] for text in ui.texts("code")] == [ACCEPTANCE, ACCEPTANCE]


def test_acceptance_tests_can_be_skipped(fake_server, tmp_path) -> None:
    fake_server.enqueue("tester", "I cannot test a GUI.")
    _, ui = agree_tests(fake_server, tmp_path, ["approve", "/skip"])
    assert "There is nothing to approve yet" in ui.texts("warn")[-1]
    text = (tmp_path / ACCEPTANCE).read_text()
    assert text.startswith("# No automatic acceptance checks") and "def test" not in text


def test_slash_answers_at_the_test_prompt_are_commands_that_never_reach_the_tester(
    fake_server, tmp_path
) -> None:
    fake_server.enqueue("tester", "```python\nimport script\n\n\ndef test_req1():\n    assert script\n```")
    _, ui = agree_tests(fake_server, tmp_path, ["/show", "/help", "/Skip."])
    assert len(fake_server.requests_for("tester")) == 1
    assert ui.texts("warn") == ["Unknown command /show. Here: /approve, /edit, /skip, /stop, /help."]
    (shown,) = [text.splitlines() for text in ui.texts("info") if text.startswith("Enter ")]
    assert [line.split()[0] for line in shown[3:]] == [command.name for command in COMMANDS]  # one a line
    assert shown[0].split() == ["Enter", "nothing:", "the", "question", "is", "asked", "again"]
    assert "approve these acceptance tests" in shown[1] and "a change request for the Tester" in shown[2]
    assert (tmp_path / ACCEPTANCE).read_text().startswith("# No automatic acceptance checks")


def agree_tests(server, root, answers):
    workspace = Workspace(root)
    workspace.write(TASK, "count words\n")
    workspace.write(PLAN, "# Counter\n\n## Requirements\n1. Count words.\n")
    ui = RecordingUI(answers)
    assert in_session(server, root, ui, Settings(), run_test_agreement) == "approved"
    return workspace, ui


def test_tests_are_loaded_to_check_them_only_when_code_may_run_without_asking(fake_server, tmp_path) -> None:
    # Loading a test file runs the Tester's code: with --execute never only what shows without running
    # it is checked, so a file that opens a missing data file when loaded is approved as usual.
    tests = "import script\n\nWORDS = open('words.txt').read()\n\n\ndef test_req1():\n    assert WORDS\n"
    fake_server.enqueue("tester", f"```python\n{tests}```")
    _, ui = agree_tests(fake_server, tmp_path, ["approve"])
    assert len(fake_server.requests_for("tester")) == 1 and ui.texts("warn") == []
    assert (tmp_path / ACCEPTANCE).read_text() == tests
