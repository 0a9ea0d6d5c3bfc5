"""A virtual X display (Xvfb) for one run of a program with a window, and a screenshot of it.

The automatic runs never use the person's own display: each window run gets an Xvfb of its own,
started for that run only, listening on no TCP port, and stopped after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .window_crop import cropped, shown_windows

SCREEN = "1024x768x24"
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

    def screenshot(self, path: Path) -> bool:
        """Save what the display shows, cut to the program's windows, as a PNG at ``path``; False when
        it cannot be taken."""
        try:
            from PIL import ImageGrab

            whole = ImageGrab.grab(xdisplay=self.name)
            cropped(whole, shown_windows(self.name)).save(path, "PNG")
        except (OSError, ImportError, ValueError):
            return False
        return True


def taken_at(path: Path) -> str | None:
    """The local time a screenshot was taken (when its file was written): ``14:03:27 CET``."""
    try:
        return time.strftime("%H:%M:%S %Z", time.localtime(path.stat().st_mtime))
    except OSError:
        return None


def available() -> bool:
    """Whether a virtual display can be started here."""
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def virtual_display() -> Iterator[Display]:
    """An Xvfb on a free display number (it picks one itself: ``-displayfd``), stopped on exit.

    Raises OSError when Xvfb is missing or does not start.
    """
    executable = shutil.which("Xvfb")
    if executable is None:
        raise OSError("Xvfb is not installed")
    read_end, write_end = os.pipe()
    command = [executable, "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"]
    server = subprocess.Popen(
        command, pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.close(write_end)
    try:
        number = _read_display_number(read_end)
        if number is None:
            raise OSError("Xvfb did not start")
        yield Display(f":{number}")
    finally:
        os.close(read_end)
        server.kill()
        server.wait()


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
