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
from .embedded import embed, extract
from .environment import EnvironmentRecord, environment_from, environment_section
from .outcomes import FAILING, OUTCOMES_KEPT, RESULTS, TestOutcome, bounded_outcomes
from .trial import TRIAL_PROBLEMS, Trial, trial_kind, trial_lines, trial_problem, trial_words

RUN_RECORD_KIND = "run"
RUN_RECORD_FORMAT = 2

# What can become of a demo run; only those in PROBLEM_KINDS stand in the way of an approval.
ENDED, EXITED, CRASHED, KILLED, WINDOW, NO_DISPLAY, WAITED, TIMED_OUT, TOO_MANY, NOT_RUN = (
    "ended", "exited", "crashed", "killed", "window shown", "no display", "waited for input",
    "timed out", "too many processes", "not run",
)  # fmt: skip
PROBLEM_KINDS = frozenset({CRASHED, KILLED, TIMED_OUT, TOO_MANY}) | TRIAL_PROBLEMS
NO_DISPLAY_REASON = "it opens a window and no virtual display is available (install the xvfb package)"


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
class DemoResult:
    """One demo run: what was tried, how the program ran, and what that means (its kind)."""

    name: str
    command: CommandRecord
    kind: str  # one of the kinds above
    args: tuple[str, ...] = ()
    stdin: str = ""
    screenshot: str | None = None  # the screen's PNG, relative to the workspace
    trimmed: int = 0  # bytes of files it left that were removed to keep its folder within the cap
    trial: Trial | None = None  # how it was tried while it ran: requests, Ctrl-C, keys
    taken: str | None = None  # the local time the screenshot was taken, ``14:03:27 CET``
    no_screenshot: str | None = None  # why a window run has no screenshot (``the display did not answer``)

    def describe(self) -> str:
        """The outcome in words: ``window shown for 3 s``, ``crashed with IndexError``..."""
        command = self.command
        trial_said = trial_words(self.kind, command.exit_code, self.trial) if self.trial else None
        if trial_said:
            return trial_said
        words = {
            ENDED: "ended (exit 0)",
            EXITED: command.description,
            CRASHED: f"crashed with {command.crash}",
            KILLED: f"killed by {command.killed_by}",
            WINDOW: f"window shown for {command.seconds:.0f} s, then closed",
            NO_DISPLAY: f"not run: {NO_DISPLAY_REASON}",
            WAITED: "waited for more input than the demo gives",
            TIMED_OUT: f"{command.description} (it should have ended)",
            TOO_MANY: command.description,
            NOT_RUN: "not run (its environment could not be made)",
        }
        return words.get(self.kind, command.description)

    def problem(self) -> str | None:
        """Why this run rules out approval, or None."""
        if self.kind not in PROBLEM_KINDS:
            return None
        if self.trial is not None and self.kind in TRIAL_PROBLEMS:
            return trial_problem(self.kind, self.command.exit_code, self.trial)
        return {
            CRASHED: f"the script crashed with {self.command.crash}",
            KILLED: f"the script was killed by {self.command.killed_by}",
            TOO_MANY: f"the script {self.command.description}",
            TIMED_OUT: f"the script was {self.command.description} although it should have ended",
        }[self.kind]


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
        parts.append(f"{self.seconds:.1f} s")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types (output excerpts left out)."""
        return {
            "kind": RUN_RECORD_KIND,
            "format": RUN_RECORD_FORMAT,
            "version": self.version,
            "demos": [_demo_json(demo) for demo in self.demos],
            "tests": None if self.tests is None else _command_json(self.tests),
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
            demos = tuple(_demo_from(item) for item in data["demos"])
        else:
            script = _command_from(data["script"])
            demos = (DemoResult("run with no arguments and no input", script, kind_of(script)),)
        if not demos:
            raise ValueError("a run record needs a demo run")
        tests = data.get("tests")
        return cls(
            version=int(data["version"]),
            demos=demos,
            tests=None if tests is None else _command_from(tests),
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


def kind_of(command: CommandRecord, window: bool = False, trial: Trial | None = None) -> str:
    """What a command's ending means for a demo run (``window``: the program opens one; ``trial``: how
    it was tried while it ran)."""
    crashed = command.too_many_processes or command.timed_out or bool(command.crash or command.killed_by)
    tried = trial_kind(crashed, command.exit_code, trial) if trial else None
    if tried:
        return tried
    if command.too_many_processes:
        return TOO_MANY
    if command.timed_out:
        return WINDOW if window else TIMED_OUT
    if command.crash == "EOFError":
        return WAITED
    if command.crash:
        return CRASHED
    if command.killed_by:
        return KILLED
    return ENDED if command.exit_code == 0 else EXITED


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


def _demo_json(demo: DemoResult) -> dict[str, Any]:
    return {
        "name": demo.name,
        "kind": demo.kind,
        "args": list(demo.args),
        "stdin": demo.stdin,
        "screenshot": demo.screenshot,
        "no_screenshot": demo.no_screenshot,
        "trimmed": demo.trimmed,
        "command": _command_json(demo.command),
        "trial": demo.trial.to_json() if demo.trial else None,
        "taken": demo.taken,
    }


def _demo_from(data: dict[str, Any]) -> DemoResult:
    return DemoResult(
        name=str(data["name"]),
        command=_command_from(data["command"]),
        kind=str(data["kind"]),
        args=tuple(str(a) for a in data.get("args", [])),
        stdin=str(data.get("stdin", "")),
        screenshot=data.get("screenshot") or None,
        no_screenshot=str(data["no_screenshot"]) if data.get("no_screenshot") else None,
        trimmed=int(data.get("trimmed", 0)),
        trial=Trial.from_json(data["trial"]) if data.get("trial") else None,
        taken=str(data["taken"]) if data.get("taken") else None,
    )


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
