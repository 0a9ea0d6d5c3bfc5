"""One process per workspace (the lock), setting versions aside (branches), gaps, and file names."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

import iterative_coder
import iterative_coder.workspace as workspace_module
from iterative_coder.resume import ResumePoint, Step
from iterative_coder.session import SessionLog
from iterative_coder.workspace import Workspace, WorkspaceError, WorkspaceLock, inner_folder

REPO_ROOT = Path(iterative_coder.__file__).resolve().parent.parent

# Takes the lock on the workspace given as argument, says so, and holds it until stdin closes.
HOLDER = """
import sys
from pathlib import Path
from iterative_coder.workspace import Workspace, WorkspaceLock

with WorkspaceLock(Workspace(Path(sys.argv[1]))):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_held_by_another_process(root: Path) -> Iterator[subprocess.Popen[str]]:
    """A child Python process holding the workspace lock; it has taken it when this yields."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line != "locked\n":
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the child did not take the lock: {line!r} {err}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        proc.wait()


def release(proc: subprocess.Popen[str]) -> None:
    """Let the child holding the lock finish normally."""
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait()
    assert proc.returncode == 0


# --- WorkspaceLock ---------------------------------------------------------------------------------


def test_a_lock_held_by_another_process_is_refused_naming_its_pid(tmp_path: Path) -> None:
    with lock_held_by_another_process(tmp_path) as holder:
        with pytest.raises(WorkspaceError) as caught, WorkspaceLock(Workspace(tmp_path)):
            pytest.fail("took a lock that another process holds")
        message = str(caught.value)
        assert f"PID {holder.pid}" in message
        assert "let it finish or stop it" in message
        assert str(tmp_path) in message
        # The refused attempt left the holder's PID in place.
        assert (tmp_path / ".lock").read_text() == f"{holder.pid}\n"
        release(holder)
    with WorkspaceLock(Workspace(tmp_path)):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


def test_the_lock_of_a_killed_process_does_not_block(tmp_path: Path) -> None:
    with lock_held_by_another_process(tmp_path) as holder:
        holder.kill()  # SIGKILL: no clean-up runs in the child
        holder.wait()
        assert holder.returncode == -9
        # Its PID is still in the file, but the kernel released the flock with the process.
        assert (tmp_path / ".lock").read_text() == f"{holder.pid}\n"
        with WorkspaceLock(Workspace(tmp_path)):
            assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


def test_the_lock_file_holds_our_pid_while_held(tmp_path: Path) -> None:
    lock_file = tmp_path / ".lock"
    lock_file.write_text("99999999999 a stale and longer PID from before\n")
    with WorkspaceLock(Workspace(tmp_path)) as lock:
        assert isinstance(lock, WorkspaceLock)
        assert lock_file.read_text() == f"{os.getpid()}\n"


def test_the_same_process_can_take_the_lock_again_after_releasing_it(tmp_path: Path) -> None:
    lock = WorkspaceLock(Workspace(tmp_path))
    with lock:
        pass
    with lock:
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    with WorkspaceLock(Workspace(tmp_path)):
        pass


def test_a_lock_file_that_is_a_link_is_refused_and_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("not the tool's\n")
    (root / ".lock").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="link"), WorkspaceLock(Workspace(root)):
        pytest.fail("took a lock through a link")
    assert outside.read_text() == "not the tool's\n"


def test_a_lock_file_that_is_a_dangling_link_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    target = tmp_path / "elsewhere.txt"
    (root / ".lock").symlink_to(target)
    with pytest.raises(WorkspaceError), WorkspaceLock(Workspace(root)):
        pytest.fail("took a lock through a link")
    assert not target.exists()


# --- Workspace.branch_from --------------------------------------------------------------------------

VERSIONS = range(1, 5)
_KINDS = (("script", "py"), ("review", "md"), ("run", "md"), ("feedback", "md"))
RUN_FILES = ("script.py", "output.txt")


def make_session(root: Path) -> None:
    """A session with versions 1..4, each with script, review, run and feedback, and run folders."""
    root.mkdir(exist_ok=True)
    for name in ("task.md", "plan.md", "acceptance_test.py", "notes.txt"):
        (root / name).write_text(f"{name} text\n")
    runs = root / "runs"
    runs.mkdir()
    for v in VERSIONS:
        for name in (f"{kind}_v{v}.{ext}" for kind, ext in _KINDS):
            (root / name).write_text(f"{name} text\n")
        for folder in (f"v{v}", *((f"v{v}-manual",) if v == 3 else ())):
            (runs / folder).mkdir()
            for file in RUN_FILES:
                (runs / folder / file).write_text(f"runs/{folder}/{file} text\n")


def contents(root: Path) -> Counter[str]:
    """Every file's text under ``root``, wherever it is."""
    return Counter(path.read_text() for path in root.rglob("*") if path.is_file())


