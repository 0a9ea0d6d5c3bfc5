"""Agreeing before any code: the plan with the Planner, then the acceptance tests with the Tester.

Each draft is checked in code before the Manager is asked: a plan must number its requirements, and
acceptance tests must be able to run (:mod:`test_check`). What is wrong goes back to the agent once,
automatically; the Manager then sees the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .agents import call_and_record
from .draft_answers import Asking, DraftPrompt, Flaw, answer_draft
from .execution.demo import DemoRun, demo_from_reply, write_demo
from .execution.guard import guarded
from .execution.test_check import collection_problem, static_problem, unplanned_names
from .extract import extract_tests, words_line
from .layout import compose, plan_section
from .names import ACCEPTANCE, ACCEPTANCE_REJECTED, DEMO, PLAN, TASK
from .plan_text import (
    MAX_REQUIREMENTS,
    asks_instead_of_planning,
    clean_plan,
    is_fragment,
    plan_shape,
)
from .prompt_files import PROMPTS_DIR, render_prompt
from .roles import ROLES
from .script_metadata import TESTS_OWN, third_party_imports

if TYPE_CHECKING:
    from autogen_agentchat.agents import AssistantAgent

    from .context import SessionContext
    from .manager import Manager

REQUEST_PROMPT = "What python creation would you like? Type below:"
PLAN_PROMPT = DraftPrompt(
    'Reply "approve" to accept this plan (or yes, ok, lgtm), or type what to change.', "this plan"
)
TESTS_DRAFT_PROMPT = DraftPrompt(
    'Reply "approve" to accept these acceptance tests (or yes, ok, lgtm), type what to change, or /skip '
    "for no automatic checks.",
    "these acceptance tests",
    ("/approve", "/edit", "/skip", "/stop", "/help"),
)
FIX_DRAFT_PROMPT = DraftPrompt(
    f'Reply "approve" to save this {ACCEPTANCE} (or yes, ok, lgtm), or type what to change.',
    f"this {ACCEPTANCE}",
)
APPROVAL_PROMPT, TESTS_PROMPT = PLAN_PROMPT.question, TESTS_DRAFT_PROMPT.question

AgreementOutcome = Literal["approved", "stopped", "ended"]
AUTO_RETRIES = 2  # without a person, how often an unusable draft is asked for again


async def ask_request(manager: Manager) -> str | None:
    """Ask what to build until the answer is not empty; None when input ended."""
    while True:
        answer = await manager.ask(REQUEST_PROMPT)
        if answer is None or answer.strip():
            return answer


Check = Callable[[str], Awaitable[Flaw | None]]


@dataclass(frozen=True)
class Rejected:
    """A draft that could not be used without a person (the reply itself when it held none), and why."""

    draft: str
    problem: str


def rejected_file(drafts: list[Rejected]) -> str:
    """The Tester's unusable drafts as one file a person can read: each under a comment with why it
    was not used."""
    parts = [render_prompt("acceptance_rejected", count=len(drafts)).rstrip()]
    for number, rejected in enumerate(drafts, start=1):
        parts.append(f"# ---- Draft {number} of {len(drafts)}, not used: {rejected.problem} ----")
        parts.append(rejected.draft.rstrip())
    return "\n\n".join(parts) + "\n"


class Agreement:
    """A conversation with one agent until the Manager approves what it drafted."""

    def __init__(self, ctx: SessionContext, role: str, activity: str, version: int = 0) -> None:
        self.ctx = ctx
        self.ui = ctx.ui
        self.manager = ctx.manager
        # A conversational role keeps one agent for the whole talk, so it sees its own drafts.
        self.agent: AssistantAgent = ctx.agents.create(role)
        self.title = ROLES[role].title
        self.activity = activity
        self.version = version
        self.sent_back = False  # a flawed draft goes back to the agent once without asking
        self.rejected: list[Rejected] = []  # without a person: the drafts that could not be used
        self.no_draft_retry: str | None = None  # without a person: what a reply with no draft gets back

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
        prompt: DraftPrompt,
        check: Check | None = None,
    ) -> tuple[str, str | None]:
        """Talk until approval; returns (``approved``, ``/stop``, ``/skip`` or ``ended``, the last draft).

        A draft that ``check`` finds flawed goes back to the agent once, before anybody is asked. With
        ``auto_approve`` (no person at hand) the first usable draft is approved: a draft that is
        missing, cut off, ``unusable`` or blocked by a flaw is asked for again, at most twice.
        """
        retries = AUTO_RETRIES
        auto_approve = not self.ctx.settings.interactive
        while True:
            reply = await call_and_record(self.ctx, self.agent, message, self.version, self.activity)
            if reply.cut_off:
                self.ui.warn(
                    f"The {self.title}'s reply was cut off at the model's token limit; "
                    "ask for a shorter version if it is incomplete."
                )
            draft = draft_of(reply.text)
            flaw = await check(draft) if check is not None and draft is not None else None
            if flaw is not None and not self.sent_back and not (auto_approve and flaw.blocks):
                self.sent_back = True
                self.ui.warn(f"{flaw.reason}. Sent back to the {self.title} with that reason.")
                message = flaw.retry
                continue
            if flaw is not None:
                self.ui.warn(f"{flaw.reason}.")
            if auto_approve:
                blocking = flaw.reason if flaw is not None and flaw.blocks else None
                problem = self.unusable(draft, reply.cut_off) or blocking
                if problem is None:
                    return "approved", draft
                self.rejected.append(Rejected(draft or reply.text, problem))
                if retries == 0:
                    return "ended", None
                retries -= 1
                retry = flaw.retry if flaw is not None and problem == blocking else None
                message = retry or self.no_draft_retry or render_prompt("draft_retry", problem=problem)
                continue
            answer = await answer_draft(Asking(self.manager, self.ui, self.title, prompt, draft, flaw))
            if answer.outcome != "change":
                return answer.outcome, draft
            message = answer.change


async def check_plan(plan: str) -> Flaw | None:
    """A plan without numbered requirements goes back to the Planner (once; it does not block)."""
    if not plan_shape(plan).ask_again:
        return None
    reason = "The plan has no numbered requirements (a numbered list under ## Requirements)"
    return Flaw(reason, render_prompt("planner_numbered", reason=reason), blocks=False)


def plan_check() -> Check:
    """:func:`check_plan`, and a revision that holds only the changed requirements goes back to the
    Planner for the whole plan (it blocks: saved alone it would lose every other requirement)."""
    drafts: list[str] = []

    async def check(plan: str) -> Flaw | None:
        previous = drafts[-1] if drafts else None
        if is_fragment(plan, previous):
            reason = "The Planner's reply holds only what changed, not the whole plan"
            return Flaw(reason, render_prompt("planner_whole", reason=reason))
        drafts.append(plan)
        return await check_plan(plan)

    return check


async def run_planning(ctx: SessionContext) -> AgreementOutcome:
    """Agree a plan for the request in task.md and save it as plan.md once approved."""
    workspace, ui = ctx.workspace, ctx.ui

    def show_plan(reply: str) -> str | None:
        if asks_instead_of_planning(reply):
            talk.no_draft_retry = render_prompt("planner_assume") if not ctx.settings.interactive else None
            ui.show_markdown("The Planner's questions", clean_plan(reply))
            ui.warn(
                "The Planner asked questions instead of writing a plan; "
                + ("it is told to assume sensible answers and say which." if talk.no_draft_retry else
                   "type your answers: they go back to it (nothing is saved as the plan).")
            )  # fmt: skip
            return None
        plan = clean_plan(reply)
        ui.show_markdown("Plan", plan)
        shape = plan_shape(plan)
        if shape.too_long:
            ui.warn(
                f"This plan has {len(shape.requirements)} requirements, more than {MAX_REQUIREMENTS}: every "
                "version must meet them all. Consider asking the Planner to trim it to what you asked for."
            )
        return plan

    talk = Agreement(ctx, "planner", "is drafting the plan")
    request = (workspace.read(TASK) or "").strip()
    message = compose([], "planner", request)
    outcome, plan = await talk.run(message, show_plan, PLAN_PROMPT, check=plan_check())
    if outcome != "approved" or plan is None:
        return "ended" if outcome == "ended" else "stopped"
    path = workspace.write(PLAN, plan)
    ui.info(f"Plan approved and saved to {path}.")
    return "approved"


def tests_check(ctx: SessionContext) -> Check:
    """The check of a test file for the session's plan. pytest loads it (which runs the Tester's code)
    only when generated code may run without asking (``--execute always``)."""
    plan = ctx.workspace.read(PLAN) or ""

    async def check(tests: str) -> Flaw | None:
        problem = static_problem(tests, plan)
        # Tests that import the plan's packages load only in the program's environment, made later.
        if problem is None and ctx.execute == "always" and not third_party_imports(tests, TESTS_OWN):
            execution = ctx.execution
            problem = await guarded(ctx, lambda: collection_problem(tests, execution))
        if problem is None:
            return None
        return Flaw(problem.describe(), render_prompt("tester_fix", reason=problem.describe()))

    return check


def tests_of(ctx: SessionContext, demo: list[tuple[DemoRun, ...] | None]) -> Callable[[str], str | None]:
    """Shows the Tester's reply and takes the test file from it (and into ``demo`` the demo runs)."""

    shown: list[str] = []  # what was shown of the last draft: the same again is said in one line

    def show_tests(reply: str) -> str | None:
        demo[0] = demo_from_reply(reply) or demo[0]
        extracted = extract_tests(reply)
        if extracted.code is None:
            ctx.ui.warn("The Tester's reply held no Python code; say what you want, or /skip.")
            return None
        words = words_line(reply, "Tester")
        now = [extracted.code, write_demo(demo[0]) if demo[0] is not None else "", words or ""]
        if now == shown:
            ctx.ui.info(f"The Tester sent the same {ACCEPTANCE} again.")
            return extracted.code
        shown[:] = now
        ctx.ui.show_code(ACCEPTANCE, extracted.code)
        guessed = unplanned_names(extracted.code, ctx.workspace.read(PLAN) or "")
        if guessed:
            ctx.ui.warn(
                f"{ACCEPTANCE} uses {', '.join(guessed)}, which the plan never mentions: a correct program "
                "may not have them. Ask the Tester to test the plan's interface (or run script.py as a "
                "process), or add them to the plan."
            )
        if demo[0] is not None:
            ctx.ui.show_code(DEMO, now[1])
        if words:
            ctx.ui.info(words)
        return extracted.code

    return show_tests


