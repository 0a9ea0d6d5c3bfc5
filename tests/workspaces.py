"""Workspaces written directly, without a model: for tests and benchmarks of history and resume."""

from __future__ import annotations

import json
from pathlib import Path


def make_workspace(ws: Path, versions: int, last_verdict: str = "APPROVE") -> Path:
    """A workspace with many reviewed versions, written directly (no model): for status and resume."""
    ws.mkdir(parents=True)
    (ws / "task.md").write_text("count words\n")
    (ws / "plan.md").write_text("# Word counter\n\n## Requirements\n1. Count words.\n")
    (ws / "acceptance_test.py").write_text("# none\n")
    calls = []
    for v in range(1, versions + 1):
        (ws / f"script_v{v}.py").write_text(f"VERSION = {v}\nprint(VERSION)\n")
        verdict = last_verdict if v == versions else "REVISE"
        points = "None." if v == versions else "1. [failing] (main) crashes\n2. [style] (x) rename"
        (ws / f"review_v{v}.md").write_text(f"Verdict: {verdict}\n\n## Coverage\n\n## Points\n\n{points}\n")
        (ws / f"run_v{v}.md").write_text(
            f"# Run\n\nSummary: tests {1 if v == versions else 0}/1 passed · exit 0 · 0.1 s\n"
        )
        for role in ("coder", "reviewer"):
            calls.append(
                {
                    "role": role,
                    "version": v,
                    "model": "gpt-4o-mini",
                    "prompt_tokens": 100,
                    "completion_tokens": 50,
                    "seconds": 0.5,
                    "cost_usd": 0.000045,
                    "cached": False,
                }
            )
    (ws / "session.json").write_text(json.dumps({"settings": {}, "calls": calls, "finished": None}))
    return ws
