"""PEP 723 inline script metadata: writer and reader, and the check that what a script and its
tests import is declared (the Coder is asked again with the exact block, before anything runs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from drive import run_loop
from scripted import review

from iterative_coder.script_metadata import (
    ScriptMetadata,
    declaration_fix,
    describe_undeclared,
    how_to_run,
    python_refused,
    read_metadata,
    undeclared,
    with_metadata,
    write_metadata,
)

PYGAME_SCRIPT = '''#!/usr/bin/env python3
"""Snake."""
import random

import pygame
from PIL import Image


def main():
    pygame.init()


if __name__ == "__main__":
    main()
'''


@pytest.mark.parametrize(
    "metadata",
    [
        ScriptMetadata(),
        ScriptMetadata(("pygame>=2.5",)),
        ScriptMetadata(("numpy", 'pandas[excel]>=2; python_version >= "3.10"'), ">=3.10"),
    ],
)
def test_a_written_block_reads_back_the_same(metadata: ScriptMetadata) -> None:
    script = with_metadata("import sys\n", metadata)
    assert read_metadata(script) == metadata
    assert read_metadata(with_metadata(script, metadata)) == metadata  # replaced, not added twice
    assert script.count("# /// script") == 1 and script.endswith("import sys\n")
    assert write_metadata(metadata) in script


def test_a_block_written_the_way_models_write_it_is_read() -> None:
    script = (
        "# /// script\n# requires-python = '>=3.10'\n# dependencies = [\n#   \"requests<3\",\n"
        "#   'rich',  # for colour\n# ]\n# ///\nimport requests\n"
    )
    assert read_metadata(script) == ScriptMetadata(("requests<3", "rich"), ">=3.10")
    assert read_metadata("import sys\n") == ScriptMetadata()


@pytest.mark.parametrize(
    ("block", "said"),
    [
        ("# dependencies = [\n", "not valid TOML"),
        ("# dependencies = 'pygame'\n", "must be a list of strings"),
        ("# dependencies = ['>=2']\n", "is not a package requirement"),
    ],
)
def test_a_broken_block_is_a_sentence(block: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        read_metadata(f"# /// script\n{block}# ///\n")


def test_the_block_goes_after_a_shebang() -> None:
    script = with_metadata(PYGAME_SCRIPT, ScriptMetadata(("pygame",)))
    assert script.startswith("#!/usr/bin/env python3\n# /// script\n")


def test_undeclared_imports_of_the_script_and_the_tests_name_the_distribution() -> None:
    tests = "import script\nimport pytest\nimport numpy as np\nimport pygame\n"
    tests += "import wc\n"  # not named by the plan: the test file's fault, not the script's
    plan = "1. A snake game in pygame, with numpy for the grid."
    missing = undeclared(PYGAME_SCRIPT, "script_v1.py", tests, "acceptance_test.py", plan)
    assert describe_undeclared(missing) == (
        "script_v1.py imports pygame, PIL; acceptance_test.py imports numpy, pygame"
    )
    fix = declaration_fix(PYGAME_SCRIPT, missing)
    assert read_metadata(fix).dependencies == ("pygame", "pillow", "numpy")
    fixed = with_metadata(PYGAME_SCRIPT, read_metadata(fix))
    assert undeclared(fixed, "script_v1.py", tests, "acceptance_test.py", plan) == []


def test_a_declared_bound_and_another_spelling_count_as_declared() -> None:
    script = with_metadata(PYGAME_SCRIPT, ScriptMetadata(("Pygame>=2.5", "Pillow")))
    assert undeclared(script, "script_v1.py") == []


def test_an_optional_import_needs_no_declaration() -> None:
    script = "try:\n    import numpy\nexcept ImportError:\n    numpy = None\nimport json\n"
    assert undeclared(script, "script_v1.py") == []


SNAKE = "```python\n" + PYGAME_SCRIPT + "```\n"
DECLARED = with_metadata(PYGAME_SCRIPT, ScriptMetadata(("pygame>=2.5", "pillow")))
DECLARED_SNAKE = "```python\n" + DECLARED + "```\n"


def test_the_coder_is_asked_to_declare_before_the_script_is_saved(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", "Here is the game:\n" + SNAKE, "Declared now.\n" + DECLARED_SNAKE)
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["/stop"])
    assert (outcome, version) == ("stopped", 1)
    asked = fake_server.requests_for("coder")[1].text
    assert "script_v1.py imports pygame, PIL" in asked
    assert '# dependencies = ["pygame", "pillow"]' in asked
    assert any("not declared in its `# /// script` block" in text for text in ui.texts("warn"))
    assert read_metadata((tmp_path / "script_v1.py").read_text()).dependencies == ("pygame>=2.5", "pillow")


def test_a_coder_that_never_declares_is_saved_after_two_asks(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", SNAKE, SNAKE, SNAKE)
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, _, _ui = run_loop(fake_server, tmp_path, ["/stop"])
    assert outcome == "stopped"
    assert len(fake_server.requests_for("coder")) == 3
    assert (tmp_path / "script_v1.py").read_text() == PYGAME_SCRIPT


def test_the_way_to_run_an_accepted_script_outside_the_tool() -> None:
    assert how_to_run("script_v3.py", DECLARED) == (
        "uv run script_v3.py (or pipx run script_v3.py): it installs pygame>=2.5, pillow for the script alone"
    )
    assert (
        how_to_run("script_v1.py", "import sys\n")
        == "python3 script_v1.py (it needs only the standard library)"
    )


def test_a_python_outside_the_declared_range_is_said() -> None:
    running = ".".join(map(str, sys.version_info[:3]))
    assert python_refused(">=3.10") is None and python_refused(None) is None
    assert python_refused(">=99") == f"requires Python >=99; this is {running}"
