"""The tool's own process always ends: a thread that never ends cannot keep it alive after a stop
signal or after its main() returned."""

from __future__ import annotations

import signal
import subprocess
import sys

from conftest import WAIT

# A process like the tool's: a stop signal during the session, then a library thread that never ends.
STUCK = """
import os, signal, threading
from iterative_coder import endings, wiring
endings.EXIT_WATCHDOG = True
endings.STUCK_SECONDS = 0.5
threading.Thread(target=threading.Event().wait).start()  # not a daemon: the interpreter waits for it
with wiring.signals_stop_the_session():
    try:
        signal.raise_signal(signal.SIGTERM)
    except KeyboardInterrupt:
        print("stopped", flush=True)
"""


def test_a_thread_that_never_ends_does_not_keep_the_tool_alive_after_a_stop_signal() -> None:
    done = subprocess.run([sys.executable, "-c", STUCK], capture_output=True, text=True, timeout=WAIT)
    assert done.stdout == "stopped\n"
    assert done.returncode == 128 + signal.SIGTERM
    assert done.stderr == "iterative_coder: still running 0.5 s after it should have ended; exiting.\n"
