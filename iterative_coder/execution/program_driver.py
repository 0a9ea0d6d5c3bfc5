"""Tries a program the way a person would, from inside its sandbox: ``python program_driver.py CONFIG``.

It starts the program as its child, in a process group of its own, and then, by the config's ``mode``:

- ``serve``: waits (bounded) until the program's port accepts connections, sends the requests from the
  same network namespace and records each answer's status and the start of its body;
- ``until_stopped``: lets it run for ``run_seconds``;
- ``keys``: runs it in a pseudo-terminal of the given size and ``TERM``, types each key once the screen
  has settled, and keeps everything the program wrote to the terminal (``screen`` file);

then stops it as a person would: Ctrl-C (SIGINT to its process group), then SIGTERM, SIGKILL last.
The outcome is written as JSON to the config's ``result`` path. The driver then ends the way the
program did (the same exit code, or killed by the same signal), so the runner's record of the
driver is the record of the program; the program's stdout and stderr are the driver's own.

Standard library only, and nothing of the package: it runs with ``python -I -S`` in the sandbox.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

BODY_KEEP = 2000  # bytes of each answer's body kept
SCREEN_KEEP = 4 * 1024**2  # bytes of terminal output kept for the screen
_STEP = 0.05
# What each named key sends; any other text is typed as it is. Arrows differ in the terminal's
# application cursor mode (a curses program with keypad(True) turns it on), as a real terminal's do.
KEYS = {
    "Enter": "\r", "Escape": "\x1b", "Esc": "\x1b", "Tab": "\t", "Backspace": "\x7f", "Space": " ",
    "Up": "\x1b[A", "Down": "\x1b[B", "Right": "\x1b[C", "Left": "\x1b[D",
    "Home": "\x1b[H", "End": "\x1b[F", "PageUp": "\x1b[5~", "PageDown": "\x1b[6~", "Delete": "\x1b[3~",
    "Ctrl-C": "\x03", "Ctrl-D": "\x04",
}  # fmt: skip
_APPLICATION_ARROWS = {"Up": "\x1bOA", "Down": "\x1bOB", "Right": "\x1bOC", "Left": "\x1bOD"}
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL")


class Terminal:
    """The pseudo-terminal a ``keys`` run gets: its master side, and all the program wrote to it."""

    def __init__(self, columns: int, rows: int) -> None:
        import fcntl
        import termios

        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.output = bytearray()

    def pump(self, seconds: float) -> bool:
        """Read what the program writes for up to ``seconds``; whether anything came."""
        ready, _, _ = select.select([self.master], [], [], seconds)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the program closed its side
            data = b""
        if not data:
            time.sleep(seconds)
            return False
        if len(self.output) < SCREEN_KEEP:
            self.output += data[: SCREEN_KEEP - len(self.output)]
        return True

    def settle(self, quiet: float, longest: float, process: subprocess.Popen[bytes]) -> None:
        """Wait, as a person watching the screen does, for the program to answer (the first output since
        the last key), then until it has written nothing for ``quiet`` seconds; ``longest`` at most."""
        end = time.monotonic() + longest
        answered = False
        while time.monotonic() < end and process.poll() is None:
            came = self.pump(min(quiet if answered else _STEP, max(end - time.monotonic(), 0.0)))
            if answered and not came:
                return
            answered = answered or came

    def type_key(self, key: str) -> None:
        """Send one key as the terminal would."""
        application = self.output.rfind(b"\x1b[?1h") > self.output.rfind(b"\x1b[?1l")
        text = (_APPLICATION_ARROWS.get(key) if application else None) or KEYS.get(key, key)
        with contextlib.suppress(OSError):
            os.write(self.master, text.encode())


def own_group(config: dict) -> None:
    """In the program, before it starts: a process group of its own, Ctrl-C's signal as a program
    expects it (a tool started with SIGINT ignored, as ``nohup`` or a script's ``&`` job does, passes
    that on: the program would never see the Ctrl-C it is tried with), and the memory limit (which
    the driver itself may be without, for the browser, whose address space is huge and mostly unused)."""
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if config.get("address_space"):
        import resource

        limit = config["address_space"]
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def start(config: dict, terminal: Terminal | None) -> subprocess.Popen[bytes]:
    """The program, started in a process group of its own (a terminal's foreground job)."""
    env = dict(os.environ)
    if config.get("port"):
        env["PORT"] = str(config["port"])
    if terminal is not None:
        env["TERM"] = config["term"]
        # Box lines as Unicode: pyte, like many terminals, draws no DEC line graphics in UTF-8.
        env["NCURSES_NO_UTF8_ACS"] = "1"
        streams = {"stdin": terminal.slave, "stdout": terminal.slave}
    else:
        streams = {"stdin": subprocess.PIPE if config.get("stdin") else subprocess.DEVNULL}
    process = subprocess.Popen(config["command"], env=env, preexec_fn=lambda: own_group(config), **streams)
    if terminal is not None:
        os.close(terminal.slave)
    elif process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.write(config["stdin"].encode())
            process.stdin.close()
    return process


def wait(process: subprocess.Popen[bytes], seconds: float, terminal: Terminal | None) -> bool:
    """Wait up to ``seconds`` for the program to end (reading its terminal meanwhile); whether it did."""
    end = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < end:
        if terminal is not None:
            terminal.pump(_STEP)
        else:
            time.sleep(_STEP)
    return process.poll() is not None


def stop(process: subprocess.Popen[bytes], grace: float, terminal: Terminal | None) -> list[str]:
    """Ctrl-C, then SIGTERM, then SIGKILL, each given ``grace`` seconds: the signals it took."""
    sent: list[str] = []
    for name in STOP_SIGNALS:
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, getattr(signal, name))
        sent.append(name)
        wait(process, grace, terminal)
    return sent


