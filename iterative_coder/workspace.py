"""The workspace folder: fixed file names, atomic writes, session.json, and where to resume.

The files are the memory. Everything else in the tool reads and writes them by name
through :class:`Workspace`; no name ever comes from a model.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

TASK = "task.md"
PLAN = "plan.md"
ACCEPTANCE = "acceptance_test.py"
SESSION = "session.json"
LOG = "log.jsonl"
LOCK = ".lock"
SESSION_FORMAT = 1

_VERSIONED = re.compile(r"^(script|review|feedback|run)_v([1-9][0-9]*)\.(py|md)$")
_FIXED_NAMES = {TASK, PLAN, ACCEPTANCE, SESSION, LOG}
_EXTENSIONS = {"script": "py", "review": "md", "feedback": "md", "run": "md"}


class WorkspaceError(Exception):
    """A problem with the workspace folder that the user must fix; the message says what and how."""


def script_name(version: int) -> str:
    """``script_v3.py`` for 3."""
    return f"script_v{version}.py"


def review_name(version: int) -> str:
    """``review_v3.md`` for 3."""
    return f"review_v{version}.md"


def feedback_name(version: int) -> str:
    """``feedback_v3.md`` for 3."""
    return f"feedback_v{version}.md"


def run_name(version: int) -> str:
    """``run_v3.md`` for 3."""
    return f"run_v{version}.md"


def resume_command(root: Path) -> str:
    """The command that continues the session in ``root``."""
    return f"python -m iterative_coder --resume {shlex.quote(str(root))}"


def inner_folder(root: Path, *parts: str) -> Path:
    """``root/part/...``, created as needed; refused if any part is a link (it could lead anywhere)."""
    folder = Path(root).resolve()
    for part in parts:
        folder = folder / part
        if folder.is_symlink():
            raise WorkspaceError(f"{folder} is a link; the tool only writes inside the workspace. Remove it.")
        folder.mkdir(exist_ok=True)
    return folder


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old file or the new one, never half.

    With ``durable`` the data and the rename are also flushed to the disk (fsync), for power cuts.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if durable:
        _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


Step = Literal["plan", "tests", "code", "review", "manager", "finished"]


@dataclass(frozen=True)
class ResumePoint:
    """What the session does next: a step and the version it concerns."""

    step: Step
    version: int

    def describe(self) -> str:
        """A sentence for the screen, e.g. ``Resuming at version 4: reviewing script_v4.py``."""
        if self.step == "plan":
            return "Resuming at planning: no plan.md yet, planning again from task.md"
        if self.step == "tests":
            return f"Resuming after the plan: no {ACCEPTANCE} yet, agreeing the acceptance tests"
        if self.step == "code":
            return f"Resuming at version {self.version}: writing {script_name(self.version)}"
        if self.step == "review":
            return f"Resuming at version {self.version}: reviewing {script_name(self.version)}"
        if self.step == "manager":
            return f"Resuming at version {self.version}: your turn after {review_name(self.version)}"
        return f"This session is finished: {script_name(self.version)} was accepted"


def infer_resume_point(names: set[str], finished_version: int | None = None) -> ResumePoint:
    """Decide the next step from the file names present (the files decide, not the settings).

    ``finished_version`` is the version session.json says was accepted; it only counts while
    that version is still the latest reviewed one.
    """
    if PLAN not in names:
        return ResumePoint("plan", 0)
    scripts = _versions(names, "script")
    latest = max(scripts, default=0)
    if latest == 0:
        # A session started before acceptance tests existed simply has none once it has scripts.
        return ResumePoint("tests", 0) if ACCEPTANCE not in names else ResumePoint("code", 1)
    if review_name(latest) not in names:
        return ResumePoint("review", latest)
    if feedback_name(latest) in names:
        return ResumePoint("code", latest + 1)
    if finished_version == latest:
        return ResumePoint("finished", latest)
    return ResumePoint("manager", latest)


def _run_folder_version(name: str) -> int:
    match = re.match(r"^v([1-9][0-9]*)(?:-manual)?$", name)
    return int(match.group(1)) if match else 0


def _versions(names: set[str], kind: str) -> list[int]:
    found = []
    for name in names:
        match = _VERSIONED.match(name)
        if match and match.group(1) == kind and match.group(3) == _EXTENSIONS[kind]:
            found.append(int(match.group(2)))
    return sorted(found)


class Workspace:
    """A session folder, read and written by file name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._resolved_root: Path | None = None

    def path(self, name: str) -> Path:
        """The path of a workspace file; only the tool's own file names are accepted."""
        if name not in _FIXED_NAMES and not _VERSIONED.match(name):
            raise ValueError(f"not a workspace file name: {name!r}")
        if self._resolved_root is None or not self._resolved_root.is_dir():
            self._resolved_root = self.root.resolve()
        candidate = self._resolved_root / name
        if candidate.is_symlink() and candidate.resolve().parent != self._resolved_root:
            raise WorkspaceError(f"{self.root / name} points outside the workspace; remove that link.")
        return candidate

    def exists(self, name: str) -> bool:
        """Whether the file is present."""
        return self.path(name).is_file()

    def read(self, name: str) -> str | None:
        """The file's text, or None when it does not exist."""
        path = self.path(name)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            raise WorkspaceError(
                f"{self.root / name} is not UTF-8 text (byte {exc.start}); save it as UTF-8 and resume."
            ) from None

    def write(self, name: str, text: str, *, durable: bool = True) -> Path:
        """Write the file atomically and return its path.

        ``durable`` also flushes it to the disk (fsync), so it survives a power cut, not only a crash.
        """
        path = self.path(name)
        atomic_write_text(path, text, durable=durable)
        return path

    def append_line(self, name: str, line: str) -> None:
        """Append one line to a log file (a torn last line is all a crash can cost)."""
        with open(self.path(name), "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")

    def names(self) -> set[str]:
        """The names of the tool's files present in the folder (other files are ignored)."""
        if not self.root.is_dir():
            return set()
        return {
            entry.name
            for entry in self.root.iterdir()
            if (entry.name in _FIXED_NAMES or _VERSIONED.match(entry.name)) and entry.is_file()
        }

    def has_session(self) -> bool:
        """Whether a session was started here."""
        return bool(self.names() & {TASK, PLAN, SESSION})

    def check_versions(self) -> None:
        """Refuse a gap in the scripts (v1, v2, v4): say which is missing and what to do."""
        versions = _versions(self.names(), "script")
        expected = set(range(1, max(versions, default=0) + 1))
        missing = sorted(expected - set(versions))
        if missing:
            gap = ", ".join(script_name(v) for v in missing)
            latest = script_name(max(versions))
            raise WorkspaceError(
                f"{self.root}: {gap} is missing, so the versions have a gap. Put it back, or move the "
                f"versions after it (up to {latest}, with their reviews) out of the folder, then resume."
            )

    def branch_from(self, version: int) -> Path:
        """Set the versions after ``version`` aside in ``branches/<time>/`` (never deleted); return it.

        ``feedback_v{version}.md`` goes too, so the session goes on with the Manager's turn on it.
        """
        if not self.exists(script_name(version)):
            raise WorkspaceError(
                f"--from-version {version}: there is no {script_name(version)} in {self.root}."
            )
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        branches = inner_folder(self.root, "branches")
        branch = branches / stamp
        suffix = 1
        while branch.exists():
            suffix += 1
            branch = branches / f"{stamp}-{suffix}"
        moving = [
            name
            for name in sorted(self.names())
            if (match := _VERSIONED.match(name))
            and (
                int(match.group(2)) > version
                or (int(match.group(2)) == version and match.group(1) == "feedback")
            )
        ]
        runs = self.root / "runs"
        moving_runs = [
            entry
            for entry in (runs.iterdir() if runs.is_dir() and not runs.is_symlink() else [])
            if _run_folder_version(entry.name) > version
        ]
        branch.mkdir(parents=True)
        for name in moving:
            os.replace(self.root / name, branch / name)
        if moving_runs:
            (branch / "runs").mkdir()
            for entry in moving_runs:
                os.replace(entry, branch / "runs" / entry.name)
        _fsync_directory(self.root)
        return branch

    def latest_script_version(self) -> int:
        """The highest N with a ``script_vN.py``, or 0."""
        return max(_versions(self.names(), "script"), default=0)

    def resume_point(self, session: SessionLog) -> ResumePoint:
        """Where a session in this folder continues."""
        finished = session.data.get("finished") or {}
        return infer_resume_point(self.names(), finished.get("version"))


