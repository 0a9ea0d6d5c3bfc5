"""Inputs that must not wedge a workspace or flood a record: run folders of any shape, history files
replaced by folders or links, report folders a killed tool left, 200,000 test cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from drive import run_loop, run_main, start_workspace
from hostile import APPROVE, MODES, TIMEOUT, fenced

from iterative_coder.execution.demo import demo_for, inferred_demo
from iterative_coder.execution.runs import fresh_run_dir, trim_folder
from iterative_coder.execution.strays import forget_run, new_token, record_run, recorded_runs, stop_strays
from iterative_coder.execution.test_channel import REPORT_PREFIX, remove_stale_reports
from iterative_coder.execution.trees import remove_tree
from iterative_coder.records.run import CommandRecord, DemoResult, RunRecord, TestOutcome, read_run, write_run
from iterative_coder.review import parse_review
from iterative_coder.textsafe import clean_terminal_text, plain_text


def odd_tree(root: Path, outside: Path) -> None:
    """1,500 nested folders, a 250-character name, a newline in a name, a link out, an unreadable folder."""
    here = os.getcwd()
    try:
        os.chdir(root)
        for _ in range(1500):  # paths longer than the system allows: made from the inside
            os.mkdir("d")
            os.chdir("d")
        Path("n" * 250).write_text("x")
    finally:
        os.chdir(here)
    (root / "new\nline").write_text("x")
    (root / "out").symlink_to(outside)
    (root / "locked").mkdir()
    (root / "locked" / "f").write_text("x")
    os.chmod(root / "locked", 0)


def test_a_run_folder_of_any_shape_is_removed_and_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    run_dir = tmp_path / "ws" / "runs" / "v1"
    run_dir.mkdir(parents=True)
    odd_tree(run_dir, outside)
    assert trim_folder(run_dir, cap=0) > 0  # walked to the bottom without recursion
    fresh = fresh_run_dir(tmp_path / "ws", 1)
    assert fresh == run_dir and not any(fresh.iterdir())
    assert (outside / "keep.txt").read_text() == "mine"
    link = tmp_path / "link"
    link.symlink_to(outside)
    remove_tree(link)
    assert not link.is_symlink() and (outside / "keep.txt").exists()


@pytest.mark.parametrize("mode", MODES)
def test_a_program_that_leaves_1500_nested_folders_does_not_wedge_the_workspace(
    mode: str, fake_server, tmp_path: Path
) -> None:
    nest = "import os\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\nprint('nested')\n"
    start_workspace(tmp_path)
    for _ in range(2):
        fake_server.enqueue("coder", fenced(nest))
        fake_server.enqueue("reviewer", APPROVE)
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    assert "ended (exit 0)" in (tmp_path / "run_v1.md").read_text()
    (tmp_path / "review_v1.md").unlink()  # run version 1 again, over the nested folders it left
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    assert "ended (exit 0)" in (tmp_path / "run_v1.md").read_text()
    remove_tree(tmp_path / "runs")  # pytest's own clean-up of old test folders recurses


def test_a_history_file_replaced_by_a_folder_or_a_link_is_put_back(fake_server, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "notes.md").write_text("outside")
    reshape = (
        "import os, shutil\nws = '../../..'\nos.remove(f'{ws}/plan.md')\nos.makedirs(f'{ws}/plan.md/inner')\n"
        f"os.remove(f'{{ws}}/task.md')\nos.symlink({str(outside / 'notes.md')!r}, f'{{ws}}/task.md')\n"
    )
    start_workspace(tmp_path)
    plan, task = (tmp_path / "plan.md").read_text(), (tmp_path / "task.md").read_text()
    fake_server.enqueue("coder", fenced(reshape))
    fake_server.enqueue("reviewer", APPROVE)
    _, _, ui = run_loop(
        fake_server, tmp_path, ["/stop"], execute="always", sandbox="off", run_timeout=TIMEOUT
    )
    assert (tmp_path / "plan.md").is_file() and (tmp_path / "plan.md").read_text() == plan
    assert not (tmp_path / "task.md").is_symlink() and (tmp_path / "task.md").read_text() == task
    assert (outside / "notes.md").read_text() == "outside"
    assert {"The program changed plan.md; restored.", "The program changed task.md; restored."} <= set(
        ui.texts("warn")
    )


def test_report_folders_a_killed_tool_left_are_removed_at_the_next_start(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    left = tmp_path / f"{REPORT_PREFIX}{gone.stdout.strip()}-abc"
    live = tmp_path / f"{REPORT_PREFIX}{os.getpid()}-def"
    left.mkdir()
    live.mkdir()
    assert remove_stale_reports(tmp_path) == 1
    assert not left.exists() and live.exists()


def test_200000_test_cases_make_a_bounded_run_record() -> None:
    outcomes = tuple(
        TestOutcome(f"test_{i}", "failed" if i % 2 else "passed", "assert 1 == 2") for i in range(200_000)
    )
    demo = DemoResult("run once", CommandRecord("exit 0", 0, 0.1), "ended")
    record = RunRecord(1, (demo,), CommandRecord("exit 1", 1, 9.0), outcomes)
    text = write_run(record, "script_v1.py")
    assert len(text) < 30_000
    assert "Not listed: 99,950 failed, 99,950 passed" in text
    back = read_run(text, 1)
    assert back is not None and (back.count("passed"), back.count("failed"), back.tests_ran) == (
        100_000,
        100_000,
        200_000,
    )
    assert back.summary().startswith("tests 100000/200000 passed")
    assert [o.name for o in back.failing][:2] == ["test_1", "test_3"] and back.failing[
        -1
    ].name == "test_199999"


WEDGING_DEMOS = {
    "NaN seconds": ({"window_seconds": float("nan")}, '"window_seconds" must be a number or null'),
    "NUL in an argument": ({"args": ["a\u0000b"]}, '"args" and "stdin" cannot hold a NUL character'),
    "a file named tmp": ({"files": {"tmp": "x"}}, '"files" may not name tmp'),
    "the script replaced": ({"files": {"script.py": "print(1)"}}, '"files" may not name script.py'),
    "a 300-character file name": ({"files": {"f" * 300: "x"}}, '"files" names must be plain file names'),
    "a lone surrogate in a name": ({"files": {"\ud800": "x"}}, '"files" names must be plain file names'),
}


@pytest.mark.parametrize("case", list(WEDGING_DEMOS))
def test_a_demo_json_that_would_wedge_the_workspace_is_refused_in_one_line(case: str) -> None:
    run, said = WEDGING_DEMOS[case]
    text = json.dumps({"runs": [{"name": "try it", **run}]})
    runs, problem = demo_for(text, "print('hi')\n")
    assert runs == inferred_demo("print('hi')\n")
    assert problem is not None and said in problem and "\n" not in problem


def test_json_nested_thousands_deep_is_refused_where_it_is_read(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    assert demo_for('{"runs": ' + deep + "}", "x = 1\n")[1] == (
        "demo.json could not be used (it is nested too deeply); ran the inferred demo instead"
    )
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / ".running").write_text(deep)
    assert recorded_runs(tmp_path) == [] and stop_strays(tmp_path) == []
    assert parse_review('Here is my review: {"verdict": ' + deep + "}").verdict == "REVISE"


def test_a_lone_surrogate_and_bidi_controls_are_made_plain_and_visible() -> None:
    assert plain_text("a\ud800b") == "a\ufffdb"
    shown = clean_terminal_text("access = 'user\u202e \u2066// admin\u2069\u2066'\u200b")
    assert shown == "access = 'user<U+202E> <U+2066>// admin<U+2069><U+2066>'<U+200B>"
    assert clean_terminal_text("family \U0001f468\u200d\U0001f469") == "family \U0001f468\u200d\U0001f469"


def _refuse_to_remove(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Removing the run folder ``name`` fails (as one holding a file the tool may not delete would)."""

    def refuse(path: Path) -> None:
        if path.name != name:
            return remove_tree(path)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("iterative_coder.execution.runs.remove_tree", refuse)


