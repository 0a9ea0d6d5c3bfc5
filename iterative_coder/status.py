"""A workspace's history from its files alone: no model, no key, no AutoGen import.

Used by ``python -m iterative_coder status DIR`` and by the summary at the end of a session.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass
from typing import Any

from .accounting import Totals, totals
from .names import PLAN, TASK, feedback_name, resume_command, review_name, run_name, script_name
from .records.calls import CallRecord
from .records.review import read_review
from .records.run import (
    CRASHED,
    ENDED,
    EXITED,
    KILLED,
    WINDOW,
    DemoResult,
    RunRecord,
    read_run,
    shown_seconds,
)
from .script_metadata import how_to_run
from .session import SessionLog
from .textsafe import clean_terminal_text as clean
from .workspace import Workspace, WorkspaceLock

# The columns of status's table, made to fit 80 columns: each fact once (the tests in "tests" only),
# each time said what it measures. Prompt and cached tokens and the Coder's output are in --json.
TABLE_HEADER = ("version", "verdict", "open", "tests", "run", "tokens", "cost", "model s", "run s")
RUN_COLUMN = TABLE_HEADER.index("run")
SCREEN_COLUMNS = 80  # the narrowest terminal status is laid out for
MIN_RUN_WIDTH = 10
TIMES_LEGEND = "Seconds: model s, the models' replies; run s, the program's demo runs."
USD_DECIMALS = 8  # in JSON, as each call's cost in session.json (agents.py); screens show 4


def json_usd(value: float | None) -> float | None:
    """A cost for a JSON report: rounded, so sums show no float noise (0.0015287999999999999)."""
    return None if value is None else round(value, USD_DECIMALS)


@dataclass(frozen=True)
class VersionRow:
    """One version as the history shows it."""

    version: int
    verdict: str | None
    open_points: int | None
    tests_passed: int | None
    tests_total: int | None
    run: str | None
    feedback: bool
    tokens: int
    cost_usd: float | None
    seconds: float
    prompt_tokens: int = 0
    cached_tokens: int = 0  # of the prompt tokens, served from the provider's prompt cache
    coder_output_tokens: int = 0  # what the Coder's calls for this version generated
    answered: str | None = None  # how the saved script came: "edits" or "whole" (None: not recorded)
    fallback: bool = False  # edit blocks were asked for and failed, so the whole file was asked for
    run_outcome: str | None = None  # how the demo runs ended, in short (``exit 0``, ``IndexError``)
    run_seconds: float | None = None  # how long the demo runs took (``seconds`` is the models' time)

    @property
    def coder_output(self) -> str:
        """``412 edits``, ``3,910 whole``, ``3,910 whole after failed edits``, or ``-``."""
        if self.answered is None:
            return "-" if not self.coder_output_tokens else f"{self.coder_output_tokens:,}"
        after = " after failed edits" if self.fallback else ""
        return f"{self.coder_output_tokens:,} {self.answered}{after}"

    @property
    def tests(self) -> str:
        """``5/7`` or ``-``."""
        return f"{self.tests_passed}/{self.tests_total}" if self.tests_total is not None else "-"

    @property
    def good(self) -> bool:
        """Approved, with every acceptance test passing."""
        return (
            self.verdict == "APPROVE"
            and self.tests_total is not None
            and self.tests_passed == self.tests_total
        )


def version_rows(workspace: Workspace, session: SessionLog) -> list[VersionRow]:
    """A row for every script version in the workspace, from the records in its files."""
    calls_by_version: dict[int, list[CallRecord]] = {}
    for call in session.calls:
        calls_by_version.setdefault(call.version, []).append(call)
    names = workspace.names()
    rows = []
    for version in range(1, workspace.latest_script_version() + 1):
        if script_name(version) not in names:
            continue
        review = read_review(workspace.read(review_name(version))) if review_name(version) in names else None
        run = read_run(workspace.read(run_name(version)), version) if run_name(version) in names else None
        spent = totals(calls_by_version.get(version, []))
        has_tests = run is not None and run.tests is not None and run.tests_ran > 0
        rows.append(
            VersionRow(
                version=version,
                verdict=review.verdict if review else None,
                open_points=len(review.points) if review else None,
                tests_passed=run.count("passed") if has_tests and run else None,
                tests_total=run.tests_ran if has_tests and run else None,
                run=run.summary() if run else None,
                feedback=feedback_name(version) in names,
                tokens=spent.tokens,
                prompt_tokens=spent.prompt_tokens,
                cached_tokens=spent.cached_tokens,
                cost_usd=spent.cost,
                seconds=round(spent.seconds, 2),
                run_outcome=run_outcome(run) if run else None,
                run_seconds=round(run.seconds, 2) if run else None,
                **_coder_answer([c for c in calls_by_version.get(version, []) if c.role == "coder"]),
            )
        )
    return rows


def run_outcome(run: RunRecord) -> str:
    """How a version's demo runs ended, each different ending once, in a word or two for a table cell:
    ``exit 0``, ``exit 0, IndexError`` (a 0.1 file: its summary)."""
    if run.legacy_summary:
        return run.legacy_summary
    return ", ".join(dict.fromkeys(_short(demo) for demo in run.demos))


def _short(demo: DemoResult) -> str:
    command = demo.command
    words = {
        ENDED: "exit 0",
        EXITED: f"exit {command.exit_code}",
        CRASHED: str(command.crash),
        KILLED: f"killed ({command.killed_by})",
        WINDOW: "window",
    }
    return words.get(demo.kind, demo.kind)


def _coder_answer(calls: list[CallRecord]) -> dict[str, Any]:
    """What the Coder's calls for a version say: its output tokens, how the last (the saved) reply
    came, and whether edits were asked for and then the whole file instead."""
    asked = [call.asked for call in calls]
    return {
        "coder_output_tokens": sum(call.completion_tokens for call in calls if not call.cached),
        "answered": calls[-1].answered if calls else None,
        "fallback": "edits" in asked and asked[-1] == "whole",
    }


def models_by_role(session: SessionLog) -> dict[str, list[str]]:
    """Which models answered for each role, in the order they first did."""
    used: dict[str, list[str]] = {}
    for call in session.calls:
        models = used.setdefault(call.role, [])
        if call.model and call.model not in models:
            models.append(call.model)
    return used


@dataclass(frozen=True)
class History:
    """Everything ``status`` reports."""

    workspace: str
    task: str
    plan_title: str | None
    versions: list[VersionRow]
    first_good_version: int | None
    next_step: str
    resume_command: str
    total: Totals
    models: dict[str, list[str]]
    finished: dict[str, Any] | None
    stalled: str | None = None  # what did not move, when the session last stopped without progress
    running_pid: int | None = None  # a session is working in the workspace now: its process
    run_hint: str | None = None  # how to run the accepted script outside the tool

    def to_json(self) -> dict[str, Any]:
        """The same data as plain JSON types."""
        data = asdict(self)
        data["stall"] = data["stalled"]  # "stall", as the run's --json says it; "stalled" for 0.1-era readers
        data["versions"] = [
            {**asdict(row), "tests": row.tests, "cost_usd": json_usd(row.cost_usd)} for row in self.versions
        ]
        data["total"] = {
            "tokens": self.total.tokens,
            "prompt_tokens": self.total.prompt_tokens,
            "cached_tokens": self.total.cached_tokens,
            "cost_usd": json_usd(self.total.cost),
            "calls": self.total.calls,
        }
        return data


def history(workspace: Workspace) -> History:
    """Read a workspace's history."""
    session = SessionLog.load(workspace)
    rows = version_rows(workspace, session)
    plan = workspace.read(PLAN) or ""
    title = next((line.lstrip("# ").strip() for line in plan.splitlines() if line.startswith("# ")), None)
    point = session.resume_point()
    final = (session.data.get("finished") or {}).get("version")
    name = script_name(final) if isinstance(final, int) else None
    return History(
        workspace=str(workspace.root),
        task=(workspace.read(TASK) or "").strip(),
        plan_title=title,
        versions=rows,
        first_good_version=next((row.version for row in rows if row.good), None),
        next_step=point.describe().replace("Resuming at", "Next: at", 1),
        resume_command=resume_command(workspace.root),
        total=totals(session.calls),
        models=models_by_role(session),
        finished=session.data.get("finished"),
        stalled=session.stalled,
        running_pid=WorkspaceLock.holder(workspace),
        run_hint=how_to_run(name, workspace.read(name) or "") if name else None,
    )