def files(root: Path) -> set[str]:
    """Every file under ``root``, relative to it."""
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def freeze_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Make the workspace module's clock stand still at ``moment``."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Frozen:  # type: ignore[override]
            return cls.fromtimestamp(moment.timestamp(), tz=tz)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace_module, "datetime", Frozen)


MOMENT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_branch_from_sets_the_later_versions_aside_and_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze_clock(monkeypatch, MOMENT)
    root = tmp_path / "workspace"
    make_session(root)
    before = contents(root)
    originals = {name: (root / name).read_text() for name in files(root)}

    branch = Workspace(root).branch_from(2)

    assert branch == (root / "branches" / "20240102-030405").resolve()
    assert branch.is_dir()
    moved = {
        "feedback_v2.md",
        *(f"{kind}_v{v}.{ext}" for v in (3, 4) for kind, ext in _KINDS),
        *(f"runs/{folder}/{file}" for folder in ("v3", "v3-manual", "v4") for file in RUN_FILES),
    }
    assert files(branch) == moved
    for name in moved:
        assert (branch / name).read_text() == originals[name], name
    kept = {
        "task.md",
        "plan.md",
        "acceptance_test.py",
        "notes.txt",
        "feedback_v1.md",
        *(f"{kind}_v{v}.{ext}" for v in (1, 2) for kind, ext in _KINDS if kind != "feedback"),
        *(f"runs/{folder}/{file}" for folder in ("v1", "v2") for file in RUN_FILES),
    }
    assert files(root) - {f"branches/20240102-030405/{name}" for name in moved} == kept
    for name in kept:
        assert (root / name).read_text() == originals[name], name
    assert sorted(p.name for p in (root / "runs").iterdir()) == ["v1", "v2"]
    # Nothing was deleted or changed: the same texts, across the workspace and the branch.
    assert contents(root) == before


