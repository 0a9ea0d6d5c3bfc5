"""Each program in its own environment, built from the packages its script declares: installed from a
folder of wheels the tests build (no index, no network), reused while the declared set is the same,
made anew when it changes or was left half made, never holding the tool's own packages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import WAIT
from drive import run_loop, run_main, start
from scripted import PLAN_1, good_script, review
from scripted import TESTS as WORD_TESTS
from wheels import local_index

from iterative_coder.execution.environment import (
    BUILDER_VARIABLE,
    FIND_LINKS_VARIABLE,
    STATE_FILE,
    Environment,
    install_problem,
    prepare,
)
from iterative_coder.execution.sandbox import find_sandbox
from iterative_coder.execution.strays import recorded_runs
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.records.embedded import prose_of
from iterative_coder.records.environment import EnvironmentRecord
from iterative_coder.records.run import read_run
from iterative_coder.script_metadata import ScriptMetadata, with_metadata, write_metadata

PROGRAM = """import importlib.util

import tinypkg


def greet(name):
    return tinypkg.greet(name)


def main():
    print(greet("world"))
    for name in ("autogen_agentchat", "openai", "rich", "pytest"):
        print(name, "importable" if importlib.util.find_spec(name) else "missing")


if __name__ == "__main__":
    main()
"""
DECLARED = with_metadata(PROGRAM, ScriptMetadata(("tinypkg>=1.0",)))
TESTS = (
    "import script\nimport tinypkg\n\n\n"
    'def test_req1_greets():\n    assert script.greet("x") == tinypkg.greet("x")\n'
)
PLAN_TEXT = "# Greeter\n\n## Requirements\n1. greet(name) greets with the tinypkg package.\n"


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return local_index(tmp_path_factory.mktemp("wheels"))


@pytest.fixture
def offline_index(wheels: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(FIND_LINKS_VARIABLE, str(wheels))
    return wheels


def greeter_workspace(root: Path) -> None:
    (root / TASK).write_text("greet with tinypkg\n")
    (root / PLAN).write_text(PLAN_TEXT)
    (root / ACCEPTANCE).write_text(TESTS)


def fenced(code: str) -> str:
    return f"Here it is.\n\n```python\n{code}```\n\nIt uses tinypkg."


def test_a_declared_package_is_installed_and_the_tools_packages_are_not_seen(
    fake_server, tmp_path: Path, offline_index: Path
) -> None:
    greeter_workspace(tmp_path)
    fake_server.enqueue("coder", fenced(DECLARED))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, [""], execute="always")
    assert (outcome, version) == ("accepted", 1)
    record = read_run((tmp_path / "run_v1.md").read_text(), 1)
    assert record is not None and record.ok and record.all_tests_pass
    assert record.environment is not None and record.environment.resolved == ("tinypkg==1.0",)
    prose = prose_of((tmp_path / "run_v1.md").read_text())
    assert "hello from tinypkg, world" in prose
    assert "Warning" not in prose  # pytest started as the environment starts it says nothing of its own
    for name in ("autogen_agentchat", "openai", "rich", "pytest"):
        assert f"{name} missing" in prose
    assert "- declared: tinypkg>=1.0" in prose and "- installed: tinypkg==1.0" in prose
    assert any(text.startswith("Installed tinypkg==1.0 for script_v1.py in ") for text in ui.texts("info"))
    assert (
        "working",
        f"Installer is installing tinypkg>=1.0 for script_v1.py from {offline_index}",
    ) in ui.events


def test_without_the_block_the_coder_is_told_and_nothing_runs(
    fake_server, tmp_path: Path, offline_index: Path
) -> None:
    greeter_workspace(tmp_path)
    fake_server.enqueue("coder", fenced(PROGRAM), fenced(PROGRAM), fenced(PROGRAM))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="always")
    assert "script_v1.py imports tinypkg" in fake_server.requests_for("coder")[1].text
    record = read_run((tmp_path / "run_v1.md").read_text(), 1)
    assert record is not None and not record.ok and record.tests is None  # not run: no failing test
    assert record.environment is not None and record.environment.fixer == "Coder"
    assert '# dependencies = ["tinypkg"]' in record.environment.problem
    assert not (tmp_path / "runs" / "v1").exists()
    assert (tmp_path / "review_v1.md").read_text().startswith("Verdict: REVISE")  # never approved
    assert any("not declared" in text for text in ui.texts("result"))


def test_an_unknown_package_is_one_line_for_the_coder(
    fake_server, tmp_path: Path, offline_index: Path
) -> None:
    greeter_workspace(tmp_path)
    script = with_metadata(PROGRAM, ScriptMetadata(("tinypkg", "no-such-package-here")))
    fake_server.enqueue("coder", fenced(script))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="always")
    [result] = ui.texts("result")
    assert result == (
        "run_v1.md: not run, its environment not ready: no-such-package-here is not a package on "
        f"{offline_index}: declare its real PyPI name (or use the standard library) (for the Coder) · "
        "not run (its environment could not be made) · 0.0 s"
    )
    assert "Traceback" not in "\n".join(text for _, text in ui.events)
    assert "no-such-package-here is not a package" in fake_server.requests_for("reviewer")[0].text


def test_never_installs_nothing_and_a_no_leaves_the_version_not_run(
    fake_server, tmp_path: Path, offline_index: Path
) -> None:
    greeter_workspace(tmp_path)
    fake_server.enqueue("coder", fenced(DECLARED), fenced(DECLARED))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(1, "REVISE"))
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="never")
    assert "Nothing installed for script_v1.py (tinypkg>=1.0): --execute never." in ui.texts("info")
    assert not (tmp_path / "runs").exists()
    for name in ("script_v1.py", "review_v1.md"):
        (tmp_path / name).unlink()
    _, _, ui = run_loop(fake_server, tmp_path, ["y", "n", "/stop"], execute="ask")
    assert ui.texts("ask")[:2] == [
        "Run the generated code? [y/N/a(lways)]",
        f"Install tinypkg>=1.0 from {offline_index} for script_v1.py? [y/N/a]",
    ]
    said = "script_v1.py was not run: installing tinypkg>=1.0 was not allowed; nothing was installed."
    assert said in ui.texts("warn")
    assert not (tmp_path / "run_v1.md").exists() and not (tmp_path / "runs" / "env" / STATE_FILE).exists()
    assert "The script was not run: installing tinypkg>=1.0 was not allowed" in (
        fake_server.requests_for("reviewer")[1].text
    )


@pytest.mark.parametrize("builder", ["uv", "pip"])
def test_the_environment_is_reused_changed_and_made_again(
    builder: str, tmp_path: Path, offline_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BUILDER_VARIABLE, builder)
    folder = tmp_path / "env"
    folder.mkdir()
    sandbox = find_sandbox("auto")
    first = prepare(folder, ("tinypkg",), sandbox)
    assert first.resolved == ("tinypkg==1.0",) and not first.reused and first.problem is None
    assert first.builder == builder
    started = time.monotonic()
    again = prepare(folder, ("tinypkg",), sandbox)
    assert again.reused and time.monotonic() - started < 1.0  # an unchanged environment is ready at once
    assert again == first  # recorded as it was made
    python = Environment(folder).python
    dropped = prepare(folder, (), sandbox)
    assert dropped.resolved == () and not list(folder.glob("venv/lib/*/site-packages/tinypkg"))
    assert python.exists()
    # A killed install leaves no declared.json: the next start makes the environment again.
    prepare(folder, ("tinypkg",), sandbox)
    (folder / STATE_FILE).unlink()
    assert not prepare(folder, ("tinypkg",), sandbox).reused
    state = json.loads((folder / STATE_FILE).read_text())
    assert EnvironmentRecord.from_json(state["environment"]).resolved == ("tinypkg==1.0",)


@pytest.mark.parametrize(
    ("output", "fixer", "said"),
    [
        ("error: Failed to fetch\n  cause: dns error\n  cause: failed to lookup address information",
         "Manager", "no network to reach PyPI"),
        ("ERROR: Could not find a version that satisfies the requirement nosuch (from versions: none)\n"
         "ERROR: No matching distribution found for nosuch", "Coder", "nosuch is not a package on PyPI"),
        ("ERROR: Could not find a version that satisfies the requirement tiny>=9 (from versions: 1.0)\n"
         "ERROR: No matching distribution found for tiny>=9", "Coder", "no release of tiny>=9 on PyPI"),
        ("  × Failed to build `numpy==1.0`", "Manager", "no build of tiny>=9 installs on Python"),
        ("  ╰─▶ Because nosuch was not found in the package\n      registry and you require nosuch", "Coder",
         "nosuch is not a package on PyPI"),
    ],
)  # fmt: skip
def test_install_failures_go_to_whoever_can_fix_them(
    output: str, fixer: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FIND_LINKS_VARIABLE, raising=False)
    line, who = install_problem(output, ("tiny>=9",))
    assert who == fixer and line.startswith(said) and "\n" not in line


def installing(workspace: Path) -> bool:
    """Whether the install is under way: recorded as a run in runs/env."""
    runs = recorded_runs(workspace) if (workspace / "runs").is_dir() else []
    return any(Path(run.folder).name == "env" for run in runs)


def test_a_tool_killed_while_installing_leaves_a_workspace_resume_finishes(
    fake_server, tmp_path: Path, model_env: dict[str, str], wheels: Path
) -> None:
    # The first install reads a wheel that is a pipe nobody writes to: it is under way until killed.
    stuck = tmp_path / "stuck"
    stuck.mkdir()
    os.mkfifo(stuck / "tinypkg-1.0-py3-none-any.whl")
    script = good_script(1).replace("import sys\n", "import sys\n\nimport tinypkg\n", 1)
    script = script.replace("```python\n", "```python\n" + write_metadata(ScriptMetadata(("tinypkg",))), 1)
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", WORD_TESTS)
    fake_server.enqueue("coder", script)
    fake_server.enqueue("reviewer", review(1, "APPROVE"), review(1, "APPROVE"))
    args = ["--task", "count words", "--yes", "--execute", "always", "--max-iterations", "1"]
    tool = start(
        args,
        tmp_path,
        {**model_env, FIND_LINKS_VARIABLE: str(stuck)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    workspace = tmp_path / "workspace"
    deadline = time.monotonic() + WAIT
    while not installing(workspace):
        assert tool.poll() is None and time.monotonic() < deadline, tool.communicate()[0]
        time.sleep(0.05)
    tool.send_signal(signal.SIGKILL)
    tool.wait()
    assert not (workspace / "runs" / "env" / STATE_FILE).exists()
    resumed = run_main(
        ["--resume", workspace, "--yes", "--execute", "always"],
        tmp_path,
        {**model_env, FIND_LINKS_VARIABLE: str(wheels)},
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record = read_run((workspace / "run_v1.md").read_text(), 1)
    assert record is not None and record.ok and record.environment is not None
    assert record.environment.resolved == ("tinypkg==1.0",)
    assert (workspace / "runs" / "env" / STATE_FILE).exists()  # made again, whole
