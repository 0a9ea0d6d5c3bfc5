"""A window program that holds the X server (GrabServer) cannot freeze the tool: the screenshot is
taken in a child process with a deadline, the run goes on and says so; the Xvfb carries a run token
and is recorded, so the next start stops one a killed tool left (sandbox on and off)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from drive import run_loop, start, start_workspace
from hostile import APPROVE, MODES, TIMEOUT, enqueue_approved, fenced

from iterative_coder.execution import display
from iterative_coder.execution.strays import ENV_NAME, processes_of_run, recorded_runs, stop_strays

HAS_XVFB = shutil.which("Xvfb") is not None
if not HAS_XVFB and os.environ.get("CI") == "true":
    raise RuntimeError("CI must run the window tests: install the xvfb package")
pytestmark = pytest.mark.skipif(not HAS_XVFB, reason="Xvfb is not installed (apt-get install xvfb)")

# Imports tkinter (so it is watched as a window program), then speaks X11 itself: the connection
# set-up, then GrabServer (opcode 36), and holds the server until it is stopped.
GRAB_SERVER = (
    "import os, socket, struct, time\nimport tkinter\n"
    "number = os.environ['DISPLAY'].lstrip(':').split('.')[0]\n"
    "x = socket.socket(socket.AF_UNIX)\nx.connect(f'/tmp/.X11-unix/X{number}')\n"
    "x.sendall(b'l\\0\\x0b\\0\\0\\0\\0\\0\\0\\0\\0\\0')\nprint('connected', x.recv(1), flush=True)\n"
    "x.sendall(struct.pack('<BBH', 36, 0, 1))\nprint('grabbed', flush=True)\ntime.sleep(600)\n"
)


@pytest.mark.parametrize("mode", MODES)
def test_a_program_holding_the_x_server_does_not_freeze_the_run(
    mode: str, fake_server, tmp_path: Path
) -> None:
    start_workspace(tmp_path)
    (tmp_path / "demo.json").write_text(json.dumps({"runs": [{"name": "watch", "window_seconds": 1}]}))
    fake_server.enqueue("coder", fenced(GRAB_SERVER))
    fake_server.enqueue("reviewer", APPROVE)
    started = time.monotonic()
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    assert time.monotonic() - started < display.SHOT_SECONDS + 15
    run = (tmp_path / "run_v1.md").read_text()
    assert "grabbed" in run and "No screenshot: the display did not answer." in run
    assert recorded_runs(tmp_path) == []  # the Xvfb and the program both ended and were forgotten


def test_an_xvfb_a_killed_tool_left_is_stopped_at_the_next_start(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    with display.virtual_display(tmp_path, tmp_path / "runs" / "v1"):
        (mark,) = recorded_runs(tmp_path)
        (server,) = processes_of_run(mark.token, mark.group)
        assert f"{ENV_NAME}={mark.token}".encode() in Path(f"/proc/{server}/environ").read_bytes()
        # As if the tool had been killed here: the record stays, and the next start stops the server.
        assert stop_strays(tmp_path) == ["Stopped 1 process left running by an earlier run (runs/v1)."]
        assert not processes_of_run(mark.token, mark.group) and recorded_runs(tmp_path) == []


def _with_cmdline(word: bytes) -> set[int]:
    """The processes with ``word`` in their command line and a run token in their environment."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            mine = f"{ENV_NAME}=".encode() in Path(f"/proc/{entry}/environ").read_bytes()
            if word in Path(f"/proc/{entry}/cmdline").read_bytes() and (mine or word != b"Xvfb"):
                found.add(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("mode", MODES)
def test_sigterm_ends_the_tool_while_a_program_holds_the_x_server(
    mode: str, fake_server, tmp_path: Path, model_env
) -> None:
    import signal

    xvfbs_before = _with_cmdline(b"Xvfb")
    enqueue_approved(fake_server, GRAB_SERVER)
    args = ["--task", "x", "--yes", "--execute", "always", "--sandbox", mode, "--max-iterations", "1"]
    tool = start(args, tmp_path, model_env)
    try:
        deadline = time.monotonic() + 90  # planning, tests and the first run, on a loaded machine
        while not _with_cmdline(b"ImageGrab"):  # the screenshot waits on the held server now
            assert time.monotonic() < deadline and tool.poll() is None, "the screenshot was never tried"
            time.sleep(0.05)
        tool.send_signal(signal.SIGTERM)
        tool.wait(timeout=25)
        deadline = time.monotonic() + 10
        while (
            _with_cmdline(b"Xvfb") - xvfbs_before or _with_cmdline(b"ImageGrab")
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _with_cmdline(b"Xvfb") - xvfbs_before and not _with_cmdline(b"ImageGrab")
    finally:
        tool.kill()


# A tool that starts an Xvfb and is killed with SIGKILL at the step named in argv[2]: ``spawned`` (the
# Xvfb's gate started, not recorded yet), ``recorded`` (in runs/.running, the gate still shut) or
# ``started`` (the display up). Before dying it prints the run's token and the program the process that
# is to be the Xvfb runs then (/proc/PID/exe is set by the time the process is started).
KILLED_WHILE_STARTING_XVFB = """
import os, signal, sys
from pathlib import Path
from iterative_coder.execution import display

def die(step, pid, token):
    if step == sys.argv[2]:
        print(token, os.readlink(f"/proc/{pid}/exe"), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

display.step_hook = die
with display.virtual_display(Path(sys.argv[1]), Path(sys.argv[1]) / "runs" / "v1") as screen:
    assert Path(screen.socket).exists()
    (mark,) = display.strays.recorded_runs(Path(sys.argv[1]))
    die("started", mark.group, mark.token)
"""


def _holding(token: str) -> list[int]:
    """The live processes whose environment holds the run's token (a zombie's environment is empty)."""
    needle = f"{ENV_NAME}={token}".encode()
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                found.append(int(entry))
        except OSError:
            continue
    return found


def _until_gone(pid: int) -> None:
    """Wait (bounded, on the process's pidfd: no polling) until ``pid`` has ended."""
    import select

    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        assert select.select([handle], [], [], TIMEOUT)[0], f"process {pid} did not end"
    finally:
        os.close(handle)


@pytest.mark.parametrize("step", ["spawned", "recorded", "started"])
def test_an_xvfb_is_never_left_running_whenever_the_tool_is_killed(step: str, tmp_path: Path) -> None:
    import sys

    (tmp_path / "runs").mkdir()
    tool = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_STARTING_XVFB, str(tmp_path), step],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert tool.returncode == -9, tool.stderr
    token, program = tool.stdout.split()
    assert len(token) == 32
    # Until it is recorded, and after, until the tool lets it go, it is only the gate: no Xvfb yet.
    assert (Path(program).name == "Xvfb") == (step == "started"), program
    if step == "spawned":  # not recorded, and never to be: the gate reads the end of its input and exits
        assert recorded_runs(tmp_path) == []
        for pid in _holding(token):
            _until_gone(pid)
    else:
        (mark,) = recorded_runs(tmp_path)
        assert mark.token == token
    lines = stop_strays(tmp_path)  # the next start
    if step == "started":
        assert lines == ["Stopped 1 process left running by an earlier run (runs/v1)."]
    assert _holding(token) == [] and recorded_runs(tmp_path) == []
