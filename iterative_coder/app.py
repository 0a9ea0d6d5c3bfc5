"""One session from start (or resume point) to end: request, planning, iterations, summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounting import BudgetReached, totals
from .endings import ENDINGS, SessionEnd, outcome_without_session
from .loop import IterationLoop
from .names import TASK, resume_command, script_name
from .planning import ask_request, run_planning, run_test_agreement
from .resume import Step
from .script_metadata import how_to_run
from .status import history, models_by_role, models_line, version_rows
from .workspace import Workspace, WorkspaceError

if TYPE_CHECKING:
    from .context import SessionContext
    from .session import SessionLog
    from .ui import UI
    from .workspace import Workspace

_AGREEMENTS = (
    (Step.PLAN, run_planning, "the plan was approved"),
    (Step.TESTS, run_test_agreement, "the acceptance tests were approved"),
)


async def run_session(ctx: SessionContext) -> SessionEnd:
    """Run the session in the context's workspace to its end; every step is saved as it happens."""
    raise_to = ""  # the option that lets a resumed session get past this stop
    try:
        reason, version, why = await _run(ctx)
    except BudgetReached as exc:
        ctx.ui.warn(str(exc))
        reason, version, why = "budget", ctx.workspace.latest_script_version(), ""
        raise_to = exc.raise_to
    ending = ENDINGS[reason]
    if ending.summary:
        show_summary(ctx.workspace, ctx.session, ctx.ui)
    root = ctx.workspace.root
    if reason in ("accepted", "done"):
        ctx.ui.info(f"Accepted {script_name(version)} as final.")
    elif reason == "limit":  # resumed with the same limit, it would stop again at once
        limit = ctx.settings.max_iterations
        ctx.ui.warn(
            f"Reached the iteration limit ({limit}) without acceptance. To go on: "
            f"{resume_command(root)} --max-iterations {2 * limit}"
        )
    elif raise_to:  # the same: resumed with the same budget, it would stop again at once
        ctx.ui.warn(f"{ending.message} To go on: {resume_command(root)} {raise_to}")
    elif reason != "finished":
        ctx.ui.info(f"{why or ending.message} {go_on_line(ctx.workspace)}")
    return SessionEnd(reason)


def go_on_line(workspace: Workspace) -> str:
    """How to go on after a stop: the resume command, or that nothing was saved (no request yet)."""
    if workspace.exists(TASK):
        return f"Resume with: {resume_command(workspace.root)}"
    return "Nothing was saved: run the same command again to start."


async def _run(ctx: SessionContext) -> tuple[str, int, str]:
    """(reason, last version, what to say) for how the session ended."""
    settings = ctx.settings
    if not settings.resuming and not ctx.workspace.exists(TASK):  # --task was written before the start
        task = settings.task
        request = task if task and task.strip() else await ask_request(ctx.manager)
        if request is None:
            return "ended", 0, "Input ended before a request was given."
        ctx.workspace.write(TASK, request.strip() + "\n")  # task.md first: session.json alone is no session
        ctx.session.save()
    start = ctx.session.resume_point()
    if settings.resuming:
        ctx.ui.info(start.describe() + ".")
    if start.step is Step.FINISHED:
        return "finished", start.version, ""
    for step, agree, until in _AGREEMENTS:
        if start.step is step:
            outcome = await agree(ctx)
            if outcome != "approved":
                return outcome, 0, f"{'Stopped' if outcome == 'stopped' else 'Input ended'} before {until}."
            start = ctx.session.resume_point()
    loop = IterationLoop(ctx)
    outcome, version = await loop.run(start)
    if outcome == "stalled" and loop.stall:
        ctx.session.mark_stalled(version, loop.stall)
    return outcome, version, ""  # a stall's sentence was said as it happened: the ending's line follows


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
    final = session.finished_version  # the version accepted as final, if one was
    if final is not None:
        ui.info(f"Final script: {workspace.path(script_name(final))}")
        ui.info(f"Run it: {how_to_run(script_name(final), workspace.read(script_name(final)) or '')}")
    elif rows:
        ui.info(f"Latest script (not accepted): {workspace.path(script_name(rows[-1].version))}")
    models = models_by_role(session)
    if models:
        ui.info("Models: " + models_line(models))
    ui.info(f"Used: {totals(session.calls).describe()} in {len(session.calls)} model calls.")


def json_result(workspace: Workspace, end: SessionEnd) -> dict[str, Any]:
    """The one JSON object ``--json`` prints at the end (without the versions when the workspace
    cannot be read back); its keys are those of :func:`endings.outcome_without_session`."""
    result = outcome_without_session(str(workspace.root), end)
    try:
        report = history(workspace)
    except (OSError, WorkspaceError):
        return result
    data = report.to_json()  # costs rounded
    final = (report.finished or {}).get("version")
    latest = report.versions[-1].version if report.versions else None
    return result | {
        "workspace": report.workspace,
        "stall": report.stalled if end.reason == "stalled" else None,  # what did not move
        "final_script": str(workspace.path(script_name(final))) if final else None,
        "latest_script": str(workspace.path(script_name(latest))) if latest else None,
        "first_good_version": report.first_good_version,
        "versions": data["versions"],
        "tokens": report.total.tokens,
        "prompt_tokens": report.total.prompt_tokens,
        "cached_tokens": report.total.cached_tokens,
        "cost_usd": data["total"]["cost_usd"],
        "models": report.models,
    }
