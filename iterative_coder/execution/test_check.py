"""Acceptance tests that can run: a test file is checked before it is approved, and again when a run
could not load it.

A file must parse, touch the program in an honest way (import it as ``import script``, or run
``script.py`` as a process, as a person would: ``subprocess.run([sys.executable, "script.py", "3"])``),
import nothing but the standard library, pytest and the packages the plan names, and build no window
when it is loaded. Then pytest
must be able to collect it against a stand-in ``script`` module (every name the tests use, doing
nothing), in a temporary folder, within the limits of :mod:`runner` and the sandbox, when there is one.
What is wrong becomes a :class:`LoadProblem`, never a guess from how a message is worded.
"""

from __future__ import annotations

import ast
import re
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..extract import parse_python
from ..names import ACCEPTANCE, SCRIPT_IN_RUN
from ..script_metadata import named_in
from .certain_load import certain_test_count

if TYPE_CHECKING:
    from ..records.run import CommandRecord
    from .runs import Execution

# What can be wrong with a test file (the corpus in tests/replies/tests/ uses the same words).
SYNTAX, WRONG_MODULE, THIRD_PARTY_IMPORT, DISPLAY_AT_IMPORT, DOES_NOT_LOAD, NO_TESTS = (
    "syntax", "wrong_module", "third_party_import", "display_at_import", "does_not_load", "no_tests",
)  # fmt: skip
COLLECT_TIMEOUT = 20.0  # seconds pytest may take to load the file
PROGRAM = SCRIPT_IN_RUN.removesuffix(".py")
CONTRACT_NAMES = frozenset({"main"})  # every program has them (the Tester and the Coder are told so)
ALLOWED = frozenset(sys.stdlib_module_names) | {PROGRAM, "pytest", "_pytest"}
# Calls that need a display: made when the file is loaded, they stop pytest from collecting it.
WINDOW_CALLS = ("Tk", "Toplevel", "QApplication", "turtle.Screen", "turtle.Turtle", "display.set_mode")
IMPORT_CALLS = ("import_module", "__import__")
RUN_EXAMPLE = f'`subprocess.run([sys.executable, "{SCRIPT_IN_RUN}", ...], capture_output=True, text=True)`'
_ERROR_LINE = re.compile(r"^E\s+([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failed)\b.*)$")


@dataclass(frozen=True)
class LoadProblem:
    """Why a test file cannot be used: its kind (one of the names above) and pytest's or Python's words."""

    kind: str
    detail: str

    def describe(self) -> str:
        """The problem in a sentence, for the Manager and for the Tester."""
        return {
            SYNTAX: f"{ACCEPTANCE} does not parse ({self.detail})",
            WRONG_MODULE: (
                f"{ACCEPTANCE} imports {self.detail} instead of the program"
                if self.detail
                else f"{ACCEPTANCE} never touches the program"
            )
            + f": import it as `import {PROGRAM}`, or run it as a process, as in {RUN_EXAMPLE}",
            THIRD_PARTY_IMPORT: f"{ACCEPTANCE} imports {self.detail}, which the plan does not name: only the "
            "standard library, pytest and the packages the plan names can be used",
            DISPLAY_AT_IMPORT: f"{ACCEPTANCE} needs a display just to be loaded ({self.detail}); "
            "build windows inside a test or a fixture that skips when there is no display",
            NO_TESTS: f"pytest finds no tests in {ACCEPTANCE}",
        }.get(self.kind, f"pytest cannot load {ACCEPTANCE}: {self.detail}")


NOTHING_COLLECTED = LoadProblem(NO_TESTS, "no tests were collected")


def check_tests(tests: str, plan: str, execution: Execution | None) -> LoadProblem | None:
    """What stands in the way of running ``tests`` for ``plan``, or None; pytest collects them only
    with an ``execution`` (loading a file runs its code)."""
    problem = static_problem(tests, plan)
    if problem is None and execution is not None:
        certain = certain_test_count(tests)  # a plain file needs no pytest run to know
        if certain is None:
            problem = collection_problem(tests, execution)
        elif certain == 0:
            problem = NOTHING_COLLECTED
    return problem


def static_problem(tests: str, plan: str) -> LoadProblem | None:
    """What is wrong with ``tests`` that shows without running them: syntax, imports, a window."""
    tree, error = parse_python(tests)
    if tree is None:
        return LoadProblem(SYNTAX, error or "it is not Python")
    modules = imported_modules(tree)
    outside = [name for name in modules if name not in ALLOWED]
    if PROGRAM not in modules and not names_script_file(tree):
        return LoadProblem(WRONG_MODULE, ", ".join(outside))
    foreign = [name for name in outside if not named_in(name, plan)]
    if foreign:
        return LoadProblem(THIRD_PARTY_IMPORT, ", ".join(foreign))
    window = window_at_load(tree)
    return LoadProblem(DISPLAY_AT_IMPORT, window) if window else None


def imported_modules(tree: ast.Module) -> list[str]:
    """The top-level modules a file imports, in order, each once (a relative import as ``.name``)."""
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            found.setdefault("." * node.level + (node.module or "").split(".")[0])
        elif isinstance(node, ast.Call) and dotted_name(node.func).split(".")[-1] in IMPORT_CALLS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value.split(".")[0])
    return list(found)


