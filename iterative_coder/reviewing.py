"""Reviewing one version: run it (with consent), ask the Reviewer, apply the tool's rules, and
save ``run_vN.md`` and ``review_vN.md``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autogen_agentchat.messages import MultiModalMessage
from autogen_core import Image

from .agents import Task, call_and_record, sees_images
from .convergence import same_code
from .demo import demo_for
from .extract import parse_python
from .guard import guarded
from .names import ACCEPTANCE, DEMO, PLAN, feedback_name, review_name, run_name, script_name
from .prompt_files import render_prompt
from .records.embedded import prose_of
from .records.review import NOT_ASSESSED, REVISE, FeedbackCheck, Review, read_review, write_review
from .records.run import RunRecord, read_run, write_run
from .review import parse_reply, requirement_numbers, verdict_alone
from .runs import run_version as run_in_folder
from .settling import Judging, settle
from .suspects import suspect_tests

if TYPE_CHECKING:
    from autogen_agentchat.agents import AssistantAgent

    from .context import SessionContext

RUN_QUESTION = "Run the generated code? [y/N/a(lways)]"
NOT_RUN = "The script was not run: the Manager did not allow running generated code."


def has_tests(tests: str | None) -> bool:
    """Whether an acceptance test file holds any test function."""
    return bool(tests) and "def test" in (tests or "")


def plan_with_tests(ctx: SessionContext) -> str:
    """The approved plan, followed by the acceptance tests when there are any."""
    plan = (ctx.workspace.read(PLAN) or "").strip()
    tests = ctx.workspace.read(ACCEPTANCE)
    if not has_tests(tests):
        return plan
    return plan + "\n\n" + render_prompt("acceptance_section", tests=(tests or "").rstrip())


async def may_run(ctx: SessionContext) -> bool:
    """Whether generated code may run now; in ``ask`` mode the Manager decides."""
    if ctx.execute != "ask" or not ctx.settings.interactive:
        return ctx.execute == "always"
    answer = (await ctx.manager.ask(RUN_QUESTION) or "").strip().lower()
    if answer in {"a", "always"}:
        ctx.execute = "always"
    return answer in {"y", "yes", "a", "always"}


async def run_version(ctx: SessionContext, version: int, script: str) -> RunRecord:
    """Run the version's demo runs and acceptance tests; save and show ``run_v{version}.md``."""
    tests = ctx.workspace.read(ACCEPTANCE)
    demos, problem = demo_for(ctx.workspace.read(DEMO), script)
    if problem:
        ctx.ui.warn(problem)
    execution = ctx.execution
    with ctx.ui.working("Runner", f"is running {script_name(version)} and its tests"):
        record = await guarded(
            ctx, lambda: run_in_folder(execution, version, script, tests if has_tests(tests) else None, demos)
        )
    ctx.workspace.write(run_name(version), write_run(record, script_name(version)))
    failing = [outcome.name for outcome in record.failing]
    more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
    details = f"\nfailing: {', '.join(failing[:3])}{more}" if failing else ""
    details += "".join(f"\nscreenshot: {ctx.workspace.root / shot}" for shot in record.screenshots)
    ctx.ui.show_result(run_name(version), record.summary() + details, record.ok)
    return record


async def _evidence(ctx: SessionContext, version: int, script: str) -> tuple[RunRecord | None, str]:
    """The run of this version (made now if allowed and not made yet) and how the Reviewer sees it."""
    text = ctx.workspace.read(run_name(version))
    record = read_run(text, version)
    if record is None and await may_run(ctx):
        record = await run_version(ctx, version, script)
        text = ctx.workspace.read(run_name(version))
    if record is None or text is None:
        return None, NOT_RUN
    return record, f"# The run ({run_name(version)})\n\n{prose_of(text).strip()}"


def with_screenshots(ctx: SessionContext, task: str, run: RunRecord | None) -> Task:
    """The Reviewer's message: with the screenshots as images when its model sees images, else with a
    sentence that says they exist and cannot be seen."""
    shots = [demo for demo in (run.demos if run else ()) if demo.screenshot]
    if not shots:
        return task
    sees = sees_images(ctx.agents.role_clients["reviewer"])
    prompt = "reviewer_screenshot" if sees else "reviewer_screenshot_unseen"
    for demo in shots:
        task += render_prompt(prompt, screenshot=demo.screenshot, seconds=f"{demo.command.seconds:.0f}")
    if not sees:
        return task
    images = [Image.from_file(ctx.workspace.root / str(demo.screenshot)) for demo in shots]
    return MultiModalMessage(content=[task, *images], source="user")


