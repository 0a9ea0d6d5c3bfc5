"""The workspace folder: atomic writes, reading and writing by name, the lock, branches.

The files are the memory. Everything else in the tool reads and writes them by name
through :class:`Workspace`; no name ever comes from a model.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

from .names import (
    BRANCHES_FOLDER,
    FIXED_NAMES,
    LOCK,
    PLAN,
    RUNS_FOLDER,
    TASK,
    VERSIONED,
    run_folder_version,
    script_name,
    versions_of,
)


class WorkspaceError(Exception):
    """A problem with the workspace folder that the user must fix; the message says what and how."""


def inner_folder(root: Path, *parts: str) -> Path:
    """``root/part/...``, created as needed; refused if any part is a link (it could lead anywhere)."""
    folder = Path(root).resolve()
    for part in parts:
        folder = folder / part
        if folder.is_symlink():
            raise WorkspaceError(f"{folder} is a link; the tool only writes inside the workspace. Remove it.")
        folder.mkdir(exist_ok=True)
    return folder


def atomic_write_text(path: Path, text: str | bytes, *, durable: bool = True) -> None:
    """Write ``text`` (or bytes) to ``path`` so that a crash leaves either the old file or the new one,
    never half.

    The file is created as any new file is (mode 0666 less the umask: 0644 by default). With
    ``durable`` the data and the rename are also flushed to the disk (fsync), for power cuts.
    An OSError (a full disk, a folder that cannot be written) names ``path``, not the temporary file.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = _create_temporary(path)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise
    if durable:
        _fsync_directory(path.parent)


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new, empty ``.NAME.XXXXXXXX.tmp`` beside ``path``, opened for writing.

    Not ``tempfile.mkstemp``: it makes files 0600 whatever the umask, and the rename would keep that.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error (same errno, same class) about ``path``."""
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


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


class Workspace:
    """A session folder, read and written by file name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._resolved_root: Path | None = None

    def path(self, name: str) -> Path:
        """The path of a workspace file; only the tool's own file names are accepted."""
        if name not in FIXED_NAMES and not VERSIONED.match(name):
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
        with contextlib.suppress(OSError):  # a FIFO would hold the read for ever, a device never end it
            if stat.S_ISFIFO(mode := path.stat().st_mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                what = "is not a regular file (a FIFO or a device)"
                raise WorkspaceError(f"{self.root / name} {what}; move it aside and resume.")
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
        try:
            atomic_write_text(path, text, durable=durable)
        except OSError as exc:
            raise _naming(exc, self.root / name) from None
        return path

    def append_line(self, name: str, line: str) -> None:
        """Append one line to a log file (a torn last line is all a crash can cost).

        After a torn line (the file does not end with a newline) the new line starts on a line of its
        own, so only the torn one is lost.
        """
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        path = self.path(name)
        try:
            with open(path, "ab+") as handle:
                end = handle.seek(0, os.SEEK_END)
                if end:
                    handle.seek(end - 1)
                    if handle.read(1) != b"\n":
                        data = b"\n" + data
                handle.write(data)  # in append mode, at the end whatever the position
        except OSError as exc:
            raise _naming(exc, self.root / name) from None

    def names(self) -> set[str]:
        """The names of the tool's files present in the folder (other files are ignored)."""
        try:
            entries = os.scandir(self.root)  # is_file() from the directory listing: no stat per file
        except (FileNotFoundError, NotADirectoryError):
            return set()
        with entries:
            return {
                entry.name
                for entry in entries
                if (entry.name in FIXED_NAMES or VERSIONED.match(entry.name)) and entry.is_file()
            }

    def has_session(self) -> bool:
        """Whether a session was started here: its request (task.md) or plan is saved.

        A session.json alone is not one: task.md is always written first, so it is left by a session
        that never got its request.
        """
        return bool(self.names() & {TASK, PLAN})

    def check_versions(self) -> None:
        """Refuse a gap in the scripts (v1, v2, v4): say which is missing and what to do."""
        versions = versions_of(self.names(), "script")
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
        branches = inner_folder(self.root, BRANCHES_FOLDER)
        branch = branches / stamp
        suffix = 1
        while branch.exists():
            suffix += 1
            branch = branches / f"{stamp}-{suffix}"
        moving = [
            name
            for name in sorted(self.names())
            if (match := VERSIONED.match(name))
            and (
                int(match.group(2)) > version
                or (int(match.group(2)) == version and match.group(1) == "feedback")
            )
        ]
        runs = self.root / RUNS_FOLDER
        moving_runs = [
            entry
            for entry in (runs.iterdir() if runs.is_dir() and not runs.is_symlink() else [])
            if run_folder_version(entry.name) > version
        ]
        branch.mkdir(parents=True)
        for name in moving:
            os.replace(self.root / name, branch / name)
        if moving_runs:
            (branch / RUNS_FOLDER).mkdir()
            for entry in moving_runs:
                os.replace(entry, branch / RUNS_FOLDER / entry.name)
        _fsync_directory(self.root)
        return branch

    def latest_script_version(self) -> int:
        """The highest N with a ``script_vN.py``, or 0."""
        return max(versions_of(self.names(), "script"), default=0)


_RELEASE_SECONDS = 3.0  # how long a lock whose named holder is gone may still be held by what it left


class WorkspaceLock:
    """One process per workspace: an exclusive ``flock`` on ``DIR/.lock`` that holds our PID.

    The file is removed when the lock is given up (``with`` ends, however it ends). The kernel drops
    the lock when the process dies, so a lock file left by a crash never blocks.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.path = workspace.root / LOCK
        self._fd: int | None = None

    @staticmethod
    def holder(workspace: Workspace) -> int | None:
        """The PID of an iterative_coder process working in ``workspace`` now, or None.

        Read from ``.lock`` without taking it (a status must never block a session from starting):
        the PID it names must be alive and be this tool (a lock file left by a crash may name a PID
        reused since by another program).
        """
        try:
            pid = int((workspace.root / LOCK).read_text(encoding="utf-8", errors="replace").strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"iterative_coder" in command or b"iterative-coder" in command else None

    def __enter__(self) -> WorkspaceLock:
        while True:
            fd = self._open()
            try:
                self._take(fd)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise WorkspaceError(
                    f"Another iterative_coder (PID {holder}) is working in {self.path.parent}; "
                    "let it finish or stop it, then try again."
                ) from None
            if self._still_named(fd):
                break
            os.close(fd)  # the holder removed it as we opened it: lock the file that is there now
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def _take(self, fd: int) -> None:
        """Lock ``fd``; BlockingIOError when a live iterative_coder holds it. A tool just killed may
        leave the lock held a moment longer (by a child of its that had not yet replaced itself with
        the program it starts, which closes the lock as it does): the lock is tried again for
        :data:`_RELEASE_SECONDS` while the PID in the file is no longer this tool."""
        deadline = time.monotonic() + _RELEASE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if self.holder(self.workspace) is not None or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP or self.path.is_symlink():
                raise WorkspaceError(f"Cannot lock {self.path}: it is a link; remove it.") from None
            raise _naming(exc, self.path) from None

    def _still_named(self, fd: int) -> bool:
        """Whether ``self.path`` is still the file ``fd`` has open (not removed or replaced meanwhile)."""
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            # Removed while still held, so no other process can lock this file and find it gone after.
            with contextlib.suppress(OSError):
                if self._still_named(self._fd):
                    os.unlink(self.path)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
