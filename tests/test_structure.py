"""The shape the code keeps, so that a newcomer can change it: small modules, short functions, few
parameters, no test importing another test module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "iterative_coder"
MAX_MODULE_LINES = 400
MAX_LOOP_LINES = 150
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 5  # besides self or cls


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [name for name in names if name not in ("self", "cls")]


def test_modules_are_small_and_the_loop_is_thin() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}
    assert sizes["iterative_coder/loop.py"] < MAX_LOOP_LINES


def test_functions_are_short_and_take_few_parameters() -> None:
    long, wide = [], []
    for path in PACKAGE.rglob("*.py"):
        for node in functions(ast.parse(path.read_text())):
            where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
            if (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES:
                long.append(where)
            if len(parameters(node)) > MAX_PARAMETERS:
                wide.append(f"{where}({', '.join(parameters(node))})")
    assert long == [] and wide == []


def test_tests_share_helpers_instead_of_importing_each_other() -> None:
    offenders = []
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("test_"):
                offenders.append(f"{path.name}: from {node.module}")
    assert offenders == []


# What the execution package may import of the rest of the tool when it runs: formats and leaves, never
# the session (agents, the loop, the terminal), so that it stays one home behind its own interface.
EXECUTION_MAY_IMPORT = frozenset(
    {"config", "extract", "names", "records", "script_metadata", "settings", "textsafe", "workspace"}
)


def test_the_execution_package_depends_on_no_session_module() -> None:
    offenders = []
    for path in (PACKAGE / "execution").glob("*.py"):
        tree = ast.parse(path.read_text())
        checking = {
            id(inner)
            for node in tree.body
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and id(node) not in checking:
                top = (node.module or "").split(".")[0]
                if top not in EXECUTION_MAY_IMPORT:
                    offenders.append(f"{path.name}: from ..{node.module}")
    assert offenders == []
