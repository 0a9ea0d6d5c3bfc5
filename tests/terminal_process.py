"""A program on a pseudo-terminal of its own, as a person's terminal runs it, started without forking.

``pexpect.spawn`` forks this process (``pty.fork``), and a test process has threads (the fake server),
so a lock another thread held at that moment stays held in the child for ever; Python 3.12+ warns
about it ("This process is multi-threaded, use of forkpty() may lead to deadlocks in the child").
Here :class:`subprocess.Popen` starts the program instead (an exec straight after a vfork, nothing of
this process runs in the child) on a pty pair: the program's own session, the pty its controlling
terminal, so Ctrl-C is a SIGINT from the terminal and the window has a size. Waiting for text is
pexpect's own ``expect``, on the pty's master side (``fdspawn``).
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import termios
from pathlib import Path

import preloaded
from pexpect import EOF
from pexpect.fdpexpect import fdspawn
from processes import after_setup

# Run in the child before the program: a new session has no controlling terminal until its leader
# takes one, and only the process itself can (TIOCSCTTY on its stdin, the pty).
_TAKE_THE_TERMINAL = "import fcntl, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0)"


def set_window_size(fd: int, rows: int, columns: int) -> None:
    """The size of the terminal ``fd`` is a side of, in characters (the program gets SIGWINCH)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class TerminalProcess(fdspawn):
    """``command`` running on a pseudo-terminal of ``size`` (rows, columns); ``expect``, ``send`` and
    ``sendline`` as pexpect's (text: UTF-8, undecodable bytes replaced), the process as :attr:`process`.
    Every wait is bounded by ``timeout``."""

    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        size: tuple[int, int] = (24, 80),
    ) -> None:
        master, slave = os.openpty()
        try:
            set_window_size(slave, *size)
            self.process: subprocess.Popen[bytes] | preloaded.Process | None = None
            if preloaded.usable(command, env):
                self.process = preloaded.start(
                    command, env, cwd, (slave, slave, slave), session=True, controlling_terminal=True
                )
            if self.process is None:
                self.process = subprocess.Popen(
                    after_setup(_TAKE_THE_TERMINAL, command),
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    cwd=cwd,
                    env=env,
                    start_new_session=True,
                )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # the program's end is then the terminal's end: reading gives EOF
        super().__init__(master, timeout=timeout, encoding="utf-8", codec_errors="replace", use_poll=True)
        self.pid = self.process.pid

    def sendintr(self) -> None:
        """Press Ctrl-C (the terminal's interrupt character): a SIGINT unless the program reads keys raw."""
        self.send(termios.tcgetattr(self.child_fd)[6][termios.VINTR].decode())

    def sendeof(self) -> None:
        """Press Ctrl-D (the terminal's end-of-file character): end of input for a line being read."""
        self.send(termios.tcgetattr(self.child_fd)[6][termios.VEOF].decode())

    def kill(self, signal_number: int) -> None:
        """Send the program a signal."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)

    def isalive(self) -> bool:
        """Whether the program still runs."""
        return self.process.poll() is None

    def wait_exit(self) -> int:
        """Wait (bounded) for the program to end, reading what it still prints; its exit code, 128 plus
        the signal's number when a signal ended it (as a shell says)."""
        self.expect(EOF)
        self.close()
        code = self.process.wait(self.timeout)
        return 128 - code if code < 0 else code

    def stop(self) -> None:
        """End the program if it still runs (SIGKILL), and the terminal."""
        self.kill(signal.SIGKILL)
        self.process.wait(self.timeout)
        self.close()
