"""How a version ran (``run_vN.md``): the typed record, its Markdown writer and its reader.

The loop decides from :class:`RunRecord` (failing tests, a crash, tests that could not run); the
Markdown is for the person and the Reviewer. Files written before records existed are read from
their ``Summary:`` line by :func:`_legacy_record`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..names import ACCEPTANCE as TESTS_FILE
from ..names import SCRIPT_IN_RUN as SCRIPT_FILE
from .embedded import embed, extract

RUN_RECORD_KIND = "run"
RUN_RECORD_FORMAT = 1


@dataclass(frozen=True)
class TestOutcome:
    """One acceptance test's result."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    result: str  # passed | failed | error | skipped
    message: str = ""


@dataclass(frozen=True)
class CommandRecord:
    """How one command ended, as facts; the output excerpts are for people and not compared."""

    description: str  # ``exit 0``, ``still running after 30 s, stopped``...
    exit_code: int | None
    seconds: float
    timed_out: bool = False
    too_many_processes: bool = False
    crash: str | None = None  # the exception that ended it, e.g. ``IndexError``
    killed_by: str | None = None  # the signal that ended it, e.g. ``SIGSEGV``, when the tool did not send it
    leftover_processes: int = 0
    stdout: str = field(default="", compare=False)
    stderr: str = field(default="", compare=False)
    stdout_bytes: int = field(default=0, compare=False)  # the whole size, when only excerpts are kept
    stderr_bytes: int = field(default=0, compare=False)

    @property
    def ok(self) -> bool:
        """Ended by itself with exit 0, or still running at the timeout (a server, a GUI)."""
        return not self.too_many_processes and (self.timed_out or self.exit_code == 0)


@dataclass(frozen=True)
class RunRecord:
    """A version's run: the script and, when there are acceptance tests, the tests."""

    version: int
    script: CommandRecord
    tests: CommandRecord | None = None  # None: no acceptance tests
    outcomes: tuple[TestOutcome, ...] = ()

    def count(self, result: str) -> int:
        """How many tests had ``result``."""
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def tests_ran(self) -> int:
        """How many tests ran (skips aside)."""
        return sum(1 for outcome in self.outcomes if outcome.result != "skipped")

    @property
    def tests_did_not_run(self) -> bool:
        """There were acceptance tests, but none ran (collection failed, or they were stopped)."""
        return self.tests is not None and self.tests_ran == 0

    @property
    def all_tests_pass(self) -> bool:
        """True when tests ran and every one passed."""
        return self.tests_ran > 0 and self.count("passed") == self.tests_ran

    @property
    def ok(self) -> bool:
        """The script ran fine and, when there are tests, every one passed."""
        return self.script.ok and (self.tests is None or self.all_tests_pass)

    @property
    def failing(self) -> list[TestOutcome]:
        """The failing and erroring tests."""
        return [o for o in self.outcomes if o.result in {"failed", "error"}]

    def problems(self) -> list[str]:
        """What rules out approval: failing acceptance tests, tests that could not run, a crash."""
        problems = []
        if self.tests_ran and not self.all_tests_pass:
            problems.append(
                f"{self.tests_ran - self.count('passed')} of {self.tests_ran} acceptance tests fail"
            )
        if self.tests_did_not_run:
            problems.append("the acceptance tests could not run")
        if self.script.crash:
            problems.append(f"the script crashed with {self.script.crash}")
        elif self.script.killed_by:
            problems.append(f"the script was killed by {self.script.killed_by}")
        if self.script.too_many_processes:
            problems.append(f"the script {self.script.description}")
        return problems

    def summary(self) -> str:
        """``tests 5/7 passed · exit 0 · 0.4 s``."""
        parts = []
        if self.tests is not None:
            if self.tests_ran:
                parts.append(f"tests {self.count('passed')}/{self.tests_ran} passed")
            else:
                parts.append(f"tests did not run ({self.tests.description})")
        crash = f" ({self.script.crash})" if self.script.crash else ""
        parts.append(self.script.description + crash)
        parts.append(f"{self.script.seconds:.1f} s")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types (output excerpts left out)."""
        return {
            "kind": RUN_RECORD_KIND,
            "format": RUN_RECORD_FORMAT,
            "version": self.version,
            "script": _command_json(self.script),
            "tests": None if self.tests is None else _command_json(self.tests),
            "outcomes": [asdict(outcome) for outcome in self.outcomes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """The record from :meth:`to_json`'s output; ValueError when it is not one."""
        if data.get("kind") != RUN_RECORD_KIND:
            raise ValueError("not a run record")
        tests = data.get("tests")
        return cls(
            version=int(data["version"]),
            script=_command_from(data["script"]),
            tests=None if tests is None else _command_from(tests),
            outcomes=tuple(
                TestOutcome(str(o["name"]), str(o["result"]), str(o.get("message", "")))
                for o in data.get("outcomes", [])
            ),
        )


_COMMAND_FACTS = ("description", "exit_code", "seconds", "timed_out", "too_many_processes", "crash",
                  "killed_by", "leftover_processes")  # fmt: skip


def _command_json(command: CommandRecord) -> dict[str, Any]:
    return {name: getattr(command, name) for name in _COMMAND_FACTS}


