"""Reviewing one version: run it (with consent), ask the Reviewer, apply the tool's rules, and
save ``run_vN.md`` and ``review_vN.md``."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from autogen_agentchat.messages import MultiModalMessage
from autogen_core import Image

from .agents import Task, call_and_record, sees_images
from .answers import is_always, is_yes, said_back
from .compact_review import Baseline, read_reviewer_reply
from .convergence import same_code
from .execution.demo import demo_for
from .execution.guard import guarded
from .execution.offline import network_failure, outputs
from .execution.runs import run_version as run_in_folder
from .extract import parse_python
from .installing import ready_environment, say_not_installed, with_environment
from .layout import compose, plan_section, script_section
from .names import ACCEPTANCE, DEMO, PLAN, feedback_name, review_name, run_name, script_name
from .prompt_files import render_prompt
from .records.embedded import prose_of
from .records.review import NOT_ASSESSED, REVISE, FeedbackCheck, Review, read_review, write_review
from .records.run import EXITED, RunRecord, not_run, read_run, write_run
from .review import requirement_numbers, verdict_alone
from .settling import Judging, settle
from .suspects import suspect_tests

if TYPE_CHECKING:
    from autogen_agentchat.agents import AssistantAgent

    from .context import SessionContext

RUN_QUESTION = "Run the generated code? [y/N/a(lways)]"
NOT_RUN_NEXT = "The Reviewer judges the code without a run; at your turn, /run runs it at your keyboard."
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
    answer = await ctx.manager.ask(RUN_QUESTION)
    if is_always(answer):
        ctx.execute = "always"
    if is_always(answer) or is_yes(answer):
        return True
    ctx.ui.info(f"{said_back('Not run', answer)} {NOT_RUN_NEXT}")
    return False


async def run_version(ctx: SessionContext, version: int, script: str) -> RunRecord | str:
    """Ready the version's environment, run its demo runs and acceptance tests; save and show
    ``run_v{version}.md``. A sentence instead when installing its packages was not allowed."""
    environment = await ready_environment(ctx, version, script)
    if isinstance(environment, str):
        return environment
    if environment.problem:
        record = not_run(version, environment)
    else:
        record = await _run_in_environment(ctx, version, script)
        offline = ctx.sandbox is not None and not ctx.settings.network  # the run had no network
        network = network_failure(outputs(record), script, script_name(version)) if offline else None
        record = replace(record, environment=environment, network=network)
        if network:
            ctx.ui.warn(f"{network}. To let its runs use the network, resume with --network.")
    ctx.workspace.write(run_name(version), write_run(record, script_name(version)))
    failing = [outcome.name for outcome in record.failing]
    more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
    details = f"\nfailing: {', '.join(failing[:3])}{more}" if failing else ""
    details += "".join(f"\n{why}" for why in exit_reasons(record))
    details += "".join(f"\nscreenshot: {ctx.workspace.root / shot}" for shot in record.screenshots)
    for trial in (demo.trial for demo in record.demos if demo.trial and demo.trial.screen):
        details += f"\nscreen ({ctx.workspace.root / str(trial.screen)}):\n{trial.screen_text}"
    ctx.ui.show_result(run_name(version), record.summary() + details, record.ok)
    return record


async def _run_in_environment(ctx: SessionContext, version: int, script: str) -> RunRecord:
    tests = ctx.workspace.read(ACCEPTANCE)
    demos, problem = demo_for(ctx.workspace.read(DEMO), script)
    if problem:
        ctx.ui.warn(problem)
    execution, tests = with_environment(ctx.execution, ctx), tests if has_tests(tests) else None
    what = f"{script_name(version)} and its tests" if tests else script_name(version)
    with ctx.ui.working("Runner", f"is running {what}"):
        return await guarded(ctx, lambda: run_in_folder(execution, version, script, tests, demos))


def exit_reasons(record: RunRecord) -> list[str]:
    """For each demo run that ended with an exit code other than 0: what was run and the last line
    the program wrote (its own reason, e.g. ``usage: count FILE``)."""
    reasons = []
    for demo in record.demos:
        if demo.kind != EXITED:
            continue
        command = demo.command
        said = _last_line(command.stderr) or _last_line(command.stdout)
        reasons.append(f"{demo.name}: exit {command.exit_code}" + (f" (it said: {said})" if said else ""))
    return reasons


def _last_line(text: str) -> str:
    """The last line of a program's output that is not blank, or ""."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


