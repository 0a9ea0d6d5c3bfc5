"""The benchmark harnesses work end to end against the fake server (numbers come from bench/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from fake_openai import FakeOpenAIServer, RecordedRequest

ROOT = Path(__file__).resolve().parent.parent
TASKS = sorted(p for p in (ROOT / "bench" / "tasks").iterdir() if (p / "request.md").is_file())


def test_the_evaluation_set_has_at_least_twelve_tasks() -> None:
    assert len(TASKS) >= 12
    for task in TASKS:
        assert {p.name for p in task.iterdir() if p.is_file()} >= {
            "request.md",
            "test_hidden.py",
            "solution.py",
        }


# Each task's hidden tests, run with pytest as the tool runs them (no plugins), each in the task's own
# folder and with its own ``script``, all in one Python process: one start-up instead of one per task.
EACH_TASK = """
import os, sys
import pytest
for folder in sys.argv[1:]:
    os.chdir(folder)
    sys.path.insert(0, folder)
    code = pytest.main(["-q", "-p", "no:cacheprovider", "test_hidden.py"])
    print(f"\\n{folder} exit {int(code)}", flush=True)
    sys.path.remove(folder)
    for name in ("script", "test_hidden"):
        sys.modules.pop(name, None)
"""


def test_each_reference_solution_passes_its_hidden_tests(tmp_path: Path) -> None:
    folders = []
    for task in TASKS:
        folder = tmp_path / task.name
        folder.mkdir()
        shutil.copy(task / "solution.py", folder / "script.py")
        shutil.copy(task / "test_hidden.py", folder / "test_hidden.py")
        (folder / "pytest.ini").write_text("[pytest]\n")
        folders.append(str(folder))
    result = subprocess.run(
        [sys.executable, "-c", EACH_TASK, *folders],
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # as the tool runs tests: no plugins
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Exit 0 means every test passed and there was at least one (no tests at all is exit 5).
    codes = dict(
        line.rsplit(" exit ", 1) for line in result.stdout.splitlines() if line.startswith(str(tmp_path))
    )
    failed = {Path(folder).name: code for folder, code in codes.items() if code != "0"}
    assert len(codes) == len(TASKS) and not failed, (failed, result.stdout[-3000:])


def test_eval_scores_every_version_with_the_hidden_tests(tmp_path: Path, clean_env: dict[str, str]) -> None:
    chosen = [t for t in TASKS if t.name.startswith("07")]  # one task: the harness, not the set, is tested

    def solution_for(request: RecordedRequest) -> Path:
        return next(t for t in chosen if (t / "request.md").read_text().strip() in request.text)

    def coder(request: RecordedRequest) -> str:
        if "Write version 1" in request.text:
            return "```python\ndef nothing():\n    return None\n```"
        return "```python\n" + (solution_for(request) / "solution.py").read_text() + "\n```"

    def reviewer(request: RecordedRequest) -> str:
        verdict = "REVISE" if "def nothing" in request.text else "APPROVE"
        points = [{"category": "missing", "issue": "nothing is implemented"}] if verdict == "REVISE" else []
        status = "met" if verdict == "APPROVE" else "missing"
        coverage = [{"requirement": 1, "status": status, "evidence": "-"}]
        return json.dumps({"verdict": verdict, "coverage": coverage, "points": points})

    with FakeOpenAIServer() as server:
        # The plan restates the request as its one numbered requirement.
        server.enqueue("planner", *[lambda r: "## Requirements\n1. " + r.messages[-1]["content"]] * 2)
        server.enqueue(
            "tester", *["```python\nimport script\n\n\ndef test_imports():\n    assert script\n```"] * 2
        )
        server.enqueue("coder", *[coder] * 4)
        server.enqueue("reviewer", *[reviewer] * 4)
        config = tmp_path / "OAI_CONFIG_LIST"
        config.write_text(
            json.dumps([{"model": "gpt-4o-mini", "base_url": server.base_url, "api_key": "sk-x"}])
        )
        out = tmp_path / "EVAL.md"
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "eval.py"),
                "--config-list",
                str(config),
                "--tasks",
                "07",
                "--iterations",
                "3",
                "--out",
                str(out),
                "--workspaces",
                str(tmp_path / "ws"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.read_text()
    assert table.strip() == result.stdout.strip()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines() if line.startswith("| ")}
    for task in chosen:
        # Version 1 implements nothing, version 2 is the reference: 0% then 100%, and it stays.
        assert rows[task.name].startswith(f"| {task.name} | 0% | 100% | 100% | 100% | 2 | accepted |")
    assert rows["**all**"].startswith("| **all** | 0% | 100% | 100% | 100% | 2.0 |")


def test_run_py_prints_the_whole_table(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--runs", "1", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    for figure in (
        "coder prompt at iteration 2, group chat",
        "reviewer prompt: group chat / ours at iteration 3",
        "orchestration overhead per iteration, no streaming (ms)",
        "status (100 versions) (ms)",
        "--resume (100 versions) to Manager prompt (ms)",
        "peak RSS, 3-iteration run (MB)",
    ):
        assert f"| {figure} |" in text
    assert re.search(r"\| coder prompt: iteration 3 / iteration 2, ours \| <= 1.25 \| [\d.]+ \|", text)
