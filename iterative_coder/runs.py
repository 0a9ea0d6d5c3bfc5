"""Running one version: ``runs/vN/`` gets a copy of the script and the acceptance tests, both run
within the limits of :mod:`runner`, and the result becomes a :class:`RunRecord`."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .names import ACCEPTANCE as TESTS_FILE
from .names import MANUAL_SUFFIX, RUNS_FOLDER, run_folder_name
from .names import SCRIPT_IN_RUN as SCRIPT_FILE
from .records.run import CommandRecord, RunRecord, TestOutcome
from .runner import OUTPUT_KEEP, ProcessResult, run_limited
from .workspace import inner_folder

REPORT_FILE = "report.xml"
_EXCEPTION_NAME = re.compile(r"^([A-Za-z_][\w.]*)")


def crash_of(result: ProcessResult) -> str | None:
    """The exception that ended the program, e.g. ``IndexError``, when it crashed."""
    stderr = result.text("stderr")
    if not result.exit_code or result.exit_code < 0 or "Traceback (most recent call last)" not in stderr:
        return None
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    name = _EXCEPTION_NAME.match(last.strip())
    return name.group(1) if name else "an exception"


def command_record(result: ProcessResult, timeout: float) -> CommandRecord:
    """The facts of one command's run, with its output excerpts."""
    return CommandRecord(
        description=result.describe(timeout),
        exit_code=result.exit_code,
        seconds=round(result.seconds, 3),
        timed_out=result.timed_out,
        too_many_processes=result.too_many_processes,
        crash=crash_of(result),
        leftover_processes=result.leftover_processes,
        stdout=result.text("stdout"),
        stderr=result.text("stderr"),
        stdout_bytes=result.stdout.total if result.stdout.total > 2 * OUTPUT_KEEP else 0,
        stderr_bytes=result.stderr.total if result.stderr.total > 2 * OUTPUT_KEEP else 0,
    )


def run_version(
    workspace_root: Path, version: int, script_text: str, tests_text: str | None, timeout: float
) -> RunRecord:
    """Run ``script_text`` (and the acceptance tests) in a fresh ``runs/v{version}/``."""
    run_dir = fresh_run_dir(workspace_root, version)
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    script = command_record(run_limited([sys.executable, SCRIPT_FILE], run_dir, timeout), timeout)
    if tests_text is None:
        return RunRecord(version, script)
    # Restore the script in case it rewrote itself, and give pytest a config of its own so no
    # project around the workspace changes how the tests run.
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    (run_dir / TESTS_FILE).write_text(tests_text, encoding="utf-8")
    (run_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={REPORT_FILE}"]
    tests = run_limited([*command, TESTS_FILE], run_dir, timeout)
    return RunRecord(
        version, script, command_record(tests, timeout), tuple(read_junit(run_dir / REPORT_FILE))
    )


def run_with_arguments(
    workspace_root: Path, version: int, script_text: str, args: list[str], timeout: float
) -> ProcessResult:
    """Run the script again with arguments (the Manager's ``/run``) in ``runs/v{version}-manual/``."""
    run_dir = fresh_run_dir(workspace_root, version, suffix=MANUAL_SUFFIX)
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    return run_limited([sys.executable, SCRIPT_FILE, *args], run_dir, timeout)


def fresh_run_dir(workspace_root: Path, version: int, suffix: str = "") -> Path:
    """An empty ``runs/v{version}{suffix}/`` inside the workspace (an older one is replaced)."""
    run_dir = inner_folder(workspace_root, RUNS_FOLDER) / run_folder_name(version, suffix)
    if run_dir.is_symlink() or run_dir.is_file():
        run_dir.unlink()  # the link itself, never what it points to
    elif run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir()
    return run_dir


def read_junit(path: Path) -> list[TestOutcome]:
    """The test outcomes of a pytest junit XML report (none when it is missing or unreadable)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return []
    outcomes = []
    for case in root.iter("testcase"):
        name = case.get("name") or "?"
        result, message = "passed", ""
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                result = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = child.get("message") or ""
                if not message and child.text and child.text.strip():
                    message = child.text.strip().splitlines()[-1]
                break
        outcomes.append(TestOutcome(name=name, result=result, message=" ".join(message.split())[:300]))
    return outcomes
