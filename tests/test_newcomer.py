"""What a newcomer tripped on (issue 25), replayed as a person meets it: the real CLI in a pseudo-
terminal of 80x24 where the screen matters, asserting what is on the screen and in the files."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import WAIT
from drive import run_main, start_workspace
from fake_openai import FakeOpenAIServer, Fault
from scripted import PLAN_1, TESTS, good_script, review, script
from workspaces import make_workspace

from iterative_coder.accounting import Budget, BudgetReached
from iterative_coder.answers import ALWAYS, YES, as_command, is_always, is_yes, said_back
from iterative_coder.execution.demo import read_demo
from iterative_coder.records.calls import CallRecord
from iterative_coder.session import SessionLog
from iterative_coder.workspace import Workspace

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


def test_after_a_budget_stop_the_suggested_command_goes_on(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", script(1), good_script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "APPROVE"))
    yes = ["--yes", "--execute", "never"]
    first = run_main(["--task", "count words", *yes, "--budget-tokens", "3000"], tmp_path, model_env)
    assert first.returncode == 1 and "Token budget reached" in first.stdout, first.stdout
    hint = next(line for line in first.stdout.splitlines() if "To go on:" in line)
    assert hint.startswith("Stopped: the budget is reached. To go on: python -m iterative_coder --resume ")
    command = shlex.split(hint.split("To go on: ", 1)[1])
    assert command[:3] == ["python", "-m", "iterative_coder"] and "--budget-tokens" in command
    assert int(command[command.index("--budget-tokens") + 1]) >= 6000  # at least twice the old budget
    requests = len(fake_server.requests)

    again = run_main([*command[3:], *yes], tmp_path, model_env)  # exactly what it said, without a person
    assert len(fake_server.requests) > requests, again.stdout  # it went on: a model was asked again
    assert "Token budget reached" not in again.stdout.split("Resuming", 1)[-1].split("\n", 2)[0]
    assert again.returncode == 0 and "Accepted script_v2.py as final." in again.stdout, again.stdout


def test_a_usd_budget_stop_names_a_larger_usd_budget() -> None:
    spent = [CallRecord("coder", 1, "m", 100, 100, seconds=1.0, cost_usd=0.25)]
    with pytest.raises(BudgetReached) as caught:
        Budget(usd=0.30).check(spent, role="coder", prompt_chars=4000, price=(0.5, 1.0))
    assert caught.value.raise_to == "--budget-usd 2.05"  # $0.25 spent + three calls of about $0.60
    with pytest.raises(BudgetReached) as unknown:
        Budget(usd=1.0).check([], role="coder", prompt_chars=0, price=None)
    assert unknown.value.raise_to == ""  # more money would not help: a price is unknown


DEMO_JSON = '{"runs": [{"name": "count a file", "args": ["words.txt"], "files": {"words.txt": "a b c\\n"}}]}'


def test_unusable_tests_under_yes_are_kept_as_drafts_and_the_history_says_what_happened(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    broken = f"Here are the tests.\n\n```python\nimport script\n\ndef test_x(:\n    pass\n```\n{DEMO_JSON}\n"
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", broken, "I would test it by hand.", broken.replace("test_x", "test_y"))
    fake_server.enqueue("coder", good_script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    result = run_main(["--task", "count words", "--yes", "--execute", "always"], tmp_path, model_env)
    assert result.returncode == 0, result.stdout + result.stderr
    ws = tmp_path / "workspace"
    tests = (ws / "acceptance_test.py").read_text()
    assert "/skip" not in tests and "chose" not in tests  # nobody chose anything
    assert "no usable tests in 3 tries" in tests and "acceptance_test.rejected.py" in tests
    rejected = (ws / "acceptance_test.rejected.py").read_text()
    assert "def test_x(:" in rejected and "def test_y(:" in rejected
    assert "I would test it by hand." in rejected
    assert rejected.count("# ---- Draft ") == 3
    assert "Draft 2 of 3, not used: it held no usable content" in rejected
    (demo,) = read_demo((ws / "demo.json").read_text())  # the demo outlived the tests
    assert demo.args == ("words.txt",)
    assert "words.txt" in (ws / "run_v1.md").read_text()  # and the run used it
    screen = words(result.stdout)
    assert "The Tester gave no usable tests in 3 tries" in screen and "acceptance_test.rejected.py" in screen
    assert "and its tests" not in screen  # the Runner ran no tests

    again = run_main(["--resume", "workspace", "--yes"], tmp_path, model_env)  # the history reads back
    assert again.returncode == 0 and "This session is finished" in again.stdout


KNOWN = ("/run", "/done", "/stop", "/help")


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("/done", ("/done", "")),
        ("/Done.", ("/done", "")),
        ("/run data.txt --top 3", ("/run", "data.txt --top 3")),
        ("/frob", ("/frob", "")),  # unknown, alone: a command the prompt says it does not know
        ("/tmp/data.txt makes the clock crash when passed as an argument", None),  # a path
        ("/tmp/data.txt", None),  # a path alone is text too (one word: confirmed before it is sent)
        ("/usr is full", None),  # an unknown slash word with more words: text
        ("/show plan", None),
        ("run /tmp/data.txt", None),
    ],
)
def test_what_is_a_command(typed: str, command: tuple[str, str] | None) -> None:
    assert as_command(typed, KNOWN) == command


def test_feedback_that_starts_with_a_path_reaches_the_coder(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    (tmp_path / "ws").mkdir()
    start_workspace(tmp_path / "ws")
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    cli = run_cli("--resume", "ws", "--execute", "never", "--max-iterations", "2", dimensions=SMALL)
    cli.expect("Your turn on version 1")
    cli.answer("/frob")
    cli.expect("Unknown command /frob")
    feedback = "/tmp/data.txt makes the clock crash when passed as an argument"
    cli.answer(feedback)
    cli.expect("Feedback saved")
    cli.expect("That was the last iteration")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    assert "Unknown command /tmp" not in cli.output
    assert (tmp_path / "ws" / "feedback_v1.md").read_text() == feedback + "\n"
    assert feedback in fake_server.requests_for("coder")[1].text


RESUMED_AT_V1 = ("--resume", "ws", "--execute", "never", "--max-iterations", "1")


def review_held_half_way(server: FakeOpenAIServer, ws: Path) -> Fault:
    """A workspace at version 1 whose review will stream half-way, then wait for the fault's release."""
    ws.mkdir()
    start_workspace(ws)
    server.enqueue("coder", good_script(1))
    server.enqueue("reviewer", review(1, "REVISE"))
    paused = Fault("pause")
    server.inject(paused, role="reviewer")
    return paused


