"""Readers of the files iterative_coder 0.1 wrote, before records existed: the only place where a
Markdown file is read back for its facts (they were written by another version, not this process)."""

from __future__ import annotations

import re

from .run import CommandRecord, DemoResult, RunRecord, TestOutcome, kind_of

_SUMMARY = re.compile(r"^Summary: (.+)$", re.MULTILINE)
_TESTS = re.compile(r"tests (\d+)/(\d+) passed")
_CRASH = re.compile(r"exit (-?\d+) \(([^)]+)\)")
_EXIT = re.compile(r"exit (-?\d+)")
_ROW = re.compile(r"^\| (.+?) \| (passed|failed|error|skipped) \| (.*) \|$", re.MULTILINE)


def legacy_run(text: str, version: int) -> RunRecord | None:
    """A ``run_vN.md`` of 0.1: its summary line and its table of tests."""
    match = _SUMMARY.search(text)
    if not match:
        return None
    summary = match.group(1).strip()
    parts = summary.split(" · ")
    crash = _CRASH.search(summary)
    exit_code = _EXIT.search(summary)
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
    # 0.1 treated a program still running at the timeout as fine (a server, a GUI): so does this reader.
    demos = (DemoResult("run with no arguments and no input", script, kind_of(script, window=True)),)
    tests = _TESTS.search(summary)
    if tests:
        passed, ran = int(tests.group(1)), int(tests.group(2))
        outcomes = _outcomes(text) or tuple(
            TestOutcome(f"test {i + 1}", "passed" if i < passed else "failed") for i in range(ran)
        )
        return RunRecord(version, demos, CommandRecord("exit ?", None, 0.0), outcomes, summary)
    if "tests did not run" in summary:
        return RunRecord(version, demos, CommandRecord("did not run", None, 0.0), legacy_summary=summary)
    return RunRecord(version, demos, legacy_summary=summary)


def _outcomes(text: str) -> tuple[TestOutcome, ...]:
    return tuple(
        TestOutcome(m.group(1), m.group(2), m.group(3).replace("\\|", "|")) for m in _ROW.finditer(text)
    )
