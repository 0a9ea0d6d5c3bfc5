"""The evaluation set: how much do the iterations improve the code?

    python bench/eval.py --config-list OAI_CONFIG_LIST [--iterations 3] [--tasks 01,05] [--execute always]

For each task in bench/tasks/, runs the tool non-interactively (``--task <request> --yes --json``)
with the given model configuration, then runs the task's hidden tests (which the agents never see)
against script_v1.py, script_v2.py, ... and reports, per task and overall: the hidden tests' pass
rate after each version and at the end, the versions used, tokens and cost. The report is printed
and written to ``--out`` (default: bench/EVAL.md). Every program runs in the tool's limited
subprocess (see docs/programs-and-sandbox.md), never in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "bench" / "tasks"
sys.path.insert(0, str(ROOT))

from iterative_coder.execution.runner import run_limited  # noqa: E402
from iterative_coder.execution.runs import read_junit  # noqa: E402


@dataclass
class TaskResult:
    """One task's outcome."""

    name: str
    exit_code: int
    stop_reason: str
    pass_rates: list[float] = field(default_factory=list)  # hidden tests passed after v1, v2, ...
    versions: int = 0
    tokens: int = 0
    cost_usd: float | None = None
    error: str = ""


def hidden_pass_rate(task: Path, script: Path, timeout: float) -> float:
    """The share of the task's hidden tests that pass against ``script``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(script, folder / "script.py")
        shutil.copy(task / "test_hidden.py", folder / "test_hidden.py")
        (folder / "pytest.ini").write_text("[pytest]\n")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=report.xml"]
        run_limited([*command, "test_hidden.py"], folder, timeout)
        outcomes = [o for o in read_junit(folder / "report.xml") if o.result != "skipped"]
        if not outcomes:
            return 0.0
        return sum(o.result == "passed" for o in outcomes) / len(outcomes)


def run_task(task: Path, options: argparse.Namespace, workspaces: Path) -> TaskResult:
    """Run the tool on one task, then score every version it wrote."""
    workspace = workspaces / task.name
    if workspace.exists():
        shutil.rmtree(workspace)
    command = [sys.executable, "-m", "iterative_coder", "--task", (task / "request.md").read_text().strip()]
    command += ["--yes", "--json", "--workspace", str(workspace), "--max-iterations", str(options.iterations)]
    command += ["--execute", options.execute]
    if options.config_list:
        command += ["--config-list", str(options.config_list)]
    if options.model:
        command += ["--model", options.model]
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=options.task_timeout
    )
    try:
        outcome = json.loads(completed.stdout)
    except json.JSONDecodeError:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return TaskResult(task.name, completed.returncode, "error", error=last)
    result = TaskResult(
        task.name,
        completed.returncode,
        outcome["stop_reason"],
        versions=len(outcome["versions"]),
        tokens=outcome["tokens"],
        cost_usd=outcome["cost_usd"],
    )
    for version in range(1, result.versions + 1):
        script = workspace / f"script_v{version}.py"
        result.pass_rates.append(
            hidden_pass_rate(task, script, options.run_timeout) if script.exists() else 0.0
        )
    return result


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def after(result: TaskResult, version: int) -> float | None:
    """The pass rate once ``version`` versions were possible (the last one written stands after that)."""
    if not result.pass_rates:
        return 0.0 if result.stop_reason != "error" else None
    return result.pass_rates[min(version, len(result.pass_rates)) - 1]


def report(results: list[TaskResult], options: argparse.Namespace) -> str:
    checkpoints = list(range(1, options.iterations + 1))
    header = ["task", *(f"after v{v}" for v in checkpoints), "end", "versions", "stop", "tokens", "cost"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cost = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
        cells = [result.name, *(percent(after(result, v)) for v in checkpoints)]
        cells += [percent(after(result, options.iterations)), str(result.versions)]
        cells += [
            result.stop_reason + (f" ({result.error})" if result.error else ""),
            f"{result.tokens:,}",
            cost,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    scored = [r for r in results if r.stop_reason != "error"]
    if scored:
        means = [statistics.mean(after(r, v) or 0.0 for r in scored) for v in checkpoints]
        costs = [r.cost_usd for r in scored]
        total_cost = "unknown" if any(c is None for c in costs) else f"${sum(c or 0 for c in costs):.4f}"
        cells = ["**all**", *(percent(m) for m in means), percent(means[-1])]
        cells += [f"{statistics.mean(r.versions for r in scored):.1f}", ""]
        cells += [f"{sum(r.tokens for r in scored):,}", total_cost]
        lines.append("| " + " | ".join(cells) + " |")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    model = options.model or "the first entry"
    intro = (
        f"# Evaluation\n\nRun {when}: {len(results)} tasks, up to {options.iterations} versions each, "
        f"model {model} of {options.config_list or 'the environment'}, --execute {options.execute}. "
        "Pass rates are the share of each task's hidden tests that pass.\n"
    )
    return intro + "\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config-list", type=Path, help="OAI_CONFIG_LIST file (else the environment's config)"
    )
    parser.add_argument("--model", help="pick this model's entry")
    parser.add_argument("--iterations", type=int, default=3, help="versions per task at most (default 3)")
    parser.add_argument("--tasks", help="comma-separated task folder prefixes, e.g. 01,05 (default: all)")
    parser.add_argument(
        "--execute",
        choices=("never", "always"),
        default="never",
        help="let the tool run each version against its own acceptance tests (default never)",
    )
    parser.add_argument("--workspaces", type=Path, help="where the sessions go (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "EVAL.md")
    parser.add_argument("--run-timeout", type=float, default=30.0, help="seconds for a hidden-test run")
    parser.add_argument("--task-timeout", type=float, default=1800.0, help="seconds for one task's session")
    options = parser.parse_args(argv)
    wanted = [prefix.strip() for prefix in options.tasks.split(",")] if options.tasks else None
    tasks = sorted(p for p in TASKS.iterdir() if (p / "request.md").is_file())
    if wanted:
        tasks = [t for t in tasks if any(t.name.startswith(prefix) for prefix in wanted)]
    if not tasks:
        print("eval: no task matches --tasks", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        workspaces = options.workspaces or Path(tmp)
        workspaces.mkdir(parents=True, exist_ok=True)
        results = []
        for task in tasks:
            print(f"{task.name} ...", file=sys.stderr, flush=True)
            results.append(run_task(task, options, workspaces))
    text = report(results, options)
    options.out.write_text(text)
    print(text)
    return 0 if all(r.stop_reason != "error" for r in results) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
