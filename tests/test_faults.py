"""The fault-injection suite: model faults, in streaming and non-streaming calls, through the CLI (its
own ``main`` in this process, drive.run_main).

Each test injects faults at the fake server and asserts what a user relies on: the session recovers
(or stops with the exact message and exit code), the screen says what happened, the files are intact,
and no key shows anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from drive import run_main
from fake_openai import FakeOpenAIServer, Fault
from scripted import FAULTS, PLAN_1, TESTS, good_script, review

from iterative_coder.plan_text import strip_closing_question

ANSWERS = "approve\napprove\n\n"  # plan, tests, accept the approved version


def script_session(server: FakeOpenAIServer) -> None:
    server.enqueue("planner", PLAN_1)
    server.enqueue("tester", TESTS)
    server.enqueue("coder", good_script(1))
    server.enqueue("reviewer", review(1, "APPROVE"))


def assert_finished_intact(ws: Path) -> None:
    assert (ws / "plan.md").read_text() == strip_closing_question(PLAN_1)
    assert (ws / "script_v1.py").read_text().startswith("# marker-script-v1\n")
    assert (ws / "script_v1.py").read_text().endswith("    sys.exit(main())\n")
    assert (ws / "review_v1.md").read_text().startswith("Verdict: APPROVE\n")
    assert json.loads((ws / "session.json").read_text())["finished"]["version"] == 1


def everything_written(ws: Path, *outputs: str) -> str:
    texts = [p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file()]
    return "\n".join([*texts, *outputs])


# Each run of the CLI meets two fault kinds, one at the Planner and one at the Coder, in streaming
# and non-streaming mode by turns, so that every kind, both roles and both modes meet faults through
# the CLI. Every kind in both modes, its waits and its status line are also checked in-process,
# without real waiting, in test_resilience.py.
KINDS = list(FAULTS)
CLI_RUNS = [(KINDS[i], KINDS[i + 1], i // 2 % 2 == 0) for i in range(0, len(KINDS), 2)]


@pytest.mark.parametrize(
    ("planner_kind", "coder_kind", "stream"),
    CLI_RUNS,
    ids=[f"{p}+{c}-{'streaming' if stream else 'non-streaming'}" for p, c, stream in CLI_RUNS],
)
def test_faults_are_retried_and_the_session_finishes(
    planner_kind: str, coder_kind: str, stream: bool, fake_server: FakeOpenAIServer, tmp_path: Path, model_env
) -> None:
    script_session(fake_server)
    for role, kind in (("planner", planner_kind), ("coder", coder_kind)):
        fake_server.inject(FAULTS[kind][0], role=role)
    args = ["--task", "count words"] + ([] if stream else ["--no-stream"])
    result = run_main(args, tmp_path, model_env, stdin=ANSWERS)
    assert result.returncode == 0, result.stdout + result.stderr
    for role, kind in (("planner", planner_kind), ("coder", coder_kind)):
        assert FAULTS[kind][1] in result.stdout
        assert len(fake_server.requests_for(role)) == 2
    assert all(r.stream == stream for r in fake_server.requests)
    assert_finished_intact(tmp_path / "workspace")
    assert FAKE_KEY not in everything_written(tmp_path / "workspace", result.stdout, result.stderr)


def test_two_faults_in_a_row_are_retried(fake_server, tmp_path: Path, model_env) -> None:
    script_session(fake_server)
    fake_server.inject(*[Fault("status", status=503, retry_after=0)] * 2, role="coder")
    result = run_main(["--task", "count words"], tmp_path, model_env, stdin=ANSWERS)
    assert result.returncode == 0, result.stdout + result.stderr
    # The waits themselves (1 s then 2 s of backoff without Retry-After) are in test_resilience.py.
    assert "server error 503, retrying in 0 s (2/4)" in result.stdout
    assert "server error 503, retrying in 0 s (3/4)" in result.stdout
    assert len(fake_server.requests_for("coder")) == 3
    assert_finished_intact(tmp_path / "workspace")


def test_a_read_timeout_is_retried(fake_server, tmp_path: Path, model_env) -> None:
    script_session(fake_server)
    slow = Fault("slow", delay=10)
    fake_server.inject(slow, role="reviewer")
    try:
        result = run_main(
            ["--task", "count words", "--request-timeout", "1"], tmp_path, model_env, stdin=ANSWERS
        )
    finally:
        slow.release.set()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the request timed out, retrying in" in result.stdout
    assert_finished_intact(tmp_path / "workspace")


def test_when_every_try_fails_the_session_stops_resumably(fake_server, tmp_path: Path, model_env) -> None:
    script_session(fake_server)
    message = f"overloaded (key {FAKE_KEY})"
    fake_server.inject(*[Fault("status", status=503, retry_after=0, message=message)] * 2, role="coder")
    result = run_main(["--task", "count words", "--retries", "2"], tmp_path, model_env, stdin=ANSWERS)
    assert result.returncode == 75
    base_url = model_env["OPENAI_BASE_URL"]
    assert result.stderr.strip().startswith(
        f"Every configured model failed. The last, gpt-4o-mini at {base_url}, after 2 tries: server error 503"
    )
    assert "The service may be down; try again later" in result.stderr
    assert "Your files are kept. Resume with: python -m iterative_coder --resume workspace" in result.stdout
    assert FAKE_KEY not in result.stdout + result.stderr and "[redacted]" in result.stderr
    ws = tmp_path / "workspace"
    assert (ws / "plan.md").exists() and (ws / "acceptance_test.py").exists()
    assert not (ws / "script_v1.py").exists()

    # The service is back: the session resumes where it stopped and finishes.
    result = run_main(["--resume", "workspace"], tmp_path, model_env, stdin="\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Resuming at version 1: writing script_v1.py" in result.stdout
    assert_finished_intact(ws)


def test_failover_to_the_next_config_list_entry(fake_server, tmp_path: Path, clean_env) -> None:
    entries = [
        {"model": "model-a", "base_url": fake_server.base_url, "api_key": FAKE_KEY},
        {"model": "model-b", "base_url": fake_server.base_url, "api_key": FAKE_KEY},
    ]
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(entries))
    script_session(fake_server)
    fake_server.inject(*[Fault("status", status=500, retry_after=0)] * 2, model="model-a", role="coder")
    result = run_main(["--task", "count words", "--retries", "2"], tmp_path, clean_env, stdin=ANSWERS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model-a failed (server error 500" in result.stdout
    assert f"now answering: model-b at {fake_server.base_url}" in result.stdout
    calls = json.loads((tmp_path / "workspace" / "session.json").read_text())["calls"]
    assert [(c["role"], c["model"]) for c in calls] == [
        ("planner", "model-a"),
        ("tester", "model-a"),
        ("coder", "model-b"),
        ("reviewer", "model-a"),  # the Reviewer's own client had no fault
    ]
    assert_finished_intact(tmp_path / "workspace")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "The model server refused the API key for gpt-4o-mini at {url} "
              "(from OPENAI_API_KEY/OPENAI_BASE_URL) (401). Check that entry's api_key, or OPENAI_API_KEY."),
        (403, "The model server refused the API key for gpt-4o-mini at {url} "
              "(from OPENAI_API_KEY/OPENAI_BASE_URL) (403)."),
        (404, "The model server does not know the model of gpt-4o-mini at {url} "
              "(from OPENAI_API_KEY/OPENAI_BASE_URL) (404). "
              "Check the model name (--model) and the base_url."),
    ],
)  # fmt: skip
def test_a_refused_key_or_unknown_model_is_not_retried(
    status: int, expected: str, fake_server, tmp_path: Path, model_env
) -> None:
    script_session(fake_server)
    fake_server.inject(Fault("status", status=status, message=f"Incorrect API key provided: {FAKE_KEY}"))
    result = run_main(["--task", "count words"], tmp_path, model_env, stdin=ANSWERS)
    assert result.returncode == 2
    assert expected.format(url=fake_server.base_url) in result.stderr
    assert len(fake_server.requests) == 1
    assert FAKE_KEY not in result.stdout + result.stderr
    assert (tmp_path / "workspace" / "task.md").exists()


def test_a_cut_off_script_is_never_written(fake_server, tmp_path: Path, model_env) -> None:
    script_session(fake_server)
    cut = good_script(1)[:120]
    fake_server.inject(Fault("length", text=cut), role="coder")
    result = run_main(["--task", "count words"], tmp_path, model_env, stdin=ANSWERS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The Coder's reply came cut off at the model's token limit; asking again (2/3)." in result.stdout
    assert "cut off at the token limit" in fake_server.requests_for("coder")[1].text
    assert_finished_intact(tmp_path / "workspace")

    # Cut off every time: nothing is written, and the session can be resumed.
    other = tmp_path / "other"
    other.mkdir()
    script_session(fake_server)
    fake_server.inject(*[Fault("length", text=cut)] * 3, role="coder")
    result = run_main(["--task", "count words"], other, model_env, stdin=ANSWERS)
    assert result.returncode == 1
    assert (
        "The Coder's replies came cut off at the model's token limit 3 times; script_v1.py was not written. "
        "Give the model a larger output limit, or simplify the plan."
    ) in result.stdout
    assert "No script was written. Resume with: python -m iterative_coder --resume workspace" in result.stdout
    assert not (other / "workspace" / "script_v1.py").exists()