def render_text(report: History) -> str:
    """The history as plain text with an aligned table (fast for thousands of versions).

    What the workspace's files hold (the task, the plan title, model names, run summaries) may carry
    terminal control sequences from a model or a program: the text is cleaned of them, ready to print.
    """
    lines = [f"Workspace: {clean(report.workspace)}", f"Task: {clean(report.task) or '(none)'}"]
    lines.append(f"Plan: {clean(report.plan_title or '') or '(not agreed yet)'}")
    if report.models:
        models = "Models: " + clean(models_line(report.models))
        lines += textwrap.wrap(models, SCREEN_COLUMNS - 1, subsequent_indent="  ", break_long_words=False)
    lines += _table([_cells(row) for row in report.versions])
    if report.versions:
        lines.append(TIMES_LEGEND)
    total = report.total
    lines.append(f"Total: {total.describe()} in {total.calls} model calls")
    cached = f"{total.cached_tokens:,} from the provider's cache"
    lines.append(f"Prompt tokens: {total.prompt_tokens:,} ({cached})")
    if report.first_good_version is not None:
        lines.append(f"First version approved with every test passing: v{report.first_good_version}")
    lines.append(clean(report.next_step) + ".")
    if report.run_hint:
        lines.append(f"Run it: {clean(report.run_hint)}")
    if report.stalled and not report.finished:
        lines.append(f"Stopped: {clean(report.stalled)}")
    if report.running_pid is not None:
        lines.append(f"A session is working in this workspace now (PID {report.running_pid}).")
    elif not report.finished:
        lines.append(f"Resume with: {clean(report.resume_command)}")
    return "\n".join(lines)


