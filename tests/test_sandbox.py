"""Hostile programs run through the real bubblewrap sandbox and cannot reach what they should not.

Each test writes a small Python program that tries something a generated program must not be able
to do, runs it with ``Sandbox.wrap`` and checks, from outside, what a user relies on. Without a usable
bwrap the tests are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import alive, still_alive_after

from iterative_coder.execution import sandbox as sandbox_module
from iterative_coder.execution import seccomp
from iterative_coder.execution.sandbox import (
    Sandbox,
    SandboxUnavailable,
    find_sandbox,
    sandbox_processes,
    signal_of,
    unavailable_reason,
)
from iterative_coder.execution.sandbox_fds import sandbox_fds
from iterative_coder.execution.strays import ENV_NAME, new_token, stop_run

WAIT = 20  # every wait is bounded by this many seconds; none is a sleep used as synchronisation

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """The real sandbox; skipped with the reason where bwrap cannot work, failed under CI."""
    found = find_sandbox("auto")
    if found is None:
        reason = f"bubblewrap cannot sandbox here: {unavailable_reason()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture
def area(tmp_path: Path) -> Iterator[Path]:
    """A folder like a person's disk, with ``home/`` (holding a secret) and ``project/runs/v1`` (the
    run folder). Outside /tmp where possible: a real run folder is in the person's project, while the
    sandbox replaces /tmp with a private one."""
    base = Path("/var/tmp") if os.access("/var/tmp", os.W_OK) else tmp_path
    root = Path(tempfile.mkdtemp(prefix="sandbox-test-", dir=base))
    (root / "home").mkdir()
    (root / "home" / "secret.txt").write_text("the secret")
    (root / "project" / "runs" / "v1").mkdir(parents=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run_dir_of(area: Path) -> Path:
    return area / "project" / "runs" / "v1"


def run(
    sandbox: Sandbox, code: str, run_dir: Path, *args: str, **wrap: object
) -> subprocess.CompletedProcess:
    """Run the Python ``code`` in the sandbox with a bare environment, as the runner would."""
    command = sandbox.wrap([sys.executable, "-c", code, *args], run_dir, **wrap)  # type: ignore[arg-type]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(run_dir), "LANG": "C.UTF-8"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=WAIT, check=False)


def test_the_program_sees_neither_the_home_folder_nor_the_tools_folder(sandbox: Sandbox, area: Path) -> None:
    real_home_files = [str(p) for p in Path.home().iterdir() if p.is_file()][:5]
    tool_files = [str(Path(__file__).resolve()), str(Path.cwd() / "pyproject.toml")]
    secret = str(area / "home" / "secret.txt")
    code = (
        "import json, sys\nseen = {}\nfor path in sys.argv[1:]:\n    try:\n"
        "        seen[path] = open(path).read()\n    except OSError as error:\n"
        "        seen[path] = type(error).__name__\nprint(json.dumps(seen))"
    )
    done = run(sandbox, code, run_dir_of(area), secret, *tool_files, *real_home_files)
    seen = json.loads(done.stdout)
    assert seen[secret] == "FileNotFoundError"
    assert all(seen[path] == "FileNotFoundError" for path in tool_files + real_home_files), seen
    assert "the secret" not in done.stdout


def test_the_program_sees_only_its_own_processes(sandbox: Sandbox, area: Path) -> None:
    code = (
        "import json, os, sys\n"
        "pids = [int(e) for e in os.listdir('/proc') if e.isdigit()]\n"
        "print(json.dumps({'pids': pids, 'tool': os.path.exists(f'/proc/{sys.argv[1]}/environ')}))"
    )
    seen = json.loads(run(sandbox, code, run_dir_of(area), str(os.getpid())).stdout)
    assert seen["tool"] is False
    assert len(seen["pids"]) <= 3 and max(seen["pids"]) < 10  # bwrap's init and the program


def test_the_program_writes_only_in_its_run_folder(sandbox: Sandbox, area: Path) -> None:
    run_dir, tests = run_dir_of(area), area / "tests"
    tests.mkdir()
    (tests / "test_given.py").write_text("readable")
    name = f"sandbox-test-{uuid.uuid4().hex}"
    outside = [
        Path("/usr") / name,
        Path.home() / name,
        area / "home" / name,
        run_dir.parent / name,
        tests / name,
    ]
    code = (
        "import json, sys\nresult = {'read': open(sys.argv[1]).read()}\nfor path in sys.argv[2:]:\n"
        "    try:\n        open(path, 'w').write('x')\n        result[path] = 'written'\n"
        "    except OSError as error:\n        result[path] = type(error).__name__\nprint(json.dumps(result))"
    )
    targets = [str(path) for path in [*outside, run_dir / "mine.txt"]]
    try:
        done = run(sandbox, code, run_dir, str(tests / "test_given.py"), *targets, extra_ro=[tests])
        result = json.loads(done.stdout)
        # Read-only file system, or no such folder: either way nothing is written.
        assert all(result[str(path)] in ("OSError", "FileNotFoundError") for path in outside), result
        assert not [path for path in outside if path.exists()]
        assert (run_dir / "mine.txt").read_text() == "x" and result["read"] == "readable"
    finally:
        for path in outside:
            path.unlink(missing_ok=True)


def test_a_private_tmp_leaves_nothing_in_the_real_one(sandbox: Sandbox, area: Path) -> None:
    name = f"/tmp/sandbox-test-{uuid.uuid4().hex}"
    done = run(sandbox, "import sys\nopen(sys.argv[1], 'w').write('x')\nprint('ok')", run_dir_of(area), name)
    assert done.stdout == "ok\n" and not os.path.exists(name)


def test_the_program_cannot_reach_a_server_on_localhost(sandbox: Sandbox, area: Path) -> None:
    code = (
        "import socket, sys\ntry:\n    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n"
        "    print('connected')\nexcept OSError as error:\n    print('blocked', error)"
    )
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = str(server.getsockname()[1])
        assert run(sandbox, code, run_dir_of(area), port).stdout.startswith("blocked")
        assert run(sandbox, code, run_dir_of(area), port, network=True).stdout == "connected\n"


def test_daemons_and_double_forked_children_die_with_the_program(sandbox: Sandbox, area: Path) -> None:
    marker = f"alive-{uuid.uuid4().hex}"
    code = """
