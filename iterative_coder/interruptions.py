"""Signals during a session: SIGTERM and SIGHUP end it as Ctrl-C does, and none can be lost."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from . import endings
from .endings import REASON_BY_SIGNAL, Terminated, exit_if_still_running


@contextlib.contextmanager
def signals_stop_the_session() -> Iterator[None]:
    """While inside: SIGTERM and SIGHUP raise :class:`Terminated` on the main thread, so they end the
    session as Ctrl-C does (the call under way cancelled, the resume line, the ``--json`` object).

    A signal already ignored (``nohup``) stays ignored; off the main thread nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        if endings.EXIT_WATCHDOG:
            exit_if_still_running(128 + signum)
        raise Terminated(signum)

    previous = {}
    for number in REASON_BY_SIGNAL:
        if signal.getsignal(number) != signal.SIG_IGN:
            previous[number] = signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def signals_also_cancel(
    loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], received: list[int]
) -> Iterator[None]:
    """While the session's task runs: Ctrl-C, SIGTERM and SIGHUP still raise where the main thread is
    (as outside it: a question waiting on a person is closed at once), and also cancel the task.

    The raise alone can be lost: a signal that lands while a finalizer runs (``__del__``, a closing
    generator) raises there, and Python only prints and drops an exception raised in one; the session
    then went on until the exit watchdog. The cancel reaches the task at the loop's next turn whatever
    happened to the raise; ``received`` says which signal it was. Python's report of the dropped
    raise ("Exception ignored in ...", a traceback) is not printed: the stop is not lost, and the
    person would see a traceback on an ordinary Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    report_dropped = sys.unraisablehook

    def report_unless_the_stop(unraisable: Any) -> None:
        if not (received and issubclass(unraisable.exc_type, KeyboardInterrupt)):
            report_dropped(unraisable)

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)
        with contextlib.suppress(RuntimeError):  # the loop is closed: the raise is all there is
            loop.call_soon_threadsafe(task.cancel)
        previous[signum](signum, frame)

    for number in (signal.SIGINT, *REASON_BY_SIGNAL):
        handler = signal.getsignal(number)
        if callable(handler):  # not ignored (nohup), not the system default
            previous[number] = handler
            signal.signal(number, on_signal)
    sys.unraisablehook = report_unless_the_stop
    try:
        yield
    finally:
        sys.unraisablehook = report_dropped
        for number, handler in previous.items():
            signal.signal(number, handler)


def interruption_for(signum: int) -> KeyboardInterrupt:
    """The interruption a signal raises: Ctrl-C's, or :class:`Terminated` for SIGTERM and SIGHUP."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)
