"""The generated programs running now, and stopping them all: when the person presses Ctrl-C while a
program has the keyboard, and when the session ends (Ctrl-C, SIGTERM, SIGHUP), after which none of
its runs may start.

A session stopped mid-run exits without waiting for its job threads; one that started its next run
(the tests, after the program) as the tool exited left bubblewrap's init running for good, since
that init arms its death signal a moment after it starts. So a run registers itself
(:func:`started`) and then looks whether its session is ending, and the session's end is marked
before the look at what runs: one of the two always sees the other.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import threading
from collections.abc import Iterator

from . import strays
from .sandbox import process_table

_RUNNING: dict[int, str] = {}  # the session ids of the programs running now, with their run tokens
# Set once the session (the context the runs are asked for in) is ending: see session_runs.
_SESSION_ENDED: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "session_ended", default=None
)


class SessionEnding(RuntimeError):
    """A run asked for by a job of a session that is ending: nothing was started."""


@contextlib.contextmanager
def session_runs() -> Iterator[None]:
    """Runs asked for inside (here, and in the tasks and job threads made from here) start until
    :func:`stop_all_programs` is called with ``ending``; from then on none does."""
    marker = _SESSION_ENDED.set(threading.Event())
    try:
        yield
    finally:
        _SESSION_ENDED.reset(marker)


def started(session_id: int, token: str) -> None:
    """A program (or a helper of a run: an Xvfb in a session of its own) was started as ``session_id``,
    waiting, so it has done nothing yet; raises :class:`SessionEnding`, with it unregistered, when its
    session is ending: then it must not go on."""
    _RUNNING[session_id] = token
    if (ending := _SESSION_ENDED.get()) is not None and ending.is_set():
        _RUNNING.pop(session_id, None)
        raise SessionEnding("a run was asked for after the session began to end; it was not started")


def ended(session_id: int) -> None:
    """The program started as ``session_id`` was stopped, or has ended."""
    _RUNNING.pop(session_id, None)


def stop_all_programs(ending: bool = False) -> None:
    """Kill every generated program running now, with all it started (Ctrl-C while a program has the
    keyboard; or, with ``ending``, the session is ending: then no run of it starts after this). Safe
    to call from a signal handler on the main thread."""
    if ending and (marker := _SESSION_ENDED.get()) is not None:
        marker.set()  # before the look at what runs: a run registers itself, then looks at this
    for session_id, token in list(_RUNNING.items()):
        kill_session(session_id)
        strays.stop_run(token, session_id)


def processes_in_session(session_id: int) -> list[int]:
    """The live processes whose session is ``session_id`` (Linux /proc; empty elsewhere)."""
    return [pid for pid, info in process_table().items() if info.session == session_id]


def kill_session(session_id: int) -> None:
    """SIGKILL the process group ``session_id`` and every other process left in that session."""
    for _ in range(5):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(session_id, signal.SIGKILL)
        members = processes_in_session(session_id)
        if not members:
            return
        strays.kill_each(members)
