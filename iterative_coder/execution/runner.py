"""Running generated code: a subprocess with a timeout, resource limits and a bare environment.

This is a sandbox of limits, not a container: the program runs as the same user, can read what that
user can read, and can reach the network. What it cannot do is outlive its timeout, grow past the
memory, CPU, file-size, open-file and process limits, see our keys, or flood the screen. A run in a
workspace is recorded there while it runs, so that what a killed tool left running is stopped at the
next start (:mod:`strays`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import running, strays
from .sandbox import signal_of
from .tasks import MAX_TASKS, run_size
from .waiting import ExitWatch

OUTPUT_KEEP = 4096  # bytes kept from the start and from the end of each stream
ADDRESS_SPACE = 2 * 1024**3
FILE_SIZE = 100 * 1024**2
OPEN_FILES = 256
MAX_PROCESSES = 64
_POLL_SECONDS = 0.02
_PROCESS_CHECK_SECONDS = 0.1

# Sets the limits in the child, then becomes the program (exec), so no Python of ours runs in a
# forked copy of this multi-threaded process. The program is also killed if the tool dies
# (PR_SET_PDEATHSIG), so a tool killed with SIGKILL leaves no generated program running. It goes on
# only once the tool has recorded the run (one byte on the pipe argv[7]); a tool that died or failed
# before closes the pipe with nothing written, and nothing runs.
_LAUNCHER = """
import ctypes, os, resource, signal, sys
parent, go = int(sys.argv[6]), int(sys.argv[7])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != parent or os.read(go, 1) != b"1":
    sys.exit(137)
os.close(go)
address_space, cpu, file_size, open_files = (int(v) for v in sys.argv[1:5])
for which, soft, hard in (
    (resource.RLIMIT_AS, address_space, address_space),
    (resource.RLIMIT_CPU, cpu, cpu + 1),
    (resource.RLIMIT_FSIZE, file_size, file_size),
    (resource.RLIMIT_NOFILE, open_files, open_files),
    (resource.RLIMIT_CORE, 0, 0),
):
    try:
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass
os.execv(sys.argv[5], sys.argv[5:6] + sys.argv[8:])
"""


@dataclass
class CappedOutput:
    """The first and last :data:`OUTPUT_KEEP` bytes of a stream, and its total size."""

    head: bytearray = field(default_factory=bytearray)
    tail: deque[bytes] = field(default_factory=deque)
    tail_size: int = 0
    total: int = 0

    def add(self, data: bytes) -> None:
        """Take in a piece of the stream."""
        self.total += len(data)
        room = OUTPUT_KEEP - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail.append(data)
            self.tail_size += len(data)
            while self.tail and self.tail_size - len(self.tail[0]) >= OUTPUT_KEEP:
                self.tail_size -= len(self.tail.popleft())

    def text(self) -> str:
        """The kept output, with a marker where the middle was left out."""
        tail = b"".join(self.tail)[-OUTPUT_KEEP:]
        head = self.head.decode("utf-8", "replace")
        if self.total <= len(self.head) + len(tail):
            return head + tail.decode("utf-8", "replace")
        skipped = self.total - len(self.head) - len(tail)
        return f"{head}\n[... {skipped:,} bytes left out ...]\n{tail.decode('utf-8', 'replace')}"


@dataclass
class ProcessResult:
    """How one command ran."""

    command: list[str]
    exit_code: int | None
    seconds: float
    timed_out: bool
    stdout: CappedOutput
    stderr: CappedOutput
    too_many_processes: bool = False
    leftover_processes: int = 0
    cwd: Path | None = None

    def text(self, stream: str) -> str:
        """The kept ``stdout`` or ``stderr``, with the run folder's path shortened to nothing."""
        text = (self.stdout if stream == "stdout" else self.stderr).text()
        return text.replace(f"{self.cwd}/", "") if self.cwd else text

    def describe(self, timeout: float) -> str:
        """``exit 0``, ``still running after 30 s, stopped``, ``killed by signal 9``..."""
        if self.too_many_processes:
            return f"started more than {MAX_PROCESSES} processes (or {MAX_TASKS} threads), stopped"
        if self.timed_out:
            return f"still running after {timeout:g} s, stopped"
        if self.exit_code in (-signal.SIGXCPU, -signal.SIGKILL) and self.seconds >= timeout * 0.9:
            return f"used up its CPU time ({timeout:g} s), stopped"
        if self.exit_code is not None and self.exit_code < 0:
            return f"killed by {signal_name(-self.exit_code)}"
        return f"exit {self.exit_code}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class RunOptions:
    """How one program runs, beyond its command, folder and time limit."""

    sandboxed: bool = False  # the command is a bubblewrap command line (:mod:`sandbox`)
    stdin: str = ""  # what a person would type; empty: nothing (end of input at once)
    display: str | None = None  # an X display (``:99``) for a program with a window
    on_timeout: Callable[[], None] | None = None  # called at the time limit, before it is stopped
    attached: bool = False  # the person's terminal: their keyboard and screen, nothing captured
    window_seconds: float | None = None  # a window program: watched this long instead of the timeout
    workspace: Path | None = None  # the workspace whose runs/.running records the run while it runs
    extra_env: tuple[tuple[str, str], ...] = ()  # more variables (an installer's proxy settings)
    # The address-space limit; a command that limits its own children (demo_kinds' driver) may lift it.
    address_space: int = ADDRESS_SPACE
    pass_fds: tuple[int, ...] = ()  # descriptors the program inherits (a results channel's write end)


