"""What a run left running when the tool could not stop it (the tool killed with SIGKILL) is stopped at
the next start: the record of the runs under way, and the killer, against real processes.

A stray here is a real process started as the runner starts a program: in a session of its own, with
the run's token in its environment. Beside it, a process of its group without the token and a process
of another group with the token: neither is the run's, and both must survive."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import WAIT
from drive import run_main
from processes import alive

from iterative_coder.execution.strays import (
    ENV_NAME,
    RECORD,
    RunMark,
    forget_run,
    new_token,
    record_run,
    recorded_runs,
    stop_strays,
)

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="Linux /proc only")

# The run's program: in a session of its own (as the runner starts it), it starts a helper that has
# the group but not the token (its environment is replaced), says the helper's PID, and waits.
LEADER = """
import os, subprocess, sys, time
helper = subprocess.Popen(["sleep", "60"], env={"PATH": os.environ["PATH"]})
print(helper.pid, flush=True)
time.sleep(60)
"""


def test_the_record_of_the_runs_under_way_reads_back_and_goes_with_the_last_run(tmp_path: Path) -> None:
    first, second = new_token(), new_token()
    record_run(tmp_path, first, 4321, tmp_path / "runs" / "v3" / "demo-1")
    record_run(tmp_path, second, 4400, Path("/tmp/iterative-coder-collect-x"))  # a check outside
    assert recorded_runs(tmp_path) == [
        RunMark(first, 4321, "runs/v3/demo-1"),
        RunMark(second, 4400, "/tmp/iterative-coder-collect-x"),
    ]
    forget_run(tmp_path, first)
    assert recorded_runs(tmp_path) == [RunMark(second, 4400, "/tmp/iterative-coder-collect-x")]
    forget_run(tmp_path, second)
    assert list((tmp_path / "runs").iterdir()) == []  # no record, no temporary file


def test_a_damaged_record_is_read_as_what_it_still_holds(tmp_path: Path) -> None:
    good = new_token()
    entries = [
        {"token": good, "group": 77, "folder": "runs/v1/demo-1\x1b]0;pwned\x07"},
        {"token": "not-a-token", "group": 78, "folder": "runs/v2"},
        {"token": new_token(), "group": True, "folder": "runs/v2"},
        {"token": new_token(), "group": 1, "folder": "runs/v2"},  # init: never a run's group
        "junk",
    ]
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / RECORD).write_text(json.dumps({"runs": entries}))
    assert recorded_runs(tmp_path) == [RunMark(good, 77, "runs/v1/demo-1")]
    (tmp_path / "runs" / RECORD).write_text('{"runs": [{"tok')
    assert recorded_runs(tmp_path) == []
    assert stop_strays(tmp_path) == [] and not (tmp_path / "runs" / RECORD).exists()


@pytest.fixture
def stray_group(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A run's program left running (its session's leader, with the token), a helper in its group
    without the token, and a decoy in a group of its own with the same token; all killed at the end."""
    token = new_token()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), ENV_NAME: token}
    leader = subprocess.Popen(
        [sys.executable, "-c", LEADER], env=env, start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    decoy = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    assert leader.stdout is not None
    helper = int(leader.stdout.readline())
    try:
        yield {"token": token, "leader": leader, "helper": helper, "decoy": decoy}
    finally:
        for pid in (leader.pid, helper, decoy.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        leader.wait(timeout=WAIT)
        decoy.wait(timeout=WAIT)
        leader.stdout.close()


@needs_proc
def test_only_the_runs_own_processes_are_stopped_and_it_is_said_once(
    tmp_path: Path, stray_group: dict[str, object]
) -> None:
    leader: subprocess.Popen[str] = stray_group["leader"]  # type: ignore[assignment]
    decoy: subprocess.Popen[bytes] = stray_group["decoy"]  # type: ignore[assignment]
    record_run(tmp_path, str(stray_group["token"]), leader.pid, tmp_path / "runs" / "v3" / "demo-1")
    lines = stop_strays(tmp_path)
    assert lines == ["Stopped 1 process left running by an earlier run (runs/v3/demo-1)."]
    assert leader.wait(timeout=WAIT) == -signal.SIGKILL
    assert alive(int(stray_group["helper"])), "a process without the run's token was killed"  # type: ignore[arg-type]
    assert decoy.poll() is None, "a process outside the run's group was killed"
    assert recorded_runs(tmp_path) == [] and list((tmp_path / "runs").iterdir()) == []
    assert stop_strays(tmp_path) == []  # once stopped, nothing more to say


@needs_proc
def test_the_next_start_in_the_workspace_stops_what_the_killed_run_left(
    tmp_path: Path, model_env: dict[str, str]
) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    files = {"task.md": "count words\n", "plan.md": "# Counter\n", "script_v1.py": "x = 1\n"}
    for name, text in {**files, "review_v1.md": "Verdict: APPROVE\n"}.items():  # a finished session
        (ws / name).write_text(text)
    (ws / "session.json").write_text(json.dumps({"finished": {"version": 1, "reason": "accepted"}}))
    token = new_token()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), ENV_NAME: token}
    stray = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    try:
        record_run(ws, token, stray.pid, ws / "runs" / "v1" / "demo-1")
        result = run_main(["--resume", "workspace"], tmp_path, model_env)
        assert result.returncode == 0, result.stdout + result.stderr
        header, first = result.stdout.splitlines()[:2]  # said under the session's header
        assert header.startswith("Workspace: workspace")
        assert first == "Stopped 1 process left running by an earlier run (runs/v1/demo-1)."
        assert "This session is finished" in result.stdout
        assert stray.wait(timeout=WAIT) == -signal.SIGKILL
        assert not (ws / "runs" / RECORD).exists()
    finally:
        stray.kill()
        stray.wait(timeout=WAIT)
