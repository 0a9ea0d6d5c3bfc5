"""Running one version: ``runs/vN/`` gets a copy of the script and the acceptance tests, both run
within the limits of :mod:`runner`, and the result becomes a :class:`RunRecord`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import redact
from ..names import ACCEPTANCE as TESTS_FILE
from ..names import MANUAL_SUFFIX, RUNS_FOLDER, TESTS_SUFFIX, run_folder_name
from ..names import SCRIPT_IN_RUN as SCRIPT_FILE
from ..records.run import NO_DISPLAY, CommandRecord, DemoResult, RunRecord, TestOutcome, kind_of
from ..textsafe import clean_terminal_text
from ..workspace import inner_folder
from . import display
from .bounds import UnreadableFile, read_regular_file
from .demo import DemoRun
from .demo_kinds import try_over_time
from .environment import Environment
from .import_crash import import_crash, ran_at_import
from .runner import OUTPUT_KEEP, ProcessResult, RunOptions, run_limited, signal_name
from .sandbox import Sandbox
from .sandbox_fds import sandbox_fds
from .test_channel import OutcomeChannel, report_folder_prefix, tampering
from .test_check import collection_problem, first_error
from .trees import files_under, remove_tree, set_aside

REPORT_FILE = "report.xml"
Binds = tuple[Sequence[Path], Sequence[Path]]  # read-only and writable paths a sandboxed run also sees
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
    environment: Environment | None = None  # the program's own; None: the tool's Python (no script yet)
    network: bool = False  # the program's runs share the network (--network)

    @property
    def python(self) -> str:
        """The interpreter programs run on: their environment's."""
        return str(self.environment.python) if self.environment else sys.executable

    def tests_python(self) -> tuple[list[str], str | None]:
        """The Python that runs the acceptance tests, with its flags, and the folder that holds pytest
        for it (None: pytest is installed beside it). Safe path either way: no current folder on
        ``sys.path``, so a planted ``pytest.py`` is not imported."""
        if self.environment is not None:
            return [str(self.environment.python), "-I"], str(self.environment.pytest_folder)
        return [sys.executable, "-P" if sys.version_info >= (3, 11) else "-I"], None

    def pytest_command(self) -> list[str]:
        """The start of a command that runs pytest, which no file in the run folder can change: safe
        path (no current folder on ``sys.path``, so a planted ``pytest.py`` is not imported)."""
        if self.environment is not None:
            return self.environment.pytest_command()
        return [sys.executable, "-P" if sys.version_info >= (3, 11) else "-I", "-m", "pytest"]

    def run(
        self, command: list[str], run_dir: Path, options: RunOptions | None = None, binds: Binds = ((), ())
    ) -> CommandRecord:
        """Run ``command`` in ``run_dir`` within the limits (and the sandbox, which also shows the
        read-only and writable ``binds``); its record, redacted."""
        options = replace(options or RunOptions(), workspace=self.workspace_root)  # recorded while it runs
        timeout = options_timeout(options, self.timeout)
        if self.sandbox is None:
            return self.redacted(command_record(run_limited(command, run_dir, timeout, options), timeout))
        seen = [*binds[0], *([self.environment.folder] if self.environment else [])]
        with sandbox_fds() as fds:
            wrapped = self.sandbox.wrap(
                command, run_dir, network=self.network, extra_ro=seen, extra_rw=binds[1]
            )
            command = fds.added_to(wrapped)
            options = replace(options, sandboxed=True, pass_fds=(*options.pass_fds, *fds.passed))
            result = run_limited(command, run_dir, timeout, options)
            fds.end_sandbox()  # whatever is left in its PID namespace, found by bwrap's word
        return self.redacted(command_record(result, timeout))

    def redacted(self, record: CommandRecord) -> CommandRecord:
        """The record with keys and terminal control sequences taken out of what the program printed."""
        secrets = list(self.secrets)
        stdout, stderr = (
            clean_terminal_text(redact(text, secrets)) for text in (record.stdout, record.stderr)
        )
        return replace(record, stdout=stdout, stderr=stderr)

    def demo(self, run_dir: Path, number: int, demo: DemoRun) -> DemoResult:
        """One demo run in ``run_dir``: its files made, its input typed, its window watched."""
        for name, text in demo.files:
            (run_dir / name).write_text(text, encoding="utf-8")
        command = [self.python, SCRIPT_FILE, *demo.args]
        if demo.tried_over_time:  # a server, a program run until Ctrl-C, one typed at in a terminal
            result = try_over_time(self, run_dir, number, demo, command)
            return replace(result, trimmed=trim_folder(run_dir))
        if not demo.window_seconds:
            record = self.run(command, run_dir, RunOptions(stdin=demo.stdin))
            trimmed = trim_folder(run_dir)
            return DemoResult(demo.name, record, kind_of(record), demo.args, demo.stdin, trimmed=trimmed)
        if not display.available():
            record = CommandRecord("not run", None, 0.0)
            return DemoResult(demo.name, record, NO_DISPLAY, demo.args, demo.stdin)
        shot = run_dir.parent / f"screen-{number}.png"
        said: list[str | None] = []  # why there is no screenshot, once it was tried
        with display.virtual_display(self.workspace_root, run_dir) as screen:
            options = RunOptions(
                stdin=demo.stdin, display=screen.name, on_timeout=lambda: said.append(screen.screenshot(shot))
            )
            options = replace(options, window_seconds=demo.window_seconds)
            record = self.run(command, run_dir, options, ((screen.socket,), ()))
        relative = shot.relative_to(self.workspace_root.resolve()).as_posix() if shot.exists() else None
        kind = kind_of(record, window=True)
        result = DemoResult(demo.name, record, kind, demo.args, demo.stdin, relative, trim_folder(run_dir))
        return replace(
            result,
            taken=display.taken_at(shot) if relative else None,
            no_screenshot=None if relative else next(filter(None, said), None),
        )


