"""Never lose work: the tool killed with SIGKILL at any moment leaves a workspace that --resume
finishes, ending exactly as an uninterrupted session ends. Plus one process per workspace, a corrupt
or missing session.json, and a gap in the versions.

The tool that is killed is a real process in a pty; the uninterrupted reference and the resumes run
through the CLI's own ``main`` in this process (drive.run_main), answering from stdin."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from conftest import FAKE_KEY, WAIT, Cli
from drive import run_main
from fake_openai import FakeOpenAIServer, Fault, RecordedRequest
from scripted import PLAN_1, TESTS, good_script, review

from iterative_coder.execution.strays import ENV_NAME, recorded_runs

# Version 1 passes its tests and is approved, but its run lasts half a second: long enough to kill the tool
# while it runs.
SLOW_SCRIPT = (
    good_script(1)
    .replace("def main():\n", "def main():\n    time.sleep(0.5)\n")
    .replace("import sys\n", "import sys\nimport time\n", 1)
)
APPROVALS = ('Reply "approve" to accept this plan', 'Reply "approve" to accept these acceptance tests')


def deterministic(server: FakeOpenAIServer) -> None:
    """Replies that depend only on the request, so a call made again gets the same answer."""

    def version_of(request: RecordedRequest) -> int:
        return int(re.search(r"(?:Write|Review) version (\d+)", request.text).group(1))

    def coder(request: RecordedRequest) -> str:
        return SLOW_SCRIPT if version_of(request) == 1 else good_script(version_of(request))

    def reviewer(request: RecordedRequest) -> str:
        return review(version_of(request), "APPROVE")

    server.enqueue("planner", *[PLAN_1] * 5)
    server.enqueue("tester", *[TESTS] * 5)
    server.enqueue("coder", *[coder] * 8)
    server.enqueue("reviewer", *[reviewer] * 8)


def agreeing(answered: int) -> str:
    """What a person agreeing to everything types, from stdin, once ``answered`` of the two approvals
    (plan, tests) are given: the approvals still to come, then Enter at the Manager's turn."""
    return "approve\n" * (len(APPROVALS) - answered) + "\n"


def drain(cli: Cli) -> None:
    """Read what the program printed so far, so it never blocks on a full terminal."""
    cli.child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.05)


def final_state(ws: Path) -> dict[str, object]:
    """What must match an uninterrupted session: every file (run times masked), the calls, the end."""
    files = {}
    for path in sorted(ws.iterdir()):
        if path.is_file() and path.name not in {"session.json", "log.jsonl", ".lock"}:
            text = path.read_text()
            if path.name.startswith("run_"):  # run times differ, in the prose and in the record
                text = re.sub(r'"seconds":[\d.e-]+', '"seconds":T', re.sub(r"\d+\.\d+ ?s\b", "T s", text))
            files[path.name] = text
    session = json.loads((ws / "session.json").read_text())
    log = [json.loads(line) for line in (ws / "log.jsonl").read_text().splitlines() if line.strip()]
    return {
        "files": files,
        "calls": [(c["role"], c["version"]) for c in session["calls"]],
        "log": [(entry["role"], entry["version"]) for entry in log],
        "finished": session["finished"],
        "runs": sorted(p.name for p in (ws / "runs").iterdir()),
    }


@pytest.fixture(scope="session")
def crash_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A clean environment; plain output keeps what the terminal must carry small."""
    drop = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OAI_CONFIG_LIST", "ITERATIVE_CODER_MODEL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "HOME": str(tmp_path_factory.mktemp("home")), "TERM": "xterm", "NO_COLOR": "1"}


def env_for(env: dict[str, str], server: FakeOpenAIServer) -> dict[str, str]:
    return {**env, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": FAKE_KEY}


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, crash_env: dict[str, str]) -> dict[str, object]:
    """The workspace an uninterrupted session produces."""
    root = tmp_path_factory.mktemp("reference")
    with FakeOpenAIServer() as server:
        deterministic(server)
        result = run_main(ARGS, root, env_for(crash_env, server), stdin=agreeing(0))
        assert result.returncode == 0, result.stdout + result.stderr
    state = final_state(root / "workspace")
    assert state["finished"] == {"version": 1, "reason": "accepted"}
    assert state["runs"] == ["env", "v1", "v1-tests"]  # env: the program's environment
    return state


Waiter = Callable[[Cli], None]


def pause(role: str) -> Callable[[FakeOpenAIServer, Path], tuple[Waiter, threading.Event | None]]:
    """Kill point: the role's reply has streamed half-way and is held there."""

    def arm(server: FakeOpenAIServer, ws: Path) -> tuple[Waiter, threading.Event | None]:
        fault = Fault("pause")
        server.inject(fault, role=role)

        def wait(cli: Cli) -> None:
            bounded(cli, fault.arrived.is_set, f"the {role}'s reply to start")

        return wait, fault.release

    return arm