def test_keys_typed_while_the_tool_works_leave_nothing_on_screen_and_one_line_says_so(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    paused = review_held_half_way(fake_server, tmp_path / "ws")
    cli = run_cli(*RESUMED_AT_V1, dimensions=SMALL)
    try:
        assert paused.arrived.wait(WAIT), "the Reviewer's reply never started"
        cli.child.send("hello\r")  # typed while the review streams
    finally:
        paused.release.set()
    cli.expect("Ignored what was typed while the tool worked")
    cli.expect("That was the last iteration")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    assert "hello" not in cli.output  # never echoed: not on the spinner's line, not in the scrollback
    assert words(cli.output).count("Ignored what was typed") == 1
    assert not (tmp_path / "ws" / "feedback_v1.md").exists()


def test_status_fits_80_columns_says_what_its_times_measure_and_each_fact_once(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path, model_env: dict[str, str]
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", script(1), good_script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    args = ["--task", "count words", "--yes", "--execute", "always", "--max-iterations", "2"]
    assert run_main(args, tmp_path, model_env).returncode == 1
    cli = run_cli("status", "workspace", dimensions=SMALL)
    assert cli.wait_exit() == 0
    lines = cli.output.replace("\r\n", "\n").splitlines()
    assert lines and all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    header = next(line for line in lines if line.startswith("version"))
    assert words(header) == "version verdict open tests run tokens cost model s run s"
    assert "Models: gpt-4o-mini (planner, tester, coder, reviewer)" in lines
    v1 = next(line for line in lines if line.startswith("v1 "))
    assert v1.split()[:5] == ["v1", "REVISE", "1", "1/2", "IndexError"]  # the tests once; the run in short
    assert v1.count("1/2") == 1 and "passed" not in v1
    run_seconds = float(v1.split()[-1])
    run_record = (tmp_path / "workspace" / "run_v1.md").read_text()
    assert f"{run_seconds:.1f} s" in run_record  # "run s" is the program's time, as run_v1.md says it
    assert "Seconds: model s, the models' replies; run s, the program's demo runs." in lines


def test_the_same_refused_tests_again_are_said_in_one_line_not_a_second_panel(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    draft = (
        "Here they are.\n\n```python\nimport script\n\n\ndef test_req1(:\n"
        "    assert script.count_words('a b') == 2\n```\n\nThese tests cover requirements 1 to 2.\n"
    )
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", draft, draft)
    cli = run_cli("--task", "count words", "--execute", "never", dimensions=SMALL)
    cli.expect('Reply "approve" to accept this plan')
    cli.answer("approve")
    cli.expect("The Tester sent the same acceptance_test.py again.")
    cli.expect("Reply")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", cli.output)  # without colours and cursor moves
    assert screen.count("╭─ acceptance_test.py ") == 1, screen  # one panel of the refused tests
    assert words(screen).count("Tester: These tests cover requirements 1 to 2.") == 1


def test_one_name_for_each_thing(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path, model_env: dict[str, str]
) -> None:
    # The stall: "stall" in status --json as in the run's --json; "stalled" kept for 0.1-era readers.
    ws = make_workspace(tmp_path / "stuck", 3, last_verdict="REVISE")
    session = SessionLog.load(Workspace(ws))
    session.mark_stalled(3, "No progress for 3 versions: the same points stay open.")
    data = json.loads(run_main(["status", str(ws), "--json"], tmp_path, model_env).stdout)
    assert data["stall"] == data["stalled"] == "No progress for 3 versions: the same points stay open."

    # A file given as the workspace: the same words for --resume as for --workspace.
    (tmp_path / "afile").write_text("not a folder\n")
    for option in ("--resume", "--workspace"):
        result = run_main([option, "afile"], tmp_path, model_env)
        assert result.returncode == 2 and f"{option} afile is a file, not a folder." in result.stderr

    # A new session in a finished workspace names the command that works on from a version.
    done = make_workspace(tmp_path / "done", 2)
    finished = SessionLog.load(Workspace(done))
    finished.mark_finished(2, "accepted")
    result = run_main(["--workspace", "done", "--task", "x"], tmp_path, model_env)
    assert result.returncode == 2 and "--resume done --from-version 2" in result.stderr

    # --from-version: where the later versions went is said under the session's header.
    fake_server.enqueue("coder", good_script(2))
    fake_server.enqueue("reviewer", review(2, "APPROVE"))
    args = ["--resume", "done", "--from-version", "1", "--yes", "--execute", "always"]
    branched = run_main(args, tmp_path, model_env)
    lines = branched.stdout.splitlines()
    assert lines[0].startswith("Workspace: done") and lines[1].startswith("Later versions moved to ")

    # An exit code other than 0 in the run's panel comes with what was run and what the program said.
    run = (tmp_path / "done" / "run_v2.md").read_text()
    assert "exit 2" in run
    assert "run with no arguments and no input: exit 2 (it said: usage: count FILE)" in branched.stdout


def test_edit_shows_the_feedback_it_sends(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path, model_env: dict[str, str]
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf 'Count words case-insensitively.\\n' >> \"$1\"\n")
    editor.chmod(0o755)
    (tmp_path / "ws").mkdir()
    start_workspace(tmp_path / "ws")
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    env = {**model_env, "EDITOR": str(editor)}
    cli = run_cli("--resume", "ws", "--execute", "never", "--max-iterations", "2", env=env, dimensions=SMALL)
    cli.expect("Your turn on version 1")
    cli.answer("/edit")
    cli.expect("From the editor:")
    cli.expect("Count words case-insensitively.")
    cli.expect("Feedback saved")
    cli.expect("That was the last iteration")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    assert (tmp_path / "ws" / "feedback_v1.md").read_text() == "Count words case-insensitively.\n"


class Tmux:
    """The CLI in a tmux window of 80x24 on a server of its own, read as a person sees it."""

    def __init__(self, folder: Path, env: dict[str, str], args: list[str]) -> None:
        self._sockets = tempfile.mkdtemp(prefix="tmux-")  # short: a socket path has at most 107 bytes
        self.socket = os.path.join(self._sockets, "s")
        command = shlex.join([sys.executable, "-m", "iterative_coder", *args])
        self.tmux(
            "new-session", "-d", "-x", "80", "-y", "24", "-c", str(folder), f"{command}; sleep 600", env=env
        )

    def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=WAIT, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def screen(self) -> str:
        """What the window shows, with its scrollback."""
        return self.tmux("capture-pane", "-p", "-S", "-")

    def wait_for(self, text: str) -> str:
        """The screen once ``text`` is on it (bounded)."""
        deadline = time.monotonic() + WAIT
        while text not in (shown := self.screen()):
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{shown}"
            time.sleep(0.05)
        return shown

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=WAIT)
        shutil.rmtree(self._sockets, ignore_errors=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_keys_typed_during_a_stream_leave_no_debris_on_an_80x24_screen(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    paused = review_held_half_way(fake_server, tmp_path / "ws")
    window = Tmux(tmp_path, {**model_env, "TERM": "xterm-256color"}, list(RESUMED_AT_V1))
    try:
        assert paused.arrived.wait(WAIT), f"the Reviewer's reply never started:\n{window.screen()}"
        window.tmux("send-keys", "-l", "hello there")
        window.tmux("send-keys", "Enter")
        paused.release.set()
        shown = window.wait_for("That was the last iteration")
        assert "hello" not in shown  # not on the spinner's line, not in the scrollback
        assert "is reviewing" not in shown  # no stale preview or spinner line left behind
        assert shown.count("Ignored what was typed while the tool worked") == 1
    finally:
        paused.release.set()
        window.close()
