"""How a version ran (``run_vN.md``): the typed record, its Markdown writer and its reader.

A run is one or more demo runs (how a person would try the program: arguments, typed input, a window
watched for some seconds) and the acceptance tests. The loop decides from :class:`RunRecord`; the
Markdown is for the person and the Reviewer. Files written before records existed are read by
:mod:`records.legacy`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..names import ACCEPTANCE as TESTS_FILE
from ..names import SCRIPT_IN_RUN as SCRIPT_FILE
from .demo_run import (
    COMMAND_FACTS,
    CRASHED,
    ENDED,
    EXITED,
    KILLED,
    NO_DISPLAY,
    NO_DISPLAY_REASON,
    NOT_RUN,
    PROBLEM_KINDS,
    TIMED_OUT,
    TOO_MANY,
    WAITED,
    WINDOW,
    CommandRecord,
    DemoResult,
    command_from,
    command_json,
    demo_from,
    demo_json,
    kind_of,
)
from .embedded import embed, extract
from .environment import EnvironmentRecord, environment_from, environment_section
from .outcomes import FAILING, OUTCOMES_KEPT, RESULTS, TestOutcome, bounded_outcomes
from .trial import trial_lines

# Names other modules read from here (a run's parts live in records.demo_run).
__all__ = [
    "COMMAND_FACTS", "CRASHED", "ENDED", "EXITED", "FAILING", "KILLED", "NO_DISPLAY", "NO_DISPLAY_REASON",
    "NOT_RUN", "PROBLEM_KINDS", "RESULTS", "TIMED_OUT", "TOO_MANY", "WAITED", "WINDOW", "CommandRecord",
    "DemoResult", "RunRecord", "TestOutcome", "command_from", "command_json", "demo_from", "demo_json",
    "kind_of", "not_run", "read_run", "write_run",
]  # fmt: skip

RUN_RECORD_KIND = "run"
RUN_RECORD_FORMAT = 2


def shown_seconds(seconds: float) -> str:
    """Seconds as ``run_vN.md`` and ``status`` both show them: to hundredths (as records keep
    them), then tenths; rounding once here and twice there made 0.049 read 0.0 and 0.1."""
    return f"{round(seconds, 2):.1f}"


@dataclass(frozen=True)
class RunRecord:
    """A version's run: its demo runs and, when there are acceptance tests, the tests."""

    version: int
    demos: tuple[DemoResult, ...]
    tests: CommandRecord | None = None  # None: no acceptance tests
    outcomes: tuple[TestOutcome, ...] = ()
    legacy_summary: str | None = field(default=None, compare=False)  # as a 0.1 file said it
    # pytest's first error when acceptance_test.py itself does not load (it does not collect, even
    # against a stand-in script): a problem of the test file, not of the version.
    tests_unloadable: str | None = None
    environment: EnvironmentRecord | None = None  # None: a run from before environments existed
    network: str | None = None  # ``script_v1.py tried to reach example.org; runs have no network``
    # Why the test results cannot be believed (the report rewritten, the process ended early...):
    # the outcomes are then only what the tests reported as they ran, and the version is not approved.
    tampered: str | None = None
    # How many outcomes of each result are counted but not kept by name (see :data:`OUTCOMES_KEPT`).
    omitted: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if len(self.outcomes) > OUTCOMES_KEPT:
            kept, omitted = bounded_outcomes(self.outcomes)
            counts = Counter(dict(self.omitted)) + omitted
            object.__setattr__(self, "outcomes", kept)
            object.__setattr__(self, "omitted", tuple(sorted(counts.items())))

    @property
    def script(self) -> CommandRecord:
        """The first demo run's command."""
        return self.demos[0].command

    def count(self, result: str) -> int:
        """How many tests had ``result``."""
        kept = sum(1 for outcome in self.outcomes if outcome.result == result)
        return kept + dict(self.omitted).get(result, 0)

    @property
    def tests_ran(self) -> int:
        """How many tests ran (skips aside)."""
        return sum(self.count(result) for result in RESULTS if result != "skipped")

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
        """It ran in its environment, reached for no network, no demo run has a problem and, when there
        are tests, every one passed and none was tampered with."""
        if self.network or (self.environment is not None and self.environment.problem):
            return False
        tests_ok = self.tests is None or (self.all_tests_pass and not self.tampered)
        return not any(demo.problem() for demo in self.demos) and tests_ok

    @property
    def failing(self) -> list[TestOutcome]:
        """The failing and erroring tests."""
        return [o for o in self.outcomes if o.result in FAILING]

    @property
    def unloadable_sentence(self) -> str:
        """``acceptance_test.py itself does not load: <pytest's reason>``."""
        return f"{TESTS_FILE} itself does not load: {self.tests_unloadable}"

    @property
    def tampered_sentence(self) -> str:
        """``the test results were tampered with: <how>``."""
        return f"the test results were tampered with: {self.tampered}"

    @property
    def screenshots(self) -> list[str]:
        """The screenshots taken, relative to the workspace."""
        return [demo.screenshot for demo in self.demos if demo.screenshot]

    def problems(self, suspects: frozenset[str] = frozenset()) -> list[str]:
        """What rules out approval: failing acceptance tests, tests that could not run, a crash, a
        signal, a limit, a program that should have ended and did not. A test file that does not load
        is not the version's fault, and is not among them; nor is a failing test in ``suspects`` (one
        that may be wrong itself)."""
        problems = [self.tampered_sentence] if self.tampered else []
        if self.environment is not None and self.environment.problem:
            problems.append(f"its environment could not be made ({self.environment.problem})")
        if self.network:
            problems.append(self.network)
        failing = self.tests_ran - self.count("passed")
        held = failing - sum(1 for outcome in self.failing if outcome.name in suspects)
        if self.tests_ran and held > 0:
            problems.append(f"{held} of {self.tests_ran} acceptance tests fail")
        if self.tests_did_not_run and not self.tests_unloadable:
            problems.append("the acceptance tests could not run")
        for demo in self.demos:
            problem = demo.problem()
            if problem:
                problems.append(problem if len(self.demos) == 1 else f"{problem} (demo {demo.name!r})")
        return problems

    @property
    def seconds(self) -> float:
        """How long the demo runs took together."""
        return sum(demo.command.seconds for demo in self.demos)

    def summary(self) -> str:
        """``tests 5/7 passed · ended (exit 0) · 0.4 s``."""
        if self.legacy_summary:
            return self.legacy_summary
        parts = [self.tampered_sentence] if self.tampered else []
        if self.environment is not None and self.environment.problem:
            parts.append(self.environment.describe())
        if self.network:
            parts.append(self.network)
        if self.tests is not None:
            if self.tests_unloadable:
                parts.append(self.unloadable_sentence)
            elif self.tests_ran:
                parts.append(f"tests {self.count('passed')}/{self.tests_ran} passed")
            else:
                parts.append(f"tests did not run ({self.tests.description})")
        parts += [demo.describe() for demo in self.demos]
        parts.append(f"{shown_seconds(self.seconds)} s")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types (output excerpts left out)."""
        return {
            "kind": RUN_RECORD_KIND,
            "format": RUN_RECORD_FORMAT,
            "version": self.version,
            "demos": [demo_json(demo) for demo in self.demos],
            "tests": None if self.tests is None else command_json(self.tests),
            "outcomes": [asdict(outcome) for outcome in self.outcomes],
            "tests_unloadable": self.tests_unloadable,
            "environment": None if self.environment is None else self.environment.to_json(),
            "network": self.network,
            "tampered": self.tampered,
            "omitted": dict(self.omitted),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """The record from :meth:`to_json`'s output (format 1 had one ``script``); ValueError otherwise."""
        if data.get("kind") != RUN_RECORD_KIND:
            raise ValueError("not a run record")
        if "demos" in data:
            demos = tuple(demo_from(item) for item in data["demos"])
        else:
            script = command_from(data["script"])
            demos = (DemoResult("run with no arguments and no input", script, kind_of(script)),)
        if not demos:
            raise ValueError("a run record needs a demo run")
        tests = data.get("tests")
        return cls(
            version=int(data["version"]),
            demos=demos,
            tests=None if tests is None else command_from(tests),
            outcomes=tuple(
                TestOutcome(str(o["name"]), str(o["result"]), str(o.get("message", "")))
                for o in data.get("outcomes", [])
            ),
            tests_unloadable=str(data["tests_unloadable"]) if data.get("tests_unloadable") else None,
            environment=environment_from(data.get("environment")),
            network=str(data["network"]) if data.get("network") else None,
            tampered=str(data["tampered"]) if data.get("tampered") else None,
            omitted=tuple((str(result), int(n)) for result, n in dict(data.get("omitted") or {}).items()),
        )