import os, subprocess, sys, time
marker = sys.argv[1]
sleeper = "import sys, time\\nopen(sys.argv[1], 'w').close()\\ntime.sleep(120)"
subprocess.Popen([sys.executable, "-c", sleeper, marker + "-daemon"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execv(sys.executable, [sys.executable, "-c", sleeper, marker + "-orphan"])
    os._exit(0)
os.wait()
deadline = time.monotonic() + 10
while not all(os.path.exists(marker + k) for k in ("-daemon", "-orphan")) and time.monotonic() < deadline:
    time.sleep(0.01)
print(sorted(name for name in os.listdir(".") if name.startswith(marker)))
"""
    try:
        done = run(sandbox, code, run_dir_of(area), marker)
        assert done.stdout == f"['{marker}-daemon', '{marker}-orphan']\n", done.stderr
        assert wait_until_none_alive(marker) == []
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)


def processes_with(marker: str) -> list[int]:
    """The live processes with ``marker`` in their command line."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if marker.encode() in cmdline and state != b"Z":
                found.append(int(entry))
    return found


def wait_until_none_alive(marker: str) -> list[int]:
    """Polls /proc (bounded) until no process carries ``marker``; returns those still alive then."""
    deadline = time.monotonic() + 5
    while (alive := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return alive


def test_the_processes_of_a_running_sandbox_can_be_counted(sandbox: Sandbox, area: Path) -> None:
    code = (
        "import subprocess, sys\n"
        "children = [subprocess.Popen(['sleep', '60']) for _ in range(3)]\n"
        "print('ready', flush=True)\nsys.stdin.read()"
    )
    command = sandbox.wrap([sys.executable, "-c", code], run_dir_of(area))
    env = {"PATH": "/usr/bin:/bin"}
    with subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
            assert len(sandbox_processes(process.pid)) == 5  # bwrap's init, the program, 3 sleeps
        finally:
            process.communicate(timeout=WAIT)  # closes stdin: the program ends, the sleeps with it
    assert process.returncode == 0 and sandbox_processes(process.pid) == []


def test_a_sandbox_its_killed_bwrap_left_running_is_found_by_the_runs_token(
    sandbox: Sandbox, area: Path
) -> None:
    # bwrap killed before its init arms --die-with-parent (the tool killed with SIGKILL as a run starts,
    # containers/bubblewrap#633) leaves the init and the program running, in a session of their own:
    # without the option, killing bwrap leaves exactly that.
    code = "import time\nprint('ready', flush=True)\ntime.sleep(60)"
    wrapped = sandbox.wrap([sys.executable, "-c", code], run_dir_of(area))
    command = [arg for arg in wrapped if arg != "--die-with-parent"]
    token = new_token()
    env = {"PATH": "/usr/bin:/bin", ENV_NAME: token}
    bwrap = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    inside = []
    try:
        assert bwrap.stdout is not None and bwrap.stdout.readline() == "ready\n"
        inside = sandbox_processes(bwrap.pid)  # bwrap's init and the program
        bwrap.kill()
        bwrap.wait(timeout=WAIT)
        assert len(inside) == 2 and all(alive(pid) for pid in inside), "the sandbox did not outlive bwrap"
        assert stop_run(token, bwrap.pid) == 2
        assert still_alive_after(inside) == []
        assert stop_run(new_token(), bwrap.pid) == 0
    finally:
        for pid in inside:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        bwrap.kill()
        bwrap.wait(timeout=WAIT)
        bwrap.stdout.close()  # type: ignore[union-attr]


def test_a_virtualenv_python_works_inside(sandbox: Sandbox, area: Path) -> None:
    done = run(sandbox, "import json, sys\nprint(1, sys.prefix)", run_dir_of(area))
    assert done.stdout == f"1 {sys.prefix}\n" and done.returncode == 0, done.stderr


def test_stdin_stdout_stderr_and_exit_code_pass_through(sandbox: Sandbox, area: Path) -> None:
    code = "import sys\nprint(sys.stdin.read().upper())\nprint('warned', file=sys.stderr)\nsys.exit(7)"
    command = sandbox.wrap([sys.executable, "-c", code], run_dir_of(area))
    done = subprocess.run(command, input="hello", env={}, capture_output=True, text=True, timeout=WAIT)
    assert (done.stdout, done.stderr, done.returncode) == ("HELLO\n", "warned\n", 7)


def test_the_program_gets_exactly_the_environment_it_is_given(
    sandbox: Sandbox, area: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-sandbox-key")  # the tool's; never the program's
    run_dir = run_dir_of(area)
    given = {"PATH": "/usr/bin:/bin", "HOME": str(run_dir), "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}
    command = sandbox.wrap(
        [sys.executable, "-c", "import json, os\nprint(json.dumps(dict(os.environ)))"], run_dir
    )
    done = subprocess.run(command, env=given, capture_output=True, text=True, timeout=WAIT)
    seen = json.loads(done.stdout)
    assert {key: seen[key] for key in given} == given
    assert set(seen) - set(given) <= {"PWD", "LC_CTYPE"} and seen["PWD"] == str(run_dir)


def test_a_crash_reports_the_signal(sandbox: Sandbox, area: Path) -> None:
    done = run(sandbox, "import ctypes\nctypes.string_at(0)", run_dir_of(area))
    assert done.returncode == 128 + signal.SIGSEGV  # bwrap's own exit code for a killed program
    assert signal_of(done.returncode) == signal.SIGSEGV
    assert [signal_of(code) for code in (None, 0, 1, 127, 128, -9, 137)] == [
        None,
        None,
        None,
        None,
        None,
        9,
        9,
    ]


def test_only_the_given_display_socket_is_reachable(sandbox: Sandbox, area: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "64x64x8"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as numbers:
            display = numbers.readline().strip()  # Xvfb writes it once it listens
        socket_path = Path(f"/tmp/.X11-unix/X{display}")
        code = (
            "import os, socket, sys\nprint(os.listdir('/tmp/.X11-unix'))\n"
            "client = socket.socket(socket.AF_UNIX)\nclient.connect(sys.argv[1])\n"
            "client.sendall(b'l\\0\\x0b\\0\\0\\0\\0\\0\\0\\0\\0\\0')\nprint(client.recv(1))"
        )
        done = run(sandbox, code, run_dir_of(area), str(socket_path), extra_ro=[socket_path])
        assert done.stdout == f"['X{display}']\nb'\\x01'\n", done.stderr  # 1: the X server said yes
    finally:
        xvfb.kill()
        xvfb.wait()


def test_modes_and_a_missing_or_broken_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_sandbox("off") is None
    with pytest.raises(ValueError):
        find_sandbox("yes")
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on the PATH
    assert find_sandbox("auto") is None
    with pytest.raises(SandboxUnavailable, match="not installed") as raised:
        find_sandbox("on")
    assert "apt-get install bubblewrap" in str(raised.value) and "dnf install bubblewrap" in str(raised.value)

    calls = tmp_path / "calls"
    fake = tmp_path / "bwrap"  # present, but user namespaces are off
    fake.write_text(
        f"#!/bin/sh\necho x >> {calls}\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    sandbox_module._probe.cache_clear()
    assert find_sandbox("auto") is None
    with pytest.raises(SandboxUnavailable, match="No permissions to create new namespace"):
        find_sandbox("on")
    assert calls.read_text() == "x\n"  # probed once, then remembered
    sandbox_module._probe.cache_clear()


def test_the_private_tmp_is_sized(sandbox: Sandbox, area: Path) -> None:
    assert sandbox.sized_tmp, "the installed bwrap takes --size"
    code = (
        "import os\nst = os.statvfs('/tmp')\nprint(st.f_blocks * st.f_frsize)\n"
        "chunk = b'x' * (1 << 20)\ntry:\n    for n in range(3):\n"
        "        with open(f'/tmp/f{n}', 'wb') as f:\n"
        "            for _ in range(60):\n                f.write(chunk)\n    print('filled')\n"
        "except OSError as error:\n    print('refused', error.errno)\n"
    )
    done = run(sandbox, code, run_dir_of(area))
    size, outcome = done.stdout.split("\n", 1)
    assert int(size) == sandbox_module.TMP_SIZE
    assert outcome.startswith("refused 28")  # ENOSPC: no more than TMP_SIZE in /tmp


PTRACE_INIT = (
    "import ctypes, errno, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "attach = libc.ptrace(16, 1, 0, 0)  # PTRACE_ATTACH to bwrap's init\n"
    "print('ptrace', attach, errno.errorcode.get(ctypes.get_errno()))\n"
    "written = libc.syscall(311, 1, 0, 0, 0, 0, 0)  # process_vm_writev into init (x86-64's number)\n"
    "print('process_vm_writev', written, errno.errorcode.get(ctypes.get_errno()))\n"
    "child = os.fork()\nif child == 0:\n    os._exit(3)\nprint('fork', os.waitpid(child, 0)[1] >> 8)\n"
)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the calls are made by their x86-64 numbers")
def test_the_program_cannot_ptrace_the_sandbox_init(sandbox: Sandbox, area: Path) -> None:
    with sandbox_fds() as fds:
        command = fds.added_to(sandbox.wrap([sys.executable, "-c", PTRACE_INIT], run_dir_of(area)))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(run_dir_of(area))}
        done = subprocess.run(
            command, env=env, pass_fds=fds.passed, capture_output=True, text=True, timeout=WAIT
        )
        init = fds.end_sandbox()
    assert done.stdout.splitlines() == ["ptrace -1 EPERM", "process_vm_writev -1 EPERM", "fork 3"], (
        done.stderr
    )
    assert isinstance(init, int) and init > 1
    deadline = time.monotonic() + 5
    while alive(init) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(init)


def test_the_seccomp_program_refuses_exactly_the_listed_calls() -> None:
    program = seccomp.filter_program("x86_64")
    assert program is not None and len(program) == 8 * 12
    assert seccomp.filter_program("sparc") is None


def test_only_the_init_bwrap_named_is_ended(tmp_path: Path) -> None:
    """A pid given since to another process (here one in our own namespace) is never killed."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        with sandbox_fds() as fds:
            os.write(fds.info, json.dumps({"child-pid": other.pid, "pid-namespace": 1}).encode())
            assert fds.end_sandbox() == other.pid
        assert alive(other.pid)
    finally:
        other.kill()
        other.wait()