def listening(port: int, process: subprocess.Popen[bytes], seconds: float) -> str | None:
    """The host (``127.0.0.1`` or ``::1``) at which ``port`` accepts connections within ``seconds``;
    None when it never does, or the program ends first."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and process.poll() is None:
        for host in ("127.0.0.1", "::1"):
            try:
                socket.create_connection((host, port), timeout=0.5).close()
            except OSError:
                continue
            if listened_by_another(port):
                break  # without the sandbox, another server on this machine took the port: not it
            return host
        time.sleep(_STEP)
    return None


def listened_by_another(port: int) -> bool:
    """Whether the socket listening on ``port`` belongs to no process of this session (the driver's
    and the program's, started in a session of their own); False when ``/proc`` cannot tell."""
    wanted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = [line.split() for line in handle.read().splitlines()[1:]]
        except OSError:
            continue
        for row in rows:  # local address, ..., state 0A is LISTEN, ..., inode
            if len(row) > 9 and row[3] == "0A" and int(row[1].rsplit(":", 1)[1], 16) == port:
                wanted.add(f"socket:[{row[9]}]")
    if not wanted:
        return False
    session = os.getsid(0)
    for pid in (entry for entry in os.listdir("/proc") if entry.isdigit()):
        try:
            if os.getsid(int(pid)) != session:
                continue
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in os.listdir(f"/proc/{pid}/fd")):
                return False
        except OSError:
            continue
    return True


def answer(host: str, port: int, request: dict, seconds: float) -> dict:
    """One request sent, as its method, path, status (None when it got no answer) and body's start."""
    found = {"method": request["method"], "path": request["path"], "status": None, "error": "", "body": ""}
    connection = http.client.HTTPConnection(host, port, timeout=seconds)
    try:
        body = request.get("body")
        connection.request(request["method"], request["path"], body, request.get("headers") or {})
        response = connection.getresponse()
        found["status"] = response.status
        found["content_type"] = response.getheader("Content-Type") or ""
        found["body"] = response.read(BODY_KEEP).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        found["error"] = f"{type(error).__name__}: {error}"[:200]
    finally:
        connection.close()
    return found


