"""Agreeing before any code: the plan with the Planner, then the acceptance tests with the Tester."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from .agents import call_and_record
from .demo import DemoRun, demo_from_reply, write_demo
from .extract import extract_code
from .names import ACCEPTANCE, DEMO, PLAN, TASK
from .prompt_files import PROMPTS_DIR, render_prompt
from .roles import ROLES

if TYPE_CHECKING:
    from autogen_agentchat.agents import AssistantAgent

    from .context import SessionContext
    from .manager import Manager

REQUEST_PROMPT = "What python creation would you like? Type below:"
APPROVAL_PROMPT = 'Reply "approve" to accept this plan, or type what to change (/stop to stop here).'
TESTS_PROMPT = (
    'Reply "approve" to accept these acceptance tests, type what to change, /skip for no automatic checks, '
    "or /stop."
)
APPROVALS = {"approve", "approved", "/approve", "sounds good"}

AgreementOutcome = Literal["approved", "stopped", "ended"]
AUTO_RETRIES = 2  # without a person, how often an unusable draft is asked for again


def is_approval(answer: str) -> bool:
    """Whether the Manager's answer approves (case and trailing punctuation ignored)."""
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


class Agreement:
    """A conversation with one agent until the Manager approves what it drafted."""

    def __init__(self, ctx: SessionContext, role: str, activity: str) -> None:
        self.ctx = ctx
        self.ui = ctx.ui
        self.manager = ctx.manager
        # A conversational role keeps one agent for the whole talk, so it sees its own drafts.
        self.agent: AssistantAgent = ctx.agents.create(role)
        self.title = ROLES[role].title
        self.activity = activity

    @staticmethod
    def unusable(draft: str | None, cut_off: bool) -> str | None:
        """Why a draft cannot be approved without a person looking at it, or None."""
        if draft is None:
            return "it held no usable content"
        if cut_off:
            return "it was cut off at the token limit"
        return None

    async def run(
        self,
        message: str,
        draft_of: Callable[[str], str | None],
        question: str,
        commands: frozenset[str] = frozenset(),
    ) -> tuple[str, str | None]:
        """Talk until approval; returns (``approved`` or a command or ``ended``, the last draft).

        With ``auto_approve`` (no person at hand) the first usable draft is approved: a draft that
        is missing, cut off or ``unusable`` is asked for again, at most twice.
        """
        retries = AUTO_RETRIES
        auto_approve = not self.ctx.settings.interactive
        while True:
            reply = await call_and_record(self.ctx, self.agent, message, 0, self.activity)
            if reply.cut_off:
                self.ui.warn(
                    f"The {self.title}'s reply was cut off at the model's token limit; "
                    "ask for a shorter version if it is incomplete."
                )
            draft = draft_of(reply.text)
            if auto_approve:
                problem = self.unusable(draft, reply.cut_off)
                if problem is None:
                    return "approved", draft
                if retries == 0:
                    return "ended", None
                retries -= 1
                message = render_prompt("draft_retry", problem=problem)
                continue
            while True:
                answer = await self.manager.ask(question)
                if answer is None:
                    return "ended", draft
                if answer.lower() in commands | {"/stop"}:
                    return answer.lower(), draft
                if not answer:
                    continue
                if is_approval(answer) and draft is None:
                    self.ui.warn("There is nothing to approve yet; say what you want instead.")
                    continue
                break
            if is_approval(answer):
                return "approved", draft
            message = answer


async def run_planning(ctx: SessionContext) -> AgreementOutcome:
    """Agree a plan for the request in task.md and save it as plan.md once approved."""
    workspace, ui = ctx.workspace, ctx.ui

    def show_plan(reply: str) -> str:
        plan = strip_closing_question(reply)
        ui.show_markdown("Plan", plan)
        return plan

    talk = Agreement(ctx, "planner", "is drafting the plan")
    request = (workspace.read(TASK) or "").strip()
    outcome, plan = await talk.run(request, show_plan, APPROVAL_PROMPT)
    if outcome != "approved" or plan is None:
        return "ended" if outcome == "ended" else "stopped"
    path = workspace.write(PLAN, plan)
    ui.info(f"Plan approved and saved to {path}.")
    return "approved"


async def run_test_agreement(ctx: SessionContext) -> AgreementOutcome:
    """Agree acceptance tests for plan.md with the Tester and save them as acceptance_test.py, with
    the demo runs it proposed (how a person would try the program) as demo.json."""
    workspace, ui = ctx.workspace, ctx.ui
    auto_approve = not ctx.settings.interactive
    demo: list[tuple[DemoRun, ...] | None] = [None]

    def show_tests(reply: str) -> str | None:
        demo[0] = demo_from_reply(reply)
        if demo[0] is not None:
            ui.show_code(DEMO, write_demo(demo[0]))
        extracted = extract_code(reply)
        if extracted.code is None:
            ui.warn("The Tester's reply held no Python code; say what you want, or /skip.")
            return None
        ui.show_code(ACCEPTANCE, extracted.code)
        if extracted.syntax_error:
            ui.warn(f"These tests do not parse ({extracted.syntax_error}); ask for a fix before approving.")
            if auto_approve:
                return None  # nobody can ask for the fix: the Tester is asked again
        return extracted.code

    talk = Agreement(ctx, "tester", f"is writing {ACCEPTANCE}")
    message = render_prompt("tester_task", plan=(workspace.read(PLAN) or "").strip())
    outcome, tests = await talk.run(message, show_tests, TESTS_PROMPT, frozenset({"/skip"}))
    if auto_approve and outcome == "ended":
        ui.warn("The Tester gave no usable tests; going on without acceptance tests.")
        outcome = "/skip"
    if outcome == "/skip":
        tests = (PROMPTS_DIR / "acceptance_skipped.py").read_text(encoding="utf-8")
    elif outcome != "approved" or tests is None:
        return "ended" if outcome == "ended" else "stopped"
    if outcome == "approved" and demo[0] is not None:  # before the tests: their file marks the step done
        workspace.write(DEMO, write_demo(demo[0]))
    path = workspace.write(ACCEPTANCE, tests)
    ui.info(
        f"Acceptance tests saved to {path}." if outcome == "approved" else f"No acceptance tests; see {path}."
    )
    return "approved"