def models_line(models: dict[str, list[str]]) -> str:
    """Each model once, with the roles it answered for: ``gpt-4o (planner, reviewer); gpt-4o-mini
    (tester, coder)``."""
    roles: dict[str, list[str]] = {}
    for role, names in models.items():
        for name in names:
            roles.setdefault(name, []).append(role)
    return "; ".join(f"{name} ({', '.join(used_by)})" for name, used_by in roles.items())


def _cells(row: VersionRow) -> tuple[str, ...]:
    """One version's cells, in the order of :data:`TABLE_HEADER`."""
    return (
        f"v{row.version}",
        clean(row.verdict or "-"),
        "-" if row.open_points is None else str(row.open_points),
        row.tests,
        clean(row.run_outcome or "not run"),
        f"{row.tokens:,}",
        "unknown" if row.cost_usd is None else f"${row.cost_usd:.4f}",
        f"{row.seconds:.1f}",
        "-" if row.run_seconds is None else shown_seconds(row.run_seconds),
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """The header and rows aligned, within :data:`SCREEN_COLUMNS`: the run column takes what is left
    and a longer outcome is cut with "…", so no cell wraps."""
    widths = [max(len(cell) for cell in column) for column in zip(TABLE_HEADER, *rows, strict=True)]
    others = sum(widths) - widths[RUN_COLUMN] + 2 * (len(widths) - 1)
    widths[RUN_COLUMN] = min(widths[RUN_COLUMN], max(MIN_RUN_WIDTH, SCREEN_COLUMNS - 1 - others))
    lines = []
    for cells in (TABLE_HEADER, *rows):
        fitted = [_cut(cell, width).ljust(width) for cell, width in zip(cells, widths, strict=True)]
        lines.append("  ".join(fitted).rstrip())
    return lines


def _cut(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"