def _command_from(data: dict[str, Any]) -> CommandRecord:
    exit_code = data.get("exit_code")
    return CommandRecord(
        description=str(data["description"]),
        exit_code=None if exit_code is None else int(exit_code),
        seconds=float(data.get("seconds", 0.0)),
        timed_out=bool(data.get("timed_out", False)),
        too_many_processes=bool(data.get("too_many_processes", False)),
        crash=data.get("crash") or None,
        killed_by=data.get("killed_by") or None,
        leftover_processes=int(data.get("leftover_processes", 0)),
    )


def write_run(record: RunRecord, script_name: str) -> str:
    """The text of ``run_vN.md``: the run for people, with the record embedded."""
    lines = [f"# Run of {script_name}", "", f"Summary: {record.summary()}", ""]
    lines += _command_section(f"The script: `python {SCRIPT_FILE}` (stdin empty)", record.script)
    if "EOFError" in record.script.stderr:
        lines += ["Note: the program asked for input, but a run has no input (stdin is empty).", ""]
    if record.tests is None:
        lines += ["No acceptance tests (no acceptance_test.py).", ""]
    else:
        lines += _command_section(f"The acceptance tests: `python -m pytest -q {TESTS_FILE}`", record.tests)
        lines += _tests_table(record)
    return embed("\n".join(lines), record.to_json())


def _tests_table(record: RunRecord) -> list[str]:
    if not record.outcomes:
        return ["No test results (no tests were collected, or the run was stopped).", ""]
    kinds = ("passed", "failed", "error", "skipped")
    counts = ", ".join(f"{record.count(kind)} {kind}" for kind in kinds if record.count(kind))
    lines = [f"Tests: {counts}.", "", "| test | result | message |", "|---|---|---|"]
    for outcome in record.outcomes:
        lines.append(f"| {outcome.name} | {outcome.result} | {outcome.message.replace('|', chr(92) + '|')} |")
    return [*lines, ""]


def _command_section(title: str, command: CommandRecord) -> list[str]:
    lines = [f"## {title}", "", f"- result: {command.description}", f"- duration: {command.seconds:.2f} s"]
    if command.leftover_processes:
        lines.append(f"- {command.leftover_processes} process(es) it left running were stopped")
    lines.append("")
    for name, text, size in (("stdout", command.stdout, command.stdout_bytes),
                             ("stderr", command.stderr, command.stderr_bytes)):  # fmt: skip
        if not text:
            lines += [f"{name}: (empty)", ""]
            continue
        kept = f", first and last 4 KB of {size:,} bytes" if size else ""
        fence = "````" if "```" in text else "```"
        lines += [f"{name}{kept}:", "", f"{fence}text", text.rstrip("\n"), fence, ""]
    return lines


def read_run(text: str | None, version: int) -> RunRecord | None:
    """The record of a ``run_vN.md`` text; None when there is no file or nothing can be read."""
    if not text:
        return None
    data = extract(text)
    if data is not None:
        try:
            return RunRecord.from_json(data)
        except (KeyError, TypeError, ValueError):
            pass
    return _legacy_record(text, version)


_LEGACY_SUMMARY = re.compile(r"^Summary: (.+)$", re.MULTILINE)
_LEGACY_TESTS = re.compile(r"tests (\d+)/(\d+) passed")
_LEGACY_CRASH = re.compile(r"exit (-?\d+) \(([^)]+)\)")
_LEGACY_EXIT = re.compile(r"exit (-?\d+)")


def _legacy_record(text: str, version: int) -> RunRecord | None:
    """A ``run_vN.md`` written before records existed (iterative_coder 0.1): its summary line."""
    match = _LEGACY_SUMMARY.search(text)
    if not match:
        return None
    summary = match.group(1).strip()
    parts = summary.split(" · ")
    crash = _LEGACY_CRASH.search(summary)
    exit_code = _LEGACY_EXIT.search(summary)
    description = re.sub(r" \([^)]*\)$", "", parts[-2]) if len(parts) >= 2 else summary
    seconds = float(parts[-1].split()[0]) if parts[-1].endswith(" s") else 0.0
    script = CommandRecord(
        description=description,
        exit_code=int(exit_code.group(1)) if exit_code else None,
        seconds=seconds,
        timed_out="still running" in description,
        too_many_processes="more than" in description,
        crash=crash.group(2) if crash else None,
    )
    tests = _LEGACY_TESTS.search(summary)
    if tests:
        passed, ran = int(tests.group(1)), int(tests.group(2))
        outcomes = _legacy_outcomes(text) or tuple(
            TestOutcome(f"test {i + 1}", "passed" if i < passed else "failed") for i in range(ran)
        )
        return RunRecord(version, script, CommandRecord("exit ?", None, 0.0), outcomes)
    if "tests did not run" in summary:
        return RunRecord(version, script, CommandRecord("did not run", None, 0.0))
    return RunRecord(version, script)


_LEGACY_ROW = re.compile(r"^\| (.+?) \| (passed|failed|error|skipped) \| (.*) \|$", re.MULTILINE)


def _legacy_outcomes(text: str) -> tuple[TestOutcome, ...]:
    return tuple(
        TestOutcome(m.group(1), m.group(2), m.group(3).replace("\\|", "|"))
        for m in _LEGACY_ROW.finditer(text)
    )
