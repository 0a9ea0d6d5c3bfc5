"""Counting a run's tasks: its processes and their threads together, zombies included.

The runner's process cap counts live processes; a program can instead start thousands of threads, or
leave thousands of zombies (children it never waits for), and each is a task of the kernel's all the
same. RLIMIT_NPROC would count them, but per user over the whole machine (a busy desktop, or root, for
whom it does not apply), so the run's own tasks are counted here instead, from ``/proc``.
"""

from __future__ import annotations

import os
from typing import NamedTuple

MAX_TASKS = 256  # processes and threads of one run together; zombies count


def stat_fields(pid: str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, session, ...);
    None when the process is gone. Plain system calls: this runs for every process on the machine,
    several times a second while a program runs, where a Python file object costs three times as much."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        stat = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    return stat[stat.rfind(b")") + 2 :].split()


class RunSize(NamedTuple):
    """How big a run is now: its live processes, and its tasks (threads and zombies counted too)."""

    processes: int
    tasks: int


def run_size(session: int, root: int | None = None) -> RunSize:
    """The processes in ``session``, and under a sandbox those below ``root`` (bwrap), from one pass
    over ``/proc`` (the runner checks several times a second while a program runs): the live ones, and
    their tasks, each process's threads and a zombie as one. Linux; zeros elsewhere."""
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return RunSize(0, 0)
    parents, threads, live, counted = {}, {}, set(), set()
    for entry in entries:
        fields = stat_fields(entry)
        if fields is None or len(fields) < 18:
            continue
        pid = int(entry)
        parents[pid], threads[pid] = int(fields[1]), max(1, int(fields[17]))
        if fields[0] != b"Z":
            live.add(pid)
        if int(fields[3]) == session:
            counted.add(pid)
    if root is not None:
        below = {root}
        for pid in sorted(parents):  # a parent may have a higher pid: walk up from each
            chain, at = [], pid
            while at in parents and at not in below and at > 1 and len(chain) < 64:
                chain.append(at)
                at = parents[at]
            if at in below:
                below.update(chain)
        counted |= below - {root}
    return RunSize(len(counted & live), sum(threads[pid] for pid in counted if pid in threads))
