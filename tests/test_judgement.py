"""Judgement that accepts what is right (issue 22): the session of its "Done means", replayed with
replies shaped the way real models write them, ends accepted at version 3 unattended, at a terminal,
and after a SIGKILL and --resume.

Subprocess-style black-box tests (tests/replies/tests/09) are tests; REVISE, REVISE, then a plain
``Verdict: APPROVE`` / ``All requirements are met.`` is an approval of version 3."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pexpect
import pytest
from conftest import WAIT, Cli
from drive import run_loop, run_main
from fake_openai import FakeOpenAIServer, Fault, RecordedRequest

from iterative_coder.review import parse_reply

REPLIES = Path(__file__).parent / "replies"
PLAN = (REPLIES / "plan" / "01-good-wc-plan.txt").read_text(encoding="utf-8")
TESTS = (REPLIES / "tests" / "09-subprocess-black-box.txt").read_text(encoding="utf-8")
CODER_01 = (REPLIES / "coder" / "01-whole-script-with-prose.txt").read_text(encoding="utf-8")
PLAIN_APPROVAL = "Verdict: APPROVE\n\nAll requirements are met."
# Markdown reviews asking for a revision, each with one concrete point, as chat models write them.
REVISIONS = {
    1: "**Verdict: REVISE**\n\nThe counting works, but one thing needs fixing.\n\n### Issues\n"
    "1. [robustness] `describe_error` falls back to `str(error)` for unexpected errors, which prints a "
    "Python repr to the user.\n",
    2: "## Verdict\nREVISE\n\n## Required changes\n- [robustness] `parse_args` accepts `-` as a file name, "
    "but `count_file` then fails to open it.\n",
}
ARGS = ["--task", "a small wc: count lines, words and characters", "--execute", "always"]


def version_of(request: RecordedRequest) -> int:
    return int(re.search(r"(?:Write|Review) version (\d+)", request.text).group(1))


def coder(request: RecordedRequest) -> str:
    """The script of coder/01, a little different at each version (the fix the review asked for)."""
    version = version_of(request)
    return CODER_01.replace("import sys\n", f'import sys\n\n__version__ = "0.{version}"\n', 1)


def reviewer(request: RecordedRequest) -> str:
    return REVISIONS.get(version_of(request), PLAIN_APPROVAL)


def script_the_session(server: FakeOpenAIServer) -> None:
    """Replies that depend only on the request, so a call made again after a kill gets the same one."""
    server.enqueue("planner", *[PLAN] * 3)
    server.enqueue("tester", *[TESTS] * 3)
    server.enqueue("coder", *[coder] * 6)
    server.enqueue("reviewer", *[reviewer] * 6)


def assert_accepted_at_version_3(ws: Path, server: FakeOpenAIServer, shown: str) -> None:
    assert "Sent back to the Tester" not in shown and "never touches the program" not in shown
    assert "subprocess.run(" in (ws / "acceptance_test.py").read_text()
    assert "tests 5/5 passed" in (ws / "run_v3.md").read_text()
    review = (ws / "review_v3.md").read_text()
    assert review.startswith("Verdict: APPROVE\n") and "REVISE" not in review
    assert "| 7 | met | the Reviewer: all requirements are met |" in review
    assert sorted(p.name for p in ws.glob("script_v*.py")) == ["script_v1.py", "script_v2.py", "script_v3.py"]
    assert {version_of(r) for r in server.requests_for("coder")} == {1, 2, 3}


def test_unattended_the_subprocess_tests_are_kept_and_version_3_is_accepted(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    script_the_session(fake_server)
    result = run_main([*ARGS, "--yes"], tmp_path, model_env)
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown
    assert_accepted_at_version_3(tmp_path / "workspace", fake_server, shown)
    assert len(fake_server.requests_for("tester")) == 1 and len(fake_server.requests_for("coder")) == 3
    assert "Acceptance tests saved to" in shown and "going on without acceptance tests" not in shown


@pytest.mark.parametrize("killed", [False, True])
def test_at_a_terminal_version_3_is_accepted_even_after_a_sigkill_and_resume(
    killed: bool, fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    script_the_session(fake_server)
    cli = Cli(ARGS, tmp_path, model_env)
    for prompt in ('Reply "approve" to accept this plan', 'Reply "approve" to accept these acceptance tests'):
        cli.expect(prompt)
        cli.answer("approve")
    cli.expect("Your turn on version 1.")
    cli.answer("")
    cli.expect("Your turn on version 2.")
    if killed:  # the kill comes while the Reviewer of version 3 is half-way through its reply
        pause = Fault("pause")
        fake_server.inject(pause, role="reviewer")
        cli.answer("")
        try:
            deadline_wait(cli, pause)
            cli.child.kill(signal.SIGKILL)
            assert cli.wait_exit() == 128 + signal.SIGKILL
        finally:
            pause.release.set()
        resumed = run_main(["--resume", "workspace", "--execute", "always"], tmp_path, model_env, "\n")
        shown = resumed.stdout + resumed.stderr
        assert resumed.returncode == 0, shown
    else:
        cli.answer("")
        cli.expect("The Reviewer approves script_v3.py. Enter accepts it as final")
        cli.answer("")
        assert cli.wait_exit() == 0
        shown = cli.output
    assert "The Reviewer approves script_v3.py" in shown
    assert_accepted_at_version_3(tmp_path / "workspace", fake_server, cli.output + shown)


def deadline_wait(cli: Cli, fault: Fault) -> None:
    """Wait, bounded, until the paused reply has started, reading the screen meanwhile."""
    deadline = time.monotonic() + WAIT
    while not fault.arrived.is_set():
        assert time.monotonic() < deadline, "timed out waiting for the Reviewer's reply to start"
        cli.child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.05)


# A Coder that calls main() at the bottom of the file, not under the __main__ guard (a common slip of
# chat models writing "a script"), with argparse (SystemExit at import) or sys.argv[1] (IndexError).
AT_IMPORT = {
    "argparse": "import argparse\n\n\ndef count_words(text):\n    return len(text.split())\n\n\n"
    "def main():\n    parser = argparse.ArgumentParser()\n    parser.add_argument('file')\n"
    "    args = parser.parse_args()\n    print(count_words(open(args.file).read()))\n\n\nmain()\n",
    "sys.argv": "import sys\n\n\ndef count_words(text):\n    return len(text.split())\n\n\n"
    "def main():\n    print(count_words((open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin).read()))\n"
    "\n\nmain()\n",
}
WORD_TESTS = "import script\n\n\ndef test_req1_counts_words():\n    assert script.count_words('a b') == 2\n"


@pytest.mark.parametrize(
    ("kind", "error"), [("argparse", "SystemExit: 2"), ("sys.argv", "FileNotFoundError")]
)
def test_a_program_that_runs_at_import_is_named_with_the_fix(
    kind: str, error: str, fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    (tmp_path / "acceptance_test.py").write_text(WORD_TESTS)
    run_loop_setup(tmp_path)
    fake_server.enqueue("coder", f"Here is the script:\n\n```python\n{AT_IMPORT[kind]}```\n", "```python\n"
                        + AT_IMPORT[kind].replace("\nmain()\n", '\nif __name__ == "__main__":\n    main()\n')
                        + "```")  # fmt: skip
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n## Issues\n1. [failing] The tests cannot import it.",
                        PLAIN_APPROVAL)  # fmt: skip
    outcome, version, ui = run_loop(fake_server, tmp_path, [], execute="always", interactive=False)
    line = 15 if kind == "argparse" else 12
    said = f"importing script.py ran the program (line {line}: main()), which stopped the tests ("
    fix = 'put the call under `if __name__ == "__main__":`'
    run_1 = (tmp_path / "run_v1.md").read_text()
    assert said in run_1 and fix in run_1 and error in run_1 and "internal error" not in run_1
    coder_2 = fake_server.requests_for("coder")[1].text
    assert said in coder_2 and fix in coder_2
    assert "failing: importing script.py" in ui.texts("result")[0]
    assert (outcome, version) == ("accepted", 2)
    assert "tests 1/1 passed" in (tmp_path / "run_v2.md").read_text()


def run_loop_setup(root: Path) -> None:
    (root / "task.md").write_text("count words\n")
    (root / "plan.md").write_text("# Word counter\n\n## Requirements\n1. `count_words(text)` counts words.\n")


def test_feedback_the_coder_ignored_is_never_offered_as_final_on_the_reviewers_word(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    run_loop_setup(tmp_path)
    (tmp_path / "acceptance_test.py").write_text("# No automatic checks.\n")
    same = (
        "Here it is.\n\n```python\nimport sys\n\n\ndef count_words(text):\n    return len(text.split())\n\n\n"
        'if __name__ == "__main__":\n    print(count_words(sys.stdin.read()))\n```'
    )
    fake_server.enqueue("coder", same, same, same)  # version 1, then the same script twice for version 2
    fake_server.enqueue(
        "reviewer",
        "**Verdict: REVISE**\n\n### Issues\n1. [robustness] `count_words` counts a lone `-` as a word.\n",
        # The Reviewer of version 2 approves and calls the feedback done, although nothing changed.
        "Verdict: APPROVE\n\nAll requirements are met.\n\nFeedback: done — the --top option is there.",
    )
    answers = ["add a --top N option that prints the N most common words", "/stop"]
    outcome, version, ui = run_loop(fake_server, tmp_path, answers)
    assert (outcome, version) == ("stopped", 2)
    doubt = "your feedback (feedback_v1.md) was not acted on: script_v2.py is script_v1.py unchanged"
    question = ui.texts("ask")[-1]
    assert question.startswith(
        f"Approval of script_v2.py in doubt: {doubt}. Enter accepts it as final anyway"
    )
    assert not any("The Reviewer approves script_v2.py" in text for text in ui.texts("ask"))
    assert f"> Approval in doubt: {doubt}." in (tmp_path / "review_v2.md").read_text()
    assert any(
        "The Coder sent script_v1.py unchanged again as script_v2.py" in text for text in ui.texts("warn")
    )


VAGUE_REVISE = (
    "**Verdict: REVISE**\n\nThe script is close. A few more iterations would make it more polished."
)


@pytest.mark.parametrize(
    "answer",
    [
        "Honestly, nothing specific: it does what the plan asks.",
        "- [robustness] `count_words` crashes on None",
    ],
)
def test_a_revise_with_nothing_to_fix_never_reaches_the_coder_empty_handed(
    answer: str, fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    run_loop_setup(tmp_path)
    (tmp_path / "acceptance_test.py").write_text("# No automatic checks.\n")
    good = "```python\ndef count_words(text):\n    return len(text.split())\n```"
    fake_server.enqueue("coder", good, good.replace("text.split()", "(text or '').split()"))
    fake_server.enqueue("reviewer", VAGUE_REVISE, answer, PLAIN_APPROVAL)
    outcome, version, ui = run_loop(fake_server, tmp_path, [], interactive=False)
    asked = fake_server.requests_for("reviewer")[1].messages[-1]["content"]
    assert "names nothing for the Coder to change" in asked and len(asked) < 500
    review = (tmp_path / "review_v1.md").read_text()
    if "nothing specific" in answer:  # accepted, the doubt said and kept
        doubt = (
            "the Reviewer asked for a revision but named nothing to change, even when asked, and the "
            "script was not run"
        )
        assert (outcome, version) == ("accepted", 1) and not fake_server.requests_for("coder")[1:]
        assert f"Accepted script_v1.py with a doubt, recorded in review_v1.md: {doubt}." in ui.texts("warn")
        assert f"> Approval in doubt: {doubt}." in review
    else:  # the point it named is what version 2 is for
        assert "1. [robustness] `count_words` crashes on None" in review
        assert "> The Reviewer's REVISE named nothing to change; asked, it named 1 point." in review
        assert "`count_words` crashes on None" in fake_server.requests_for("coder")[1].text
        assert (outcome, version) == ("accepted", 2)


# The Tester's expected value contradicts the plan: "a b  c" has 3 words, the test says 4.
WRONG_TEST = (
    "import script\n\n\ndef test_req1_counts_words():\n    assert script.count_words('a b') == 2\n\n\n"
    "def test_req2_counts_spaced_words():\n    assert script.count_words('a b  c') == 4\n"
)
FIXED_TEST = WRONG_TEST.replace("== 4", "== 3")
TWO_REQUIREMENTS = (
    "# Words\n\n## Requirements\n1. `count_words(text)` counts words.\n2. Runs of spaces separate words.\n"
)
MET_BOTH = (
    '{"verdict": "APPROVE", "coverage": [{"requirement": 1, "status": "met", "evidence": "split()"}, '
    '{"requirement": 2, "status": "met", "evidence": "split() folds runs of spaces; the test expects 4 words '
    'in a b  c, which has 3"}], "points": []}'
)


@pytest.mark.parametrize("attended", [True, False])
def test_a_test_that_fails_on_every_version_while_its_requirement_is_met_is_suspect(
    attended: bool, fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    run_loop_setup(tmp_path)
    (tmp_path / "plan.md").write_text(TWO_REQUIREMENTS)
    (tmp_path / "acceptance_test.py").write_text(WRONG_TEST)
    script = "```python\ndef count_words(text):\n    return len(text.split())\n```"
    fake_server.enqueue("coder", script, script.replace("text.split()", "str(text).split()"))
    fake_server.enqueue("reviewer", MET_BOTH.replace('"APPROVE"', '"REVISE"').replace(
        '"points": []', '"points": [{"category": "failing", "issue": "test_req2_counts_spaced_words fails"}]'
    ), MET_BOTH)  # fmt: skip
    fake_server.enqueue("tester", f"The expected count was wrong.\n\n```python\n{FIXED_TEST}```")
    answers = ["", "/fix-tests", "approve", ""] if attended else []
    outcome, version, ui = run_loop(fake_server, tmp_path, answers, execute="always", interactive=attended)
    assert (outcome, version) == ("accepted", 2)  # the suspect test is not held against version 2
    review = (tmp_path / "review_v2.md").read_text()
    suspect = (
        "test_req2_counts_spaced_words fails on every version so far (v1-v2) while the Reviewer assesses "
        "requirement 2 (the plan: Runs of spaces separate words.) as met; the test says: "
    )
    assert review.startswith("Verdict: APPROVE\n") and f"- {suspect}" in review and "assert 3 == 4" in review
    said = "Suspect tests, not held against v2: " if attended else "Suspect tests, so the Tester is asked"
    assert any(text.startswith(said) and suspect in text for text in ui.texts("warn"))
    asked = fake_server.requests_for("tester")[0].text
    assert "Every version of the program so far fails these tests" in asked and suspect in asked
    assert (tmp_path / "acceptance_test.py").read_text() == FIXED_TEST


@pytest.mark.parametrize(
    ("said", "met"),
    [
        ("Verdict: APPROVE\n\nAll requirements are met.", True),
        ("**APPROVE** — the script meets every requirement of the plan.", True),
        ("Verdict: APPROVE\n\nAll of the requirements have been implemented.", True),
        ("Verdict: APPROVE\n\nAll requirements are met except requirement 2.", False),
        ("Verdict: REVISE\n\nNot all requirements are met yet.", False),
    ],
)
def test_a_blanket_all_met_assesses_every_requirement_and_an_exception_does_not(said: str, met: bool) -> None:
    rows = parse_reply(said, ["1", "2"]).review.coverage
    assert [row.status for row in rows] == (["met", "met"] if met else ["not assessed", "not assessed"])


OPTIONAL_ONLY = """### Verdict: REVISE

The counter works and the code is clean. A couple of things before I'd call it done:

### Suggestions
1. Consider adding a `--version` flag so users can check which version they run.
2. Add type hints to the public functions.
"""


def test_optional_suggestions_are_kept_as_notes_not_points_for_the_coder(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    run_loop_setup(tmp_path)
    (tmp_path / "acceptance_test.py").write_text(WORD_TESTS)
    fake_server.enqueue("coder", "```python\ndef count_words(text):\n    return len(text.split())\n```")
    fake_server.enqueue("reviewer", OPTIONAL_ONLY)
    outcome, version, _ = run_loop(fake_server, tmp_path, [], execute="always", interactive=False)
    assert (outcome, version) == ("accepted", 1) and not fake_server.requests_for("coder")[1:]
    review = (tmp_path / "review_v1.md").read_text()
    suggestions = (
        "## Suggestions (optional: not required of the next version)\n\n- Consider adding a `--version`"
    )
    assert suggestions in review and "- Add type hints to the public functions." in review
    assert "## Points\n\nNone." in review and len(fake_server.requests_for("reviewer")) == 1
    # Its one requirement met by its passing test, and nothing required left: the tool's rule approves.
    assert "> The tool changed the verdict from REVISE to APPROVE: every requirement is met" in review