def not_run(version: int, environment: EnvironmentRecord) -> RunRecord:
    """The record of a version that was not run because its environment could not be made."""
    demo = DemoResult("not run", CommandRecord("not run", None, 0.0), NOT_RUN)
    return RunRecord(version, (demo,), environment=environment)


def write_run(record: RunRecord, script_name: str) -> str:
    """The text of ``run_vN.md``: the run for people, with the record embedded."""
    lines = [f"# Run of {script_name}", "", f"Summary: {record.summary()}", ""]
    if record.environment is not None:
        lines += environment_section(record.environment)
    if record.network:
        lines += [f"Network: {record.network}.", ""]
    for number, demo in enumerate(record.demos, start=1):
        lines += _demo_section(number, demo)
    if record.tests is None:
        lines += ["No acceptance tests (no acceptance_test.py).", ""]
    else:
        lines += _command_section(f"The acceptance tests: `python -m pytest -q {TESTS_FILE}`", record.tests)
        lines += _tests_table(record)
    return embed("\n".join(lines), record.to_json())


def _demo_section(number: int, demo: DemoResult) -> list[str]:
    command = " ".join(["python", SCRIPT_FILE, *demo.args])
    typed = f"typed: {demo.stdin!r}" if demo.stdin else "nothing typed"
    lines = _command_section(f"Demo {number}, {demo.name}: `{command}` ({typed})", demo.command)
    lines[2:2] = [f"- outcome: {demo.describe()}"]
    if demo.screenshot:
        taken = f" (taken at {demo.taken} local time)" if demo.taken else ""
        lines += [f"Screenshot: `{demo.screenshot}`{taken}", ""]
    elif demo.no_screenshot:
        lines += [f"No screenshot: {demo.no_screenshot}.", ""]
    if demo.trial:
        lines += trial_lines(demo.trial)
    if demo.trimmed:
        removed = f"{demo.trimmed:,} bytes of its largest files were removed"
        lines += [f"It left more than 100 MB in its folder: {removed}.", ""]
    if demo.kind == WAITED:
        last = [line for line in demo.command.stdout.splitlines() if line.strip()][-3:]
        lines += ["It asked for more input than the demo gives; its last lines:", "", *last, ""]
    return lines


def _tests_table(record: RunRecord) -> list[str]:
    lines = [f"**The {record.tampered_sentence}.** Listed is what the tests reported as they ran.", ""]
    lines = lines if record.tampered else []
    if record.tests_unloadable:
        return [
            f"{record.unloadable_sentence}.",
            "",
            "pytest cannot collect the test file even against a stand-in script: the file is at fault, "
            "not this version. The Manager can have the Tester fix it (/fix-tests).",
            "",
        ]
    if not record.outcomes:
        return [*lines, "No test results (no tests were collected, or the run was stopped).", ""]
    counts = ", ".join(f"{record.count(kind)} {kind}" for kind in RESULTS if record.count(kind))
    lines += [f"Tests: {counts}.", "", "| test | result | message |", "|---|---|---|"]
    for outcome in record.outcomes:
        lines.append(f"| {outcome.name} | {outcome.result} | {outcome.message.replace('|', chr(92) + '|')} |")
    if record.omitted:
        left = ", ".join(f"{count:,} {result}" for result, count in record.omitted)
        lines += ["", f"Not listed: {left} (the first and last failures are)."]
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
    from .legacy import legacy_run

    return legacy_run(text, version)
