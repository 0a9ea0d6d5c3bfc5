"""Hostile generated programs, with the sandbox on (bubblewrap) and off: keys, forged test results,
rewritten history, escaping processes, the network, and crashes that must not be approved."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from drive import run, run_loop, run_main, start, start_workspace
from hostile import APPROVE, MODES, SANDBOX_PROBLEM, TIMEOUT, enqueue_approved, fenced
from processes import still_alive_after, working_in


@pytest.mark.parametrize("mode", MODES)
def test_no_key_reaches_the_program(mode: str, fake_server, tmp_path: Path, model_env) -> None:
    # The tool and every process above it; inside the sandbox, every process it can see at all.
    snoop = (
        "import os\npid = os.getppid()\nwhile pid > 1:\n    try:\n"
        "        print(pid, open(f'/proc/{pid}/environ', 'rb').read())\n"
        "        pid = int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
        "    except (OSError, ValueError):\n        break\n"
        "for other in os.listdir('/proc') if os.getpid() < 100 else []:\n    try:\n"
        "        print(other, open(f'/proc/{other}/environ', 'rb').read())\n"
        "    except OSError:\n        pass\n"
        "print(dict(os.environ))\n"
    )
    enqueue_approved(fake_server, snoop)
    args = ["--task", "snoop", "--yes", "--execute", "always", "--sandbox", mode, "--max-iterations", "1"]
    result = run(args, tmp_path, model_env)
    ws = tmp_path / "workspace"
    assert (ws / "run_v1.md").exists(), result.stdout + result.stderr
    assert "[redacted]" not in (ws / "run_v1.md").read_text()  # nothing to redact: it never saw a key
    seen = [p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file()]
    seen += [request.text for request in fake_server.requests_for("reviewer")]
    assert not [text for text in [*seen, result.stdout, result.stderr] if FAKE_KEY in text]


@pytest.mark.parametrize("mode", MODES)
def test_planted_conftest_and_pytest_cannot_forge_results(mode: str, fake_server, tmp_path: Path) -> None:
    forged = (
        "import pytest\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_call(item):\n    return True\n"
    )
    fake_pytest = "import sys\nprint('1 passed')\nsys.exit(0)\n"
    plant = (
        "import os\ndef add(a, b):\n    return a - b\n"
        f"for folder in ('.', '../v1-tests'):\n    os.makedirs(folder, exist_ok=True)\n"
        f"    open(os.path.join(folder, 'conftest.py'), 'w').write({forged!r})\n"
        f"    open(os.path.join(folder, 'pytest.py'), 'w').write({fake_pytest!r})\n"
    )
    start_workspace(tmp_path, "import script\n\n\ndef test_adds():\n    assert script.add(2, 2) == 4\n")
    fake_server.enqueue("coder", fenced(plant))
    fake_server.enqueue("reviewer", APPROVE)
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    assert "Summary: tests 0/1 passed" in (tmp_path / "run_v1.md").read_text()
    assert (tmp_path / "review_v1.md").read_text().startswith("Verdict: REVISE")


@pytest.mark.parametrize("mode", MODES)
def test_the_program_cannot_rewrite_the_history(mode: str, fake_server, tmp_path: Path) -> None:
    rewrite = (
        "import os\nprint('sees', sorted(os.listdir('../../..')))\n"
        "for name, text in (('plan.md', 'forged'), ('acceptance_test.py', 'assert True'),"
        " ('feedback_v1.md', 'forged feedback')):\n"
        "    try:\n        open('../../../' + name, 'w').write(text)\n    except OSError as e:\n"
        "        print('refused', name, e.errno)\n"
    )
    start_workspace(tmp_path)
    plan, tests = (tmp_path / "plan.md").read_text(), (tmp_path / "acceptance_test.py").read_text()
    fake_server.enqueue("coder", fenced(rewrite))
    fake_server.enqueue("reviewer", APPROVE)
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    assert (tmp_path / "plan.md").read_text() == plan
    assert (tmp_path / "acceptance_test.py").read_text() == tests
    assert not (tmp_path / "feedback_v1.md").exists()
    warnings = ui.texts("warn")
    if mode == "off":
        assert {
            "The program changed plan.md; restored.",
            "The program changed feedback_v1.md; restored.",
        } <= set(warnings)
    else:  # the workspace is not even visible inside the sandbox
        assert "sees" in (run := (tmp_path / "run_v1.md").read_text()) and "'plan.md'" not in run
        assert not [w for w in warnings if w.startswith("The program changed")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kind", "code", "reason"),
    [
        ("segfault", "import ctypes\nctypes.string_at(0)", "the script was killed by SIGSEGV"),
        (
            "fork bomb",
            "import os, time\nfor _ in range(200):\n    if os.fork() == 0:\n        time.sleep(60)\n"
            "        os._exit(0)\ntime.sleep(60)",
            "the script started more than 64 processes (or 256 threads), stopped",
        ),
        (
            "threads",
            "import threading, time\nthreading.stack_size(65536)\nfor _ in range(400):\n"
            "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\ntime.sleep(60)",
            "the script started more than 64 processes (or 256 threads), stopped",
        ),
        (
            "zombies",
            "import os, time\nfor _ in range(400):\n"
            "    if os.fork() == 0:\n        os._exit(0)\ntime.sleep(60)",
            "the script started more than 64 processes (or 256 threads), stopped",
        ),
    ],
)
def test_a_program_killed_by_a_signal_or_a_limit_is_not_approved(
    mode: str, kind: str, code: str, reason: str, fake_server, tmp_path: Path
) -> None:
    start_workspace(tmp_path)
    fake_server.enqueue("coder", fenced(code))
    fake_server.enqueue("reviewer", APPROVE)
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    review = (tmp_path / "review_v1.md").read_text()
    assert review.startswith("Verdict: REVISE")
    assert f"The tool changed the verdict from APPROVE to REVISE: {reason}." in review


@pytest.mark.skipif(bool(SANDBOX_PROBLEM), reason=f"no sandbox: {SANDBOX_PROBLEM}")
def test_under_the_sandbox_the_network_is_refused_and_daemons_die(fake_server, tmp_path: Path) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    marker = f"daemon-marker-{os.getpid()}"
    code = (
        "import os, socket, sys, time\n"
        "if os.fork() == 0:\n    os.setsid()\n"
        f"    os.execv(sys.executable, [{marker!r}, '-c', 'import time; time.sleep(600)'])\n"
        "time.sleep(0.5)\n"
        "alive = [p for p in os.listdir('/proc') if p.isdigit() and"
        f" {marker!r}.encode() in open(f'/proc/{{p}}/cmdline', 'rb').read()]\n"
        "print('daemon alive' if alive else 'daemon missing')\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\n"
        "except OSError as e:\n    print('network refused', e.errno)\n"
    )
    start_workspace(tmp_path)
    fake_server.enqueue("coder", fenced(code))
    fake_server.enqueue("reviewer", APPROVE)
    try:
        run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox="on", run_timeout=TIMEOUT)
    finally:
        server.close()
    assert "network refused" in (run := (tmp_path / "run_v1.md").read_text()) and "daemon alive" in run
    left = [p for p in os.listdir("/proc") if p.isdigit() and marker.encode() in _cmdline(p)]
    assert left == []


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_sandbox_on_without_bubblewrap_is_a_usage_error(tmp_path: Path, model_env) -> None:
    env = {
        **model_env,
        "PATH": str(tmp_path / "empty-bin") + ":" + os.path.dirname(shutil.which("python3") or ""),
    }
    (tmp_path / "empty-bin").mkdir()
    result = run_main(["--task", "x", "--yes", "--execute", "always", "--sandbox", "on"], tmp_path, env)
    if shutil.which("bwrap", path=env["PATH"]):
        pytest.skip("bwrap is on the Python folder's PATH here")
    assert result.returncode == 2, result.stderr
    assert "bubblewrap" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_what_a_program_leaves_in_its_folder_is_capped(mode: str, fake_server, tmp_path: Path) -> None:
    code = "for n in range(3):\n    open(f'big-{n}.bin', 'wb').write(b'x' * 60_000_000)\n"
    start_workspace(tmp_path)
    fake_server.enqueue("coder", fenced(code))
    fake_server.enqueue("reviewer", APPROVE)
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    left = sum(p.stat().st_size for p in (tmp_path / "runs").rglob("*") if p.is_file())
    assert left <= 100 * 1024**2
    assert "It left more than 100 MB in its folder" in (tmp_path / "run_v1.md").read_text()


@pytest.mark.skipif(bool(SANDBOX_PROBLEM), reason=f"no sandbox: {SANDBOX_PROBLEM}")
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP", "SIGKILL"])
def test_nothing_a_program_started_outlives_the_tool(
    signal_name: str, fake_server, tmp_path: Path, model_env
) -> None:
    import signal
    import time

    marker = f"outlive-{signal_name}-{os.getpid()}"
    code = (
        "import os, sys, time\n"
        "for _ in range(2):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
        f"            os.execv(sys.executable, [{marker!r}, '-c', 'import time; time.sleep(600)'])\n"
        "        os._exit(0)\n"
        "time.sleep(600)\n"
    )
    enqueue_approved(fake_server, code)
    args = ["--task", "x", "--yes", "--execute", "always", "--sandbox", "on", "--run-timeout", "60"]
    tool = start(args, tmp_path, model_env)
    try:
        deadline = time.monotonic() + 30
        while len(_marked(marker)) < 2:  # both daemons are up: now the tool is stopped
            assert time.monotonic() < deadline, "the program's daemons never started"
            time.sleep(0.05)
        tool.send_signal(getattr(signal, signal_name))
        tool.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _marked(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _marked(marker) == []
        if signal_name != "SIGKILL":  # (after a SIGKILL, the next start stops what is left: strays.py)
            assert still_alive_after(working_in(tmp_path)) == []  # nothing of the tests' run either
    finally:
        tool.kill()
        for pid in [*map(int, _marked(marker)), *working_in(tmp_path)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _marked(marker: str) -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit() and marker.encode() in _cmdline(p)]