def sandbox_environment(run_dir: Path, display: str | None = None) -> dict[str, str]:
    """The whole environment a generated program gets: what a program needs, nothing of ours.

    Without a display, toolkits are told to draw nowhere; with one, they use it.
    """
    tmp = run_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    if display:
        return {**_BASE_ENVIRONMENT(run_dir, tmp), "DISPLAY": display}
    return {
        **_BASE_ENVIRONMENT(run_dir, tmp),
        "MPLBACKEND": "Agg",
        "SDL_VIDEODRIVER": "dummy",
        "QT_QPA_PLATFORM": "offscreen",
    }


def _BASE_ENVIRONMENT(run_dir: Path, tmp: Path) -> dict[str, str]:  # noqa: N802
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        **({"TZ": os.environ["TZ"]} if os.environ.get("TZ") else {}),  # the local time a screenshot is told
        "HOME": str(run_dir),
        "TMPDIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # pytest plugins installed beside the tool (xdist, timeout...) do not change how acceptance
        # tests run, and pytest starts faster without them.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def run_limited(
    command: list[str], cwd: Path, timeout: float, options: RunOptions | None = None
) -> ProcessResult:
    """Run ``command`` (argv, its first item an executable path) in ``cwd`` within the limits.

    The program gets ``options.stdin`` as its input (then end of input), its own session and process
    group, and is killed with everything it started when it ends, at ``timeout`` seconds, or when it
    starts too many processes. Sandboxed, the command is a bubblewrap command line whose program runs
    in a session and PID namespace of its own: its processes are counted under bwrap, and bwrap's exit
    code 128 + N means the program was killed by signal N.
    """
    options = options or RunOptions()
    sandboxed = options.sandboxed
    started = time.monotonic()
    process, token = _start(command, cwd, timeout, options)
    stdout, stderr = CappedOutput(), CappedOutput()
    readers = [] if options.attached else [_drain(process.stdout, stdout), _drain(process.stderr, stderr)]
    if process.stdin is not None:
        readers.append(_feed(process.stdin, options.stdin))
    leftover = 0
    try:
        timed_out, too_many = _watch(process, started, timeout, sandboxed)
        if timed_out and options.on_timeout is not None:
            before = time.monotonic()
            options.on_timeout()
            started += time.monotonic() - before  # the time at the limit (a screenshot) is not the program's
    finally:
        # The program's children may outlive it (background jobs): they are stopped too.
        if process.poll() is not None:
            leftover = run_size(process.pid, process.pid if sandboxed else None).processes
        running.kill_session(process.pid)
        process.wait()
        strays.stop_run(token, process.pid)  # what left the session: a sandbox's init, for one
        running.ended(process.pid)
        if options.workspace is not None:
            strays.forget_run(options.workspace, token)
        for reader in readers:
            reader.join(timeout=2)
    exit_code = process.returncode
    if sandboxed and exit_code is not None and (number := signal_of(exit_code)) is not None:
        exit_code = -number
    return ProcessResult(
        command=command,
        exit_code=exit_code,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        stdout=stdout,
        stderr=stderr,
        too_many_processes=too_many,
        leftover_processes=leftover,
        cwd=cwd,
    )


