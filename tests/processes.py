"""Processes from tests: starting one with a set-up of its own, and whether one still runs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def after_setup(setup: str, command: list[str]) -> list[str]:
    """``command``, started after the Python statements ``setup`` ran in its process (same process ID,
    limits and capabilities carried over the exec).

    Instead of ``preexec_fn``, which runs Python in a fork of the test process, and that process has
    threads (the fake server): a lock another thread held at the fork stays held in the child for ever.
    Isolated (-I -S): nothing of the environment runs before the command."""
    then_exec = "import os, sys; os.execvp(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-I", "-S", "-c", f"{setup}\n{then_exec}", *command]


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def still_alive_after(pids: list[int], seconds: float = 10) -> list[int]:
    """Those of ``pids`` still running once all have ended or ``seconds`` have passed: a process sent
    SIGKILL is gone only when the kernel has finished tearing it down, later on a busy machine."""
    deadline = time.monotonic() + seconds
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return left


def working_in(folder: Path) -> list[int]:
    """The live processes whose current folder is ``folder`` or inside it (Linux /proc)."""
    inside = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if (cwd == folder or folder in cwd.parents) and alive(int(entry.name)):
            inside.append(int(entry.name))
    return inside
