"""The pytest plugin that tells the tool each test's outcome as the test finishes.

This file is not imported by the tool: its text is the ``-c`` program of the acceptance tests' Python
(``python -P -c <this file> <fd> <pytest arguments>``), so it needs nothing of the tool installed where
the tests run (the sandbox sees only the Python installation). It runs pytest with
:class:`OutcomeReporter` registered before any test file, and so before the program, is imported. Each
event is one JSON array on a line, written to the pipe ``fd`` the tool reads while the run goes on
(:mod:`iterative_coder.test_channel`):

- ``["collected", N]`` once collection is over;
- ``["test", result, nodeid]`` as each test finishes (passed | failed | error | skipped, the word
  pytest's junit report uses for it);
- ``["finished", exit_status]`` when pytest ends the session.

What is written cannot be taken back, so a program that rewrites the junit report afterwards, or
ends the process before pytest has finished, contradicts what the tool already holds.
"""

from __future__ import annotations

import json
import os
import sys

NODEID_CAP = 500  # characters of a test's id sent; the tool reads lines of at most a few KB


class OutcomeReporter:
    """pytest hooks that send each test's outcome on the pipe ``fd``."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._results: dict[str, str] = {}

    def send(self, *event: object) -> None:
        """Write one event line (whole, retrying short writes; a closed pipe ends reporting)."""
        data = (json.dumps(list(event)) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            pass

    def pytest_collection_finish(self, session) -> None:  # noqa: ANN001
        self.send("collected", len(session.items))

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001
        """Keep the first phase that did not pass: setup or teardown is an error, the call a failure."""
        if report.nodeid in self._results and self._results[report.nodeid] != "passed":
            return
        if report.failed:
            self._results[report.nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped:
            self._results[report.nodeid] = "skipped"
        else:
            self._results.setdefault(report.nodeid, "passed")

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        self.send("test", self._results.pop(nodeid, "passed"), nodeid[-NODEID_CAP:])

    def pytest_sessionfinish(self, session, exitstatus: int) -> None:  # noqa: ANN001
        self.send("finished", int(exitstatus))


def main() -> None:
    """``argv``: the pipe's fd, then pytest's arguments."""
    import pytest

    fd, arguments = int(sys.argv[1]), sys.argv[2:]
    sys.argv = [sys.argv[0], *arguments]
    raise SystemExit(pytest.main(arguments, plugins=[OutcomeReporter(fd)]))


if __name__ == "__main__":
    main()
