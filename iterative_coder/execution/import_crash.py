"""A script that runs its program when it is imported: the acceptance tests import it, so the program
runs (and often exits) before any test does. Found in the script's syntax and named with its fix.
"""

from __future__ import annotations

import ast
import re

from ..extract import parse_python
from ..names import SCRIPT_IN_RUN as SCRIPT_FILE
from ..records.run import CommandRecord, TestOutcome
from .test_check import dotted_name

IMPORTING = f"importing {SCRIPT_FILE}"  # the failing "test" when loading the script stopped the tests
_INTERNAL_ERROR = re.compile(r"^INTERNALERROR> ([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*)$")
MAIN_GUARD = '`if __name__ == "__main__":`'


def ran_at_import(script_text: str) -> str | None:
    """``line 13: main()`` when a top-level statement of the script calls one of its own functions (or
    a ``mainloop``): importing it runs the program. None otherwise."""
    tree, _ = parse_python(script_text)
    if tree is None:
        return None
    own = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for statement in tree.body:
        for node in ast.walk(statement) if isinstance(statement, ast.Expr) else ():
            name = dotted_name(node.func) if isinstance(node, ast.Call) else ""
            if name in own or name.endswith(".mainloop"):
                return f"line {node.lineno}: {name}()"
    return None


def import_crash(
    at_import: str, tests: CommandRecord, cases: list[tuple[TestOutcome, bool]]
) -> tuple[TestOutcome, ...] | None:
    """The acceptance tests' outcome when importing the script ran the program and that stopped them
    (pytest's internal error, or a file it could not collect): one failing "test" that says so, with
    the fix. None when the tests did run."""
    stopped = tests.exit_code == 3 or (bool(cases) and all(collection for _, collection in cases))
    if not stopped:
        return None
    lines = (tests.stdout + "\n" + tests.stderr).splitlines()
    errors = [match.group(1) for line in lines if (match := _INTERNAL_ERROR.match(line.strip()))]
    error = errors[-1] if errors else cases[0][0].message if cases else tests.description
    message = (
        f"{IMPORTING} ran the program ({at_import}), which stopped the tests ({error}); put the call "
        f"under {MAIN_GUARD}"
    )
    return (TestOutcome(IMPORTING, "error", message),)
