"""``python -m iterative_coder`` started from a fork server that has the tool and its libraries
already imported: about a second of CPU less for every CLI process a test starts.

One server per test process (an xdist worker), started on first use with :mod:`subprocess` (this
process has threads and is never forked) and ended when this process ends (its stdin is a pipe from
here: EOF is its signal to go). It serves a unix socket on one thread. A request sends the command's
arguments, environment and folder as JSON and the child's stdin, stdout and stderr as file
descriptors; the server forks, the child takes them as 0, 1 and 2, drops everything of the server
(sockets, signal handlers), takes the request's environment and folder, and runs the package's
``__main__`` as ``python -m`` runs it. The server answers with the pid at once and the exit code
(-N for signal N, as :class:`subprocess.Popen` has it) when the child ends.

Only commands a new interpreter would start exactly as the server did use it (:func:`usable`): the
same ``PYTHON*`` and locale variables, in a pytest process (``PRELOADED_OFF=1`` turns it off).
What needs a real exec (a set-up run before the exec, the tool's
own ``/proc/<pid>/cmdline`` or initial environment) stays on :mod:`subprocess`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TESTS = str(Path(__file__).resolve().parent)
PACKAGE = "iterative_coder"
_HEAVY = (
    "iterative_coder.cli",
    "iterative_coder.wiring",
    "autogen_agentchat.agents",
    "autogen_ext.models.openai",
    "openai",
    "rich",
    "rich.console",
    "prompt_toolkit",
)
_MESSAGE = 1 << 20
# Start-up variables the child applies itself, as a new interpreter would.
_APPLIED = ("PYTHONFAULTHANDLER",)
# Read once, early, by what the server has already done (the locale; the TLS trust store, see _warm).
_ALSO_AT_START = ("LANG", "LANGUAGE", "SSL_CERT_FILE", "SSL_CERT_DIR")
# What points a process at a model: a test's environment starts without these (conftest.clean_env).
MODEL_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OAI_CONFIG_LIST",
    "ITERATIVE_CODER_MODEL",
    "NO_COLOR",
)


def _startup_variables(env: dict[str, str]) -> dict[str, str]:
    """The variables a new interpreter applies as it starts: with other values than the server had,
    a command takes the plain path."""
    return {
        name: value
        for name, value in env.items()
        if (name.startswith(("PYTHON", "LC_")) or name in _ALSO_AT_START) and name not in _APPLIED
    }


# --- the test side -------------------------------------------------------------------------------


class _Server:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.path = ""
        self.env: dict[str, str] = {}
        self.broken = False

    def address(self) -> str | None:
        with self.lock:
            if self.process is None and not self.broken:
                try:
                    self._start()
                except (OSError, RuntimeError):
                    self.broken = True
            return None if self.broken else self.path

    def _start(self) -> None:
        folder = tempfile.mkdtemp(prefix="preloaded-")
        self.path = os.path.join(folder, "socket")
        self.env = {k: v for k, v in os.environ.items() if k not in MODEL_VARIABLES}
        code = f"import sys; sys.path.insert(0, {TESTS!r}); import preloaded; preloaded.serve(sys.argv[1])"
        with open(os.path.join(folder, "server.log"), "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, self.path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self.env,
                cwd=folder,
            )
        assert self.process.stdout is not None
        if self.process.stdout.readline() != b"ready\n":
            raise RuntimeError("the preloaded server did not start")
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # type: ignore[union-attr]
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)


_SERVER = _Server()
# The CPU seconds of the commands started here that have ended (their user and system time, which
# this process's own RUSAGE_CHILDREN does not count): for measuring where the suite's time goes.
CHILDREN_CPU = [0.0]


def usable(command: list[Any], env: dict[str, str]) -> bool:
    """Whether ``command`` is ``python -m iterative_coder ...`` and ``env`` starts an interpreter as
    the server's started."""
    if "_pytest" not in sys.modules or os.environ.get("PRELOADED_OFF"):
        return False  # bench/run.py, which borrows TerminalProcess, measures real starts
    if list(command[:3]) != [sys.executable, "-m", PACKAGE]:
        return False
    if not all(isinstance(arg, (str, os.PathLike)) for arg in command):
        return False
    if any(isinstance(os.fspath(arg), bytes) for arg in command):
        return False
    base = {k: v for k, v in os.environ.items() if k not in MODEL_VARIABLES}
    return _startup_variables(env) == _startup_variables(base)