async def run_test_agreement(ctx: SessionContext) -> AgreementOutcome:
    """Agree acceptance tests for plan.md with the Tester and save them as acceptance_test.py, with
    the demo runs it proposed (how a person would try the program) as demo.json."""
    workspace, ui = ctx.workspace, ctx.ui
    auto_approve = not ctx.settings.interactive
    demo: list[tuple[DemoRun, ...] | None] = [None]
    talk = Agreement(ctx, "tester", f"is writing {ACCEPTANCE}")
    material = [plan_section(workspace.read(PLAN) or "")]
    message = compose(material, "tester", render_prompt("tester_task"))
    outcome, tests = await talk.run(message, tests_of(ctx, demo), TESTS_DRAFT_PROMPT, tests_check(ctx))
    if auto_approve and outcome == "ended":
        tests, outcome = _without_usable_tests(ctx, talk.rejected), "unusable"
    elif outcome == "/skip":
        tests = (PROMPTS_DIR / "acceptance_skipped.py").read_text(encoding="utf-8")
    elif outcome != "approved" or tests is None:
        return "ended" if outcome == "ended" else "stopped"
    if demo[0] is not None and outcome != "/skip":  # before the tests: their file marks the step done
        workspace.write(DEMO, write_demo(demo[0]))  # how to try the program outlives lost tests
    path = workspace.write(ACCEPTANCE, tests)
    ui.info(
        f"Acceptance tests saved to {path}." if outcome == "approved" else f"No acceptance tests; see {path}."
    )
    return "approved"