def test_after_branching_the_session_resumes_at_the_managers_turn(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    make_session(root)
    workspace = Workspace(root)
    assert SessionLog(workspace).resume_point() == ResumePoint(Step.CODE, 5)
    workspace.branch_from(2)
    point = SessionLog(workspace).resume_point()
    assert point == ResumePoint(Step.MANAGER, 2)
    assert point.describe() == "Resuming at version 2: your turn after review_v2.md"
    assert SessionLog.load(workspace).resume_point() == ResumePoint(Step.MANAGER, 2)


def test_two_branches_in_the_same_second_get_distinct_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze_clock(monkeypatch, MOMENT)
    root = tmp_path / "workspace"
    make_session(root)
    before = contents(root)
    workspace = Workspace(root)
    first = workspace.branch_from(3)
    second = workspace.branch_from(2)
    third = workspace.branch_from(1)
    stamp = "20240102-030405"
    assert [first.name, second.name, third.name] == [stamp, f"{stamp}-2", f"{stamp}-3"]
    assert first.parent == second.parent == third.parent == (root / "branches").resolve()
    assert files(first) == {
        "feedback_v3.md",
        *(f"{kind}_v4.{ext}" for kind, ext in _KINDS),
        "runs/v4/script.py",
        "runs/v4/output.txt",
    }
    assert files(second) == {
        "feedback_v2.md",
        *(f"{kind}_v3.{ext}" for kind, ext in _KINDS if kind != "feedback"),
        *(f"runs/{folder}/{file}" for folder in ("v3", "v3-manual") for file in RUN_FILES),
    }
    assert "script_v2.py" in files(third) and "feedback_v1.md" in files(third)
    assert workspace.latest_script_version() == 1
    assert contents(root) == before


def test_branching_from_a_version_with_no_script_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    make_session(root)
    before = files(root)
    with pytest.raises(WorkspaceError) as caught:
        Workspace(root).branch_from(9)
    assert "script_v9.py" in str(caught.value)
    assert "--from-version 9" in str(caught.value)
    assert files(root) == before
    assert not (root / "branches").exists()


def test_branching_from_the_latest_version_moves_only_its_feedback(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    make_session(root)
    branch = Workspace(root).branch_from(4)
    assert files(branch) == {"feedback_v4.md"}
    assert SessionLog(Workspace(root)).resume_point() == ResumePoint(Step.MANAGER, 4)


def test_a_branches_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    make_session(root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "branches").symlink_to(elsewhere)
    with pytest.raises(WorkspaceError, match="is a link"):
        Workspace(root).branch_from(2)
    assert list(elsewhere.iterdir()) == []
    assert (root / "script_v3.py").is_file()


def test_inner_folder_creates_the_folders_and_refuses_links(tmp_path: Path) -> None:
    made = inner_folder(tmp_path, "runs", "v1")
    assert made == (tmp_path / "runs" / "v1").resolve()
    assert made.is_dir()
    (tmp_path / "runs" / "v2").symlink_to(tmp_path)
    with pytest.raises(WorkspaceError, match="link"):
        inner_folder(tmp_path, "runs", "v2")


# --- Workspace.check_versions ----------------------------------------------------------------------


def test_a_gap_in_the_versions_is_refused_naming_the_missing_script(tmp_path: Path) -> None:
    for v in (1, 2, 4):
        (tmp_path / f"script_v{v}.py").write_text("")
    with pytest.raises(WorkspaceError) as caught:
        Workspace(tmp_path).check_versions()
    message = str(caught.value)
    assert "script_v3.py is missing" in message
    assert "script_v4.py" in message


def test_several_missing_scripts_are_all_named(tmp_path: Path) -> None:
    for v in (2, 5):
        (tmp_path / f"script_v{v}.py").write_text("")
    with pytest.raises(WorkspaceError, match=r"script_v1\.py, script_v3\.py, script_v4\.py"):
        Workspace(tmp_path).check_versions()


def test_versions_without_a_gap_pass(tmp_path: Path) -> None:
    Workspace(tmp_path).check_versions()  # no scripts at all
    for v in (1, 2, 3):
        (tmp_path / f"script_v{v}.py").write_text("")
        (tmp_path / f"review_v{v}.md").write_text("")
    (tmp_path / "review_v7.md").write_text("")  # only scripts make versions
    Workspace(tmp_path).check_versions()


# --- Workspace.path --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../x", "notes.txt", "script_v0.py", "script_v01.py", "sub/plan.md", "/etc/passwd", ".lock", ""],
)
def test_names_that_are_not_the_tools_own_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a workspace file name"):
        Workspace(tmp_path).path(name)


@pytest.mark.parametrize("name", ["plan.md", "task.md", "session.json", "script_v12.py", "feedback_v3.md"])
def test_the_tools_own_names_are_inside_the_workspace(tmp_path: Path, name: str) -> None:
    assert Workspace(tmp_path).path(name) == tmp_path.resolve() / name


def test_a_plan_that_links_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    outside = tmp_path / "secret.md"
    outside.write_text("outside\n")
    (root / "plan.md").symlink_to(outside)
    workspace = Workspace(root)
    with pytest.raises(WorkspaceError, match="points outside the workspace"):
        workspace.path("plan.md")
    with pytest.raises(WorkspaceError):
        workspace.write("plan.md", "overwritten\n")
    assert outside.read_text() == "outside\n"


def test_a_lock_still_held_by_what_a_killed_tool_left_is_taken_once_that_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tool SIGKILLed as it started a program left the lock held a moment by its child (forked, not
    # yet the program): --resume right after said "Another iterative_coder (PID ...) is working".
    import fcntl
    import time

    lock = tmp_path / ".lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"999999999\n")  # the killed tool: no such process now
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, pass_fds=(fd,)
    )
    os.close(fd)  # only the leftover holds the lock now; it ends when its input does
    assert leftover.stdin is not None
    real_sleep = time.sleep

    def end_the_leftover_at_the_first_wait(seconds: float) -> None:
        if not leftover.stdin.closed:  # type: ignore[union-attr]
            leftover.stdin.close()  # type: ignore[union-attr]
            leftover.wait(30)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", end_the_leftover_at_the_first_wait)
    with WorkspaceLock(Workspace(tmp_path)):
        assert leftover.stdin.closed, "the lock was free at once: nothing was tested"
    assert not lock.exists()