class WorkspaceLock:
    """One process per workspace: an exclusive ``flock`` on ``DIR/.lock`` that holds our PID.

    The kernel drops the lock when the process dies, so a lock file left by a crash never blocks.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.path = workspace.root / LOCK
        self._fd: int | None = None

    def __enter__(self) -> WorkspaceLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot lock {self.path} ({exc.strerror}); if it is a link, remove it."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise WorkspaceError(
                f"Another iterative_coder (PID {holder}) is working in {self.path.parent}; "
                "let it finish or stop it, then try again."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def session_json(data: dict[str, Any]) -> str:
    """session.json's text: indented, with one line per model call (quick to write when there are
    thousands, and still easy to read)."""
    head = json.dumps({**data, "calls": []}, indent=2)
    calls = ",\n".join(f"    {json.dumps(call)}" for call in data.get("calls", []))
    if not calls:
        return head + "\n"
    return head.replace('"calls": []', f'"calls": [\n{calls}\n  ]', 1) + "\n"


class SessionLog:
    """``session.json``: settings, the model, each model call's usage, and how the session ended.

    It never holds an API key: only names and numbers go in.
    """

    def __init__(self, workspace: Workspace, data: dict[str, Any] | None = None) -> None:
        self.workspace = workspace
        self.data: dict[str, Any] = data or {
            "format": SESSION_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "settings": {},
            "model": None,
            "calls": [],
            "finished": None,
        }
        self.data.setdefault("calls", [])
        self.data.setdefault("settings", {})
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
        """The options the session was started with."""
        return self.data["settings"]

    @property
    def calls(self) -> list[dict[str, Any]]:
        """One record per model call."""
        return self.data["calls"]

    def record_call(
        self,
        *,
        role: str,
        version: int,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        seconds: float,
        cost_usd: float | None = None,
        cached: bool = False,
    ) -> None:
        """Append a model call and save."""
        self.calls.append(
            {
                "role": role,
                "version": version,
                "model": model,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "seconds": round(seconds, 3),
                "cost_usd": None if cost_usd is None else round(cost_usd, 8),
                "cached": cached,
            }
        )
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

    def total_tokens(self) -> tuple[int, int]:
        """(prompt, completion) tokens over all calls."""
        prompt = sum(int(c.get("prompt_tokens") or 0) for c in self.calls)
        completion = sum(int(c.get("completion_tokens") or 0) for c in self.calls)
        return prompt, completion

    def mark_finished(self, version: int, reason: str) -> None:
        """Record that ``script_v{version}.py`` was accepted (or the limit reached) and save."""
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
        self.workspace.write(SESSION, session_json(self.data), durable=False)
