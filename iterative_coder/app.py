"""One session from start (or resume point) to end: request, planning, iterations, summary."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .agents import AgentFactory, Manager
from .loop import IterationLoop, LoopSettings
from .planning import ask_request, run_planning, run_test_agreement
from .review import APPROVE, verdict_of
from .runs import all_tests_passed, run_summary
from .workspace import TASK, feedback_name, review_name, run_name, script_name

if TYPE_CHECKING:
    from .ui import UI
    from .workspace import SessionLog, Workspace

EXIT_OK = 0
EXIT_UNFINISHED = 1


def resume_command(workspace: Workspace) -> str:
    """The command that continues this workspace."""
    return f"python -m iterative_coder --resume {shlex.quote(str(workspace.root))}"


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended: the exit code and the reason, in a word."""

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
    manager = Manager(ui)
    if not resuming:
        request = task if task and task.strip() else await ask_request(manager)
        if request is None:
            return _stopped(ui, workspace, "Input ended before a request was given.", EXIT_UNFINISHED)
        workspace.write(TASK, request.strip() + "\n")
        session.save()

    start = workspace.resume_point(session)
    if resuming:
        ui.info(start.describe() + ".")
    if start.step == "finished":
        show_summary(workspace, session, ui)
        return SessionEnd(EXIT_OK, "finished")
    if start.step == "plan":
        outcome = await run_planning(workspace, session, agents, manager, ui)
        if outcome == "stopped":
            return _stopped(ui, workspace, "Stopped before the plan was approved.", EXIT_OK)
        if outcome == "ended":
            return _stopped(ui, workspace, "Input ended before the plan was approved.", EXIT_UNFINISHED)
        start = workspace.resume_point(session)
    if start.step == "tests":
        outcome = await run_test_agreement(workspace, session, agents, manager, ui)
        if outcome == "stopped":
            return _stopped(ui, workspace, "Stopped before the acceptance tests were approved.", EXIT_OK)
        if outcome == "ended":
            return _stopped(
                ui, workspace, "Input ended before the acceptance tests were approved.", EXIT_UNFINISHED
            )
        start = workspace.resume_point(session)

    loop = IterationLoop(workspace, session, agents, manager, ui, settings)
    outcome, version = await loop.run(start)
    if outcome == "stopped":
        return _stopped(ui, workspace, "Stopped.", EXIT_OK)
    if outcome == "ended":
        return _stopped(ui, workspace, "Input ended.", EXIT_UNFINISHED)
    if outcome == "no_code":
        return _stopped(ui, workspace, "No script was written.", EXIT_UNFINISHED)
    if outcome == "stalled":
        return _stopped(ui, workspace, "Stopped: no progress.", EXIT_UNFINISHED)
    show_summary(workspace, session, ui)
    if outcome == "limit":
        ui.warn(
            f"Reached the iteration limit ({settings.max_iterations}) without acceptance. To go on: "
            f"{resume_command(workspace)} --max-iterations {settings.max_iterations + 5}"
        )
        return SessionEnd(EXIT_UNFINISHED, "limit")
    ui.info(f"Accepted {script_name(version)} as final.")
    return SessionEnd(EXIT_OK, outcome)


def _stopped(ui: UI, workspace: Workspace, why: str, exit_code: int) -> SessionEnd:
    ui.info(f"{why} Resume with: {resume_command(workspace)}")
    return SessionEnd(exit_code, "stopped")


def show_summary(workspace: Workspace, session: SessionLog, ui: UI) -> None:
    """A table of the versions, the final script and the tokens used."""
    tokens_by_version: dict[int, int] = {}
    for call in session.calls:
        version = int(call.get("version") or 0)
        used = int(call.get("prompt_tokens") or 0) + int(call.get("completion_tokens") or 0)
        tokens_by_version[version] = tokens_by_version.get(version, 0) + used
    latest = workspace.latest_script_version()
    rows = []
    first_good = None
    for version in range(1, latest + 1):
        if not workspace.exists(script_name(version)):
            continue
        verdict = verdict_of(workspace.read(review_name(version))) or "not reviewed"
        run = run_summary(workspace.read(run_name(version)))
        feedback = "yes" if workspace.exists(feedback_name(version)) else ""
        rows.append(
            (f"v{version}", verdict, run or "not run", feedback, str(tokens_by_version.get(version, 0)))
        )
        if first_good is None and verdict == APPROVE and all_tests_passed(run):
            first_good = version
    ui.show_table("Summary", ("version", "verdict", "run", "feedback", "tokens"), rows)
    if first_good is not None:
        ui.info(
            f"First version with every acceptance test passing and the Reviewer's approval: v{first_good}."
        )
    if latest:
        ui.info(f"Final script: {workspace.path(script_name(latest))}")
    prompt, completion = session.total_tokens()
    ui.info(f"Tokens used: {prompt + completion} ({prompt} prompt, {completion} completion).")
