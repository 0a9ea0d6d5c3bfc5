"""One session from start (or resume point) to end: request, planning, iterations, summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .accounting import BudgetReached, totals
from .agents import AgentFactory, Manager
from .loop import IterationLoop, LoopSettings
from .planning import ask_request, run_planning, run_test_agreement
from .status import history, models_by_role, version_rows
from .workspace import TASK, resume_command, script_name

if TYPE_CHECKING:
    from .ui import UI
    from .workspace import SessionLog, Workspace

EXIT_OK = 0
EXIT_UNFINISHED = 1

# Why a session ended -> (exit code, what the person reads).
ENDINGS: dict[str, tuple[int, str]] = {
    "accepted": (EXIT_OK, "Accepted"),
    "done": (EXIT_OK, "Accepted"),
    "finished": (EXIT_OK, "This session had already finished."),
    "stopped": (EXIT_OK, "Stopped."),
    "ended": (EXIT_UNFINISHED, "Input ended."),
    "limit": (EXIT_UNFINISHED, "Reached the iteration limit without approval."),
    "no_code": (EXIT_UNFINISHED, "No script was written."),
    "stalled": (EXIT_UNFINISHED, "Stopped: no progress."),
    "budget": (EXIT_UNFINISHED, "Stopped: the budget is reached."),
}


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended: the exit code and the reason, in a word (a key of :data:`ENDINGS`)."""

    exit_code: int
    reason: str


async def run_session(
    workspace: Workspace,
    session: SessionLog,
    agents: AgentFactory,
    ui: UI,
    settings: LoopSettings,
    *,
    task: str | None = None,
    resuming: bool = False,
) -> SessionEnd:
    """Run the session in ``workspace`` to its end; every step is saved as it happens."""
    try:
        reason, version, why = await _run(workspace, session, agents, ui, settings, task, resuming)
    except BudgetReached as exc:
        ui.warn(str(exc))
        reason, version, why = "budget", workspace.latest_script_version(), ""
    exit_code, message = ENDINGS[reason]
    if reason in ("accepted", "done", "finished", "limit", "stalled", "budget"):
        show_summary(workspace, session, ui)
    if reason in ("accepted", "done"):
        ui.info(f"Accepted {script_name(version)} as final.")
    elif reason == "limit" and settings.interactive:
        ui.warn(
            f"Reached the iteration limit ({settings.max_iterations}) without acceptance. To go on: "
            f"{resume_command(workspace.root)} --max-iterations {settings.max_iterations + 5}"
        )
    elif reason != "finished":
        ui.info(f"{why or message} Resume with: {resume_command(workspace.root)}")
    return SessionEnd(exit_code, reason)


async def _run(
    workspace: Workspace,
    session: SessionLog,
    agents: AgentFactory,
    ui: UI,
    settings: LoopSettings,
    task: str | None,
    resuming: bool,
) -> tuple[str, int, str]:
    """(reason, last version, what to say) for how the session ended."""
    manager = Manager(ui)
    if not resuming:
        request = task if task and task.strip() else await ask_request(manager)
        if request is None:
            return "ended", 0, "Input ended before a request was given."
        workspace.write(TASK, request.strip() + "\n")
        session.save()

    start = workspace.resume_point(session)
    if resuming:
        ui.info(start.describe() + ".")
    if start.step == "finished":
        return "finished", start.version, ""
    agreements = (
        ("plan", run_planning, "the plan was approved"),
        ("tests", run_test_agreement, "the acceptance tests were approved"),
    )
    for step, agree, until in agreements:
        if start.step == step:
            outcome = await agree(
                workspace, session, agents, manager, ui, auto_approve=not settings.interactive
            )
            if outcome != "approved":
                return outcome, 0, f"{'Stopped' if outcome == 'stopped' else 'Input ended'} before {until}."
            start = workspace.resume_point(session)

    loop = IterationLoop(workspace, session, agents, manager, ui, settings)
    outcome, version = await loop.run(start)
    return outcome, version, ""


def show_summary(workspace: Workspace, session: SessionLog, ui: UI) -> None:
    """A table of the versions, the first good one, the final script, the models and the cost."""
    rows = version_rows(workspace, session)
    ui.show_table(
        "Summary",
        ("version", "verdict", "run", "feedback", "tokens", "cost"),
        [
            (
                f"v{row.version}",
                row.verdict or "not reviewed",
                row.run or "not run",
                "yes" if row.feedback else "",
                f"{row.tokens:,}",
                "unknown" if row.cost_usd is None else f"${row.cost_usd:.4f}",
            )
            for row in rows
        ],
    )
    first_good = next((row.version for row in rows if row.good), None)
    if first_good is not None:
        ui.info(
            f"First version with every acceptance test passing and the Reviewer's approval: v{first_good}."
        )
    if rows:
        ui.info(f"Final script: {workspace.path(script_name(rows[-1].version))}")
    models = models_by_role(session)
    if models:
        ui.info("Models: " + "; ".join(f"{role} {', '.join(names)}" for role, names in models.items()))
    ui.info(f"Used: {totals(session.calls).describe()} in {len(session.calls)} model calls.")


def json_result(workspace: Workspace, end: SessionEnd) -> dict[str, Any]:
    """The one JSON object ``--json`` prints at the end."""
    report = history(workspace)
    final = report.versions[-1].version if report.versions else None
    return {
        "workspace": report.workspace,
        "stop_reason": end.reason,
        "exit_code": end.exit_code,
        "final_script": str(workspace.path(script_name(final))) if final else None,
        "first_good_version": report.first_good_version,
        "versions": report.to_json()["versions"],
        "tokens": report.total.tokens,
        "cost_usd": report.total.cost,
        "models": report.models,
    }
