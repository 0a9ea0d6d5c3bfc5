"""What was seen while a program was tried over time (:mod:`iterative_coder.demo_kinds`): a server's
answers, how it was stopped, the keys typed and the screen they left. Part of a demo run's record
(``run_vN.md``): the typed record, its JSON and its Markdown lines, side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVE, UNTIL_STOPPED, KEYS = "serve", "until_stopped", "keys"
SCREEN_SIZE = (80, 24)  # columns, rows: the terminal a full-screen program is given
# What can become of a demo run tried over time, beyond what any run can become (records.run).
SERVED, NOT_LISTENING, WRONG_ANSWER, STOPPED, IGNORED_CTRL_C, SCREEN = (
    "served", "never listened", "wrong answer", "stopped", "ignored Ctrl-C", "screen shown",
)  # fmt: skip
TRIAL_PROBLEMS = frozenset({NOT_LISTENING, WRONG_ANSWER, IGNORED_CTRL_C})


@dataclass(frozen=True)
class Answer:
    """One request sent and what came back (``status`` None: no answer, ``error`` says why)."""

    method: str
    path: str
    expected: int | None  # None: any status below 500
    status: int | None
    error: str = ""
    body: str = field(default="", compare=False)  # the start of the body (of a page, its text), for people
    content_type: str = ""

    @property
    def page(self) -> bool:
        """An HTML page was answered."""
        return self.content_type.split(";")[0].strip().lower() == "text/html"

    @property
    def ok(self) -> bool:
        """The answer a person expects."""
        if self.status is None:
            return False
        return self.status == self.expected if self.expected is not None else self.status < 500

    def describe(self) -> str:
        """``GET /todos answered 200``, ``POST /todos got no answer (timed out)``."""
        if self.status is None:
            return f"{self.method} {self.path} got no answer ({self.error or 'connection closed'})"
        wanted = "" if self.ok or self.expected is None else f", expected {self.expected}"
        return f"{self.method} {self.path} answered {self.status}{wanted}"


@dataclass(frozen=True)
class Trial:
    """How a demo run was tried while the program ran."""

    mode: str  # SERVE, UNTIL_STOPPED or KEYS
    signals: tuple[str, ...] = ()  # what the tool sent to stop it, in order; empty: it ended by itself
    ran_seconds: float = 0.0  # until the tool began to stop it (or it ended)
    port: int | None = None
    listened: bool = False
    listen_seconds: float = 0.0  # how long the tool waited for the port (until it answered, or gave up)
    answers: tuple[Answer, ...] = ()
    keys: tuple[str, ...] = ()
    screen: str | None = None  # the rendered screen's text file, relative to the workspace
    note: str = ""  # what the tool changed in the demo, or found wrong with it
    traceback: bool = False  # it printed a KeyboardInterrupt traceback when stopped
    screen_text: str = field(default="", compare=False)  # the screen itself, for people

    @property
    def stopped(self) -> bool:
        """The tool had to stop it (it was still running)."""
        return bool(self.signals)

    @property
    def ignored_ctrl_c(self) -> bool:
        """It did not end on Ctrl-C: a stronger signal was needed."""
        return len(self.signals) > 1

    def ending(self, exit_code: int | None) -> str:
        """How it ended: ``ended cleanly on Ctrl-C``, ``did not end on Ctrl-C; SIGKILL ended it``..."""
        if not self.stopped:
            return f"ended (exit {exit_code})"
        if self.ignored_ctrl_c:
            return f"did not end on Ctrl-C; {self.signals[-1]} ended it"
        if self.traceback:
            return "ended on Ctrl-C with a KeyboardInterrupt traceback (a small defect)"
        return "ended cleanly on Ctrl-C" + ("" if exit_code in (0, -2, 130) else f" (exit {exit_code})")

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types (the body starts and the screen's text left out)."""
        return {
            "mode": self.mode,
            "signals": list(self.signals),
            "ran_seconds": self.ran_seconds,
            "port": self.port,
            "listened": self.listened,
            "listen_seconds": self.listen_seconds,
            "answers": [_answer_json(answer) for answer in self.answers],
            "keys": list(self.keys),
            "screen": self.screen,
            "note": self.note,
            "traceback": self.traceback,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trial:
        """The record from :meth:`to_json`'s output; KeyError, TypeError or ValueError otherwise."""
        return cls(
            mode=str(data["mode"]),
            signals=tuple(str(s) for s in data.get("signals", [])),
            ran_seconds=float(data.get("ran_seconds", 0.0)),
            port=None if data.get("port") is None else int(data["port"]),
            listened=bool(data.get("listened", False)),
            listen_seconds=float(data.get("listen_seconds", 0.0)),
            answers=tuple(
                Answer(
                    str(a["method"]),
                    str(a["path"]),
                    _number(a.get("expected")),
                    _number(a.get("status")),
                    str(a.get("error", "")),
                    content_type=str(a.get("content_type", "")),
                )
                for a in data.get("answers", [])
            ),
            keys=tuple(str(k) for k in data.get("keys", [])),
            screen=data.get("screen") or None,
            note=str(data.get("note", "")),
            traceback=bool(data.get("traceback", False)),
        )


def _answer_json(answer: Answer) -> dict[str, Any]:
    names = ("method", "path", "expected", "status", "error", "content_type")
    return {name: getattr(answer, name) for name in names}


def _number(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def trial_kind(crashed: bool, exit_code: int | None, trial: Trial) -> str | None:
    """What the trial makes of a run that did not crash (``crashed``: with an exception other than a
    KeyboardInterrupt, or by a limit); None when it is judged as any run (it ended by itself)."""
    if crashed:
        return None
    if trial.mode == SERVE:
        if not trial.listened:
            return NOT_LISTENING
        if not all(answer.ok for answer in trial.answers):
            return WRONG_ANSWER
    if trial.ignored_ctrl_c:
        return IGNORED_CTRL_C
    if trial.mode == SERVE:
        return SERVED
    if trial.mode == KEYS and (trial.stopped or exit_code == 0):
        return SCREEN
    return STOPPED if trial.stopped else None


def trial_words(kind: str, exit_code: int | None, trial: Trial) -> str | None:
    """The outcome of a trial's kind in words (``served 3 requests (200, 201, 404)``), else None."""
    if kind == SERVED:
        statuses = ", ".join(str(answer.status) for answer in trial.answers)
        return f"served {len(trial.answers)} request{'s' * (len(trial.answers) != 1)} ({statuses})"
    if kind == NOT_LISTENING:
        if trial.stopped:
            return f"never listened on port {trial.port} within {trial.listen_seconds:.0f} s"
        return f"ended (exit {exit_code}) without listening on port {trial.port}"
    if kind == WRONG_ANSWER:
        return next(answer.describe() for answer in trial.answers if not answer.ok)
    if kind == SCREEN:
        return f"screen shown after the keys {' '.join(trial.keys)}; {trial.ending(exit_code)}"
    if kind in (STOPPED, IGNORED_CTRL_C):
        return f"ran {trial.ran_seconds:.0f} s, then {trial.ending(exit_code)}"
    return None


def trial_problem(kind: str, exit_code: int | None, trial: Trial) -> str | None:
    """Why this trial rules out approval, or None."""
    if kind not in TRIAL_PROBLEMS:
        return None
    return f"the script {trial_words(kind, exit_code, trial)}"


def trial_lines(trial: Trial) -> list[str]:
    """The Markdown of a trial, for ``run_vN.md`` (the Reviewer reads it)."""
    lines = [f"Note: {trial.note}.", ""] if trial.note else []
    if trial.mode == SERVE:
        lines += _served_lines(trial)
    if trial.keys:
        size = f"{SCREEN_SIZE[0]}x{SCREEN_SIZE[1]}"
        lines += [f"Keys typed, in a terminal of {size}: {', '.join(trial.keys)}.", ""]
    if trial.stopped:
        lines += [f"Stopped after {trial.ran_seconds:.1f} s with {', then '.join(trial.signals)}.", ""]
    if trial.screen is not None:
        lines += [f"The screen it left (`{trial.screen}`):", "", *_fenced(trial.screen_text)]
    return lines


def _served_lines(trial: Trial) -> list[str]:
    waited = f"{trial.listen_seconds:.1f} s"
    if not trial.listened:
        return [f"It never accepted connections on port {trial.port} (waited {waited}).", ""]
    lines = [f"It accepted connections on port {trial.port} after {waited}. The requests:", ""]
    lines += ["| request | expected | answer | start of the body |", "|---|---|---|---|"]
    for a in trial.answers:
        got = str(a.status) if a.status is not None else f"none ({a.error})"
        body = " ".join(a.body.split())[:160].replace("|", "\\|")
        lines.append(f"| {a.method} {a.path} | {a.expected or 'below 500'} | {got} | {body} |")
    lines.append("")
    for a in trial.answers:
        if a.page and a.body.strip():
            lines += [f"The page {a.method} {a.path} answered, as text:", "", *_fenced(a.body.strip())]
    return lines


def _fenced(text: str) -> list[str]:
    fence = "````" if "```" in text else "```"
    return [f"{fence}text", text, fence, ""]
