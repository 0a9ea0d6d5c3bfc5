"""Running one version: ``runs/vN/`` gets a copy of the script and the acceptance tests, both run
within the limits of :mod:`runner`, and the result becomes a :class:`RunRecord`."""

from __future__ import annotations

import re
import shutil
import signal
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from pathlib import Path

from .config import redact
from .names import ACCEPTANCE as TESTS_FILE
from .names import MANUAL_SUFFIX, RUNS_FOLDER, TESTS_SUFFIX, run_folder_name
from .names import SCRIPT_IN_RUN as SCRIPT_FILE
from .records.run import CommandRecord, RunRecord, TestOutcome
from .runner import OUTPUT_KEEP, ProcessResult, run_limited, signal_name
from .sandbox import Sandbox
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


def signal_from_program(result: ProcessResult, timeout: float) -> str | None:
    """The signal that ended the program, when the tool did not send it (a segfault, SIGXFSZ...)."""
    if result.exit_code is None or result.exit_code >= 0 or result.timed_out or result.too_many_processes:
        return None
    if -result.exit_code in (signal.SIGXCPU, signal.SIGKILL) and result.seconds >= timeout * 0.9:
        return None  # the CPU limit is the timeout's twin: a program that kept running
    return signal_name(-result.exit_code)


def command_record(result: ProcessResult, timeout: float) -> CommandRecord:
    """The facts of one command's run, with its output excerpts."""
    return CommandRecord(
        description=result.describe(timeout),
        exit_code=result.exit_code,
        seconds=round(result.seconds, 3),
        timed_out=result.timed_out,
        too_many_processes=result.too_many_processes,
        crash=crash_of(result),
        killed_by=signal_from_program(result, timeout),
        leftover_processes=result.leftover_processes,
        stdout=result.text("stdout"),
        stderr=result.text("stderr"),
        stdout_bytes=result.stdout.total if result.stdout.total > 2 * OUTPUT_KEEP else 0,
        stderr_bytes=result.stderr.total if result.stderr.total > 2 * OUTPUT_KEEP else 0,
    )


@dataclass(frozen=True)
class Execution:
    """Where and how generated code runs: the workspace, the time limit, the sandbox (or none), and
    the secrets to redact from whatever the program prints."""

    workspace_root: Path
    timeout: float
    sandbox: Sandbox | None = None
    secrets: tuple[str, ...] = ()

    def run(self, command: list[str], run_dir: Path, reports: Path | None = None) -> CommandRecord:
        """Run ``command`` in ``run_dir`` within the limits (and the sandbox); its record, redacted."""
        if self.sandbox is not None:
            command = self.sandbox.wrap(command, run_dir, extra_rw=[reports] if reports else [])
        result = run_limited(command, run_dir, self.timeout, sandboxed=self.sandbox is not None)
        return self.redacted(command_record(result, self.timeout))

    def redacted(self, record: CommandRecord) -> CommandRecord:
        """The record with keys taken out of what the program printed."""
        secrets = list(self.secrets)
        return replace(record, stdout=redact(record.stdout, secrets), stderr=redact(record.stderr, secrets))


def run_version(execution: Execution, version: int, script_text: str, tests_text: str | None) -> RunRecord:
    """Run ``script_text`` in a fresh ``runs/v{version}/``, then the acceptance tests in a fresh folder
    of their own, ``runs/v{version}-tests/``, holding only the script, the tests and our pytest settings."""
    run_dir = fresh_run_dir(execution.workspace_root, version)
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    script = execution.run([sys.executable, SCRIPT_FILE], run_dir)
    if tests_text is None:
        return RunRecord(version, script)
    # Made after the program ended, so nothing it planted (a conftest.py, a pytest.py, a report) is there.
    tests_dir = fresh_run_dir(execution.workspace_root, version, suffix=TESTS_SUFFIX)
    (tests_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    (tests_dir / TESTS_FILE).write_text(tests_text, encoding="utf-8")
    (tests_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="iterative-coder-report-") as reports:
        report = Path(reports) / REPORT_FILE
        tests = execution.run([*_pytest_command(report), TESTS_FILE], tests_dir, Path(reports))
        outcomes = tuple(read_junit(report))
    return RunRecord(version, script, tests, outcomes)


def _pytest_command(report: Path) -> list[str]:
    """pytest that no file in the folder can change: safe path (no current folder on ``sys.path``, so a
    planted ``pytest.py`` is not imported), no conftest.py, no plugins from the cache, the report
    written outside the folder."""
    safe_path = ["-P"] if sys.version_info >= (3, 11) else ["-I"]
    return [sys.executable, *safe_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest",
            "-c", "pytest.ini", f"--junitxml={report}"]  # fmt: skip


def run_with_arguments(
    execution: Execution, version: int, script_text: str, args: list[str]
) -> CommandRecord:
    """Run the script again with arguments (the Manager's ``/run``) in ``runs/v{version}-manual/``."""
    run_dir = fresh_run_dir(execution.workspace_root, version, suffix=MANUAL_SUFFIX)
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    return execution.run([sys.executable, SCRIPT_FILE, *args], run_dir)


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
