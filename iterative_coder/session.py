"""``session.json``: the settings a session keeps, each model call's record, and how it ended;
and ``log.jsonl``: everything every model said, word for word.

Both are bookkeeping beside the artifacts: the files decide where a session goes on, and a lost or
damaged session.json is rebuilt from them.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .names import LOG, SESSION, versions_of
from .records.calls import CallRecord
from .resume import ResumePoint, infer_resume_point
from .settings import EDIT_FORMATS, EXECUTE_MODES
from .workspace import Workspace, WorkspaceError

SESSION_FORMAT = 1


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


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_whole(value: object) -> bool:
    return _whole(value) and value > 0  # type: ignore[operator]


def _positive_number(value: object) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and math.isfinite(value) and value > 0  # type: ignore[arg-type,operator]


def _loopback_url(value: object) -> bool:
    """A base URL on this machine, as local_models.py writes them: prompts go nowhere else."""
    return isinstance(value, str) and re.fullmatch(r"http://127\.0\.0\.1:[0-9]{1,5}/v1", value) is not None


def _names(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(x, str) for pair in value.items() for x in pair)


# What each setting session.json keeps for --resume (settings.KEPT) may hold. Another key (one an
# older version kept) is left alone: it is never read, and the next save drops it.
SETTING_CHECKS: dict[str, Callable[[object], bool]] = {
    "max_iterations": _positive_whole,
    "budget_tokens": lambda value: value is None or _positive_whole(value),
    "budget_usd": lambda value: value is None or _positive_number(value),
    "cache_seed": lambda value: value is None or _whole(value),
    "edit_format": lambda value: value is None or value in EDIT_FORMATS,
    "execute": lambda value: value is None or value in EXECUTE_MODES,
    "models": _names,
    "local_server": lambda value: value is None or _loopback_url(value),
    "network": lambda value: value is None or isinstance(value, bool),
}


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def repair(data: dict[str, Any]) -> list[str]:
    """Check session.json's fields one by one; each wrong one is replaced by its default, in place.

    Returns what was wrong, one phrase each (empty when everything was right). Call records are
    checked one by one when they are read (:meth:`CallRecord.from_json`).
    """
    problems = []
    settings = data.setdefault("settings", {})
    if not isinstance(settings, dict):
        problems.append(f"settings that were not an object ({_shown(settings)})")
        settings = data["settings"] = {}
    for name, check in SETTING_CHECKS.items():
        if name in settings and not check(settings[name]):
            problems.append(f"a bad {name} ({_shown(settings.pop(name))})")
    finished = data.get("finished")
    if finished is not None and not (
        isinstance(finished, dict)
        and _positive_whole(finished.get("version"))
        and isinstance(finished.get("reason"), str)
    ):
        problems.append(f"a bad finished ({_shown(finished)})")
        data["finished"] = None
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
        problems = repair(self.data)
        if problems:
            self.rebuilt = "session.json had " + ", ".join(problems)
            self.calls_lost = "calls that were not a list" in problems
        self.calls: list[CallRecord] = []
        for raw in self.data.pop("calls", []):
            try:
                self.calls.append(CallRecord.from_json(raw))
            except ValueError:
                continue  # a damaged record costs its token count, nothing else

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
        except (json.JSONDecodeError, RecursionError):
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
