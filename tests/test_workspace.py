"""The workspace: where a session resumes for every combination of files, and atomic writes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.records.calls import CallRecord
from iterative_coder.resume import ResumePoint, infer_resume_point
from iterative_coder.session import SessionLog
from iterative_coder.workspace import Workspace, WorkspaceError, WorkspaceLock, atomic_write_text


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({TASK}, ResumePoint("plan", 0)),
        ({TASK, "script_v1.py"}, ResumePoint("plan", 0)),
        ({TASK, PLAN}, ResumePoint("tests", 0)),
        ({TASK, PLAN, ACCEPTANCE}, ResumePoint("code", 1)),
        ({PLAN, ACCEPTANCE}, ResumePoint("code", 1)),
        # Scripts without acceptance tests (tests deleted, or an older session): no tests step.
        ({TASK, PLAN, "script_v1.py"}, ResumePoint("review", 1)),
        ({TASK, PLAN, "script_v1.py", "review_v1.md"}, ResumePoint("manager", 1)),
        ({TASK, PLAN, "script_v1.py", "review_v1.md", "feedback_v1.md"}, ResumePoint("code", 2)),
        ({TASK, PLAN, "script_v1.py", "review_v1.md", "script_v2.py"}, ResumePoint("review", 2)),
        (
            {TASK, PLAN, "script_v1.py", "review_v1.md", "script_v2.py", "review_v2.md"},
            ResumePoint("manager", 2),
        ),
        # A review without its script, or feedback without a review, is not a version yet.
        ({TASK, PLAN, ACCEPTANCE, "review_v1.md"}, ResumePoint("code", 1)),
        ({TASK, PLAN, "run_v1.md", "script_v1.py"}, ResumePoint("review", 1)),
        ({TASK, PLAN, "script_v1.py", "feedback_v1.md"}, ResumePoint("review", 1)),
        ({TASK, PLAN, "script_v1.py", "review_v1.md", "review_v2.md"}, ResumePoint("manager", 1)),
        # Version 10 sorts after 9 (numbers, not text).
        ({TASK, PLAN, "script_v9.py", "review_v9.md", "script_v10.py"}, ResumePoint("review", 10)),
    ],
)
def test_resume_point_from_files(names: set[str], expected: ResumePoint) -> None:
    assert infer_resume_point(names) == expected


def test_finished_only_while_the_accepted_version_is_the_latest() -> None:
    names = {TASK, PLAN, "script_v1.py", "review_v1.md"}
    assert infer_resume_point(names, finished_version=1) == ResumePoint("finished", 1)
    # The person added a version by hand after accepting: the session goes on.
    assert infer_resume_point(names | {"script_v2.py"}, finished_version=1) == ResumePoint("review", 2)


def test_every_combination_of_files_resumes_at_a_step_that_overwrites_nothing() -> None:
    files = [
        "plan.md",
        ACCEPTANCE,
        "script_v1.py",
        "review_v1.md",
        "feedback_v1.md",
        "script_v2.py",
        "review_v2.md",
    ]
    files += ["feedback_v2.md"]
    for present in itertools.product([False, True], repeat=len(files)):
        names = {TASK} | {name for name, here in zip(files, present, strict=True) if here}
        point = infer_resume_point(names)
        if point.step == "plan":
            assert PLAN not in names  # planning writes only plan.md; later steps go on from the files
            continue
        if point.step == "tests":
            assert ACCEPTANCE not in names and not any(name.startswith("script_") for name in names)
            continue
        if point.step == "code":
            assert PLAN in names and f"script_v{point.version}.py" not in names
            assert point.version == 1 or f"script_v{point.version - 1}.py" in names
        elif point.step == "review":
            assert f"script_v{point.version}.py" in names and f"review_v{point.version}.md" not in names
        else:
            assert point.step == "manager"
            assert {f"script_v{point.version}.py", f"review_v{point.version}.md"} <= names
        assert not any(f"script_v{n}.py" in names for n in range(point.version + 1, 4))


def test_resume_point_reads_the_folder_and_ignores_other_files(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    for name in (TASK, PLAN, "script_v1.py", "review_v1.md"):
        workspace.write(name, "x\n")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "script_v2.py.bak").write_text("mine")
    session = SessionLog.load(workspace)
    assert session.resume_point() == ResumePoint("manager", 1)
    assert session.resume_point().describe() == "Resuming at version 1: your turn after review_v1.md"


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_text("old plan\n")
    atomic_write_text(target, "new plan\n")
    assert target.read_text() == "new plan\n"
    assert os.listdir(tmp_path) == ["plan.md"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_text("old plan\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "bad \udcff surrogate")
    assert target.read_text() == "old plan\n"
    assert os.listdir(tmp_path) == ["plan.md"]


def test_only_the_tools_own_names_and_nothing_outside(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    for bad in ("../evil.py", "script_v1.py/../../x", "/etc/passwd", "script_v0.py", "notes.txt"):
        with pytest.raises(ValueError):
            workspace.path(bad)
    (tmp_path / "ws").mkdir()
    (tmp_path / "outside.md").write_text("secret")
    (tmp_path / "ws" / "plan.md").symlink_to(tmp_path / "outside.md")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        workspace.read(PLAN)


def test_folders_the_tool_writes_into_must_not_be_links(tmp_path: Path) -> None:
    from iterative_coder.workspace import inner_folder

    (tmp_path / "ws").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "ws" / "runs").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(WorkspaceError, match="is a link"):
        inner_folder(tmp_path / "ws", "runs")
    assert inner_folder(tmp_path / "ws", ".cache", "seed-1").is_dir()


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    (tmp_path / PLAN).write_bytes(b"caf\xe9\n")
    with pytest.raises(WorkspaceError, match="not UTF-8"):
        workspace.read(PLAN)


def test_session_log_records_calls_and_survives_corruption(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    session = SessionLog(workspace)
    call = CallRecord("coder", 1, "m", prompt_tokens=10, completion_tokens=5, seconds=0.5, cost_usd=None)
    session.record_call(call)
    data = json.loads((tmp_path / "session.json").read_text())
    assert data["calls"][0]["role"] == "coder" and data["calls"][0]["prompt_tokens"] == 10
    assert SessionLog.load(workspace).calls == [call]
    (tmp_path / "session.json").write_text("{not json")
    assert SessionLog.load(workspace).calls == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_are_created_as_the_umask_says(tmp_path: Path, umask: int) -> None:
    before = os.umask(umask)
    try:
        path = Workspace(tmp_path).write(TASK, "x\n")
        rewritten = Workspace(tmp_path).write(PLAN, "old\n")
        Workspace(tmp_path).write(PLAN, "new\n")
    finally:
        os.umask(before)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # 0644 under the usual umask
    assert rewritten.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == [PLAN, TASK]  # no temporary left


def test_the_lock_file_goes_when_the_lock_is_given_up_however(tmp_path: Path) -> None:
    lock = WorkspaceLock(Workspace(tmp_path))
    with lock:
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / ".lock").exists()
    with pytest.raises(KeyboardInterrupt), lock:  # Ctrl-C, SIGTERM (raised as an interruption)
        raise KeyboardInterrupt
    assert not (tmp_path / ".lock").exists()


def test_a_lock_file_removed_while_we_waited_for_it_is_not_the_lock(tmp_path: Path) -> None:
    # The holder removes .lock as it lets go; a process that opened the old file just before must
    # lock the file now named .lock, or two processes would each hold "the" lock.
    lock = WorkspaceLock(Workspace(tmp_path))
    (tmp_path / ".lock").write_text("1\n")
    stale = os.open(tmp_path / ".lock", os.O_RDONLY)
    try:
        (tmp_path / ".lock").unlink()
        assert not lock._still_named(stale)
        (tmp_path / ".lock").write_text("2\n")
        assert not lock._still_named(stale)
    finally:
        os.close(stale)
    with lock:
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


def test_status_says_a_session_is_working_now_instead_of_how_to_resume(tmp_path: Path) -> None:
    from iterative_coder.status import history, render_text

    (tmp_path / TASK).write_text("count words\n")
    holding = (
        "import pathlib, sys\nfrom iterative_coder.workspace import Workspace, WorkspaceLock\n"
        "with WorkspaceLock(Workspace(pathlib.Path(sys.argv[1]))):\n    print('locked', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holding, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "locked\n"
        text = render_text(history(Workspace(tmp_path)))
        assert f"A session is working in this workspace now (PID {process.pid})." in text
        assert "Resume with" not in text
    finally:
        process.communicate("", timeout=30)
    assert "Resume with: python -m iterative_coder --resume" in render_text(history(Workspace(tmp_path)))
    (tmp_path / ".lock").write_text(f"{os.getpid()}\n")  # a stale lock naming a process that is not the tool
    assert WorkspaceLock.holder(Workspace(tmp_path)) is None
