"""The planning phase: the request, the Planner's plan, the Manager's changes and approval."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from .agents import AgentFactory, Manager, call_and_record
from .workspace import PLAN, TASK

if TYPE_CHECKING:
    from .ui import UI
    from .workspace import SessionLog, Workspace

REQUEST_PROMPT = "What python creation would you like? Type below:"
APPROVAL_PROMPT = 'Reply "approve" to accept this plan, or type what to change (/stop to stop here).'
APPROVALS = {"approve", "approved", "/approve", "sounds good"}

PlanningOutcome = Literal["approved", "stopped", "ended"]


def is_approval(answer: str) -> bool:
    """Whether the Manager's answer approves the plan (case and trailing punctuation ignored)."""
    return answer.strip().lower().rstrip(".!") in APPROVALS


def strip_closing_question(plan: str) -> str:
    """The plan without the Planner's closing request for approval."""
    paragraphs = re.split(r"\n\s*\n", plan.strip())
    while len(paragraphs) > 1:
        last_lines = paragraphs[-1].strip().splitlines()
        last = last_lines[-1].strip() if last_lines else ""
        is_list_item = re.match(r"^(\d+[.)]|[-*+])\s", last) is not None
        asks = not is_list_item and (last.endswith("?") or "approve" in last.lower())
        if last in {"---", "***", "___"} or (asks and len(last) < 300):
            if len(last_lines) > 1:
                paragraphs[-1] = "\n".join(last_lines[:-1])
            else:
                paragraphs.pop()
            continue
        break
    return "\n\n".join(paragraphs).strip() + "\n"


async def ask_request(manager: Manager) -> str | None:
    """Ask what to build until the answer is not empty; None when input ended."""
    while True:
        answer = await manager.ask(REQUEST_PROMPT)
        if answer is None or answer.strip():
            return answer


async def run_planning(
    workspace: Workspace, session: SessionLog, agents: AgentFactory, manager: Manager, ui: UI
) -> PlanningOutcome:
    """Agree a plan for the request in task.md and save it as plan.md once approved."""
    request = (workspace.read(TASK) or "").strip()
    planner = agents.create("planner")  # one Planner for the whole conversation: it sees its drafts
    message = request
    while True:
        reply = await call_and_record(
            planner,
            message,
            ui=ui,
            session=session,
            model_name=agents.model_name,
            version=0,
            activity="is drafting the plan",
        )
        plan = strip_closing_question(reply.text)
        ui.show_markdown("Plan", plan)
        while True:
            answer = await manager.ask(APPROVAL_PROMPT)
            if answer is None:
                return "ended"
            if answer.lower() == "/stop":
                return "stopped"
            if answer:
                break
        if is_approval(answer):
            path = workspace.write(PLAN, plan)
            ui.info(f"Plan approved and saved to {path}.")
            return "approved"
        message = answer
