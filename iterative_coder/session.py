"""``session.json``: the settings a session keeps, each model call's record, and how it ended;
and ``log.jsonl``: everything every model said, word for word.

Both are bookkeeping beside the artifacts: the files decide where a session goes on, and a lost or
damaged session.json is rebuilt from them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .names import LOG, SESSION, versions_of
from .records.calls import CallRecord
from .records.values import MAX_COUNT, MAX_NAME, number_problem, shown, text_problem, whole_problem
from .resume import ResumePoint, infer_resume_point
from .settings import EDIT_FORMATS, EXECUTE_MODES, MOST
from .textsafe import plain_text
from .workspace import Workspace, WorkspaceError

SESSION_FORMAT = 1
MAX_ROLES = 32  # entries of the kept "models" (one per role)
_CACHE_SEED = MOST["cache_seed"]


def session_json(data: dict[str, Any], calls: list[CallRecord]) -> str:
    """session.json's text: indented, with one line per model call (quick to write when there are
    thousands, and still easy to read)."""
    head = json.dumps({**data, "calls": []}, indent=2)
    lines = ",\n".join(_call_line(call) for call in calls)
    if not lines:
        return head + "\n"
    return head.replace('"calls": []', f'"calls": [\n{lines}\n  ]', 1) + "\n"


@functools.lru_cache(maxsize=4096)
def _call_line(call: CallRecord) -> str:
    """One call's line of session.json; a record never changes, so each is written out once."""
    return f"    {json.dumps(call.to_json())}"


def _fresh_data() -> dict[str, Any]:
    return {
        "format": SESSION_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {},
        "finished": None,
    }


def _optional(check: Callable[[object], str | None]) -> Callable[[object], str | None]:
    """``check`` for a value that may also be null."""
    return lambda value: None if value is None else check(value)


def _one_of(choices: tuple[str, ...]) -> Callable[[object], str | None]:
    return lambda value: None if value in choices else f"not one of {', '.join(choices)}"


def _loopback_problem(value: object) -> str | None:
    """A base URL on this machine, as local_models.py writes them: prompts go nowhere else."""
    if isinstance(value, str) and re.fullmatch(r"http://127\.0\.0\.1:[0-9]{1,5}/v1", value):
        return None
    return "not a server on this machine (http://127.0.0.1:PORT/v1)"


def _models_problem(value: object) -> str | None:
    """Each role's model name: an object of at most a few dozen short texts."""
    if not isinstance(value, dict):
        return "not an object"
    if len(value) > MAX_ROLES:
        return f"more than {MAX_ROLES} entries"
    return next(filter(None, (text_problem(x, MAX_NAME) for pair in value.items() for x in pair)), None)


def _ending_problem(value: object) -> str | None:
    """How a session ended (``finished``) or stopped (``stalled``): a version and a sentence."""
    if not isinstance(value, dict):
        return "not an object"
    why = whole_problem(value.get("version"), 1, MAX_COUNT)
    if why:
        return f"its version {why}"
    why = text_problem(value.get("reason"))
    return f"its reason {why}" if why else None


def _flag_problem(value: object) -> str | None:
    return None if isinstance(value, bool) else "not true or false"


# What each setting session.json keeps for --resume (settings.KEPT) may hold; each check says what is
# wrong, or None. Another key (one an older version kept) is left alone: it is never read, and the
# next save drops it.
SETTING_CHECKS: dict[str, Callable[[object], str | None]] = {
    "max_iterations": lambda value: whole_problem(value, 1, MOST["max_iterations"]),
    "budget_tokens": _optional(lambda value: whole_problem(value, 1, MOST["budget_tokens"])),
    "budget_usd": _optional(lambda value: number_problem(value, MOST["budget_usd"], above_zero=True)),
    "cache_seed": _optional(lambda value: whole_problem(value, -_CACHE_SEED, _CACHE_SEED)),
    "edit_format": _optional(_one_of(EDIT_FORMATS)),
    "execute": _optional(_one_of(EXECUTE_MODES)),
    "models": _models_problem,
    "local_server": _optional(_loopback_problem),
    "network": _optional(_flag_problem),
}
# The other fields, each with its check and what takes the place of a bad value. A key not named here
# (or "settings", "calls") is never read, and is not written back.
FIELD_CHECKS: dict[str, tuple[Callable[[object], str | None], Callable[[], object]]] = {
    "format": (lambda value: whole_problem(value, 1, SESSION_FORMAT), lambda: SESSION_FORMAT),
    "created": (lambda value: text_problem(value, 100), lambda: _fresh_data()["created"]),
    "finished": (_optional(_ending_problem), lambda: None),
    "stalled": (_optional(_ending_problem), lambda: None),
}


def repair(data: dict[str, Any]) -> list[str]:
    """Check session.json's fields one by one; each wrong one is replaced by its default, in place,
    and a lone surrogate in a text kept by U+FFFD.

    Returns what was wrong, one phrase each (empty when everything was right). Call records are
    checked one by one when they are read (:meth:`CallRecord.from_json`).
    """
    problems = []
    for name in set(data) - {*FIELD_CHECKS, "settings", "calls"}:
        del data[name]
    settings = data.setdefault("settings", {})
    if not isinstance(settings, dict):
        problems.append(f"settings that were not an object ({shown(settings)})")
        settings = data["settings"] = {}
    for name, check in SETTING_CHECKS.items():
        if name in settings and (why := check(settings[name])):
            problems.append(f"a bad {name} ({shown(settings.pop(name))}: {why})")
    if isinstance(models := settings.get("models"), dict):
        settings["models"] = {plain_text(role): plain_text(model) for role, model in models.items()}
    for name, (check, default) in FIELD_CHECKS.items():
        if name in data and (why := check(data[name])):
            problems.append(f"a bad {name} ({shown(data[name])}: {why})")
            data[name] = default()
        elif isinstance(data.get(name), dict):
            data[name] = {**data[name], "reason": plain_text(data[name]["reason"])}
    if not isinstance(data.get("calls", []), list):
        problems.append("calls that were not a list")
        data["calls"] = []
    return problems


