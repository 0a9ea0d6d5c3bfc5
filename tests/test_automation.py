"""Automation, cost control, history, reply cache, branches and per-role models, through the CLI.

Sessions run through the CLI's own ``main`` in this process (drive.run_main); usage errors, Ctrl-C and
the import check of ``status`` run as real processes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import FAKE_KEY, WAIT
from drive import run, run_main
from fake_openai import FakeOpenAIServer, Fault, RecordedRequest
from scripted import PLAN_1, TESTS, good_script, review, script
from workspaces import make_workspace

YES = ["--task", "count words", "--yes", "--json"]


def enqueue_session(server: FakeOpenAIServer, verdicts: tuple[str, ...] = ("REVISE", "APPROVE")) -> None:
    server.enqueue("planner", PLAN_1)
    server.enqueue("tester", TESTS)
    for version, verdict in enumerate(verdicts, start=1):
        server.enqueue("coder", good_script(version) if verdict == "APPROVE" else script(version))
        server.enqueue("reviewer", review(version, verdict))


def outcome(result: subprocess.CompletedProcess[str]) -> dict:
    """The one JSON object --json prints (on stdout; the rest goes to stderr)."""
    return json.loads(result.stdout)


def test_yes_runs_without_a_person_until_approval(fake_server, tmp_path: Path, model_env) -> None:
    enqueue_session(fake_server)
    result = run_main(YES, tmp_path, model_env, stdin="")
    assert result.returncode == 0, result.stderr
    data = outcome(result)
    assert data["stop_reason"] == "accepted" and data["exit_code"] == 0
    assert [(v["version"], v["verdict"]) for v in data["versions"]] == [(1, "REVISE"), (2, "APPROVE")]
    assert data["final_script"] == str((tmp_path / "workspace" / "script_v2.py").resolve())
    assert data["tokens"] > 0 and data["cost_usd"] > 0  # gpt-4o-mini has a known price
    assert data["models"] == {role: ["gpt-4o-mini"] for role in ("planner", "tester", "coder", "reviewer")}
    assert not (tmp_path / "workspace" / "runs").exists()  # --execute is never by default here
    assert "v1: " in result.stderr and " · total " in result.stderr  # per-version spending line
    session = json.loads((tmp_path / "workspace" / "session.json").read_text())
    call = session["calls"][0]
    assert set(call) == {
        "role",
        "version",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "seconds",
        "cost_usd",
        "cached",
        "finish_reason",
        "cached_tokens",
    }
    assert call["cost_usd"] == pytest.approx(
        call["prompt_tokens"] * 0.00015 / 1000 + call["completion_tokens"] * 0.0006 / 1000
    )
    assert FAKE_KEY not in result.stdout + result.stderr


def test_yes_stops_at_the_limit_with_exit_1(fake_server, tmp_path: Path, model_env) -> None:
    enqueue_session(fake_server, ("REVISE",))
    result = run_main([*YES, "--max-iterations", "1"], tmp_path, model_env)
    assert result.returncode == 1
    assert outcome(result)["stop_reason"] == "limit"


def test_yes_usage_errors_exit_2(tmp_path: Path, model_env) -> None:
    result = run(["--yes"], tmp_path, model_env)
    assert result.returncode == 2 and "--yes needs --task TEXT" in result.stderr
    result = run(["--task", "x", "--yes", "--execute", "ask"], tmp_path, model_env)
    assert result.returncode == 2 and "--execute ask needs a person" in result.stderr
    result = run(["--task", "x", "--from-version", "2"], tmp_path, model_env)
    assert result.returncode == 2 and "--from-version K goes with --resume DIR" in result.stderr


def test_yes_exits_75_when_no_model_answers(fake_server, tmp_path: Path, model_env) -> None:
    fake_server.inject(*[Fault("status", status=503, retry_after=0)] * 2)
    result = run_main([*YES, "--retries", "2"], tmp_path, model_env)
    assert result.returncode == 75
    assert "Every configured model failed" in result.stderr
    assert outcome(result)["stop_reason"] == "model_unavailable"  # --json prints its object anyway


def test_without_a_person_unusable_tests_are_asked_again_then_skipped(
    fake_server, tmp_path: Path, model_env
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue(
        "tester", "I would test it by hand.", "```python\ndef test_x(:\n```", "Still no code."
    )
    fake_server.enqueue("coder", good_script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    result = run_main(YES, tmp_path, model_env)
    assert result.returncode == 0, result.stderr
    assert len(fake_server.requests_for("tester")) == 3
    assert "could not be used: it held no usable content" in fake_server.requests_for("tester")[1].text
    assert "The Tester gave no usable tests in 3 tries" in result.stderr
    assert "def test" not in (tmp_path / "workspace" / "acceptance_test.py").read_text()


def test_resume_keeps_each_roles_model(fake_server, tmp_path: Path, model_env) -> None:
    enqueue_session(fake_server, ("REVISE", "APPROVE"))
    first = run_main([*YES, "--coder-model", "gpt-4o", "--max-iterations", "1"], tmp_path, model_env)
    assert first.returncode == 1, first.stderr
    resumed = run_main(
        ["--resume", "workspace", "--yes", "--json", "--max-iterations", "2"], tmp_path, model_env
    )
    assert resumed.returncode == 0, resumed.stderr
    named = [(r.role, r.body["model"]) for r in fake_server.requests]
    assert named[-2:] == [("coder", "gpt-4o"), ("reviewer", "gpt-4o-mini")]
    assert outcome(resumed)["models"]["coder"] == ["gpt-4o"]


def test_an_entry_with_its_own_server_and_no_key_gets_no_key_of_ours(
    fake_server, tmp_path, clean_env
) -> None:
    (tmp_path / "OAI_CONFIG_LIST").write_text(
        json.dumps([{"model": "local", "base_url": fake_server.base_url}])
    )
    enqueue_session(fake_server, ("APPROVE",))
    result = run_main(YES, tmp_path, {**clean_env, "OPENAI_API_KEY": FAKE_KEY})
    assert result.returncode == 0, result.stderr
    assert fake_server.requests and all(FAKE_KEY not in r.authorization for r in fake_server.requests)


def test_yes_exits_130_on_ctrl_c(fake_server, run_cli) -> None:
    arrived, release = threading.Event(), threading.Event()

    def held(_request: RecordedRequest) -> str:
        arrived.set()
        release.wait(WAIT)
        return PLAN_1

    fake_server.enqueue("planner", held)
    try:
        cli = run_cli("--task", "count words", "--yes")
        assert arrived.wait(WAIT)
        cli.child.kill(signal.SIGINT)
        cli.expect("Stopped. Resume with: python -m iterative_coder --resume workspace")
        assert cli.wait_exit() == 130
    finally:
        release.set()


def test_the_budget_stops_before_the_call_that_would_exceed_it(
    fake_server, tmp_path: Path, model_env
) -> None:
    enqueue_session(fake_server)
    first = run_main([*YES, "--max-iterations", "1"], tmp_path, model_env)
    assert first.returncode == 1 and outcome(first)["stop_reason"] == "limit"
    spent = outcome(first)["tokens"]
    requests = len(fake_server.requests)

    # A budget a few tokens above what is spent: the next Coder call would exceed it, so it is not made.
    args = ["--resume", "workspace", "--yes", "--json", "--max-iterations", "5"]
    stopped = run_main([*args, "--budget-tokens", str(spent + 10)], tmp_path, model_env)
    assert stopped.returncode == 1, stopped.stderr
    assert outcome(stopped)["stop_reason"] == "budget"
    assert f"Token budget reached: {spent:,} of {spent + 10:,} tokens spent" in stopped.stderr
    assert "the next coder call would need about" in stopped.stderr
    assert len(fake_server.requests) == requests
    assert not (tmp_path / "workspace" / "script_v2.py").exists()

    # Resume keeps the budget and what was spent: still nothing is sent.
    again = run_main(args, tmp_path, model_env)
    assert again.returncode == 1 and outcome(again)["stop_reason"] == "budget"
    assert len(fake_server.requests) == requests

    # A larger budget lets it finish.
    done = run_main([*args, "--budget-tokens", "1000000"], tmp_path, model_env)
    assert done.returncode == 0, done.stderr
    assert outcome(done)["stop_reason"] == "accepted"


def test_a_usd_budget_needs_known_prices(fake_server, tmp_path: Path, clean_env) -> None:
    entries = [{"model": "local-llama", "base_url": fake_server.base_url}]
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(entries))
    result = run_main([*YES, "--budget-usd", "1"], tmp_path, clean_env)
    assert result.returncode == 1
    assert "the price of a model in use is unknown" in result.stderr
    assert fake_server.requests == []


def test_status_shows_the_history_without_a_model(tmp_path: Path, clean_env) -> None:
    ws = make_workspace(tmp_path / "big", 1000)
    code = (
        "import sys\nfrom iterative_coder.cli import main\ncode = main(['status', sys.argv[1]])\n"
        "print('IMPORTED', sorted(m for m in sys.modules if m.startswith(('autogen', 'openai'))))\n"
        "sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(ws)], capture_output=True, text=True, timeout=WAIT, env=clean_env
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "IMPORTED []"
    assert "Task: count words" in lines and "Plan: Word counter" in lines
    assert sum(1 for line in lines if re.match(r"v\d+ ", line)) == 1000
    assert any(line.startswith("v1000 ") and "APPROVE" in line and "1/1" in line for line in lines)
    assert "Total: 300,000 tokens · $0.0900 in 2000 model calls" in lines
    assert "First version approved with every test passing: v1000" in lines
    assert f"Resume with: python -m iterative_coder --resume {ws}" in lines

    data = json.loads(run_main(["status", str(ws), "--json"], tmp_path, clean_env).stdout)
    assert len(data["versions"]) == 1000
    assert data["versions"][0] | {"seconds": 1.0} == {
        "version": 1,
        "verdict": "REVISE",
        "open_points": 2,
        "tests_passed": 0,
        "tests_total": 1,
        "run": "tests 0/1 passed · ended (exit 0) · 0.1 s",
        "feedback": False,
        "tokens": 300,
        "prompt_tokens": 200,
        "cached_tokens": 0,
        "coder_output_tokens": 50,
        "answered": None,
        "fallback": False,
        "run_outcome": "exit 0",
        "run_seconds": 0.1,
        "cost_usd": 0.00009,
        "seconds": 1.0,
        "tests": "0/1",
    }
    assert data["next_step"] == "Next: at version 1000: your turn after review_v1000.md"
    assert run_main(["status", str(tmp_path / "nowhere")], tmp_path, clean_env).returncode == 2


def test_a_repeated_run_is_served_from_the_cache_and_branches_keep_old_versions(
    fake_server, tmp_path: Path, model_env
) -> None:
    enqueue_session(fake_server)
    first = run_main([*YES, "--cache-seed", "7"], tmp_path, model_env)
    assert first.returncode == 0, first.stderr
    ws = tmp_path / "workspace"
    old_v2 = (ws / "script_v2.py").read_text()
    requests = len(fake_server.requests)

    # Go on again from version 1: the same prompts, so no request reaches the server.
    again = run_main(["--resume", "workspace", "--from-version", "1", "--yes", "--json"], tmp_path, model_env)
    assert again.returncode == 0, again.stderr
    assert len(fake_server.requests) == requests
    branches = list((ws / "branches").iterdir())
    assert len(branches) == 1
    assert sorted(p.name for p in branches[0].iterdir()) == ["review_v2.md", "script_v2.py"]
    assert (branches[0] / "script_v2.py").read_text() == old_v2
    assert (ws / "script_v2.py").read_text() == old_v2  # the next version is v2 again, from the cache
    assert not (ws / "script_v3.py").exists()
    calls = json.loads((ws / "session.json").read_text())["calls"]
    cached = [(c["role"], c["version"]) for c in calls if c["cached"]]
    assert cached == [("coder", 2), ("reviewer", 2)]
    assert all(c["prompt_tokens"] == 0 and c["cost_usd"] == 0 for c in calls if c["cached"])
    assert outcome(again)["stop_reason"] == "accepted"


def test_role_tags_and_flags_pick_each_roles_model(fake_server, tmp_path: Path, clean_env) -> None:
    url = fake_server.base_url
    entries = [
        {"model": "m-default", "base_url": url},
        {"model": "m-plan", "base_url": url, "tags": ["planner"]},
        {"model": "m-code", "base_url": url, "tags": ["coder"]},
        {"model": "m-review", "base_url": url, "tags": ["reviewer"]},
    ]
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(entries))
    enqueue_session(fake_server, ("APPROVE",))
    result = run_main([*YES, "--reviewer-model", "m-plan"], tmp_path, clean_env)
    assert result.returncode == 0, result.stderr
    named = {(r.role, r.body["model"]) for r in fake_server.requests}
    assert named == {
        ("planner", "m-plan"),
        ("tester", "m-default"),
        ("coder", "m-code"),
        ("reviewer", "m-plan"),
    }
    assert outcome(result)["models"] == {
        "planner": ["m-plan"],
        "tester": ["m-default"],
        "coder": ["m-code"],
        "reviewer": ["m-plan"],
    }
    status = run_main(["status", "workspace"], tmp_path, clean_env).stdout
    assert "Models: m-plan (planner, reviewer); m-default (tester); m-code (coder)" in status
    bad = run_main([*YES, "--coder-model", "nope", "--workspace", "other"], tmp_path, clean_env)
    assert bad.returncode == 2 and "--coder-model nope: no entry with that model" in bad.stderr