def screen(text: str) -> Callable[[FakeOpenAIServer, Path], tuple[Waiter, threading.Event | None]]:
    """Kill point: right after ``text`` appears on the screen."""
    return lambda server, ws: (lambda cli: cli.expect(text), None)


def file_appears(name: str) -> Callable[[FakeOpenAIServer, Path], tuple[Waiter, threading.Event | None]]:
    """Kill point: as soon as the file exists (a run under way)."""
    return lambda server, ws: (lambda cli: bounded(cli, (ws / name).exists, name), None)


def bounded(cli: Cli, condition: Callable[[], bool], what: str) -> None:
    """Wait, at most WAIT seconds, for something the test can observe, reading the screen meanwhile."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        drain(cli)


ARGS = ["--task", "count words", "--execute", "always"]
# For each kill point: how many prompts (plan, tests) are answered before it, and how to reach it.
KILL_POINTS = {
    "during planning": (0, pause("planner")),
    "after the plan is saved": (1, pause("tester")),
    "while the Coder streams": (2, pause("coder")),
    "after a script is written": (2, screen("Saved ")),
    "during a run": (2, file_appears("runs/v1/demo-1/script.py")),
    "while the Reviewer streams": (2, pause("reviewer")),
    "after a review": (2, screen("The Reviewer approves script_v1.py")),
}


# The uninterrupted reference session is a session-wide fixture: made once per worker, however the
# kill points are spread over the workers and whatever runs in between.
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_at_any_moment_then_resume_ends_as_if_nothing_happened(
    point: str, reference: dict[str, object], crash_env: dict[str, str], tmp_path: Path
) -> None:
    answered, arm = KILL_POINTS[point]
    ws = tmp_path / "workspace"
    with FakeOpenAIServer() as server:
        deterministic(server)
        env = env_for(crash_env, server)
        wait, release = arm(server, ws)
        cli = Cli(ARGS, tmp_path, env)
        try:
            for prompt in APPROVALS[:answered]:
                cli.expect(prompt)
                cli.answer("approve")
            wait(cli)
            cli.child.kill(signal.SIGKILL)
            assert cli.wait_exit() == 128 + signal.SIGKILL
        finally:
            if release is not None:
                release.set()
        assert not [p.name for p in ws.iterdir() if p.name.endswith(".tmp")], "a half-written file was left"
        killed_runs = [mark.token for mark in recorded_runs(ws)]  # the runs the kill interrupted
        resumed = run_main(
            ["--resume", "workspace", "--execute", "always"], tmp_path, env, agreeing(answered)
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = final_state(ws)
    assert sorted(state["files"]) == sorted(reference["files"])  # type: ignore[arg-type]
    for name, text in reference["files"].items():  # type: ignore[union-attr]
        assert state["files"][name] == text, name  # type: ignore[index]
    assert state == reference
    if point == "during a run":
        # What the killed run left running (bwrap's init, when bwrap died before arming
        # --die-with-parent) was stopped when the resume started: nothing carries its token any more.
        assert not _processes_with_token(killed_runs), "the killed run's processes are still running"
        # The killed tool's program dies with it (bwrap --die-with-parent, or PR_SET_PDEATHSIG), a moment
        # after the kill; version 1's run sleeps for half a second, so after PROGRAM_GONE it is a leak.
        deadline = time.monotonic() + PROGRAM_GONE
        while (left := _processes_in(ws)) and time.monotonic() < deadline:
            threading.Event().wait(0.05)
        assert not left, f"the killed tool's program is still running: {left}"


# Seconds a program of a killed tool may take to go.
PROGRAM_GONE = 10


def _processes_with_token(tokens: list[str]) -> list[int]:
    """The live processes whose environment holds one of the run ``tokens``."""
    wanted = {f"{ENV_NAME}={token}".encode() for token in tokens}
    found = []
    for entry in os.listdir("/proc") if wanted else []:
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if wanted & set(environ):
                found.append(int(entry))
    return found


def _processes_in(ws: Path) -> dict[int, str]:
    """The processes whose current folder is in ``ws``, with their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd").startswith(str(ws.resolve())):
                    command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
                    found[int(entry)] = command.decode(errors="replace")[-200:]
            except OSError:
                continue
    return found


