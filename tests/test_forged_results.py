"""Test results the program cannot forge: each outcome reaches the tool as the test finishes, and a
report rewritten, removed, replaced by a FIFO, or a process ended before pytest finished, is a
tampered run, said in words and never approved (sandbox on and off)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from drive import run_loop, start_workspace
from hostile import APPROVE, MODES, TIMEOUT, fenced

from iterative_coder.execution.bounds import UnreadableFile, read_regular_file
from iterative_coder.execution.test_channel import Streamed, tampering
from iterative_coder.records.run import CommandRecord, TestOutcome

TWO_TESTS = (
    "import script\n\n\ndef test_adds():\n    assert script.add(2, 2) == 4\n\n\n"
    "def test_adds_zero():\n    assert script.add(0, 5) == 5\n"
)
WRONG_ADD = "def add(a, b):\n    return a - b\n"
FORGED_REPORT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="2">'
    '<testcase classname="acceptance_test" name="test_adds"/>'
    '<testcase classname="acceptance_test" name="test_adds_zero"/></testsuite></testsuites>'
)
# The program finds the report's path in sys.argv, as pytest was started with --junitxml=<path>.
_REPORT_PATH = (
    "import sys\nreport = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--junitxml=')][0]\n"
)
ATTACKS = {
    "report rewritten at exit": (
        f"import atexit, os\n{_REPORT_PATH}"
        "def forge():\n"
        f"    open(report, 'w').write({FORGED_REPORT!r})\n"
        "    os._exit(0)\n"
        "atexit.register(forge)\n"
    ),
    "report replaced by a FIFO": (
        f"import atexit, os\n{_REPORT_PATH}"
        "def forge():\n    os.remove(report)\n    os.mkfifo(report)\n    os._exit(0)\n"
        "atexit.register(forge)\n"
    ),
    "report removed": (
        f"import atexit, os\n{_REPORT_PATH}"
        "def forge():\n    os.remove(report)\n    os._exit(0)\n"
        "atexit.register(forge)\n"
    ),
    "process ended before pytest finished": (
        "import os\n_calls = []\n"
        "def add(a, b):\n    _calls.append(1)\n"
        "    if len(_calls) == 2:\n        os._exit(0)\n    return a + b\n"
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_program_cannot_forge_its_test_results(mode: str, attack: str, fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path, TWO_TESTS)
    fake_server.enqueue("coder", fenced(WRONG_ADD + ATTACKS[attack]))
    fake_server.enqueue("reviewer", APPROVE)
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    run = (tmp_path / "run_v1.md").read_text()
    assert "Summary: the test results were tampered with: " in run
    assert "tests 2/2 passed" not in run
    review = (tmp_path / "review_v1.md").read_text()
    assert review.startswith("Verdict: REVISE")
    assert "the test results were tampered with" in review


@pytest.mark.parametrize("mode", MODES)
def test_an_honest_run_is_not_called_tampered(mode: str, fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path, TWO_TESTS)
    fake_server.enqueue("coder", fenced("def add(a, b):\n    return a + b\n"))
    fake_server.enqueue("reviewer", APPROVE)
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox=mode, run_timeout=TIMEOUT)
    run = (tmp_path / "run_v1.md").read_text()
    assert "Summary: tests 2/2 passed" in run and "tampered with" not in run
    assert "tampered with" not in (tmp_path / "review_v1.md").read_text()


ENDED = CommandRecord("exit 0", 0, 0.1)
FAILED = CommandRecord("exit 1", 1, 0.1)


def streamed(*events: list[object]) -> Streamed:
    stream = Streamed()
    for event in events:
        stream.take(json.dumps(event).encode())
    return stream


TEST_A = "acceptance_test.py::test_a"


@pytest.mark.parametrize(
    ("stream", "process", "report", "said"),
    [
        (streamed(["collected", 1], ["test", "failed", TEST_A], ["finished", 1]), ENDED, [],
         "pytest finished with exit status 1, but the test process ended with exit 0"),
        (streamed(["collected", 2], ["test", "passed", TEST_A]), ENDED, "is missing",
         "the test process ended (exit 0) before pytest finished (1 of 2 tests reported)"),
        (streamed(["test", "passed", TEST_A], ["test", "failed", TEST_A]), ENDED, [],
         "the outcome of test_a changed after it was reported"),
        (streamed(["collected", 1], ["test", "failed", TEST_A], ["finished", 0]), ENDED, [],
         "pytest's exit status 0 contradicts the outcomes it reported"),
        (streamed(["collected", 2], ["test", "passed", TEST_A], ["finished", 0]), ENDED, [],
         "pytest collected 2 tests but reported 1"),
        (streamed(["collected", 1], ["test", "passed", TEST_A], ["finished", 0]), ENDED,
         "is not a regular file",
         "the test report is not a regular file"),
        (streamed(["collected", 1], ["test", "failed", TEST_A], ["finished", 1]), FAILED,
         [TestOutcome("test_a", "passed")],
         "the test report says 1 passed, but the tests reported 1 failed as they ran"),
    ],
)  # fmt: skip
def test_what_contradicts_the_streamed_outcomes_is_tampering(
    stream: Streamed, process: CommandRecord, report: object, said: str
) -> None:
    assert tampering(stream, process, report) == said  # type: ignore[arg-type]


def test_an_honest_stream_and_a_stopped_run_are_not_tampering() -> None:
    honest = streamed(["collected", 1], ["test", "failed", TEST_A], ["finished", 1])
    assert tampering(honest, FAILED, [TestOutcome("test_a", "failed")]) is None
    stopped = CommandRecord("still running after 5 s, stopped", None, 5.0, timed_out=True)
    assert tampering(streamed(["collected", 2], ["test", "passed", TEST_A]), stopped, "is missing") is None
    assert tampering(Streamed(), CommandRecord("exit 3", 3, 0.1), "is missing") is None  # never got going


def test_garbage_on_the_channel_is_counted_not_believed() -> None:
    stream = streamed(["test", "won", TEST_A], ["collected", True], {"a": 1})
    stream.take(b"[" * 100_000)
    stream.take(b"\xff\xfe")
    assert stream.malformed == 5 and not stream.results and stream.collected is None


def test_a_report_is_read_only_when_it_is_a_small_regular_file(tmp_path: Path) -> None:
    fifo, link, big, good = (tmp_path / name for name in ("fifo", "link", "big", "good"))
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "good")
    big.write_bytes(b"x" * 101)
    good.write_bytes(b"<r/>")
    assert read_regular_file(good, 100) == b"<r/>"
    cases = ((fifo, "is not a regular file"), (link, "is a link"), (big, "is larger than 100 bytes"),
             (tmp_path / "gone", "is missing"), (tmp_path, "is not a regular file"))  # fmt: skip
    for path, reason in cases:
        with pytest.raises(UnreadableFile, match=reason):
            read_regular_file(path, 100)
