"""The pseudo-terminal the CLI tests drive: a real controlling terminal of the size asked for, where
Ctrl-C interrupts, started from a process with threads without forking it (Python 3.12+ warns that a
fork there may deadlock the child)."""

from __future__ import annotations

import sys
import threading
import warnings
from pathlib import Path

from conftest import WAIT
from terminal_process import TerminalProcess

# Says the terminal's size and whether the program has it as its controlling terminal, in the foreground
# (only then does Ctrl-C reach it), then waits for a line.
PROGRAM = """
import os, sys
size = os.get_terminal_size(0)
foreground = os.tcgetpgrp(0) == os.getpgrp() == os.getsid(0)
print(f"{size.lines}x{size.columns}", "foreground" if foreground else "not the controlling terminal")
try:
    # Not input(): GNU readline sets the terminal up after the prompt is shown, and a Ctrl-C that
    # arrives meanwhile can be lost (seen on Python 3.10 under load). A plain read is interrupted.
    print("> ", end="", flush=True)
    sys.stdin.readline()
except KeyboardInterrupt:
    print("interrupted")
    sys.exit(3)
"""


def test_the_program_has_the_terminal_of_the_size_asked_and_ctrl_c_interrupts_it(tmp_path: Path) -> None:
    other_thread_runs, release = threading.Event(), threading.Event()
    other = threading.Thread(target=lambda: (other_thread_runs.set(), release.wait(WAIT)), daemon=True)
    other.start()
    other_thread_runs.wait(WAIT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "This process is multi-threaded, use of fork() ..."
            child = TerminalProcess(
                [sys.executable, "-c", PROGRAM], cwd=tmp_path, env={}, timeout=WAIT, size=(30, 100)
            )
    finally:
        release.set()
    try:
        child.expect_exact("30x100 foreground")
        child.expect_exact("> ")
        child.sendintr()
        child.expect_exact("interrupted")
        assert child.wait_exit() == 3
    finally:
        child.stop()
