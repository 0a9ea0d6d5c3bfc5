"""The workspace's file and folder names, each named once. No name ever comes from a model."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

TASK = "task.md"
PLAN = "plan.md"
ACCEPTANCE = "acceptance_test.py"
# The Tester's drafts that could not be used, kept for a person to open (never run or imported: the
# second dot keeps pytest and ``import`` off it).
ACCEPTANCE_REJECTED = "acceptance_test.rejected.py"
DEMO = "demo.json"  # how a person would try the program, agreed with the tests
SESSION = "session.json"
LOG = "log.jsonl"
LOCK = ".lock"
RUNS_FOLDER = "runs"
BRANCHES_FOLDER = "branches"
CACHE_FOLDER = ".cache"
SCRIPT_IN_RUN = "script.py"  # the module name the acceptance tests import: ``import script``
MANUAL_SUFFIX = "-manual"  # runs/v3-manual: the Manager's /run
TESTS_SUFFIX = "-tests"  # runs/v3-tests: the acceptance tests, apart from the program's own folder

FIXED_NAMES = frozenset({TASK, PLAN, ACCEPTANCE, ACCEPTANCE_REJECTED, DEMO, SESSION, LOG})
VERSIONED = re.compile(r"^(script|review|feedback|run)_v([1-9][0-9]*)\.(py|md)$")
EXTENSIONS = {"script": "py", "review": "md", "feedback": "md", "run": "md"}
_RUN_FOLDER = re.compile(rf"^v([1-9][0-9]*)(?:{MANUAL_SUFFIX}|{TESTS_SUFFIX})?$")


def script_name(version: int) -> str:
    """``script_v3.py`` for 3."""
    return f"script_v{version}.py"


def review_name(version: int) -> str:
    """``review_v3.md`` for 3."""
    return f"review_v{version}.md"


def feedback_name(version: int) -> str:
    """``feedback_v3.md`` for 3."""
    return f"feedback_v{version}.md"


def run_name(version: int) -> str:
    """``run_v3.md`` for 3."""
    return f"run_v{version}.md"


def run_folder_name(version: int, suffix: str = "") -> str:
    """``v3`` (or ``v3-manual``): the folder under ``runs/`` where version 3 runs."""
    return f"v{version}{suffix}"


def run_folder_version(name: str) -> int:
    """The version of a folder under ``runs/`` (``v3-manual`` is 3), or 0 for anything else."""
    match = _RUN_FOLDER.match(name)
    return int(match.group(1)) if match else 0


def versions_of(names: set[str], kind: str) -> list[int]:
    """The sorted versions of one kind (``script``, ``review``...) among file names."""
    found = []
    for name in names:
        match = VERSIONED.match(name)
        if match and match.group(1) == kind and match.group(3) == EXTENSIONS[kind]:
            found.append(int(match.group(2)))
    return sorted(found)


def resume_command(root: Path) -> str:
    """The command that continues the session in ``root``."""
    return f"python -m iterative_coder --resume {shlex.quote(str(root))}"