def photograph(config: dict, host: str, answers: list[dict]) -> str:
    """A picture of the first HTML page answered, by the headless browser the config names (if any);
    when it takes none, why (the last line it printed)."""
    pages = [a for a in answers if a["status"] == 200 and "text/html" in a.get("content_type", "").lower()]
    if not config.get("browser") or not pages:
        return ""
    where = f"[{host}]" if ":" in host else host
    url = f"http://{where}:{config['port']}{pages[0]['path']}"
    profile = os.path.join(os.path.dirname(config["result"]), "browser")
    command = [
        config["browser"],
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={config['page']}",
        "--window-size=1024,768",
        url,
    ]
    # Its own sandbox cannot start inside ours; the page runs in ours, which has no way out.
    log = open(profile + ".log", "wb")  # noqa: SIM115 - closed below, once the browser is gone
    browser = subprocess.Popen(
        command,
        env={**os.environ, "TMPDIR": "/tmp"},  # its socket's path must be short: not under the run folder
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        preexec_fn=os.setpgrp,
    )  # noqa: PLW1509
    try:
        browser.wait(timeout=config["browser_seconds"])
    except subprocess.TimeoutExpired:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
        log.close()
    if os.path.exists(config["page"]):
        return ""
    with open(profile + ".log", "rb") as handle:
        said = handle.read().decode("utf-8", "replace").splitlines()
    fatal = [line for line in said if "FATAL" in line] or [line for line in said if "dbus" not in line]
    return (fatal[-1] if fatal else f"exit {browser.returncode}")[:300]


def serve(config: dict, process: subprocess.Popen[bytes], result: dict) -> None:
    """Wait for the port, then send each request (and photograph the first page, with a browser)."""
    started = time.monotonic()
    host = listening(config["port"], process, config["listen_seconds"])
    result["listened"] = host is not None
    result["listen_seconds"] = round(time.monotonic() - started, 3)
    if host is None:
        return
    result["answers"] = answers = []
    for request in config["requests"]:
        if answers and answers[-1]["status"] is None:  # a server that stopped answering: not waited for again
            answers.append({**request, "status": None, "error": "not sent: the one before got no answer"})
            continue
        answers.append(answer(host, config["port"], request, config["request_seconds"]))
    result["browser_error"] = photograph(config, host, answers)


def press_keys(config: dict, process: subprocess.Popen[bytes], terminal: Terminal, result: dict) -> None:
    """Type each key once the screen has settled, then give the program time to react to the last.
    ``screen_at`` is how much of the output made the screen the person last looked at while the program
    waited for them: before the key that ended it, or once the keys were all typed."""
    for key in config["keys"]:
        terminal.settle(config["settle_seconds"], config["key_seconds"], process)
        if process.poll() is not None:
            return
        result["screen_at"] = len(terminal.output)
        terminal.type_key(key)
    terminal.settle(config["settle_seconds"], config["key_seconds"], process)


def drive(config: dict) -> tuple[subprocess.Popen[bytes], dict]:
    """Run the program as the config says; the process (ended) and the outcome."""
    mode = config["mode"]
    terminal = Terminal(config["columns"], config["rows"]) if mode == "keys" else None
    result: dict = {"mode": mode, "signals": []}
    started = time.monotonic()
    process = start(config, terminal)
    try:
        if mode == "serve":
            serve(config, process, result)
        elif terminal is not None:
            press_keys(config, process, terminal, result)
        wait(process, config.get("run_seconds") or 0.0, terminal)
        if terminal is not None and process.poll() is None:
            result["screen_at"] = len(terminal.output)
        result["ran_seconds"] = round(time.monotonic() - started, 3)
        result["signals"] = stop(process, config["grace_seconds"], terminal)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # what it left in its group
        process.wait()
        if terminal is not None:
            while terminal.pump(0.0):
                pass
            with open(config["screen"], "wb") as handle:
                handle.write(terminal.output)
    result["exit_code"] = process.returncode
    return process, result


def main() -> None:
    """Read the config, drive the program, write the outcome, end as the program ended."""
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    process, result = drive(config)
    partial = config["result"] + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(partial, config["result"])
    sys.stdout.flush()
    code = process.returncode
    if code is not None and code < 0:
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code or 0)


if __name__ == "__main__":
    main()