class SessionLog:
    """``session.json``: saved settings, one :class:`CallRecord` per model call, and the ending.

    It never holds an API key: only names and numbers go in. ``rebuilt`` says why session.json had
    to be rebuilt from the files, if it had (``session.json was missing``); ``calls_lost``: the
    records of earlier calls went with it.
    """

    def __init__(self, workspace: Workspace, data: dict[str, Any] | None = None) -> None:
        self.workspace = workspace
        self.data: dict[str, Any] = data or _fresh_data()
        self.rebuilt: str | None = None
        self.calls_lost = False
        self.mended = False  # fields took their defaults (else, when rebuilt: the whole file was lost)
        problems = repair(self.data)
        self.calls: list[CallRecord] = []
        damaged = []
        for raw in self.data.pop("calls", []):
            try:
                self.calls.append(CallRecord.from_json(raw))
            except ValueError as error:  # a damaged record costs its token count, nothing else
                damaged.append(str(error))
        if damaged:
            records = "record" if len(damaged) == 1 else "records"
            problems.append(f"{len(damaged)} damaged call {records} ({damaged[0]})")
        if problems:
            self.rebuilt, self.mended = "session.json had " + ", ".join(problems), True
            self.calls_lost = bool(damaged) or "calls that were not a list" in problems

    def warning(self) -> str | None:
        """One line on what session.json had to lose, and what took its place; None when nothing."""
        if self.rebuilt is None:
            return None
        lost = " (the token counts of earlier calls are lost)" if self.calls_lost else ""
        if self.mended:
            return f"{self.workspace.root}/{self.rebuilt}; went on with the default for each{lost}."
        return f"{self.workspace.root}/{self.rebuilt}; rebuilt it from the files{lost}."

    @classmethod
    def load(cls, workspace: Workspace) -> SessionLog:
        """Read session.json; a missing or unreadable one starts afresh (the files decide anyway), and
        a wrong field takes its default."""
        try:
            text = workspace.read(SESSION)
        except WorkspaceError:
            text = "not UTF-8"
        if text is None:
            session = cls(workspace)
            if workspace.has_session():
                session.rebuilt, session.calls_lost = "session.json was missing", True
            return session
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # ValueError: not JSON, or a number of 5,000 digits
            data = None
        if not isinstance(data, dict):
            session = cls(workspace)
            session.rebuilt, session.calls_lost = "session.json was unreadable", True
            return session
        return cls(workspace, data)

    @property
    def settings(self) -> dict[str, Any]:
        """The options the session keeps for ``--resume``."""
        return self.data["settings"]

    @property
    def finished_version(self) -> int | None:
        """The version accepted as final, if the session ended that way."""
        finished = self.data.get("finished")
        return finished["version"] if finished else None

    def resume_point(self) -> ResumePoint:
        """Where this session goes on, from the files present."""
        return infer_resume_point(self.workspace.names(), self.finished_version)

    def record_call(self, call: CallRecord) -> None:
        """Append a model call and save."""
        self.calls.append(call)
        self.save()

    def note_answer(self, asked: str, answered: str | None) -> None:
        """Add to the last call's record how the Coder was asked to answer (``edits`` or ``whole``)
        and how it did, and save."""
        if self.calls:
            self.calls[-1] = replace(self.calls[-1], asked=asked, answered=answered)
            self.save()

    def keep_reply(self, *, role: str, version: int, text: str) -> None:
        """Keep everything a model said, word for word, in ``log.jsonl``."""
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "role": role,
            "version": version,
            "reply": text,
        }
        self.workspace.append_line(LOG, json.dumps(record, ensure_ascii=False))

    def mark_finished(self, version: int, reason: str) -> None:
        """Record that ``script_v{version}.py`` was accepted and save."""
        self.data["finished"] = {"version": version, "reason": reason}
        self.save()

    def mark_stalled(self, version: int, sentence: str) -> None:
        """Record why the session stopped without progress at ``version`` (it stays resumable)."""
        self.data["stalled"] = {"version": version, "reason": sentence}
        self.save()

    @property
    def stalled(self) -> str | None:
        """Why the session last stopped without progress, while no version came after it."""
        stalled = self.data.get("stalled")
        if not isinstance(stalled, dict) or not isinstance(stalled.get("reason"), str):
            return None
        latest = max(versions_of(self.workspace.names(), "script"), default=0)
        return stalled["reason"] if stalled.get("version") == latest else None

    def clear_finished(self) -> None:
        """Forget an earlier ending (the session goes on)."""
        if self.data.get("finished"):
            self.data["finished"] = None
            self.save()

    def save(self) -> None:
        """Write session.json atomically. It is bookkeeping that can be rebuilt from the files, so it
        is not forced to disk after every call (the artifacts are)."""
        self.workspace.write(SESSION, session_json(self.data, self.calls), durable=False)