def _start(
    command: list[str], cwd: Path, timeout: float, options: RunOptions
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``command`` through the launcher, in a session of its own, with a fresh run token in its
    environment; record the run, then let the launcher go on. The process and its token."""
    # The CPU limit is a second above the timeout so that a busy loop meets the (clearer) wall-clock
    # timeout first; it still stops a program whose children burn CPU in parallel.
    # No RLIMIT_NPROC: the kernel counts it per user, over all their processes and threads, so it
    # would break programs on a busy desktop; the session is counted instead.
    limits = [options.address_space, int(timeout + 0.999) + 1, FILE_SIZE, OPEN_FILES]
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, *map(str, limits), command[0], str(os.getpid())]
    token = strays.new_token()
    environment = {**sandbox_environment(cwd, options.display), **dict(options.extra_env)}
    go_read, go_write = os.pipe()
    try:
        process = subprocess.Popen(
            [*launcher, str(go_read), *command[1:]],
            cwd=cwd,
            env={**environment, **_terminal(options), strays.ENV_NAME: token},
            **_streams(options),
            start_new_session=True,
            pass_fds=(go_read, *options.pass_fds),
        )
    except BaseException:
        os.close(go_write)
        raise
    finally:
        os.close(go_read)
    running.started(process.pid, token)  # raises SessionEnding once the session ends
    try:
        if options.workspace is not None:
            strays.record_run(options.workspace, token, process.pid, cwd)
        with contextlib.suppress(OSError):  # a launcher already gone ends as any program that fails
            os.write(go_write, b"1")
    except BaseException:
        running.ended(process.pid)
        process.kill()  # unrecorded, it must not run; it is still waiting, so it started nothing
        process.wait()
        raise
    finally:
        os.close(go_write)
    return process, token


def _terminal(options: RunOptions) -> dict[str, str]:
    """At the person's terminal, its type (``TERM``), so that curses finds it; the program reads the
    terminal's size from the terminal itself."""
    term = os.environ.get("TERM")
    return {"TERM": term} if options.attached and term else {}


def _streams(options: RunOptions) -> dict[str, int | None]:
    if options.attached:  # the person's own terminal
        return {"stdin": None, "stdout": None, "stderr": None}
    stdin = subprocess.PIPE if options.stdin else subprocess.DEVNULL
    return {"stdin": stdin, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}


def _feed(stream: object, text: str) -> threading.Thread:
    """Type ``text`` into the program, then end its input (a program that wants more meets EOF)."""

    def write() -> None:
        with contextlib.suppress(OSError):
            stream.write(text.encode())  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            stream.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _watch(
    process: subprocess.Popen[bytes], started: float, timeout: float, sandboxed: bool
) -> tuple[bool, bool]:
    """Wait for the program to end; (timed out, started too many processes) when it had to be stopped."""
    next_check = started
    with ExitWatch(process.pid, _POLL_SECONDS) as exited:
        while process.poll() is None:
            now = time.monotonic()
            if now - started >= timeout:
                return True, False
            if now >= next_check:
                next_check = now + _PROCESS_CHECK_SECONDS
                size = run_size(process.pid, process.pid if sandboxed else None)
                if size.processes > MAX_PROCESSES or size.tasks > MAX_TASKS:
                    return False, True  # threads and zombies are tasks too
            exited.wait(max(0.0, min(next_check, started + timeout) - time.monotonic()))
    return False, False


def _drain(stream: object, sink: CappedOutput) -> threading.Thread:
    def read() -> None:
        while True:
            data = stream.read1(65536)  # type: ignore[attr-defined]
            if not data:
                break
            sink.add(data)
        stream.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread
