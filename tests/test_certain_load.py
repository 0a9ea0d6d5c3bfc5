"""A test file the tool judges loadable from its text alone is one pytest collects, with as many tests:
every case, and every Tester reply of the corpus (tests/replies/tests/), is also collected by pytest
itself, all in one pytest run, and the two must agree wherever the text alone decided."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripted import TEST_CASES, code_of_tests

from iterative_coder.execution.certain_load import certain_test_count
from iterative_coder.execution.test_check import stand_in

PLAIN = "import script\n\n\ndef test_one():\n    assert script.f() is None\n"
TEST_A = "\n\n\ndef test_a():\n    pass\n"
METHOD_A = "    def test_a(self):\n        pass\n"
# name: (the file, whether its text alone must decide)
CASES = {
    "plain": (PLAIN, True),
    "stdlib names and a class": (
        "from pathlib import Path\nfrom unittest import mock\nimport subprocess, sys\nimport script\n"
        "SAMPLE = 'a b'\n\n\nclass TestWords:\n    def test_a(self, tmp_path: Path):\n        pass\n\n"
        "    def helper(self):\n        pass\n\n\nimport pytest\n\n\n@pytest.fixture\ndef data():\n"
        "    return 1\n\n\ndef test_b(data, x=(1, 2)) -> None:\n    pass\n\n\n"
        "if __name__ == '__main__':\n    raise SystemExit(pytest.main())\n",
        True,
    ),
    "a test defined twice is one": (PLAIN + TEST_A.replace("test_a", "test_one"), True),
    "no tests": ("import script\n\n\ndef helper():\n    pass\n", True),
    "a class not named Test": ("import script\n\n\nclass Words:\n" + METHOD_A, True),
    "postponed annotations": (
        "from __future__ import annotations\nimport script\n\n\ndef test_a(x: No) -> Nowhere:\n    pass\n",
        True,
    ),
    "an attribute a module may lack": (
        "import os, script\n\n\ndef test_a(x: os.Nowhere):\n    pass\n",
        False,
    ),
    "an annotation naming nothing": ("import script\n\n\ndef test_a(x: Missing):\n    pass\n", False),
    "a name the module lacks": ("from os import no_such_name\nimport script" + TEST_A, False),
    "pytest's names": ("from pytest import approx, raises\nimport script" + TEST_A, True),
    "a test name from the program": ("from script import test_helper" + TEST_A, False),
    "a call at the top": ("import script\nVALUE = script.f()" + TEST_A, False),
    "parametrize": (
        "import pytest\nimport script\n\n\n@pytest.mark.parametrize('a,b', [(1, 2)])\n"
        "def test_a(a):\n    pass\n",
        False,
    ),
    "pytestmark": ("import script\npytestmark = 'slow'" + TEST_A, False),
    "a class with __init__": (
        "import script\n\n\nclass TestA:\n    def __init__(self):\n        pass\n\n" + METHOD_A,
        False,
    ),
    "a base class": ("import script, unittest\n\n\nclass TestA(unittest.TestCase):\n" + METHOD_A, False),
    "a fixture before pytest is imported": (
        "import script\n\n\n@pytest.fixture\ndef data():\n    pass",
        False,
    ),
    "an optional module": ("import sqlite3\nimport script" + TEST_A, False),
    "a default that calls": ("import script\n\n\ndef test_a(x=script.f()):\n    pass\n", False),
    "async": ("import script\n\n\nasync def test_a():\n    pass\n", False),
}


def collected_by_pytest(files: dict[str, str], folder: Path) -> dict[str, int | None]:
    """Each file's collected tests as pytest counts them (None: it could not collect the file)."""
    names = {f"case_{n}_test.py": text for n, text in enumerate(files.values())}
    for name, text in names.items():
        (folder / name).write_text(text)
    (folder / "script.py").write_text(stand_in("\n".join(files.values())))
    (folder / "pytest.ini").write_text("[pytest]\npython_files = case_*_test.py\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--noconftest", "-p", "no:cacheprovider",
         "-c", "pytest.ini", "--continue-on-collection-errors", *names],
        cwd=folder, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )  # fmt: skip
    counts: dict[str, int | None] = {}
    for key, name in zip(files, names, strict=True):
        failed = f"ERROR {name}" in done.stdout
        counts[key] = (
            None if failed else sum(line.startswith(f"{name}::") for line in done.stdout.splitlines())
        )
    return counts


def test_what_the_text_alone_decides_pytest_agrees_with(tmp_path: Path) -> None:
    files = {name: text for name, (text, _) in CASES.items()}
    files.update({f"corpus {case}": code_of_tests(case) for case in TEST_CASES})
    by_pytest = collected_by_pytest(files, tmp_path)
    decided = {name: certain_test_count(text) for name, text in files.items()}
    for name, count in decided.items():
        if count is not None:
            assert by_pytest[name] == count, (name, by_pytest[name], count)
    for name, (_, decides) in CASES.items():
        assert (decided[name] is not None) == decides, name
    # The corpus's plain files (most Tester replies) are decided without a pytest run.
    assert sum(count is not None for name, count in decided.items() if name.startswith("corpus")) >= 5
