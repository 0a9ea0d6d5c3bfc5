"""Running one version: ``runs/vN/`` gets a copy of the script and the acceptance tests, both run
within the limits of :mod:`runner`, and the result becomes ``run_vN.md``."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from .runner import OUTPUT_KEEP, ProcessResult, run_limited
from .workspace import inner_folder

TESTS_PASSED = re.compile(r"tests (\d+)/(\d+) passed")  # in a run summary
SCRIPT_FILE = "script.py"  # the module name the acceptance tests import: ``import script``
TESTS_FILE = "acceptance_test.py"
REPORT_FILE = "report.xml"


@dataclass(frozen=True)
class TestOutcome:
    """One acceptance test's result."""

    name: str
    result: str  # passed | failed | error | skipped
    message: str = ""


@dataclass
class RunReport:
    """A version's run: the script and, when there are acceptance tests, the tests."""

    version: int
    timeout: float
    script: ProcessResult
    tests: ProcessResult | None = None
    outcomes: list[TestOutcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        """How many tests had ``result``."""
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def all_tests_pass(self) -> bool:
        """True when there were tests and every one passed (skips aside)."""
        ran = [o for o in self.outcomes if o.result != "skipped"]
        return bool(ran) and all(o.result == "passed" for o in ran)

    @property
    def script_ok(self) -> bool:
        """The script ended by itself with exit 0, or was still running at the timeout (a server, a GUI)."""
        result = self.script
        return not result.too_many_processes and (result.timed_out or result.exit_code == 0)

    @property
    def crash(self) -> str | None:
        """The exception that ended the script, e.g. ``IndexError``, when it crashed."""
        result = self.script
        stderr = result.text("stderr")
        if not result.exit_code or result.exit_code < 0 or "Traceback (most recent call last)" not in stderr:
            return None
        last = [line for line in stderr.splitlines() if line.strip()][-1]
        name = re.match(r"^([A-Za-z_][\w.]*)", last.strip())
        return name.group(1) if name else "an exception"

    def summary(self) -> str:
        """``tests 5/7 passed · exit 0 · 0.4 s``."""
        parts = []
        if self.tests is not None:
            ran = len([o for o in self.outcomes if o.result != "skipped"])
            if ran:
                parts.append(f"tests {self.count('passed')}/{ran} passed")
            else:
                parts.append(f"tests did not run ({self.tests.describe(self.timeout)})")
        crash = f" ({self.crash})" if self.crash else ""
        parts.append(self.script.describe(self.timeout) + crash)
        parts.append(f"{self.script.seconds:.1f} s")
        return " · ".join(parts)


def run_version(
    workspace_root: Path, version: int, script_text: str, tests_text: str | None, timeout: float
) -> RunReport:
    """Run ``script_text`` (and the acceptance tests) in a fresh ``runs/v{version}/``."""
    run_dir = fresh_run_dir(workspace_root, version)
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    script = run_limited([sys.executable, SCRIPT_FILE], run_dir, timeout)
    report = RunReport(version=version, timeout=timeout, script=script)
    if tests_text is not None:
        # Restore the script in case it rewrote itself, and give pytest a config of its own so no
        # project around the workspace changes how the tests run.
        (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
        (run_dir / TESTS_FILE).write_text(tests_text, encoding="utf-8")
        (run_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={REPORT_FILE}",
        ]
        report.tests = run_limited([*command, TESTS_FILE], run_dir, timeout)
        report.outcomes = read_junit(run_dir / REPORT_FILE)
    return report


def run_with_arguments(
    workspace_root: Path, version: int, script_text: str, args: list[str], timeout: float
) -> ProcessResult:
    """Run the script again with arguments (the Manager's ``/run``) in ``runs/v{version}-manual/``."""
    run_dir = fresh_run_dir(workspace_root, version, suffix="-manual")
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    return run_limited([sys.executable, SCRIPT_FILE, *args], run_dir, timeout)


def fresh_run_dir(workspace_root: Path, version: int, suffix: str = "") -> Path:
    """An empty ``runs/v{version}{suffix}/`` inside the workspace (an older one is replaced)."""
    run_dir = inner_folder(workspace_root, "runs") / f"v{version}{suffix}"
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


def failures_of(run_dir: Path) -> list[TestOutcome]:
    """The failing and erroring tests of the run in ``run_dir``."""
    return [o for o in read_junit(run_dir / REPORT_FILE) if o.result in {"failed", "error"}]


def run_summary(run_text: str | None) -> str | None:
    """The ``Summary:`` line of a run_vN.md, e.g. ``tests 5/7 passed · exit 0 · 0.4 s``."""
    if not run_text:
        return None
    match = re.search(r"^Summary: (.+)$", run_text, re.MULTILINE)
    return match.group(1).strip() if match else None


def run_problems(summary: str | None) -> list[str]:
    """What in a run summary rules out approval: failing acceptance tests, tests that could not run,
    a crash."""
    problems = []
    tests = TESTS_PASSED.search(summary or "")
    if tests and tests.group(1) != tests.group(2):
        failing = int(tests.group(2)) - int(tests.group(1))
        problems.append(f"{failing} of {tests.group(2)} acceptance tests fail")
    if "tests did not run" in (summary or ""):
        problems.append("the acceptance tests could not run")
    crash = re.search(r"exit \d+ \(([^)]+)\)", summary or "")
    if crash:
        problems.append(f"the script crashed with {crash.group(1)}")
    return problems


def render_run(report: RunReport, script_name: str) -> str:
    """The text of ``run_vN.md``."""
    lines = [f"# Run of {script_name}", "", f"Summary: {report.summary()}", ""]
    lines += _process_section(
        f"The script: `python {SCRIPT_FILE}` (stdin empty)", report.script, report.timeout
    )
    if "EOFError" in report.script.text("stderr"):
        lines += ["Note: the program asked for input, but a run has no input (stdin is empty).", ""]
    if report.tests is not None:
        lines += _process_section(
            f"The acceptance tests: `python -m pytest -q {TESTS_FILE}`", report.tests, report.timeout
        )
        if report.outcomes:
            counts = ", ".join(
                f"{report.count(kind)} {kind}"
                for kind in ("passed", "failed", "error", "skipped")
                if report.count(kind)
            )
            lines += [f"Tests: {counts}.", "", "| test | result | message |", "|---|---|---|"]
            for outcome in report.outcomes:
                message = outcome.message.replace("|", "\\|")
                lines.append(f"| {outcome.name} | {outcome.result} | {message} |")
            lines.append("")
        else:
            lines += ["No test results (no tests were collected, or the run was stopped).", ""]
    else:
        lines += ["No acceptance tests (no acceptance_test.py).", ""]
    return "\n".join(lines).rstrip() + "\n"


def _process_section(title: str, result: ProcessResult, timeout: float) -> list[str]:
    lines = [
        f"## {title}",
        "",
        f"- result: {result.describe(timeout)}",
        f"- duration: {result.seconds:.2f} s",
    ]
    if result.leftover_processes:
        lines.append(f"- {result.leftover_processes} process(es) it left running were stopped")
    lines.append("")
    for name, output in (("stdout", result.stdout), ("stderr", result.stderr)):
        if not output.total:
            lines += [f"{name}: (empty)", ""]
            continue
        kept = "" if output.total <= 2 * OUTPUT_KEEP else f", first and last 4 KB of {output.total:,} bytes"
        text = result.text(name)
        fence = "````" if "```" in text else "```"
        lines += [f"{name}{kept}:", "", f"{fence}text", text.rstrip("\n"), fence, ""]
    return lines