def options_timeout(options: RunOptions, timeout: float) -> float:
    """The time limit of a run: a window is watched for its seconds, anything else has the timeout."""
    return options.window_seconds or timeout


def run_version(
    execution: Execution, version: int, script_text: str, tests_text: str | None, demos: tuple[DemoRun, ...]
) -> RunRecord:
    """Run each demo of ``script_text`` in a fresh folder under ``runs/v{version}/``, then the acceptance
    tests in a fresh folder of their own, ``runs/v{version}-tests/``, holding only the script, the tests
    and our pytest settings."""
    run_root = fresh_run_dir(execution.workspace_root, version)
    results = []
    for number, demo in enumerate(demos, start=1):
        run_dir = run_root / f"demo-{number}"
        run_dir.mkdir()
        (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
        results.append(execution.demo(run_dir, number, demo))
    if tests_text is None:
        return RunRecord(version, tuple(results))
    # Made after the program ended, so nothing it planted (a conftest.py, a pytest.py, a report) is there.
    tests_dir = fresh_run_dir(execution.workspace_root, version, suffix=TESTS_SUFFIX)
    (tests_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    (tests_dir / TESTS_FILE).write_text(tests_text, encoding="utf-8")
    (tests_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix=report_folder_prefix()) as reports, OutcomeChannel() as channel:
        report = Path(reports) / REPORT_FILE
        python, pytest_folder = execution.tests_python()
        command = channel.command([*_pytest_arguments(report), TESTS_FILE], python, pytest_folder)
        options = RunOptions(pass_fds=(channel.write_fd,))
        tests = _without_folder(
            execution.run(command, tests_dir, options, binds=((), (Path(reports),))), reports
        )
        streamed = channel.finish()
        cases = report_cases(report, tests_dir)
    tampered = tampering(streamed, tests, cases if isinstance(cases, str) else _tests_of(cases))
    if tampered or isinstance(cases, str):  # what was streamed is all the tool can believe
        finished = streamed.exit_status is not None
        cases = [(outcome, False) for outcome in streamed.outcomes()] if finished else []
    outcomes = tuple(outcome for outcome, _ in cases)
    unloadable = None if tampered else unloadable_tests(execution, tests, cases, tests_text)
    if unloadable:  # the collection error is the file's, not a failing test of this version
        outcomes = tuple(outcome for outcome, collection in cases if not collection)
    elif (at_import := ran_at_import(script_text)) and not any(o.result == "passed" for o in outcomes):
        outcomes = import_crash(at_import, tests, cases) or outcomes
    return RunRecord(version, tuple(results), tests, outcomes, tests_unloadable=unloadable, tampered=tampered)


def _without_folder(record: CommandRecord, folder: str) -> CommandRecord:
    """The record with the report's temporary folder named alike every time (pytest 8.0 prints the
    report's path, in a line of dashes as wide as the terminal, and the folder's name holds the tool's
    pid, so the dashes vary too): the same run gives the same ``run_vN.md``, after a resume too."""
    stdout, stderr = (
        _REPORT_LINE.sub(_REPORT_LINE_ALIKE, text.replace(folder, "<report folder>"))
        for text in (record.stdout, record.stderr)
    )
    return replace(record, stdout=stdout, stderr=stderr)


_REPORT_LINE = re.compile(r"^-+ (generated xml file: <report folder>\S*) -+$", re.MULTILINE)
_REPORT_LINE_ALIKE = r"-- \1 --"


def _tests_of(cases: list[tuple[TestOutcome, bool]]) -> list[TestOutcome]:
    return [outcome for outcome, collection in cases if not collection]


NOT_COLLECTED = (2, 4, 5)  # pytest's exit codes for interrupted (collection errors), usage error, no tests


def unloadable_tests(
    execution: Execution, tests: CommandRecord, cases: list[tuple[TestOutcome, bool]], tests_text: str
) -> str | None:
    """pytest's first error when the acceptance tests did not load and the test file is at fault:
    it does not collect against a stand-in script either (one that defines every name the tests use).
    None when tests ran, or when the real script is what stopped them (it does not import)."""
    if tests.exit_code not in NOT_COLLECTED or not all(collection for _, collection in cases):
        return None
    problem = collection_problem(tests_text, execution)
    return problem.detail if problem else None


def _pytest_arguments(report: Path) -> list[str]:
    """pytest's arguments, so that no file in the folder can change how it runs: no conftest.py, no
    plugins from the cache, the report written outside the folder. (The command runs it with a safe
    path, :meth:`OutcomeChannel.command`: a planted ``pytest.py`` is not imported.)"""
    return ["-q", "-p", "no:cacheprovider", "--noconftest", "-c", "pytest.ini", f"--junitxml={report}"]


ATTACHED_TIMEOUT = 7 * 24 * 3600.0  # the person is at the keyboard: they end it


@dataclass(frozen=True)
class ManualRun:
    """A fresh ``runs/vN-manual/`` holding the script and the files its arguments name: the arguments
    to run it with, and each file copied in, as (named, its name in the folder)."""

    folder: Path
    args: tuple[str, ...]
    copied: tuple[tuple[str, str], ...] = ()


def prepare_manual_run(
    execution: Execution, version: int, script_text: str, args: Sequence[str], start: Path
) -> ManualRun:
    """A fresh ``runs/v{version}-manual/`` with the script, and a copy of each file an argument names
    relative to ``start`` (where the person started the tool), so the program finds it there, with
    the sandbox too (it sees only its folder). A file named outside ``start`` (``../data.txt``) is
    copied under its own name and the argument names the copy; absolute paths are left as they are."""
    run_dir = fresh_run_dir(execution.workspace_root, version, suffix=MANUAL_SUFFIX)
    (run_dir / SCRIPT_FILE).write_text(script_text, encoding="utf-8")
    run_args, copied = [], []
    for arg in args:
        relative = Path(arg)
        inside = ".." not in relative.parts
        target = relative if inside else Path(relative.name)
        try:
            named = not relative.is_absolute() and not arg.startswith("-") and (start / relative).is_file()
            if not named or (run_dir / target).exists():  # never over the script
                run_args.append(arg)
                continue
            (run_dir / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(start / relative, run_dir / target)
        except (OSError, ValueError):  # unreadable, or not a possible path: passed on as it is
            run_args.append(arg)
            continue
        run_args.append(arg if inside else target.as_posix())
        copied.append((arg, target.as_posix()))
    return ManualRun(run_dir, tuple(run_args), tuple(copied))


def run_attached(execution: Execution, run: ManualRun) -> CommandRecord:
    """Run the script of a :class:`ManualRun` with the person's terminal (keyboard and screen) and
    their own display, if they have one, with the same limits but no timeout."""
    own_display = os.environ.get("DISPLAY")
    read_only: list[Path] = []
    if own_display:
        number = own_display.rpartition(":")[2].split(".")[0]
        socket = Path(f"/tmp/.X11-unix/X{number}")
        read_only += [socket] if socket.exists() else []
        cookie = Path(os.environ.get("XAUTHORITY") or Path.home() / ".Xauthority")
        if cookie.is_file():  # HOME is the run folder: the program finds the cookie there
            shutil.copyfile(cookie, run.folder / ".Xauthority")
    options = RunOptions(attached=True, display=own_display)
    command = [execution.python, SCRIPT_FILE, *run.args]
    return replace(execution, timeout=ATTACHED_TIMEOUT).run(command, run.folder, options, (read_only, ()))


RUN_FOLDER_CAP = 100 * 1024**2  # what a run may leave in its folder; the largest files go first


def trim_folder(folder: Path, cap: int = RUN_FOLDER_CAP) -> int:
    """Remove the largest files under ``folder`` until it holds at most ``cap`` bytes (links are
    removed, never followed); the bytes removed."""
    files = list(files_under(folder))
    total = sum(size for size, _ in files)
    removed = 0
    for size, path in sorted(files, reverse=True):
        if total - removed <= cap:
            break
        path.unlink(missing_ok=True)
        removed += size
    return removed


def fresh_run_dir(workspace_root: Path, version: int, suffix: str = "") -> Path:
    """An empty ``runs/v{version}{suffix}/`` inside the workspace (an older one is replaced)."""
    run_dir = inner_folder(workspace_root, RUNS_FOLDER) / run_folder_name(version, suffix)
    if run_dir.is_symlink() or run_dir.is_file():
        run_dir.unlink()  # the link itself, never what it points to
    elif run_dir.exists():
        try:
            remove_tree(run_dir)
        except OSError:  # what cannot be removed is set aside, never reused: the run goes on
            set_aside(run_dir)  # and said so, by the guard around the run
    run_dir.mkdir()
    return run_dir


def read_junit(path: Path) -> list[TestOutcome]:
    """The test outcomes of a pytest junit XML report (none when it is missing or unreadable)."""
    cases = report_cases(path)
    return [] if isinstance(cases, str) else [outcome for outcome, _ in cases]


COLLECTION_FAILURE = "collection failure"  # the message of the error pytest reports for a file it cannot load


REPORT_CAP = 64 * 1024**2  # bytes of a junit report read; 200,000 test cases measured 40 MB


def report_cases(path: Path, folder: Path | None = None) -> list[tuple[TestOutcome, bool]] | str:
    """Each test case of a pytest junit XML report, and whether it stands for a file pytest could not
    collect (its message is then pytest's first error line, e.g. ``ImportError: ...``, with the path
    of the ``folder`` the tests ran in taken out). Why it cannot be read instead (``is missing``, ``is
    not a regular file``...): it is read only when it is a regular file, and only so large."""
    try:
        root = ElementTree.fromstring(read_regular_file(path, REPORT_CAP))
    except UnreadableFile as error:
        return str(error)
    except (ElementTree.ParseError, RecursionError):
        return "is not a junit report"
    cases = []
    for case in root.iter("testcase"):
        name = case.get("name") or "?"
        result, message, collection = "passed", "", False
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                result = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = child.get("message") or ""
                collection = child.tag == "error" and message == COLLECTION_FAILURE
                if collection:
                    message = first_error(child.text or "") or message
                    message = message.replace(f"{folder}/", "") if folder else message
                if not message and child.text and child.text.strip():
                    message = child.text.strip().splitlines()[-1]
                break
        outcome = TestOutcome(name=name, result=result, message=" ".join(message.split())[:300])
        cases.append((outcome, collection))
    return cases