def names_script_file(tree: ast.Module) -> bool:
    """Whether the file names ``script.py`` in a string (to run it as a process, or by path with
    ``runpy``): black-box tests of the program as a person uses it."""
    return any(
        isinstance(node, ast.Constant) and isinstance(node.value, str) and SCRIPT_IN_RUN in node.value
        for node in ast.walk(tree)
    )


def window_at_load(tree: ast.Module) -> str | None:
    """``line 11: tk.Tk()`` when a top-level statement of the file opens a window, else None (a
    statement under ``if`` or ``try`` may guard it: pytest's collection decides those)."""
    for statement in tree.body:
        if not isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)):
            continue
        for node in ast.walk(statement):
            if not isinstance(node, ast.Call):
                continue
            name = dotted_name(node.func)
            if any(name == call or name.endswith("." + call) for call in WINDOW_CALLS):
                return f"line {node.lineno}: {name}() runs when the file is loaded"
    return None


def dotted_name(node: ast.expr) -> str:
    """``tk.Tk`` for the expression ``tk.Tk``; "" for what is not a dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted_name(node.value)}.{node.attr}"
    return ""


STAND_IN = '''"""A stand-in for the program: every name the acceptance tests use, doing nothing."""


def _function(*args, **kwargs):
    return None


class _Class:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _function

'''


def program_names(tests: str) -> list[str]:
    """The names ``tests`` take from the program (``script.count_words``, ``from script import X``),
    in order, each once."""
    tree, _ = parse_python(tests)
    aliases, names = {PROGRAM}, dict[str, None]()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            aliases |= {alias.asname or PROGRAM for alias in node.names if alias.name == PROGRAM}
        elif isinstance(node, ast.ImportFrom) and node.module == PROGRAM and not node.level:
            names.update(dict.fromkeys(alias.name for alias in node.names if alias.name != "*"))
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            names.setdefault(node.attr)
    return list(names)


def unplanned_names(tests: str, plan: str) -> list[str]:
    """The names ``tests`` take from the program that the plan never mentions (helpers the Tester
    guessed): a correct program may well not have them."""
    return [
        name
        for name in program_names(tests)
        if name not in CONTRACT_NAMES
        and not name.startswith("_")
        and not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", plan)
    ]


def stand_in(tests: str) -> str:
    """A ``script.py`` that defines every name ``tests`` takes from the program: functions that return
    None, and classes (CapWords names) whose instances answer any method."""
    lines = [STAND_IN]
    for name in program_names(tests):
        if name.startswith("__"):
            continue
        is_class = name[:1].isupper() and not name.isupper()
        lines.append(f"{name} = type({name!r}, (_Class,), {{}})" if is_class else f"{name} = _function")
    return "\n".join(lines) + "\n"


def collection_problem(tests: str, execution: Execution) -> LoadProblem | None:
    """Whether pytest can collect ``tests`` against :func:`stand_in`, in a temporary folder, within the
    limits (and the sandbox) of ``execution``; what went wrong, or None."""
    with tempfile.TemporaryDirectory(prefix="iterative-coder-collect-") as folder:
        root = Path(folder)
        (root / ACCEPTANCE).write_text(tests, encoding="utf-8")
        (root / SCRIPT_IN_RUN).write_text(stand_in(tests), encoding="utf-8")
        (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        record = replace(execution, timeout=COLLECT_TIMEOUT).run(collect_command(execution), root)
    return problem_of(record)


def collect_command(execution: Execution) -> list[str]:
    """pytest collecting the file only, with nothing from the folder or the cache changing it."""
    return [*execution.pytest_command(), "--collect-only", "-q", "--noconftest",
            "-p", "no:cacheprovider", "-c", "pytest.ini", ACCEPTANCE]  # fmt: skip


def collected(record: CommandRecord) -> int:
    """How many tests a ``--collect-only -q`` run listed."""
    return sum(1 for line in record.stdout.splitlines() if line.startswith(f"{ACCEPTANCE}::"))


def problem_of(record: CommandRecord) -> LoadProblem | None:
    """What a collecting pytest run says is wrong with the file, or None when it found tests."""
    if record.timed_out:
        return LoadProblem(DOES_NOT_LOAD, f"loading it took longer than {COLLECT_TIMEOUT:g} s")
    if record.exit_code == 0 and collected(record):
        return None
    if record.exit_code in (0, 5):
        return NOTHING_COLLECTED
    error = first_error(record.stdout) or first_error(record.stderr) or f"pytest ended: {record.description}"
    needs_display = "display" in error.lower() or "TclError" in error
    return LoadProblem(DISPLAY_AT_IMPORT if needs_display else DOES_NOT_LOAD, error)


def first_error(text: str) -> str | None:
    """pytest's first error line (``ModuleNotFoundError: No module named 'wc'``), else None."""
    lines = [line.rstrip() for line in text.splitlines()]
    for line in lines:
        match = _ERROR_LINE.match(line)
        if match:
            return match.group(1)[:300]
    others = [line[1:].strip() for line in lines if line.startswith("E ") and line[1:].strip()]
    return others[0][:300] if others else None