class Process:
    """A started command, as much of :class:`subprocess.Popen` as the tests use."""

    def __init__(self, connection: socket.socket, pid: int, args: list[str]) -> None:
        self._connection = connection
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def _status(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            self._connection.settimeout(timeout)
            try:
                data = self._connection.recv(_MESSAGE)
            except (BlockingIOError, TimeoutError):
                return None
            ended = json.loads(data) if data else {"status": -signal.SIGKILL}
            self.returncode = ended["status"]
            CHILDREN_CPU[0] += ended.get("cpu", 0.0)
            self._connection.close()
        return self.returncode

    def poll(self) -> int | None:
        return self._status(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout)  # type: ignore[arg-type]
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(
    command: list[Any],
    env: dict[str, str],
    cwd: str | os.PathLike[str],
    fds: tuple[int, int, int],
    *,
    session: bool = False,
    controlling_terminal: bool = False,
) -> Process | None:
    """``command`` started from the server with ``fds`` as its stdin, stdout and stderr; None when the
    server cannot be had (then start it as before)."""
    path = _SERVER.address()
    if path is None:
        return None
    args = [os.fspath(arg) for arg in command]
    request = {
        "argv": args[3:],
        "env": dict(env),
        "cwd": os.path.abspath(cwd),
        "session": session,
        "controlling_terminal": controlling_terminal,
    }
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        connection.connect(path)
        socket.send_fds(connection, [json.dumps(request).encode()], list(fds))
        reply = json.loads(connection.recv(_MESSAGE))
    except BaseException:
        connection.close()
        raise
    if "error" in reply:
        connection.close()
        raise OSError(reply["error"])
    return Process(connection, reply["pid"], args)


def popen(
    command: list[Any],
    *,
    cwd: str | os.PathLike[str],
    env: dict[str, str],
    stdin: int = subprocess.PIPE,
    stdout: int = subprocess.PIPE,
    stderr: int = subprocess.PIPE,
) -> Piped | None:
    """As ``subprocess.Popen(command, cwd=, env=, stdin=, stdout=, stderr=, text=True)`` with each of
    the three ``subprocess.PIPE`` or ``subprocess.DEVNULL`` (``stderr`` also ``subprocess.STDOUT``);
    None when the server cannot be had."""
    ours: dict[str, int | None] = {}  # this side of each pipe
    theirs: list[int] = []
    with open(os.devnull, "r+b") as null:
        for name, how in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr)):
            if how == subprocess.PIPE:
                read, write = os.pipe()
                ours[name], child = (write, read) if name == "stdin" else (read, write)
                theirs.append(child)
            elif how == subprocess.STDOUT and name == "stderr":
                ours[name] = None
                theirs.append(theirs[1])
            else:
                ours[name] = None
                theirs.append(os.dup(null.fileno()))
    try:
        process = start(command, env, cwd, (theirs[0], theirs[1], theirs[2]))
    except BaseException:
        _close(*(fd for fd in ours.values() if fd is not None))
        raise
    finally:
        _close(*set(theirs))
    if process is None:
        _close(*(fd for fd in ours.values() if fd is not None))
        return None
    return Piped(process, ours["stdin"], ours["stdout"], ours["stderr"])


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class Piped:
    """A command started by :func:`popen`: :class:`Process`'s calls, and ``communicate`` as
    :class:`subprocess.Popen` has it (text; after a timeout it may be called again)."""

    def __init__(self, process: Process, stdin: int | None, stdout: int | None, stderr: int | None) -> None:
        self.process, self.pid, self.args = process, process.pid, process.args
        self._stdin, self._stdout, self._stderr = stdin, stdout, stderr
        self._pending: bytes | None = None
        self._chunks: dict[int, list[bytes]] = {fd: [] for fd in (stdout, stderr) if fd is not None}
        self._open = {fd for fd in (stdin, stdout, stderr) if fd is not None}
        self._encoding = locale.getpreferredencoding(False)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def terminate(self) -> None:
        self.process.terminate()

    def kill(self) -> None:
        self.process.kill()

    def communicate(self, input: str | None = None, timeout: float | None = None) -> tuple[str, str]:
        """Send ``input`` (then end stdin), read stdout and stderr to their end, wait for the exit;
        ``subprocess.TimeoutExpired`` after ``timeout`` seconds, the process left running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._pending is None:
            self._pending = (input or "").encode(self._encoding)
            if self._stdin is not None and not self._pending:
                self._shut(self._stdin)
            elif self._stdin is not None:
                os.set_blocking(self._stdin, False)
        while self._open:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)  # type: ignore[arg-type]
            self._pump(left)
        self.process.wait(None if deadline is None else max(deadline - time.monotonic(), 1))
        return self._text(self._stdout), self._text(self._stderr)

    def _pump(self, timeout: float | None) -> None:
        with selectors.DefaultSelector() as selector:
            for fd in self._open:
                selector.register(fd, selectors.EVENT_WRITE if fd == self._stdin else selectors.EVENT_READ)
            for key, _ in selector.select(timeout):
                if key.fd == self._stdin:
                    try:
                        self._pending = self._pending[os.write(key.fd, self._pending[:65536]) :]  # type: ignore[index]
                    except BrokenPipeError:
                        self._pending = b""
                    if not self._pending:
                        self._shut(key.fd)
                else:
                    data = os.read(key.fd, 65536)
                    if data:
                        self._chunks[key.fd].append(data)
                    else:
                        self._shut(key.fd)

    def _shut(self, fd: int) -> None:
        self._open.discard(fd)
        _close(fd)

    def _text(self, fd: int | None) -> str:
        if fd is None:
            return ""
        raw = b"".join(self._chunks[fd]).decode(self._encoding)
        return raw.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads them

    def __del__(self) -> None:
        _close(*self._open)


def run(
    command: list[Any], *, cwd: str | os.PathLike[str], env: dict[str, str], input: str, timeout: float
) -> subprocess.CompletedProcess[str] | None:
    """As ``subprocess.run(command, cwd=, env=, input=, capture_output=True, text=True, timeout=)``;
    None when the server cannot be had."""
    process = popen(command, cwd=cwd, env=env)
    if process is None:
        return None
    try:
        stdout, stderr = process.communicate(input, timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(process.args, process.process.returncode, stdout, stderr)


# --- the server side -----------------------------------------------------------------------------


def _warm() -> None:
    """What every session does once in its process and a forked child would otherwise do again: import
    the rest of the tool and what the libraries import on first use (the OpenAI client's resources,
    its HTTP transport, the lexer and the Markdown parser of the screen), and build the TLS context
    (:func:`usable` keeps commands whose trust store differs on the plain path). About half of what a
    short session's process spent."""
    import importlib
    import io
    import pkgutil

    import openai
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.syntax import Syntax

    import iterative_coder
    from iterative_coder.connections import http_client_options

    for module in pkgutil.walk_packages(iterative_coder.__path__, f"{PACKAGE}."):
        if not module.name.endswith(".__main__"):
            importlib.import_module(module.name)
    client = openai.AsyncOpenAI(api_key="-", base_url="http://127.0.0.1:9/v1", **http_client_options())
    assert client.chat.completions is not None
    code = Syntax("def main():\n    return 0  # done\n", "python", line_numbers=True, word_wrap=True)
    review = Markdown("# Review\n\n- **one** `two` [three](four)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    Console(file=io.StringIO(), force_terminal=True, width=80).print(Panel(code), Panel(review))


def serve(path: str) -> None:
    """Import the tool and its libraries, then start ``python -m iterative_coder`` for each request
    on the unix socket ``path`` until stdin ends."""
    import importlib

    for name in _HEAVY:
        importlib.import_module(name)
    _warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    selector.register(0, selectors.EVENT_READ, "lifeline")
    children: dict[int, socket.socket] = {}
    os.write(1, b"ready\n")

    def own_fds() -> list[int]:
        return [
            listener.fileno(),
            wake_r,
            wake_w,
            selector.fileno(),
            *(c.fileno() for c in children.values()),
        ]

    while True:
        try:
            events = selector.select()
        except InterruptedError:
            continue
        for key, _ in events:
            if key.data == "lifeline":
                if not os.read(0, 4096):
                    return
            elif key.data == "wake":
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 4096):
                        pass
            elif key.data == "listener":
                connection, _ = listener.accept()
                fds: list[int] = []
                try:
                    message, fds, _, _ = socket.recv_fds(connection, _MESSAGE, 3)
                    request = json.loads(message)
                    pid = _fork(request, fds, [*own_fds(), connection.fileno()])
                except Exception as exc:  # noqa: BLE001
                    with contextlib.suppress(OSError):
                        connection.send(json.dumps({"error": repr(exc)}).encode())
                    connection.close()
                    continue
                finally:
                    for fd in fds:
                        os.close(fd)
                children[pid] = connection
                with contextlib.suppress(OSError):
                    connection.send(json.dumps({"pid": pid}).encode())
        while children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            connection = children.pop(pid, None)
            if connection is not None:
                ended = {"status": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime}
                with contextlib.suppress(OSError):
                    connection.send(json.dumps(ended).encode())
                connection.close()