def _without_usable_tests(ctx: SessionContext, rejected: list[Rejected]) -> str:
    """Without a person, no usable tests came: keep the drafts in their own file, say so, and return
    the acceptance test file that says what happened."""
    last = rejected[-1].problem if rejected else "no reply could be used"
    path = ctx.workspace.write(ACCEPTANCE_REJECTED, rejected_file(rejected))
    ctx.ui.warn(
        f"The Tester gave no usable tests in {len(rejected)} tries (the last: {last}); going on without "
        f"acceptance tests. Its drafts are in {path}."
    )
    tries = len(rejected)
    return render_prompt("acceptance_unusable", tries=tries, problem=last, rejected=ACCEPTANCE_REJECTED)


async def fix_tests(ctx: SessionContext, version: int, reason: str, prompt: str = "tester_fix_file") -> str:
    """Have the Tester fix acceptance_test.py, which a run could not load for ``reason`` (or, with the
    ``tester_fix_suspect`` prompt, whose tests may be wrong); save what the Manager approves (without
    a person: the first usable file). ``saved``, ``unchanged``, ``stopped`` or ``ended``."""
    workspace = ctx.workspace
    talk = Agreement(ctx, "tester", f"is fixing {ACCEPTANCE}", version)
    material = [
        plan_section(workspace.read(PLAN) or ""),
        render_prompt("tests_section", tests=(workspace.read(ACCEPTANCE) or "").rstrip()),
    ]
    message = compose(material, "tester", render_prompt(prompt, reason=reason))
    outcome, tests = await talk.run(message, tests_of(ctx, [None]), FIX_DRAFT_PROMPT, tests_check(ctx))
    if outcome == "approved" and tests is not None:
        path = workspace.write(ACCEPTANCE, tests)
        ctx.ui.info(f"Acceptance tests saved to {path}; the next version runs them.")
        return "saved"
    if outcome in ("ended", "/stop"):
        return "ended" if outcome == "ended" else "stopped"
    ctx.ui.info(f"{ACCEPTANCE} is unchanged.")
    return "unchanged"
