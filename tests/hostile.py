"""What the hostile-program tests share: the sandbox modes to run in, an approving review, the time
limit, a reply that fences a program, and a session that approves that program."""

from __future__ import annotations

import json
import os

import pytest
from scripted import PLAN_1, TESTS

from iterative_coder.execution.sandbox import unavailable_reason

SANDBOX_PROBLEM = unavailable_reason()
if SANDBOX_PROBLEM and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI must run the sandbox tests: {SANDBOX_PROBLEM}")
MODES = [
    "off",
    pytest.param(
        "on", marks=pytest.mark.skipif(bool(SANDBOX_PROBLEM), reason=f"no sandbox: {SANDBOX_PROBLEM}")
    ),
]
# The plan's one requirement assessed (issue 22: an approval that assesses nothing is asked about it).
APPROVE = json.dumps(
    {
        "verdict": "APPROVE",
        "coverage": [{"requirement": 1, "status": "met", "evidence": "it runs"}],
        "points": [],
    }
)
TIMEOUT = 5.0


def fenced(code: str) -> str:
    """A Coder reply holding ``code`` in a Python fence."""
    return f"```python\n{code}\n```"


def enqueue_approved(server: object, code: str) -> None:
    """Script a one-version session: the plan, the tests, ``code`` as version 1, an approval."""
    server.enqueue("planner", PLAN_1)  # type: ignore[attr-defined]
    server.enqueue("tester", TESTS)  # type: ignore[attr-defined]
    server.enqueue("coder", fenced(code))  # type: ignore[attr-defined]
    server.enqueue("reviewer", APPROVE)  # type: ignore[attr-defined]
