"""Processes of a run that the tool could not stop, found and stopped later.

Each run of generated code carries a random token in the environment it is started with
(``ITERATIVE_CODER_RUN=<token>``, in bwrap's own ``/proc/<pid>/environ`` too, and inherited by all it
starts), and is recorded in ``runs/.running`` (its token, process group and folder) before it may do
anything; the record goes when the run ends. A tool killed with SIGKILL cannot remove it, and what
it was running may outlive it: bubblewrap's init when the tool dies at the instant a sandbox starts
(see :mod:`sandbox`), and without the sandbox what the program started in its process group. The
next start in that workspace, once it holds the lock, stops them (:func:`stop_strays`).

A process is the run's when its environment holds the token and it is in the run's process group, or
in a PID namespace other than ours (a sandbox: bwrap's init leaves the run's group for a session of
its own before it arms its death signal). The token is 128 random bits, so a process id or group
reused by another program never matches. Linux ``/proc``; elsewhere nothing is ever found.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..names import RUNS_FOLDER
from ..textsafe import clean_terminal_text
from ..workspace import atomic_write_text, inner_folder
from .sandbox import process_table

ENV_NAME = "ITERATIVE_CODER_RUN"
RECORD = ".running"  # in runs/: the runs under way
_TOKEN_HEX = 32
_KILL_ROUNDS = 50  # rounds of killing and looking again, _POLL_SECONDS apart: a second at most
_POLL_SECONDS = 0.02
_RECORD_LOCK = threading.Lock()  # one read-modify-write of the record at a time


@dataclass(frozen=True)
class RunMark:
    """One run under way: its token, its process group and its folder as shown (``runs/v3/demo-1``)."""

    token: str
    group: int
    folder: str


def new_token() -> str:
    """A fresh run token (128 random bits, hex)."""
    return secrets.token_hex(_TOKEN_HEX // 2)


def record_path(workspace_root: Path) -> Path:
    """``runs/.running`` of the workspace (``runs/`` made if needed; refused if it is a link)."""
    return inner_folder(workspace_root, RUNS_FOLDER) / RECORD


def record_run(workspace_root: Path, token: str, group: int, folder: Path) -> None:
    """Add the run to the workspace's record, atomically (a crash leaves the old record or the new)."""
    root = Path(workspace_root).resolve()
    try:
        shown = Path(folder).resolve().relative_to(root).as_posix()
    except ValueError:  # a check in a temporary folder
        shown = str(folder)
    mark = RunMark(token, group, shown)
    with _RECORD_LOCK:
        path = record_path(root)
        _write(path, [*_read(path), mark])


def forget_run(workspace_root: Path, token: str) -> None:
    """Take the run out of the record, once it ended; the record goes with its last run.

    A record that cannot be changed is left: the next start finds nothing of the run and removes it.
    """
    path = Path(workspace_root) / RUNS_FOLDER / RECORD
    if path.parent.is_symlink():  # runs/ replaced by a link: nothing is removed through it
        return
    with _RECORD_LOCK, contextlib.suppress(OSError):
        left = [mark for mark in _read(path) if mark.token != token]
        if left:
            _write(path, left)
        else:
            path.unlink(missing_ok=True)


def recorded_runs(workspace_root: Path) -> list[RunMark]:
    """The runs the record holds (none when it is missing, a link or unreadable; bad entries skipped)."""
    return _read(Path(workspace_root) / RUNS_FOLDER / RECORD)


def _write(path: Path, marks: list[RunMark]) -> None:
    # Not flushed to the disk: the record has to outlive the tool's process, not the machine (a power
    # cut ends the runs as well).
    text = json.dumps({"runs": [asdict(mark) for mark in marks]}, indent=1) + "\n"
    atomic_write_text(path, text, durable=False)


def _read(path: Path) -> list[RunMark]:
    if path.is_symlink() or path.parent.is_symlink():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return []
    entries = data.get("runs") if isinstance(data, dict) else None
    return [mark for entry in entries or [] if (mark := _mark(entry)) is not None]


def _mark(entry: object) -> RunMark | None:
    """An entry of the record as a :class:`RunMark`, or None when it is not one."""
    if not isinstance(entry, dict):
        return None
    token, group, folder = entry.get("token"), entry.get("group"), entry.get("folder")
    if not (isinstance(token, str) and len(token) == _TOKEN_HEX and set(token) <= set("0123456789abcdef")):
        return None
    if not (isinstance(group, int) and not isinstance(group, bool) and group > 1 and isinstance(folder, str)):
        return None
    # Shown on the terminal: without the control sequences a program could have written there.
    return RunMark(token, group, " ".join(clean_terminal_text(folder).split()))


def kill_each(pids: list[int]) -> None:
    """SIGKILL each of ``pids`` (one already gone is skipped), then give them a moment to go."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(_POLL_SECONDS)


def stop_run(token: str, group: int) -> int:
    """SIGKILL every process of the run (see the module's rule) until none is left; how many there were."""
    stopped: set[int] = set()
    for _ in range(_KILL_ROUNDS):
        found = processes_of_run(token, group)
        if not found:
            break
        kill_each(found)
        stopped.update(found)
    return len(stopped)


def processes_of_run(token: str, group: int) -> list[int]:
    """The live processes whose environment holds the run's token and that are in its process group
    or in another PID namespace than ours (Linux /proc; empty elsewhere)."""
    needle = f"{ENV_NAME}={token}".encode()
    ours = pid_namespace("self")
    found = []
    for pid, info in process_table().items():
        if pid == os.getpid():
            continue
        if info.group != group and pid_namespace(str(pid)) in (None, ours):
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        if needle in environ:
            found.append(pid)
    return found


def pid_namespace(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def stop_strays(workspace_root: Path) -> list[str]:
    """Stop what the runs in the workspace's record left running, remove the record; one line for each
    run that had left something (``Stopped 1 process left running by an earlier run (runs/v3/demo-1).``).

    Call it with the workspace's lock held, before any run starts: every run recorded then is over.
    """
    lines = []
    for mark in recorded_runs(workspace_root):
        count = stop_run(mark.token, mark.group)
        if count:
            what = "process" if count == 1 else "processes"
            lines.append(f"Stopped {count} {what} left running by an earlier run ({mark.folder}).")
    runs = Path(workspace_root) / RUNS_FOLDER
    if runs.is_dir() and not runs.is_symlink():
        # The record, and the temporary file of a write the tool was killed in (workspace.py's naming).
        for path in [runs / RECORD, *runs.glob(f".{RECORD}.*.tmp")]:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    return lines
