"""Test files that pytest certainly collects, read from their text: no sandbox, no pytest run.

Checking a test file by collecting it costs a sandbox and a pytest start (about half a second) each
time the Tester's file is checked. Most files are plain: imports of modules that load wherever
Python runs, test functions (and ``Test`` classes of methods) with no decorator but a bare
``pytest.fixture``, constants. Loading such a file defines names and nothing else, so pytest
collects exactly its test functions. :func:`certain_test_count` says how many, or None as soon as
anything could run, fail or change what is collected when the file is loaded (a call at the top
level, a parametrize, an annotation naming something unbound, a base class...): then pytest decides.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util

from ..extract import parse_python
from ..names import SCRIPT_IN_RUN

# Standard modules that import wherever Python runs (no optional C library behind them, as tkinter,
# curses, sqlite3 or lzma have), pytest, and the program (the stand-in has every name taken from it).
LOAD_ANYWHERE = frozenset(
    {
        "abc", "argparse", "array", "ast", "base64", "bisect", "calendar", "collections", "contextlib",
        "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "errno", "fnmatch",
        "fractions", "functools", "glob", "heapq", "importlib", "inspect", "io", "itertools", "json",
        "keyword", "locale", "math", "numbers", "operator", "os", "pathlib", "platform", "pprint",
        "queue", "random", "re", "runpy", "secrets", "shlex", "shutil", "signal", "socket", "string",
        "struct", "subprocess", "sys", "tempfile", "textwrap", "threading", "time", "timeit", "types",
        "typing", "unittest", "uuid", "warnings", "__future__", "pytest", SCRIPT_IN_RUN.removesuffix(".py"),
    }
)  # fmt: skip
_FIXTURE = "pytest.fixture"
_PYTEST_NAMES = frozenset({"approx", "fail", "fixture", "mark", "param", "raises", "skip", "warns"})
_PROGRAM = SCRIPT_IN_RUN.removesuffix(".py")


def certain_test_count(tests: str) -> int | None:
    """How many tests pytest collects from ``tests`` when it certainly collects them, else None."""
    tree, _ = parse_python(tests)
    if tree is None:
        return None
    bound = set(dir(builtins)) | {"__name__", "__file__", "__doc__"}
    postponed = any(  # annotations are then never evaluated
        isinstance(node, ast.ImportFrom) and node.module == "__future__" and alias.name == "annotations"
        for node in tree.body
        for alias in getattr(node, "names", ())
    )
    tests_by_name: dict[str, int] = {}  # a name defined again replaces its tests, as in the module
    for statement in tree.body:
        found = _statement_tests(statement, bound, postponed)
        if found is None:
            return None
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            tests_by_name[statement.name] = found
    return sum(tests_by_name.values())


def _statement_tests(statement: ast.stmt, bound: set[str], postponed: bool) -> int | None:
    """The tests one top-level statement defines (0 for an import or a constant), or None when loading
    it could do anything else; the names it binds are added to ``bound``."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return _import(statement, bound)
    if isinstance(statement, ast.FunctionDef):
        if not _plain_function(statement, bound, postponed):
            return None
        bound.add(statement.name)
        return 1 if statement.name.startswith("test") else 0
    if isinstance(statement, ast.ClassDef):
        return _test_class(statement, bound, postponed)
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        return _constant(statement, bound)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return 0  # a docstring
    if isinstance(statement, ast.If) and ast.unparse(statement.test) == "__name__ == '__main__'":
        return 0  # never run when pytest loads the file
    return None


def _import(statement: ast.Import | ast.ImportFrom, bound: set[str]) -> int | None:
    """An import of modules that load anywhere, of names they certainly have; None otherwise (and
    for a name pytest would collect: ``from script import test_helper``)."""
    if isinstance(statement, ast.Import):
        if any(alias.name.split(".")[0] not in LOAD_ANYWHERE for alias in statement.names):
            return None
        bound.update(alias.asname or alias.name.split(".")[0] for alias in statement.names)
        return 0
    module, names = statement.module or "", [alias.name for alias in statement.names]
    if statement.level or module.split(".")[0] not in LOAD_ANYWHERE or "*" in names:
        return None
    if any(name.startswith("test") for name in names) or not _has_names(module, names):
        return None
    bound.update(alias.asname or alias.name for alias in statement.names)
    return 0


def _has_names(module: str, names: list[str]) -> bool:
    """Whether ``from module import names`` finds every name (the program's stand-in has them all)."""
    if module == _PROGRAM or module == "__future__":
        return True
    if module == "pytest":
        return set(names) <= _PYTEST_NAMES
    try:  # a standard module of this Python, which the program's environment is made from
        loaded = importlib.import_module(module)
    except ImportError:
        return False
    return all(hasattr(loaded, name) or _submodule(f"{module}.{name}") for name in names)


def _submodule(name: str) -> bool:
    """Whether ``name`` is a module (``from unittest import mock`` imports it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _plain_function(function: ast.FunctionDef, bound: set[str], postponed: bool) -> bool:
    """No decorator but a bare ``pytest.fixture``, literal defaults, annotations naming bound names."""
    if any(ast.unparse(mark) not in (_FIXTURE, f"{_FIXTURE}()") for mark in function.decorator_list):
        return False
    if function.decorator_list and "pytest" not in bound:
        return False
    arguments = function.args
    defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    if not all(_literal(default) for default in defaults):
        return False
    if postponed:
        return True
    every = [
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        arguments.vararg,
        arguments.kwarg,
    ]
    annotations = [argument.annotation for argument in every if argument is not None]
    return all(
        _names_bound(annotation, bound) for annotation in [*annotations, function.returns] if annotation
    )


def _test_class(statement: ast.ClassDef, bound: set[str], postponed: bool) -> int | None:
    """A class of plain methods, with no base, decorator or ``__init__``: its ``test`` methods."""
    if statement.bases or statement.keywords or statement.decorator_list:
        return None
    methods = set()
    for member in statement.body:
        if isinstance(member, ast.Expr) and isinstance(member.value, ast.Constant):
            continue
        if not isinstance(member, ast.FunctionDef) or member.name == "__init__":
            return None
        if not _plain_function(member, bound, postponed):
            return None
        methods.add(member.name)
    bound.add(statement.name)
    tests = sum(name.startswith("test") for name in methods)  # a method defined again is one test
    return tests if statement.name.startswith("Test") else 0


def _constant(statement: ast.Assign | ast.AnnAssign, bound: set[str]) -> int | None:
    """``NAME = <a literal>``: no call, and no name pytest reads (``pytestmark``, a ``test`` name)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    if isinstance(statement, ast.AnnAssign) and not _names_bound(statement.annotation, bound):
        return None
    if statement.value is None or not _literal(statement.value):
        return None
    names = [target.id for target in targets if isinstance(target, ast.Name)]
    if len(names) != len(targets) or any(name.lower().startswith(("test", "pytest")) for name in names):
        return None
    bound.update(names)
    return 0


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _names_bound(annotation: ast.expr, bound: set[str]) -> bool:
    """Whether evaluating the annotation only reads names already bound: no call, and no attribute
    (``os.PathLike`` may be missing: pytest decides those)."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id not in bound:
            return False
        if isinstance(node, (ast.Attribute, ast.Call, ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield)):
            return False
    return True
