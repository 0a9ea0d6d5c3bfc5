"""A virtual X display (Xvfb) for one run of a program with a window, and a screenshot of it.

The automatic runs never use the person's own display: each window run gets an Xvfb of its own,
started for that run only, listening on no TCP port, and stopped after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import running, strays
from .window_crop import cropped, shown_windows

SCREEN = "1024x768x24"
SHOT_SECONDS = 5.0  # a screenshot takes well under a second; a display that does not answer by then won't
NO_ANSWER = "the display did not answer"
_GRAB = (
    "import sys\nfrom PIL import ImageGrab\nImageGrab.grab(xdisplay=sys.argv[1]).save(sys.argv[2], 'PNG')\n"
)
_SHOT_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
START_SECONDS = 10
INSTALL_HINT = (
    "install the xvfb package ('sudo apt-get install xvfb' on Debian/Ubuntu, 'sudo dnf install "
    "xorg-x11-server-Xvfb' on Fedora, XQuartz on macOS)"
)


@dataclass(frozen=True)
class Display:
    """A running X display: its name for ``DISPLAY`` and its socket."""

    name: str  # ``:99``

    @property
    def socket(self) -> Path:
        """The X server's Unix socket, the one path a sandboxed program needs to reach it."""
        return Path(f"/tmp/.X11-unix/X{self.name.lstrip(':')}")

    def screenshot(self, path: Path) -> str | None:
        """Save what the display shows, cut to the program's windows, as a PNG at ``path``; why it
        could not, or None.

        Taken in a child process with a deadline: a program holding the X server (``GrabServer``)
        makes the grab wait for ever, inside C code that holds Python's lock; only that child waits.
        """
        command = [sys.executable, "-I", "-c", _GRAB, self.name, str(path)]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=SHOT_SECONDS, check=False, env=_SHOT_ENV
            )
        except subprocess.TimeoutExpired:
            return NO_ANSWER
        except OSError as error:
            return f"the screenshot could not be started ({error.strerror or error})"
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return f"the screenshot failed ({said[-1][:200] if said else f'exit {done.returncode}'})"
        self._crop_to_windows(path)
        return None

    def _crop_to_windows(self, path: Path) -> None:
        """Cut the saved screenshot to the program's windows (xwininfo answers within its own
        deadline); the whole screen stays when that cannot be done."""
        try:
            from PIL import Image

            with Image.open(path) as whole:
                whole.load()
            cropped(whole, shown_windows(self.name)).save(path, "PNG")
        except (OSError, ImportError, ValueError):
            return


def taken_at(path: Path) -> str | None:
    """The local time a screenshot was taken (when its file was written): ``14:03:27 CET``."""
    try:
        return time.strftime("%H:%M:%S %Z", time.localtime(path.stat().st_mtime))
    except OSError:
        return None


def available() -> bool:
    """Whether a virtual display can be started here."""
    return shutil.which("Xvfb") is not None


# Xvfb starts behind a gate: a shell, carrying the run's token, that waits for a line on its stdin and
# only then becomes Xvfb (exec: the same process, group and environment). The run is recorded in
# runs/.running between the two, so a tool killed at any moment leaves either no Xvfb (the gate reads
# the end of its input when the tool dies, and exits) or a recorded one that the next start stops.
_GATE = 'read go && exec "$@" </dev/null'
# For tests: called with each step of the start (``spawned``, ``recorded``), the gate's pid and the
# run's token.
step_hook: Callable[[str, int, str], None] | None = None


@contextlib.contextmanager
def virtual_display(workspace: Path | None = None, folder: Path | None = None) -> Iterator[Display]:
    """An Xvfb on a free display number (it picks one itself: ``-displayfd``), stopped on exit.

    It carries a run token of its own and, with a ``workspace``, is recorded in its ``runs/.running``
    (shown as ``folder``) before it starts and while it runs, so that the next start stops it if the
    tool was killed. Raises OSError when Xvfb is missing or does not start.
    """
    executable = shutil.which("Xvfb")
    if executable is None:
        raise OSError("Xvfb is not installed")
    read_end, write_end = os.pipe()
    command = [executable, "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"]
    token = strays.new_token()
    server = subprocess.Popen(
        ["/bin/sh", "-c", _GATE, "Xvfb", *command], pass_fds=(write_end,), stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**_SHOT_ENV, strays.ENV_NAME: token},
    )  # fmt: skip
    os.close(write_end)
    try:
        # A stop signal ends it with the program it shows; once the session ends, none starts.
        running.started(server.pid, token)
        _step("spawned", server.pid, token)
        if workspace is not None:
            strays.record_run(workspace, token, server.pid, folder or workspace)
        _step("recorded", server.pid, token)
        _open_gate(server)
        number = _read_display_number(read_end)
        if number is None:
            raise OSError("Xvfb did not start")
        yield Display(f":{number}")
    finally:
        os.close(read_end)
        if server.stdin is not None:
            server.stdin.close()  # a gate still shut exits: it never becomes an Xvfb
        server.kill()
        server.wait()
        running.ended(server.pid)
        if workspace is not None:
            strays.forget_run(workspace, token)


def _step(name: str, pid: int, token: str) -> None:
    if step_hook is not None:
        step_hook(name, pid, token)


def _open_gate(server: subprocess.Popen[bytes]) -> None:
    """Let the gate become Xvfb (one that already ended reads nothing: it does not start)."""
    if server.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            server.stdin.write(b"go\n")
            server.stdin.close()


def _read_display_number(fd: int) -> str | None:
    """The display number Xvfb writes to ``fd`` once it is ready (it closes nothing: read to newline)."""
    import select

    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], START_SECONDS)
        if not ready:
            return None
        chunk = os.read(fd, 16)
        if not chunk:
            return None
        data += chunk
    number = data.strip().decode()
    return number if number.isdigit() else None
