"""The acceptance tests' outcomes as they happen, and the check that the run was not tampered with.

The program under test is imported by pytest, so it runs inside the process that writes pytest's
junit report: it can rewrite the report at exit, or end the process before pytest is done. The tests
therefore also report each outcome as it finishes (:mod:`outcome_plugin`), on a pipe the tool reads
while the run goes on (:class:`OutcomeChannel`). :func:`tampering` then compares what was streamed with
how the process ended and with the report: an outcome that changed, a report that is gone or says
otherwise, or a process that ended before pytest finished is a tampered run, never an approval.

What this cannot hold: a program can also write lines of its own on the pipe from inside the process
(it finds the descriptor in ``/proc/self/fd``) before the real ones. A forged line for a test is
caught when the real one follows (the outcome changes); a program that forges every line and the
report alike, consistently, and makes its own tests pass that way, is beyond what a check of the
results can see. The Reviewer still reads the code.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..records.outcomes import RESULTS, TestOutcome
from ..records.run import CommandRecord
from . import outcome_plugin
from .trees import remove_tree

REPORT_PREFIX = "iterative-coder-report-"  # + the tool's pid + "-": the temporary report folders
LINE_CAP = 4096  # bytes of one event line; the plugin's are far shorter
EVENT_CAP = 1_000_000  # events kept; more is a flood
_DRAIN_SECONDS = 2.0  # how long the reader may take to see the end of the pipe after the run


@dataclass
class Streamed:
    """What the tests reported as they ran."""

    collected: int | None = None
    results: dict[str, str] = field(default_factory=dict)  # test id -> result, in the order reported
    changed: list[str] = field(default_factory=list)  # tests reported again with another result
    exit_status: int | None = None  # pytest's own, when it finished the session
    malformed: int = 0  # lines that were not events of the plugin
    flooded: bool = False

    def take(self, line: bytes) -> None:
        """Take in one line of the pipe."""
        try:
            event = json.loads(line) if len(line) <= LINE_CAP else None
        except (ValueError, RecursionError):
            event = None
        kind = event[0] if isinstance(event, list) and event else None
        if kind == "collected" and len(event) == 2 and _count(event[1]):
            self.collected = event[1]
        elif kind == "finished" and len(event) == 2 and _count(event[1]):
            self.exit_status = event[1]
        elif kind == "test" and len(event) == 3 and event[1] in RESULTS and isinstance(event[2], str):
            self._test(event[2], event[1])
        else:
            self.malformed += 1

    def _test(self, test_id: str, result: str) -> None:
        before = self.results.get(test_id)
        if before is not None and before != result and test_id not in self.changed:
            self.changed.append(test_id)
        self.results.setdefault(test_id, result)

    def outcomes(self) -> tuple[TestOutcome, ...]:
        """The outcomes streamed, each test under the name its junit report gives it."""
        return tuple(TestOutcome(junit_name(test_id), result) for test_id, result in self.results.items())


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def junit_name(test_id: str) -> str:
    """``test_adds[1-2]`` for ``acceptance_test.py::TestAdd::test_adds[1-2]``, as junit names it."""
    return test_id.rsplit("::", 1)[-1]


class OutcomeChannel:
    """A pipe whose write end the test process inherits and whose read end a thread reads into a
    :class:`Streamed` while the run goes on. Use as a context manager; :meth:`finish` after the run."""

    def __init__(self) -> None:
        self._read, self.write_fd = os.pipe()
        self.streamed = Streamed()
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        pending, events = b"", 0
        while True:
            try:
                data = os.read(self._read, 65536)
            except OSError:
                return
            if not data:
                return
            *lines, pending = (pending + data).split(b"\n")
            if len(pending) > LINE_CAP:
                pending = b"x" * (LINE_CAP + 1)  # kept short, still malformed when it ends
            for line in lines:
                events += 1
                if events > EVENT_CAP:
                    self.streamed.flooded = True
                    continue
                self.streamed.take(line)

    def command(self, pytest_arguments: list[str], python: list[str], pytest_folder: str | None) -> list[str]:
        """The test command: ``python`` (an interpreter and its flags) running pytest with the plugin,
        reporting on this channel; ``pytest_folder`` is put on its path first when pytest is not
        installed beside that interpreter (a program's own environment)."""
        plugin = Path(outcome_plugin.__file__).read_text(encoding="utf-8")
        if pytest_folder is not None:  # after the plugin's __future__ import, which must come first
            future = "from __future__ import annotations\n"
            plugin = plugin.replace(future, f"{future}import sys\nsys.path.append({pytest_folder!r})\n", 1)
        return [*python, "-c", plugin, str(self.write_fd), *pytest_arguments]

    def finish(self) -> Streamed:
        """Close the tool's write end and wait (briefly) for the reader to see the end of the pipe."""
        self._close_write()
        self._thread.join(_DRAIN_SECONDS)
        if self._thread.is_alive():  # something still holds the pipe: what it wrote is not waited for
            self.streamed.flooded = True
        return self.streamed

    def _close_write(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def __enter__(self) -> OutcomeChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close_write()
        if not self._thread.is_alive():
            os.close(self._read)


def report_folder_prefix() -> str:
    """The prefix of this process's temporary report folders (with its pid: :func:`remove_stale_reports`)."""
    return f"{REPORT_PREFIX}{os.getpid()}-"


def remove_stale_reports(folder: Path | None = None) -> int:
    """Remove the temporary report folders whose tool is gone (killed with SIGKILL, it could not);
    how many. Folders of a tool still running, here or in another workspace, are left."""
    removed = 0
    for path in Path(folder or tempfile.gettempdir()).glob(f"{REPORT_PREFIX}*-*"):
        pid = path.name.removeprefix(REPORT_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or path.is_symlink() or not path.is_dir():
            continue
        with contextlib.suppress(OSError):
            remove_tree(path)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tampering(streamed: Streamed, tests: CommandRecord, report: list[TestOutcome] | str) -> str | None:
    """Why the test run cannot be believed, in words, or None. ``report`` is the junit report's
    outcomes (collection failures left out), or why it could not be read (``is missing``...)."""
    reported = list(streamed.results.values())
    if streamed.changed:
        return f"the outcome of {junit_name(streamed.changed[0])} changed after it was reported"
    if streamed.flooded:
        return "the test process flooded the results channel"
    stopped = tests.timed_out or tests.too_many_processes or tests.killed_by is not None
    if streamed.exit_status is None:
        if stopped or (not reported and tests.exit_code != 0):
            return None  # stopped by a limit, or pytest never got to the tests: they did not run
        of = f" ({len(reported)} of {streamed.collected} tests reported)" if streamed.collected else ""
        return f"the test process ended ({tests.description}) before pytest finished{of}"
    if tests.exit_code != streamed.exit_status and not stopped:
        status = streamed.exit_status
        return (
            f"pytest finished with exit status {status}, but the test process ended with {tests.description}"
        )
    failing = sum(1 for result in reported if result in ("failed", "error"))
    if (streamed.exit_status == 0 and failing) or (streamed.exit_status == 1 and not failing):
        return f"pytest's exit status {streamed.exit_status} contradicts the outcomes it reported"
    if streamed.exit_status in (0, 1) and streamed.collected != len(reported):
        return f"pytest collected {streamed.collected} tests but reported {len(reported)}"
    if isinstance(report, str):
        return None if stopped else f"the test report {report}"
    said = Counter((outcome.name, outcome.result) for outcome in report)
    if said != Counter((outcome.name, outcome.result) for outcome in streamed.outcomes()):
        ran = _counts(streamed.outcomes())
        return f"the test report says {_counts(report)}, but the tests reported {ran} as they ran"
    return None


def _counts(outcomes: list[TestOutcome] | tuple[TestOutcome, ...]) -> str:
    counts = Counter(outcome.result for outcome in outcomes)
    return ", ".join(f"{counts[result]} {result}" for result in RESULTS if counts[result]) or "no tests"