async def _evidence(ctx: SessionContext, version: int, script: str) -> RunRecord | None:
    """The run of this version: the one saved, else one made now if allowed; None when not run (when
    installing its packages was not allowed, why is kept for the agents' prompts)."""
    record = read_run(ctx.workspace.read(run_name(version)), version)
    if record is None and await may_run(ctx):
        made = await run_version(ctx, version, script)
        if isinstance(made, str):
            ctx.not_run_reasons[version] = f"The script was not run: {made.split(': ', 1)[-1]}"
            return None
        record = made
    if record is None:
        say_not_installed(ctx, version, script)
    return record


def run_section(ctx: SessionContext, version: int) -> str:
    """How the agents see the run of ``version``: ``run_vN.md`` without its record, or why it was not
    run. The Reviewer of version N and the Coder of version N+1 get the same text."""
    text = ctx.workspace.read(run_name(version))
    if text is None or read_run(text, version) is None:
        return ctx.not_run_reasons.get(version, NOT_RUN)
    return f"# The run ({run_name(version)})\n\n{prose_of(text).strip()}"


def work_material(ctx: SessionContext, version: int) -> list[str]:
    """What every agent working on ``script_v{version}.py`` reads first, in this order: the plan with
    its tests, the script, its run (:mod:`layout`)."""
    script = ctx.workspace.read(script_name(version)) or ""
    return [
        plan_section(plan_with_tests(ctx)),
        script_section(script_name(version), script),
        run_section(ctx, version),
    ]


def with_screenshots(ctx: SessionContext, task: str, run: RunRecord | None) -> Task:
    """The Reviewer's message: with the screenshots as images when its model sees images, else with a
    sentence that says they exist and cannot be seen."""
    sees = sees_images(ctx.agents.role_clients["reviewer"])
    # A served page's text is in the run already: its picture is only for a Reviewer that sees it.
    shots = [demo for demo in (run.demos if run else ()) if demo.screenshot and (sees or not demo.trial)]
    if not shots:
        return task
    for demo in shots:
        prompt = "reviewer_screenshot" if sees else "reviewer_screenshot_unseen"
        taken = f", at {demo.taken} local time" if demo.taken else ""
        task += render_prompt(
            "reviewer_page" if demo.trial else prompt,
            screenshot=demo.screenshot,
            seconds=f"{demo.command.seconds:.0f}",
            taken=taken,
        )
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


def reviewer_task(ctx: SessionContext, version: int, error: str | None) -> str:
    """The Reviewer's task: the plan, the script, its run, its instructions, then the previous review,
    the feedback and the version line."""
    name = script_name(version)
    earlier, feedback = previous_review(ctx, version), manager_feedback(ctx, version)
    particular = render_prompt(
        "reviewer_task",
        version=version,
        syntax_note=render_prompt("reviewer_syntax", syntax_error=error) if error else "",
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
    return compose(work_material(ctx, version), "reviewer", particular)


async def review_version(ctx: SessionContext, version: int, *, extra: str = "") -> Review:
    """Ask the Reviewer about ``script_v{version}.py`` (``extra``: more for its task, at the end), apply
    the rules, save ``review_v{version}.md``."""
    name = script_name(version)
    script = ctx.workspace.read(name) or ""
    _tree, error = parse_python(script)
    run = await _evidence(ctx, version, script)
    task = reviewer_task(ctx, version, error)
    if extra.strip():
        task = f"{task.rstrip()}\n\n{extra.strip()}\n"
    agent = ctx.agents.create("reviewer")
    reply = await call_and_record(
        ctx, agent, with_screenshots(ctx, task, run), version, f"is reviewing {name}"
    )
    failing = tuple(outcome.name for outcome in run.failing) if run else ()
    baseline = Baseline(previous_review(ctx, version), review_name(version - 1), failing)
    requirements = requirement_numbers(ctx.workspace.read(PLAN) or "")
    parsed = read_reviewer_reply(reply.text, requirements, reply.cut_off, baseline)
    review = parsed.review
    if parsed.verdict is None:
        review.verdict = await _verdict_asked_again(ctx, agent, version, review)
    if not manager_feedback(ctx, version):
        review.feedback = None  # a row on feedback that was never given is not kept
    elif review.feedback is None or review.feedback.status == NOT_ASSESSED:
        review.feedback = FeedbackCheck(NOT_ASSESSED)  # its section says so: no note repeats it
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
