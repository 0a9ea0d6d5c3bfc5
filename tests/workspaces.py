"""Workspaces written directly, without a model: for tests and benchmarks of history and resume.

They are written with the tool's own record writers, so they read back exactly as a session's would.
"""

from __future__ import annotations

from pathlib import Path

from iterative_coder.names import ACCEPTANCE, PLAN, TASK, review_name, run_name, script_name
from iterative_coder.records.calls import CallRecord
from iterative_coder.records.review import REVISE, Point, Review, write_review
from iterative_coder.records.run import ENDED, CommandRecord, DemoResult, RunRecord, TestOutcome, write_run
from iterative_coder.session import SessionLog
from iterative_coder.workspace import Workspace


def make_workspace(ws: Path, versions: int, last_verdict: str = "APPROVE") -> Path:
    """A workspace with many reviewed versions, written directly (no model): for status and resume."""
    ws.mkdir(parents=True)
    workspace = Workspace(ws)
    workspace.write(TASK, "count words\n", durable=False)
    workspace.write(PLAN, "# Word counter\n\n## Requirements\n1. Count words.\n", durable=False)
    workspace.write(ACCEPTANCE, "# none\n", durable=False)
    session = SessionLog(workspace)
    for v in range(1, versions + 1):
        last = v == versions
        workspace.write(script_name(v), f"VERSION = {v}\nprint(VERSION)\n", durable=False)
        points = [] if last else [Point("crashes", "failing", "main"), Point("rename", "style", "x")]
        review = Review(last_verdict if last else REVISE, points=points)
        workspace.write(review_name(v), write_review(review), durable=False)
        outcome = TestOutcome("test_count", "passed" if last else "failed")
        demo = DemoResult("run once", CommandRecord("exit 0", 0, 0.1), ENDED)
        run = RunRecord(v, (demo,), CommandRecord("exit 0", 0, 0.2), (outcome,))
        workspace.write(run_name(v), write_run(run, script_name(v)), durable=False)
        for role in ("coder", "reviewer"):
            session.calls.append(CallRecord(role, v, "gpt-4o-mini", 100, 50, 0.5, 0.000045))
    session.save()
    return ws