def test_a_second_process_on_the_same_workspace_is_refused(fake_server, tmp_path: Path, model_env) -> None:
    fake_server.enqueue("planner", PLAN_1)
    first = Cli(["--task", "count words"], tmp_path, model_env)
    first.expect('Reply "approve" to accept this plan')
    result = run_main(["--resume", "workspace"], tmp_path, model_env)
    assert result.returncode == 2
    assert f"Another iterative_coder (PID {first.child.pid}) is working in workspace" in result.stderr
    first.answer("/stop")
    assert first.wait_exit() == 0
    # A lock file left by a process that died does not block.
    fake_server.enqueue("planner", PLAN_1)
    stale = Cli(["--resume", "workspace"], tmp_path, model_env)
    stale.expect('Reply "approve" to accept this plan')
    stale.child.kill(signal.SIGKILL)
    stale.wait_exit()
    assert (tmp_path / "workspace" / ".lock").exists()
    fake_server.enqueue("planner", PLAN_1)
    again = run_main(["--resume", "workspace"], tmp_path, model_env, stdin="/stop\n")
    assert 'Reply "approve" to accept this plan' in again.stdout
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_lost_session_json_is_rebuilt_from_the_files(
    damage: str, fake_server, tmp_path: Path, model_env
) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "task.md").write_text("count words\n")
    (ws / "plan.md").write_text("# Counter\n\n## Requirements\n1. Count words.\n")
    (ws / "acceptance_test.py").write_text("# none\n")
    (ws / "script_v1.py").write_text("print(1)\n")
    if damage == "corrupt":
        (ws / "session.json").write_text('{"calls": [{"role": "coder"')
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    result = run_main(["--resume", "workspace"], tmp_path, model_env, stdin="/stop\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"session.json was {'missing' if damage == 'missing' else 'unreadable'}; rebuilt it from the files"
        in (result.stdout)
    )
    assert "Resuming at version 1: reviewing script_v1.py" in result.stdout
    session = json.loads((ws / "session.json").read_text())
    assert [(c["role"], c["version"]) for c in session["calls"]] == [("reviewer", 1)]


def test_a_gap_in_the_versions_is_reported(tmp_path: Path, model_env) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    for name in ("task.md", "plan.md", "script_v1.py", "script_v2.py", "script_v4.py"):
        (ws / name).write_text("x = 1\n")
    result = run_main(["--resume", "workspace"], tmp_path, model_env)
    assert result.returncode == 2
    assert "script_v3.py is missing, so the versions have a gap" in result.stderr
    assert "up to script_v4.py" in result.stderr


def test_a_script_that_is_not_utf8_is_a_clear_error(tmp_path: Path, model_env) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "task.md").write_text("count words\n")
    (ws / "plan.md").write_text("# Counter\n")
    (ws / "acceptance_test.py").write_text("# none\n")
    (ws / "script_v1.py").write_bytes(b"print('caf\xe9')\n")
    result = run_main(["--resume", "workspace"], tmp_path, model_env)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "workspace/script_v1.py is not UTF-8 text (byte 10); save it as UTF-8 and resume."
    )
    assert "Traceback" not in result.stderr
