"""Waiting for a child process to end or a time to pass, whichever comes first."""

from __future__ import annotations

import contextlib
import os
import select
import time


class ExitWatch:
    """Waits on a pidfd where the system has them (woken by the exit itself), else in sleeps of at
    most ``poll_seconds``. Use it as a context manager: the pidfd is closed at the end."""

    def __init__(self, pid: int, poll_seconds: float) -> None:
        self._poll_seconds = poll_seconds
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._fd = os.pidfd_open(pid)  # type: ignore[attr-defined]

    def __enter__(self) -> ExitWatch:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)

    def wait(self, seconds: float) -> None:
        """Return when the process has ended or after ``seconds`` (sooner without a pidfd)."""
        if self._fd is None:
            time.sleep(min(seconds, self._poll_seconds))
        else:
            select.select([self._fd], [], [], seconds)
