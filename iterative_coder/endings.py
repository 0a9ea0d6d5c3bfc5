"""How a session can end: one table from the reason to the exit code and what the person reads."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_UNFINISHED = 1
EXIT_USAGE = 2
EXIT_MODEL_UNAVAILABLE = 75
EXIT_INTERRUPTED = 130


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
    "configuration": Ending(EXIT_USAGE, "Stopped: the configuration needs fixing."),
    "model_unavailable": Ending(EXIT_MODEL_UNAVAILABLE, "Stopped: no configured model could answer."),
    "interrupted": Ending(EXIT_INTERRUPTED, "Stopped."),
}
REASON_BY_EXIT_CODE = {EXIT_MODEL_UNAVAILABLE: "model_unavailable", EXIT_USAGE: "configuration"}


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended: the reason, a key of :data:`ENDINGS`."""

    reason: str

    @property
    def exit_code(self) -> int:
        """The process's exit code for this ending."""
        return ENDINGS[self.reason].exit_code
