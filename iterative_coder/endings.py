"""How a session can end: one table from the reason to the exit code and what the person reads."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import dataclass

EXIT_OK = 0
EXIT_UNFINISHED = 1
EXIT_USAGE = 2
EXIT_MODEL_UNAVAILABLE = 75
EXIT_HUNG_UP = 128 + signal.SIGHUP  # 129
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_READER_GONE = 128 + signal.SIGPIPE  # 141: stdout's reader went away (``status DIR | head -1``)
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


@dataclass(frozen=True)
class Ending:
    """One way a session ends."""

    exit_code: int
    message: str
    summary: bool = False  # show the summary table of versions


ENDINGS: dict[str, Ending] = {
    "accepted": Ending(EXIT_OK, "Accepted", summary=True),
    "done": Ending(EXIT_OK, "Accepted", summary=True),
    "finished": Ending(EXIT_OK, "This session had already finished.", summary=True),
    "stopped": Ending(EXIT_OK, "Stopped."),
    "ended": Ending(EXIT_UNFINISHED, "Input ended."),
    "limit": Ending(EXIT_UNFINISHED, "Reached the iteration limit without approval.", summary=True),
    "no_code": Ending(EXIT_UNFINISHED, "No script was written."),
    "stalled": Ending(EXIT_UNFINISHED, "Stopped: no progress.", summary=True),
    "budget": Ending(EXIT_UNFINISHED, "Stopped: the budget is reached.", summary=True),
    "error": Ending(EXIT_UNFINISHED, "Stopped by an unexpected error."),
    "usage": Ending(EXIT_USAGE, "Stopped before the session: the command line needs fixing."),
    "configuration": Ending(EXIT_USAGE, "Stopped: the configuration needs fixing."),
    "model_unavailable": Ending(EXIT_MODEL_UNAVAILABLE, "Stopped: no configured model could answer."),
    "file_error": Ending(EXIT_UNFINISHED, "Stopped: a file of the workspace could not be written."),
    "workspace_unusable": Ending(EXIT_USAGE, "Stopped before the session: the workspace could not be used."),
    "interrupted": Ending(EXIT_INTERRUPTED, "Stopped."),
    "terminated": Ending(EXIT_TERMINATED, "Stopped by SIGTERM."),
    "hung_up": Ending(EXIT_HUNG_UP, "Stopped: the terminal hung up (SIGHUP)."),
}
REASON_BY_EXIT_CODE = {EXIT_MODEL_UNAVAILABLE: "model_unavailable", EXIT_USAGE: "configuration"}
REASON_BY_SIGNAL = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung_up"}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised on the main thread so that the session ends as Ctrl-C ends it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def interruption_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The interruption (Ctrl-C, SIGTERM, SIGHUP) that ``exc`` was raised while handling, if any.

    The signal raises at whatever line runs; inside a library's clean-up (anyio's cancel scopes under
    the HTTP client) that clean-up may then fail in turn ("Attempted to exit a cancel scope that isn't
    the current task's current cancel scope"), and that error, not the interruption, reaches the top.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 100:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def interruption(exc: KeyboardInterrupt) -> str:
    """How an interruption ends: ``terminated`` or ``hung_up`` for those signals, else ``interrupted``."""
    return REASON_BY_SIGNAL.get(getattr(exc, "signum", None), "interrupted")  # type: ignore[arg-type]


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended: the reason, a key of :data:`ENDINGS`, and the one line that explained a
    failure (None when nothing failed)."""

    reason: str
    error: str | None = None

    @property
    def exit_code(self) -> int:
        """The process's exit code for this ending."""
        return ENDINGS[self.reason].exit_code


def outcome_without_session(workspace: str | None, end: SessionEnd) -> dict[str, object]:
    """The ``--json`` object when no session's files could be read (a usage or configuration error, an
    interruption before the start): every key of a full outcome (app.json_result), nothing done."""
    return {
        "workspace": workspace,
        "stop_reason": end.reason,
        "stall": None,
        "exit_code": end.exit_code,
        "error": end.error,  # the one line that explained a failure, else None
        "final_script": None,  # the accepted version's script
        "latest_script": None,
        "first_good_version": None,
        "versions": [],
        "tokens": 0,
        "prompt_tokens": 0,
        "cached_tokens": 0,
        "cost_usd": 0.0,
        "models": {},
    }


# Set by ``python -m iterative_coder`` (never in a test process running the CLI in-process): the tool's
# own process may end itself when its way out hangs.
EXIT_WATCHDOG = False
STUCK_SECONDS = 20.0  # the most the way out may take, after a stop signal or after main() returned


def exit_if_still_running(code: int) -> None:
    """End the process with ``code`` if it is still running :data:`STUCK_SECONDS` from now. The way
    out (the resume line, the ``--json`` object, closing clients) takes well under a second; a library
    thread that never ends would otherwise keep the interpreter from exiting, and a signal from
    stopping it."""
    seconds = STUCK_SECONDS

    def exit_now() -> None:
        with contextlib.suppress(OSError):
            said = f"iterative_coder: still running {seconds:g} s after it should have ended; exiting.\n"
            os.write(2, said.encode())
        os._exit(code)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()
