"""One demo run of a version: how its command ended (:class:`CommandRecord`), what that means (its
kind, :func:`kind_of`) and its record's JSON, for :mod:`records.run`, which writes and reads them in
``run_vN.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .trial import TRIAL_PROBLEMS, Trial, trial_kind, trial_problem, trial_words

# What can become of a demo run; only those in PROBLEM_KINDS stand in the way of an approval.
ENDED, EXITED, CRASHED, KILLED, WINDOW, NO_DISPLAY, WAITED, TIMED_OUT, TOO_MANY, NOT_RUN = (
    "ended", "exited", "crashed", "killed", "window shown", "no display", "waited for input",
    "timed out", "too many processes", "not run",
)  # fmt: skip
PROBLEM_KINDS = frozenset({CRASHED, KILLED, TIMED_OUT, TOO_MANY}) | TRIAL_PROBLEMS
NO_DISPLAY_REASON = "it opens a window and no virtual display is available (install the xvfb package)"


@dataclass(frozen=True)
class CommandRecord:
    """How one command ended, as facts; the output excerpts are for people and not compared."""

    description: str  # ``exit 0``, ``still running after 30 s, stopped``...
    exit_code: int | None
    seconds: float
    timed_out: bool = False
    too_many_processes: bool = False
    crash: str | None = None  # the exception that ended it, e.g. ``IndexError``
    killed_by: str | None = None  # the signal that ended it, e.g. ``SIGSEGV``, when the tool did not send it
    leftover_processes: int = 0
    stdout: str = field(default="", compare=False)
    stderr: str = field(default="", compare=False)
    stdout_bytes: int = field(default=0, compare=False)  # the whole size, when only excerpts are kept
    stderr_bytes: int = field(default=0, compare=False)

    @property
    def ok(self) -> bool:
        """Ended by itself with exit 0, or still running at the timeout (a server, a GUI)."""
        return not self.too_many_processes and (self.timed_out or self.exit_code == 0)


@dataclass(frozen=True)
class DemoResult:
    """One demo run: what was tried, how the program ran, and what that means (its kind)."""

    name: str
    command: CommandRecord
    kind: str  # one of the kinds above
    args: tuple[str, ...] = ()
    stdin: str = ""
    screenshot: str | None = None  # the screen's PNG, relative to the workspace
    trimmed: int = 0  # bytes of files it left that were removed to keep its folder within the cap
    trial: Trial | None = None  # how it was tried while it ran: requests, Ctrl-C, keys
    taken: str | None = None  # the local time the screenshot was taken, ``14:03:27 CET``
    no_screenshot: str | None = None  # why a window run has no screenshot (``the display did not answer``)

    def describe(self) -> str:
        """The outcome in words: ``window shown for 3 s``, ``crashed with IndexError``..."""
        command = self.command
        trial_said = trial_words(self.kind, command.exit_code, self.trial) if self.trial else None
        if trial_said:
            return trial_said
        words = {
            ENDED: "ended (exit 0)",
            EXITED: command.description,
            CRASHED: f"crashed with {command.crash}",
            KILLED: f"killed by {command.killed_by}",
            WINDOW: f"window shown for {command.seconds:.0f} s, then closed",
            NO_DISPLAY: f"not run: {NO_DISPLAY_REASON}",
            WAITED: "waited for more input than the demo gives",
            TIMED_OUT: f"{command.description} (it should have ended)",
            TOO_MANY: command.description,
            NOT_RUN: "not run (its environment could not be made)",
        }
        return words.get(self.kind, command.description)

    def problem(self) -> str | None:
        """Why this run rules out approval, or None."""
        if self.kind not in PROBLEM_KINDS:
            return None
        if self.trial is not None and self.kind in TRIAL_PROBLEMS:
            return trial_problem(self.kind, self.command.exit_code, self.trial)
        return {
            CRASHED: f"the script crashed with {self.command.crash}",
            KILLED: f"the script was killed by {self.command.killed_by}",
            TOO_MANY: f"the script {self.command.description}",
            TIMED_OUT: f"the script was {self.command.description} although it should have ended",
        }[self.kind]


def kind_of(command: CommandRecord, window: bool = False, trial: Trial | None = None) -> str:
    """What a command's ending means for a demo run (``window``: the program opens one; ``trial``: how
    it was tried while it ran)."""
    crashed = command.too_many_processes or command.timed_out or bool(command.crash or command.killed_by)
    tried = trial_kind(crashed, command.exit_code, trial) if trial else None
    if tried:
        return tried
    if command.too_many_processes:
        return TOO_MANY
    if command.timed_out:
        return WINDOW if window else TIMED_OUT
    if command.crash == "EOFError":
        return WAITED
    if command.crash:
        return CRASHED
    if command.killed_by:
        return KILLED
    return ENDED if command.exit_code == 0 else EXITED


COMMAND_FACTS = ("description", "exit_code", "seconds", "timed_out", "too_many_processes", "crash",
                  "killed_by", "leftover_processes")  # fmt: skip


def command_json(command: CommandRecord) -> dict[str, Any]:
    return {name: getattr(command, name) for name in COMMAND_FACTS}


def command_from(data: dict[str, Any]) -> CommandRecord:
    exit_code = data.get("exit_code")
    return CommandRecord(
        description=str(data["description"]),
        exit_code=None if exit_code is None else int(exit_code),
        seconds=float(data.get("seconds", 0.0)),
        timed_out=bool(data.get("timed_out", False)),
        too_many_processes=bool(data.get("too_many_processes", False)),
        crash=data.get("crash") or None,
        killed_by=data.get("killed_by") or None,
        leftover_processes=int(data.get("leftover_processes", 0)),
    )


def demo_json(demo: DemoResult) -> dict[str, Any]:
    return {
        "name": demo.name,
        "kind": demo.kind,
        "args": list(demo.args),
        "stdin": demo.stdin,
        "screenshot": demo.screenshot,
        "no_screenshot": demo.no_screenshot,
        "trimmed": demo.trimmed,
        "command": command_json(demo.command),
        "trial": demo.trial.to_json() if demo.trial else None,
        "taken": demo.taken,
    }


def demo_from(data: dict[str, Any]) -> DemoResult:
    return DemoResult(
        name=str(data["name"]),
        command=command_from(data["command"]),
        kind=str(data["kind"]),
        args=tuple(str(a) for a in data.get("args", [])),
        stdin=str(data.get("stdin", "")),
        screenshot=data.get("screenshot") or None,
        no_screenshot=str(data["no_screenshot"]) if data.get("no_screenshot") else None,
        trimmed=int(data.get("trimmed", 0)),
        trial=Trial.from_json(data["trial"]) if data.get("trial") else None,
        taken=str(data["taken"]) if data.get("taken") else None,
    )