def _fork(request: dict[str, Any], fds: list[int], server_fds: list[int]) -> int:
    if len(fds) != 3:
        raise ValueError("three file descriptors expected")
    pid = os.fork()
    if pid:
        return pid
    try:
        code = _child(request, fds, server_fds)
    except BaseException:  # noqa: BLE001
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
        code = 1
    os._exit(code)


def _child(request: dict[str, Any], fds: list[int], server_fds: list[int]) -> int:
    import io
    import runpy

    signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals():
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, signal.SIG_DFL)
    # As a new interpreter has them.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for fd in server_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    if request["session"]:
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        os.close(fd)
    if request["controlling_terminal"]:
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if os.environ.get("PYTHONFAULTHANDLER"):
        import faulthandler

        faulthandler.enable()

    encoding, errors = sys.stdout.encoding, sys.stdout.errors

    def stream(fd: int, name: str) -> io.TextIOWrapper:
        write = fd != 0
        buffered = open(fd, "wb" if write else "rb", closefd=False)  # noqa: SIM115
        wrapper = io.TextIOWrapper(
            buffered,
            encoding=encoding,
            errors="backslashreplace" if fd == 2 else errors,
            newline="\n",
            line_buffering=write and (fd == 2 or os.isatty(fd)),
        )
        with contextlib.suppress(AttributeError):
            buffered.raw.name = name  # type: ignore[attr-defined]
        return wrapper

    sys.stdin = sys.__stdin__ = stream(0, "<stdin>")
    sys.stdout = sys.__stdout__ = stream(1, "<stdout>")
    sys.stderr = sys.__stderr__ = stream(2, "<stderr>")
    cwd = os.getcwd()
    sys.path[:] = [cwd, *(p for p in sys.path if p not in ("", TESTS))]
    sys.argv = ["-m", *request["argv"]]
    sys.orig_argv = [sys.executable, "-m", PACKAGE, *request["argv"]]
    interrupted = False
    try:
        runpy.run_module(PACKAGE, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            with contextlib.suppress(Exception):
                print(exc.code, file=sys.stderr)
            code = 1
    except BaseException as exc:  # noqa: BLE001
        interrupted = isinstance(exc, KeyboardInterrupt)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        code = 1
    import threading as threads

    with contextlib.suppress(BaseException):
        threads._shutdown()  # type: ignore[attr-defined]
    import atexit as exits

    with contextlib.suppress(BaseException):
        exits._run_exitfuncs()
    for handle in (sys.stdout, sys.stderr):
        try:
            handle.flush()
        except Exception:  # noqa: BLE001
            code = code or 120
    if interrupted:  # as Python ends on an uncaught KeyboardInterrupt: killed by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code