def previous_review(ctx: SessionContext, version: int) -> Review | None:
    """The review of the version before ``version``, if there is one."""
    return read_review(ctx.workspace.read(review_name(version - 1))) if version > 1 else None


def manager_feedback(ctx: SessionContext, version: int) -> str:
    """The Manager's feedback on the version before ``version`` (``feedback_v{version-1}.md``), or ""."""
    return (ctx.workspace.read(feedback_name(version - 1)) or "").strip() if version > 1 else ""


def reviewer_task(ctx: SessionContext, version: int, script: str, error: str | None, run: str) -> str:
    """The Reviewer's task: the plan, the script, its run, the previous review and the feedback."""
    name = script_name(version)
    earlier, feedback = previous_review(ctx, version), manager_feedback(ctx, version)
    return render_prompt(
        "reviewer_task",
        version=version,
        plan=plan_with_tests(ctx),
        script_name=name,
        script=script.rstrip(),
        syntax_note=render_prompt("reviewer_syntax", syntax_error=error) if error else "",
        run=run,
        previous_review=render_prompt(
            "reviewer_previous",
            review_name=review_name(version - 1),
            script_name=name,
            review=earlier.render().strip(),
        )
        if earlier
        else "",
        feedback=render_prompt(
            "reviewer_feedback",
            previous=version - 1,
            feedback_name=feedback_name(version - 1),
            script_name=name,
            feedback=feedback,
        )
        if feedback
        else "",
    )


async def review_version(ctx: SessionContext, version: int, *, extra: str = "") -> Review:
    """Ask the Reviewer about ``script_v{version}.py`` (``extra``: more for its task, at the end), apply
    the rules, save ``review_v{version}.md``."""
    name = script_name(version)
    script = ctx.workspace.read(name) or ""
    _tree, error = parse_python(script)
    run, evidence = await _evidence(ctx, version, script)
    task = reviewer_task(ctx, version, script, error, evidence)
    if extra.strip():
        task = f"{task.rstrip()}\n\n{extra.strip()}\n"
    agent = ctx.agents.create("reviewer")
    reply = await call_and_record(
        ctx, agent, with_screenshots(ctx, task, run), version, f"is reviewing {name}"
    )
    parsed = parse_reply(reply.text, requirement_numbers(ctx.workspace.read(PLAN) or ""), reply.cut_off)
    review = parsed.review
    if parsed.verdict is None:
        review.verdict = await _verdict_asked_again(ctx, agent, version, review)
    if not manager_feedback(ctx, version):
        review.feedback = None  # a row on feedback that was never given is not kept
    elif review.feedback is None or review.feedback.status == NOT_ASSESSED:
        review.feedback = FeedbackCheck(NOT_ASSESSED)
        review.notes.append("The Reviewer did not say whether the Manager's feedback is done.")
    runs = [read_run(ctx.workspace.read(run_name(v)), v) for v in range(1, version)] + [run]
    plan = ctx.workspace.read(PLAN) or ""
    suspects = suspect_tests(runs, review.coverage) if run else []
    review.suspect_tests = [suspect.describe(plan) for suspect in suspects]
    problems = run.problems(frozenset(suspect.name for suspect in suspects)) if run else []
    if error:
        problems.append(f"the script does not parse ({error})")
    previous = ctx.workspace.read(script_name(version - 1)) if version > 1 else None
    unchanged = previous is not None and same_code(previous, script)
    outcomes = run.outcomes if run else ()
    feedback = bool(manager_feedback(ctx, version))
    judging = Judging(ctx, agent, version, problems, outcomes, feedback, unchanged, run is not None)
    review = await settle(judging, review)
    ctx.workspace.write(review_name(version), write_review(review))
    ctx.ui.show_markdown(review_name(version), review.render())  # the tool's notes are in it, said once
    return review


async def _verdict_asked_again(
    ctx: SessionContext, agent: AssistantAgent, version: int, review: Review
) -> str:
    """Ask the same Reviewer (it keeps its review in its context), once and briefly, for the verdict
    alone; REVISE when it still gives none."""
    prompt = render_prompt("reviewer_verdict_only")
    reply = await call_and_record(ctx, agent, prompt, version, "is asked for its verdict")
    verdict = verdict_alone(reply.text)
    if verdict is None:
        review.notes.append("The Reviewer gave no verdict, even when asked again; counted as REVISE.")
        return REVISE
    review.notes.append(f"The Reviewer's review gave no verdict; asked again, it answered {verdict}.")
    return verdict
