"""The command line as a script or a person at a terminal meets it: bad input, plain output, Ctrl-C."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

from conftest import FAKE_KEY, WAIT
from drive import run, run_main
from fake_openai import FakeOpenAIServer, Fault, RecordedRequest
from scripted import PLAN_1, TESTS, review, script

ANSI = re.compile(r"\x1b\[")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # the frames of rich's "dots" spinner


def assert_usage_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("iterative_coder: error: ")
    for phrase in phrases:
        assert phrase in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_help_and_version_answer_without_importing_autogen() -> None:
    code = (
        "import sys\nfrom iterative_coder.cli import main\n"
        "for flag in ('--help', '--version'):\n"
        "    try:\n        main([flag])\n    except SystemExit as e:\n        assert e.code == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('autogen', 'openai', 'rich'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m iterative_coder" in result.stdout
    assert "iterative_coder 0.1.0" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_bad_arguments_are_one_line_usage_errors(tmp_path: Path, model_env: dict[str, str]) -> None:
    assert_usage_error(run(["--max-iterations", "0"], tmp_path, model_env), "--max-iterations", "1 or more")
    assert_usage_error(run(["--max-iterations", "ten"], tmp_path, model_env), "not a whole number")
    # The largest values session.json's reader takes back (settings.MOST): never one it would refuse.
    too_many = run_main(["--max-iterations", "1000000"], tmp_path, model_env)
    assert_usage_error(too_many, "--max-iterations", "must be at most 100,000, not 1000000")
    assert_usage_error(run_main(["--budget-usd", "1e7"], tmp_path, model_env), "at most 1,000,000, not 1e7")
    assert_usage_error(run(["--resume", "ws", "--task", "x"], tmp_path, model_env), "one or the other")
    assert_usage_error(run(["--bogus"], tmp_path, model_env), "--bogus")
    assert list(tmp_path.iterdir()) == []


def test_resume_needs_an_existing_session(tmp_path: Path, model_env: dict[str, str]) -> None:
    assert_usage_error(run(["--resume", "nowhere"], tmp_path, model_env), "no such folder")
    (tmp_path / "empty").mkdir()
    assert_usage_error(run(["--resume", "empty"], tmp_path, model_env), "no session there")


def test_a_new_session_never_overwrites_an_old_one(tmp_path: Path, model_env: dict[str, str]) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "task.md").write_text("my old task\n")
    (ws / "plan.md").write_text("my old plan\n")
    result = run(["--task", "something new"], tmp_path, model_env)
    assert_usage_error(result, "already holds a session", "--resume workspace")
    assert sorted(p.name for p in ws.iterdir()) == ["plan.md", "task.md"]
    assert (ws / "task.md").read_text() == "my old task\n"


def test_configuration_errors_come_before_any_prompt(tmp_path: Path, clean_env: dict[str, str]) -> None:
    result = run([], tmp_path, clean_env)
    assert_usage_error(result, "No model is configured", "--config-list", "OAI_CONFIG_LIST", "OPENAI_API_KEY")
    (tmp_path / "OAI_CONFIG_LIST").write_text('[{"api_key": "x"}]')
    assert_usage_error(run([], tmp_path, clean_env), str(tmp_path / "OAI_CONFIG_LIST"), 'no "model"')
    assert not (tmp_path / "workspace").exists()


def test_plain_output_when_not_a_terminal(fake_server: FakeOpenAIServer, tmp_path: Path, model_env) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    result = run(["--task", "count words"], tmp_path, model_env, stdin="approve\napprove\n\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not ANSI.search(result.stdout), "plain output must hold no escape codes"
    assert "Planner is drafting the plan ..." in result.stdout
    assert "--- script_v1.py ---" in result.stdout and "Accepted script_v1.py as final" in result.stdout
    # Each thing once: the rendered plan, script and review, never the raw reply as well.
    for once in ("## Requirements", "# marker-script-v1", "--- review_v1.md ---", "Verdict: APPROVE"):
        assert result.stdout.count(once) == 1, once
    assert '"verdict"' not in result.stdout and "Reviewer is reviewing script_v1.py ..." in result.stdout
    assert FAKE_KEY not in result.stdout + result.stderr
    assert (tmp_path / "workspace" / "task.md").read_text() == "count words\n"
    # Not a terminal: generated code does not run unless --execute says so.
    assert not (tmp_path / "workspace" / "run_v1.md").exists()
    assert not (tmp_path / "workspace" / "runs").exists()
    assert "The script was not run" in fake_server.requests_for("reviewer")[0].text


def test_no_color_at_a_terminal_removes_colour_and_keeps_the_spinner(
    fake_server: FakeOpenAIServer, run_cli, model_env
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    paused = Fault("pause")  # the Planner's reply held half-way: the spinner has time to turn
    fake_server.inject(paused, role="planner")
    cli = run_cli("--task", "count words", env={**model_env, "NO_COLOR": "1"})
    try:
        assert paused.arrived.wait(WAIT), "the Planner's reply never started"
        cli.child.expect(f"[{SPINNER}]")
        cli.child.expect(f"[{SPINNER.replace(cli.child.after, '')}]")  # another frame: it moves
    finally:
        paused.release.set()
    cli.expect("Word counter")  # the plan in its panel
    cli.answer("/stop")
    cli.expect("Stopped before the plan was approved.")
    assert cli.wait_exit() == 0
    assert "--- Plan ---" not in cli.output  # the layout stays: not the plain text of a pipe
    colours = [
        code
        for codes in re.findall(r"\x1b\[([0-9;]*)m", cli.output)
        for code in codes.split(";")
        if code and (30 <= int(code) <= 38 or 40 <= int(code) <= 48 or int(code) >= 90)
    ]
    assert colours == [], "NO_COLOR output must hold no colour codes"


def test_end_of_input_stops_resumably(fake_server: FakeOpenAIServer, tmp_path: Path, model_env) -> None:
    fake_server.enqueue("planner", PLAN_1)
    result = run(["--task", "count words"], tmp_path, model_env, stdin="")
    assert result.returncode == 1
    assert (
        "Input ended before the plan was approved. Resume with: python -m iterative_coder --resume workspace"
        in (result.stdout)
    )
    assert not (tmp_path / "workspace" / "plan.md").exists()
    assert (tmp_path / "workspace" / "task.md").exists()


def test_unreachable_server_is_explained_and_resumable(tmp_path: Path, clean_env: dict[str, str]) -> None:
    env = {**clean_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": FAKE_KEY}
    result = run(["--task", "count words", "--retries", "1"], tmp_path, env)
    assert result.returncode == 75, result.stdout + result.stderr
    assert result.stderr.strip() == (
        "Every configured model failed. The last, gpt-4o-mini at http://127.0.0.1:9/v1, after 1 try: "
        "the connection failed (Connection error.). Is the model server running, and is its URL right? "
        "(--request-timeout gives slow servers longer.)"
    )
    assert "Resume with: python -m iterative_coder --resume workspace" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr and FAKE_KEY not in result.stdout + result.stderr


def test_non_utf8_plan_is_a_clear_error(fake_server: FakeOpenAIServer, tmp_path: Path, model_env) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "task.md").write_text("count words\n")
    (ws / "plan.md").write_bytes(b"caf\xe9 plan\n")
    fake_server.enqueue("coder", script(1))
    result = run(["--resume", "ws"], tmp_path, model_env)
    assert result.returncode == 2
    assert "plan.md is not UTF-8 text" in result.stderr and "Traceback" not in result.stderr
    assert (ws / "plan.md").read_bytes() == b"caf\xe9 plan\n"


def test_ctrl_c_at_a_prompt(run_cli, tmp_path: Path) -> None:
    cli = run_cli()
    cli.expect("What python creation would you like? Type below:")
    cli.child.expect_exact("> ")
    cli.child.sendintr()
    cli.expect("Stopped. Nothing was saved: run the same command again to start.")
    assert cli.wait_exit() == 130
    assert "Traceback" not in cli.output
    assert not (tmp_path / "workspace").exists()  # no empty folder that would refuse the same command


def test_ctrl_c_while_the_coder_works_then_resume(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    arrived = threading.Event()
    release = threading.Event()

    def held_reply(_request: RecordedRequest) -> str:
        arrived.set()
        release.wait(WAIT)
        return script(1)

    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", "```python\nimport script\n\ndef test_it():\n    assert script\n```")
    fake_server.enqueue("coder", held_reply)
    try:
        cli = run_cli("--task", "count words", "--execute", "never")
        cli.answer("approve")
        cli.expect("acceptance tests")
        cli.answer("approve")
        assert arrived.wait(WAIT), "the Coder's request never reached the server"
        cli.child.sendintr()
        cli.expect("Stopped. Resume with: python -m iterative_coder --resume workspace")
        assert cli.wait_exit() == 130
        assert "Traceback" not in cli.output
    finally:
        release.set()
    ws = tmp_path / "workspace"
    assert sorted(p.name for p in ws.iterdir()) == [  # no .lock: a clean exit removes it
        "acceptance_test.py",
        "log.jsonl",
        "plan.md",
        "session.json",
        "task.md",
    ]

    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    cli = run_cli("--resume", "workspace", "--execute", "never")
    cli.expect("Resuming at version 1: writing script_v1.py")
    cli.expect("Your turn on version 1")
    cli.answer("/done")
    assert cli.wait_exit() == 0
    assert json.loads((ws / "session.json").read_text())["finished"] == {"version": 1, "reason": "done"}
