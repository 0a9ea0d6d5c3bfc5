"""``session.json``: the settings a session keeps, each model call's record, and how it ended;
and ``log.jsonl``: everything every model said, word for word.

Both are bookkeeping beside the artifacts: the files decide where a session goes on, and a lost or
damaged session.json is rebuilt from them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .names import LOG, SESSION
from .records.calls import CallRecord
from .resume import ResumePoint, infer_resume_point
from .workspace import Workspace, WorkspaceError

SESSION_FORMAT = 1


def session_json(data: dict[str, Any], calls: list[CallRecord]) -> str:
    """session.json's text: indented, with one line per model call (quick to write when there are
    thousands, and still easy to read)."""
    head = json.dumps({**data, "calls": []}, indent=2)
    lines = ",\n".join(f"    {json.dumps(call.to_json())}" for call in calls)
    if not lines:
        return head + "\n"
    return head.replace('"calls": []', f'"calls": [\n{lines}\n  ]', 1) + "\n"


def _fresh_data() -> dict[str, Any]:
    return {
        "format": SESSION_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {},
        "finished": None,
    }


class SessionLog:
    """``session.json``: saved settings, one :class:`CallRecord` per model call, and the ending.

    It never holds an API key: only names and numbers go in.
    """

    def __init__(self, workspace: Workspace, data: dict[str, Any] | None = None) -> None:
        self.workspace = workspace
        self.data: dict[str, Any] = data or _fresh_data()
        self.calls: list[CallRecord] = []
        raw_calls = self.data.pop("calls", [])
        for raw in raw_calls if isinstance(raw_calls, list) else []:
            try:
                self.calls.append(CallRecord.from_json(raw))
            except ValueError:
                continue  # a damaged record costs its token count, nothing else
        if not isinstance(self.data.get("settings"), dict):
            self.data["settings"] = {}
        self.rebuilt: str | None = None  # why session.json had to be started afresh, if it had

    @classmethod
    def load(cls, workspace: Workspace) -> SessionLog:
        """Read session.json; a missing or unreadable one starts afresh (the files decide anyway)."""
        try:
            text = workspace.read(SESSION)
        except WorkspaceError:
            text = "not UTF-8"
        if text is None:
            session = cls(workspace)
            if workspace.has_session():
                session.rebuilt = "session.json was missing"
            return session
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("calls", []), list):
            session = cls(workspace)
            session.rebuilt = "session.json was unreadable"
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
        version = finished.get("version") if isinstance(finished, dict) else None
        return version if isinstance(version, int) else None

    def resume_point(self) -> ResumePoint:
        """Where this session goes on, from the files present."""
        return infer_resume_point(self.workspace.names(), self.finished_version)

    def record_call(self, call: CallRecord) -> None:
        """Append a model call and save."""
        self.calls.append(call)
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

    def clear_finished(self) -> None:
        """Forget an earlier ending (the session goes on)."""
        if self.data.get("finished"):
            self.data["finished"] = None
            self.save()

    def save(self) -> None:
        """Write session.json atomically. It is bookkeeping that can be rebuilt from the files, so it
        is not forced to disk after every call (the artifacts are)."""
        self.workspace.write(SESSION, session_json(self.data, self.calls), durable=False)