def test_a_run_folder_that_cannot_be_removed_is_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = fresh_run_dir(tmp_path, 2)
    (old / "left.txt").write_text("x")
    _refuse_to_remove(monkeypatch, "v2")
    fresh = fresh_run_dir(tmp_path, 2)
    assert fresh == old and not any(fresh.iterdir())
    (aside,) = (tmp_path / "runs").glob(".set-aside-v2-*")
    assert (aside / "left.txt").read_text() == "x"


def test_the_person_is_told_where_a_run_folder_was_set_aside(
    fake_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_workspace(tmp_path)
    (tmp_path / "runs" / "v1").mkdir(parents=True)  # left by an earlier run of version 1
    (tmp_path / "runs" / "v1" / "left.txt").write_text("x")
    _refuse_to_remove(monkeypatch, "v1")
    fake_server.enqueue("coder", fenced("print('hello')"))
    fake_server.enqueue("reviewer", APPROVE)
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="always", run_timeout=TIMEOUT)
    (aside,) = (tmp_path / "runs").glob(".set-aside-v1-*")
    said = [text for kind, text in ui.events if kind == "warn" and "set aside" in text]
    assert said == [
        f"runs/v1 could not be removed for this run; it was set aside as runs/{aside.name} (delete it once "
        "you no longer need it)."
    ]
    assert "ended (exit 0)" in (tmp_path / "run_v1.md").read_text()


def test_1500_nested_folders_in_a_run_folder_do_not_stop_resume(
    fake_server, tmp_path: Path, model_env: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    start_workspace(ws)
    (ws / "script_v1.py").write_text("print('hello')\n")
    (ws / "runs" / "v1").mkdir(parents=True)  # what version 1's run left before the tool was stopped
    (tmp_path / "outside").mkdir()
    odd_tree(ws / "runs" / "v1", tmp_path / "outside")
    fake_server.enqueue("reviewer", APPROVE)
    args = ["--resume", "ws", "--execute", "always", "--sandbox", "off"]
    started = time.monotonic()
    resumed = run_main(args, tmp_path, model_env, stdin="/stop\n")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert time.monotonic() - started < 20
    assert "Resuming at version 1: reviewing script_v1.py" in resumed.stdout
    assert "Traceback" not in resumed.stdout + resumed.stderr
    assert "ended (exit 0)" in (ws / "run_v1.md").read_text()
    assert not (ws / "runs" / "v1" / "d").exists() and not list((ws / "runs").glob(".set-aside-*"))


def test_runs_replaced_by_a_link_has_nothing_deleted_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".running").write_text("theirs")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    record_run(workspace, new_token(), 12345, workspace / "runs" / "v1")
    token = recorded_runs(workspace)[0].token
    remove_tree(workspace / "runs")
    (workspace / "runs").symlink_to(outside)  # what a program without the sandbox could do
    forget_run(workspace, token)
    assert stop_strays(workspace) == []
    assert (outside / ".running").read_text() == "theirs"
