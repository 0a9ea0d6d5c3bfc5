"""Acceptance tests that can run, and plans with requirements (issue 13, items 3 and 4), checked against
replies shaped the way real models write them (tests/replies/tests/ and tests/replies/plan/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drive import in_session, run_loop, run_main
from fake_openai import FakeOpenAIServer
from recording_ui import RecordingUI
from scripted import REPLIES, TEST_CASES, TESTS, code_of_tests, good_script, reply, review

from iterative_coder.execution.runs import Execution
from iterative_coder.execution.test_check import (
    DISPLAY_AT_IMPORT,
    DOES_NOT_LOAD,
    check_tests,
    collection_problem,
    unplanned_names,
)
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.plan_text import asks_instead_of_planning, clean_plan, is_fragment, plan_shape
from iterative_coder.planning import APPROVAL_PROMPT, TESTS_PROMPT, run_planning, run_test_agreement
from iterative_coder.records.embedded import prose_of
from iterative_coder.records.run import read_run
from iterative_coder.settings import Settings
from iterative_coder.workspace import Workspace

PLAN_CASES = sorted(path.stem for path in (REPLIES / "plan").glob("*.txt"))
# The plan each Tester reply was written for (its program): the word counter, the guessing game, the
# clock, the todo list. None of them names a third-party package.
PLAN_OF = {"01": "01", "02": "01", "03": "02", "04": "01", "05": "02", "06": "04", "07": "06", "08": "04",
           "09": "01", "10": "01", "11": "01", "12": "01"}  # fmt: skip


def expected(kind: str, case: str) -> dict:
    return json.loads((REPLIES / kind / f"{case}.json").read_text(encoding="utf-8"))


def plan_for(case: str) -> str:
    return clean_plan(reply("plan", next(name for name in PLAN_CASES if name.startswith(PLAN_OF[case[:2]]))))


@pytest.mark.parametrize("case", TEST_CASES)
def test_a_tester_reply_is_accepted_or_refused_with_its_reason(case: str, tmp_path: Path) -> None:
    problem = check_tests(code_of_tests(case), plan_for(case), Execution(tmp_path, 30.0))
    want = expected("tests", case)
    assert (problem is None) == want["accept"]
    assert (problem.kind if problem else None) == want["reason"]
    assert unplanned_names(code_of_tests(case), plan_for(case)) == want.get("unplanned", [])


@pytest.mark.parametrize(
    ("case", "kind", "error"),
    [
        ("02-wrong-module", DOES_NOT_LOAD, "ModuleNotFoundError: No module named 'wc'"),
        ("06-tk-at-import", DISPLAY_AT_IMPORT, "TclError: no display name"),
    ],
)
def test_pytest_itself_refuses_to_collect_them_without_a_display(
    case: str, kind: str, error: str, tmp_path: Path
) -> None:
    problem = collection_problem(code_of_tests(case), Execution(tmp_path, 30.0))
    assert problem is not None and problem.kind == kind and error in problem.detail


@pytest.mark.parametrize("case", PLAN_CASES)
def test_a_plan_counts_only_its_numbered_requirements(case: str) -> None:
    shape, want = plan_shape(clean_plan(reply("plan", case))), expected("plan", case)
    assert (len(shape.requirements), shape.ask_again, shape.too_long) == (
        want["requirements"],
        want["ask_again"],
        want["warn_long"],
    )


def test_a_plan_is_saved_without_thinking_or_a_fence_around_it() -> None:
    for case in ("06-think-preamble", "08-fenced-markdown"):
        plan = clean_plan(reply("plan", case))
        assert plan.startswith("# ") and "<think>" not in plan and "```" not in plan
        assert "Do you approve" not in plan


def agree(server: FakeOpenAIServer, root: Path, answers: list[str], step, **settings: object) -> RecordingUI:
    workspace = Workspace(root)
    workspace.write(TASK, "count words in files\n")
    workspace.write(PLAN, plan_for("01"))
    ui = RecordingUI(answers)
    assert in_session(server, root, ui, Settings(**settings), step) == "approved"  # type: ignore[arg-type]
    return ui


WRONG_MODULE_SAID = (
    "acceptance_test.py imports wc instead of the program: import it as `import script`, or run it"
)


def test_tests_of_the_wrong_module_go_back_to_the_tester_once(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("tester", reply("tests", "02-wrong-module"), reply("tests", "01-good-wc-tests"))
    ui = agree(fake_server, tmp_path, ["approve"], run_test_agreement, execute="always")
    second = fake_server.requests_for("tester")[1].text
    assert WRONG_MODULE_SAID in second
    assert "Sent back to the Tester" in ui.texts("warn")[0]
    assert ui.texts("ask") == [TESTS_PROMPT]  # the Manager saw only the good file
    assert (tmp_path / ACCEPTANCE).read_text() == code_of_tests("01-good-wc-tests")


LOADS_A_FILE = (
    "import script\n\nWORDS = open('words.txt').read()\n\n\ndef test_req1():\n"
    "    assert script.count_text(WORDS)\n"
)


def test_approving_tests_that_do_not_load_needs_approve_twice(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("tester", *[f"```python\n{LOADS_A_FILE}```"] * 2)
    ui = agree(fake_server, tmp_path, ["/approve", "/approve"], run_test_agreement, execute="always")
    assert len(fake_server.requests_for("tester")) == 2  # sent back once, then shown
    assert "FileNotFoundError" in fake_server.requests_for("tester")[1].text
    refused, saved = ui.texts("warn")[-2:]
    assert refused.startswith("Not approved: pytest cannot load acceptance_test.py: FileNotFoundError")
    assert "Type /approve to save it anyway" in refused
    assert saved.startswith("Saved although pytest cannot load acceptance_test.py")
    assert (tmp_path / ACCEPTANCE).read_text() == LOADS_A_FILE


def test_a_prose_plan_is_asked_again_automatically(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("planner", reply("plan", "02-prose-no-numbers"), reply("plan", "01-good-wc-plan"))
    ui = agree(fake_server, tmp_path, ["approve"], run_planning)
    assert "The plan has no numbered requirements" in fake_server.requests_for("planner")[1].text
    assert ui.texts("ask") == [APPROVAL_PROMPT]
    assert len(plan_shape((tmp_path / PLAN).read_text()).requirements) == 7


def test_a_plan_of_25_requirements_is_saved_with_advice_to_trim(fake_server, tmp_path: Path) -> None:
    long_plan = "# Todo\n\n## Requirements\n" + "".join(f"{n}. Feature {n} works.\n" for n in range(1, 26))
    fake_server.enqueue("planner", long_plan)
    ui = agree(fake_server, tmp_path, ["approve"], run_planning)
    assert len(fake_server.requests_for("planner")) == 1
    assert any("25 requirements" in text and "trim" in text for text in ui.texts("warn"))
    assert (tmp_path / PLAN).exists()


FIXED = "import script\n\n\ndef test_req1_counts_words():\n    assert script.count_words('a b') == 2\n"


def test_an_edited_test_file_that_does_not_load_is_not_held_against_the_version(
    fake_server, tmp_path: Path
) -> None:
    start_workspace = Workspace(tmp_path)
    start_workspace.write(TASK, "count words\n")
    start_workspace.write(PLAN, "# Words\n\n## Requirements\n1. count_words(text) counts words.\n")
    start_workspace.write(ACCEPTANCE, code_of_tests("02-wrong-module"))  # as the person edited it
    fake_server.enqueue("coder", "```python\ndef count_words(text):\n    return len(text.split())\n```")
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    fake_server.enqueue("tester", f"```python\n{FIXED}```")
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/fix-tests", "approve", "/stop"], execute="always")

    said = "acceptance_test.py itself does not load: ModuleNotFoundError: No module named 'wc'"
    assert said in prose_of((tmp_path / "run_v1.md").read_text())
    assert said in ui.texts("result")[0] and said in fake_server.requests_for("reviewer")[0].text
    assert (tmp_path / "review_v1.md").read_text().startswith("Verdict: APPROVE")  # no verdict forced
    record = read_run((tmp_path / "run_v1.md").read_text(), 1)
    assert record is not None and record.problems() == [] and record.failing == []  # the Coder is not blamed
    assert any("/fix-tests has the Tester fix it" in text for text in ui.texts("warn"))
    request = fake_server.requests_for("tester")[0].text
    assert "No module named 'wc'" in request and "from wc import count_words" in request
    assert (tmp_path / ACCEPTANCE).read_text() == FIXED
    assert outcome == "stopped"


PROSE_PLAN = "I'd write a small word counter that reads a file and prints how many words it holds."
PLAN_1_NUMBERED = "# Word counter\n\n## Requirements\n1. `count_words(text)` returns the number of words.\n"


def test_without_a_person_bad_tests_and_a_prose_plan_are_caught_before_any_version_runs(
    fake_server, tmp_path: Path, model_env: dict[str, str]
) -> None:
    fake_server.enqueue("planner", PROSE_PLAN, PLAN_1_NUMBERED)
    fake_server.enqueue("tester", reply("tests", "02-wrong-module"), TESTS)
    fake_server.enqueue("coder", good_script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    result = run_main(
        ["--task", "count words", "--yes", "--execute", "always", "--max-iterations", "1"],
        tmp_path,
        model_env,
    )
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown
    assert "The plan has no numbered requirements" in shown
    assert WRONG_MODULE_SAID in shown
    tester, coder = fake_server.requests_for("tester"), fake_server.requests_for("coder")
    assert len(tester) == 2 and tester[1].received_at < coder[0].received_at
    ws = tmp_path / "workspace"
    assert "from wc import" not in (ws / ACCEPTANCE).read_text()
    assert "tests 2/2 passed" in (ws / "run_v1.md").read_text()
    assert (ws / PLAN).read_text() == PLAN_1_NUMBERED


def test_questions_fragments_and_chatter_are_told_apart_from_plans() -> None:
    for case in PLAN_CASES:
        text, want = reply("plan", case), expected("plan", case)
        assert asks_instead_of_planning(text) == want.get("questions", False), case
        for words in want.get("not_in_plan", []):
            assert words not in clean_plan(text), (case, words)
        previous = want.get("fragment_of")
        if previous:
            assert is_fragment(clean_plan(text), clean_plan(reply("plan", previous)))


def test_a_planner_asking_questions_gets_the_managers_answers_and_nothing_is_saved_as_the_plan(
    fake_server, tmp_path: Path
) -> None:
    fake_server.enqueue("planner", reply("plan", "09-questions-first"), reply("plan", "01-good-wc-plan"))
    answers = ["approve", "Characters are fine; yes, read stdin; report and go on", "approve"]
    ui = agree(fake_server, tmp_path, answers, run_planning)
    said = "The Planner asked questions instead of writing a plan; type your answers: they go back to it"
    assert any(text.startswith(said) for text in ui.texts("warn"))
    assert "There is nothing to approve yet; say what you want instead." in ui.texts("warn")
    second = fake_server.requests_for("planner")[1]
    assert second.messages[-1]["content"] == answers[1]  # the same Planner, its questions in mind
    assert "Before I write the plan" in second.text
    plan = (tmp_path / PLAN).read_text()
    assert "Before I write the plan" not in plan and len(plan_shape(plan).requirements) == 7


def test_unattended_a_planner_asking_questions_is_told_to_assume_sensible_answers(
    fake_server, tmp_path: Path
) -> None:
    fake_server.enqueue("planner", reply("plan", "09-questions-first"), reply("plan", "01-good-wc-plan"))
    ui = agree(fake_server, tmp_path, [], run_planning, interactive=False)
    assert any("it is told to assume sensible answers and say which" in text for text in ui.texts("warn"))
    told = fake_server.requests_for("planner")[1].messages[-1]["content"]
    assert "Assume a sensible answer to each of your questions" in told and "## Assumptions" in told
    assert "Before I write the plan" not in (tmp_path / PLAN).read_text()


def test_a_reply_of_only_the_changed_requirement_is_sent_back_for_the_whole_plan(
    fake_server, tmp_path: Path
) -> None:
    whole, fragment = reply("plan", "01-good-wc-plan"), reply("plan", "11-changed-requirement-only")
    fake_server.enqueue("planner", whole, fragment, whole.replace("character count", "byte count"))
    ui = agree(fake_server, tmp_path, ["-c should count bytes", "approve"], run_planning)
    said = "The Planner's reply holds only what changed, not the whole plan. Sent back to the Planner"
    assert any(text.startswith(said) for text in ui.texts("warn"))
    assert (
        "Reply with the whole revised plan" in fake_server.requests_for("planner")[2].messages[-1]["content"]
    )
    plan = (tmp_path / PLAN).read_text()
    assert len(plan_shape(plan).requirements) == 7 and "byte count" in plan


def test_tests_of_names_the_plan_never_mentions_are_flagged_before_approval(
    fake_server, tmp_path: Path
) -> None:
    fake_server.enqueue("tester", reply("tests", "12-guessed-helpers"))
    ui = agree(fake_server, tmp_path, ["approve"], run_test_agreement)
    said = (
        "acceptance_test.py uses tokenize, format_row, which the plan never mentions: a correct program may "
        "not have them. Ask the Tester to test the plan's interface"
    )
    assert any(text.startswith(said) for text in ui.texts("warn"))
    assert ui.texts("ask") == [TESTS_PROMPT]  # flagged before the Manager's approval
