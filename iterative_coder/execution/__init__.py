"""Preparing and running generated programs, in one place: the program's environment, the sandbox,
the runner and its limits, a version's runs (demo runs, the acceptance tests, the Manager's /run), the
virtual display, the history guard, strays left by a killed tool, and the checks of a test file.

The rest of the tool calls the small interface below (each name lives in the module that owns it).
"""

from .demo import DemoRun, demo_for, demo_from_reply, opens_window, write_demo
from .environment import Environment, prepare
from .guard import guarded
from .running import stop_all_programs
from .runs import Execution, prepare_manual_run, run_attached, run_version
from .sandbox import Sandbox, find_sandbox
from .strays import stop_strays
from .test_check import collection_problem, static_problem

__all__ = [
    "DemoRun", "Environment", "Execution", "Sandbox", "collection_problem", "demo_for", "demo_from_reply",
    "find_sandbox", "guarded", "opens_window", "prepare", "prepare_manual_run", "run_attached", "run_version",
    "static_problem", "stop_all_programs", "stop_strays", "write_demo",
]  # fmt: skip
