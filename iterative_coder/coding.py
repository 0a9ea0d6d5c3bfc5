"""Writing one version: ask the Coder for ``script_vN.py`` from the plan, the latest script, its
review, its failing tests and the Manager's feedback, and take the script from the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .agents import AgentReply, call_and_record
from .convergence import diff_summary, same_code
from .extract import ExtractedCode, words_line
from .fragments import NO_CODE, Context, Refusal, judge_reply
from .names import ACCEPTANCE, PLAN, feedback_name, review_name, run_name, script_name
from .prompt_files import render_prompt
from .records.review import read_review
from .records.run import read_run
from .reviewing import plan_with_tests

if TYPE_CHECKING:
    from .context import SessionContext

CODER_TRIES = 3  # the first ask plus at most two asks again when a reply is not a whole script
CUT_OFF = "cut_off"


def _problem_with(reply: AgentReply, context: Context) -> tuple[ExtractedCode, Refusal | None]:
    """The script in a reply, and why it may not be saved (cut off, no code, or a fragment)."""
    extracted, refusal = judge_reply(reply.text, context)
    if reply.cut_off:
        return extracted, Refusal(CUT_OFF, "it was cut off at the model's token limit")
    return extracted, refusal


def _ask_again(refusal: Refusal) -> tuple[str, str]:
    """(how the screen says what was wrong, the prompt that asks again)."""
    if refusal.reason == CUT_OFF:
        return "came cut off at the model's token limit", render_prompt("coder_shorter")
    if refusal.reason == NO_CODE:
        return "came without Python code", render_prompt("coder_retry")
    return f"is not the whole script: {refusal.why}", render_prompt("coder_fragment", reason=refusal.why)


def judging_context(ctx: SessionContext, version: int) -> Context:
    """What the Coder's reply for ``version`` is judged against: the previous script, plan and tests."""
    previous = ctx.workspace.read(script_name(version - 1)) if version > 1 else None
    return Context(previous, ctx.workspace.read(PLAN) or "", ctx.workspace.read(ACCEPTANCE) or "")


async def write_version(ctx: SessionContext, version: int) -> bool:
    """Ask the Coder for ``script_v{version}.py``; False when it gave no whole script after every try.

    A fragment (a placeholder, a diff, edit blocks, dropped definitions) is never written: the Coder
    is asked again with the reason. A script identical to the previous version is not written
    either the first time: the Coder is asked once more (not counted as a try) to make the changes.
    """
    task = coder_task(ctx, version)
    context = judging_context(ctx, version)
    message, tries, asked_for_change = task, 0, False
    while True:
        reply = await call_and_record(
            ctx, ctx.agents.create("coder"), message, version, f"is writing {script_name(version)}"
        )
        extracted, refusal = _problem_with(reply, context)
        if refusal is None and not asked_for_change and _unchanged(context, extracted):
            asked_for_change = True
            _say_unchanged(ctx, version)
            message = task + "\n\n" + render_prompt("coder_same", previous_name=script_name(version - 1))
            continue
        if refusal is None:
            _save(ctx, version, extracted, reply.text)
            return True
        tries += 1
        what, retry = _ask_again(refusal)
        if tries == CODER_TRIES:
            break
        ctx.ui.warn(f"The Coder's reply {what}; asking again ({tries + 1}/{CODER_TRIES}).")
        message = task + "\n\n" + retry
    _give_up(ctx, version, refusal)
    return False


def _unchanged(context: Context, extracted: ExtractedCode) -> bool:
    return context.previous is not None and same_code(context.previous, extracted.code or "")


def _say_unchanged(ctx: SessionContext, version: int) -> None:
    ctx.ui.warn(
        f"The Coder's {script_name(version)} is the same as {script_name(version - 1)} apart from white "
        "space and comments; not saved, asking once more for the changes."
    )


def _give_up(ctx: SessionContext, version: int, refusal: Refusal) -> None:
    name = script_name(version)
    if refusal.reason in (CUT_OFF, NO_CODE):
        # A cut-off script is never written: it would look finished and is not.
        advice = (
            " Give the model a larger output limit, or simplify the plan."
            if refusal.reason == CUT_OFF
            else ""
        )
        what = _ask_again(refusal)[0]
        ctx.ui.warn(f"The Coder's replies {what} {CODER_TRIES} times; {name} was not written.{advice}")
        return
    ctx.ui.warn(
        f"The Coder's replies were not the whole script {CODER_TRIES} times (the last: {refusal.why}); "
        f"{name} was not written."
    )


def _save(ctx: SessionContext, version: int, extracted: ExtractedCode, reply: str) -> None:
    code = extracted.code or ""
    path = ctx.workspace.write(script_name(version), code)
    if extracted.note:
        ctx.ui.info(extracted.note)
    ctx.ui.show_code(script_name(version), code)
    words = words_line(reply, "Coder")
    if words:
        ctx.ui.info(words)
    if version > 1:
        previous = ctx.workspace.read(script_name(version - 1)) or ""
        ctx.ui.info(f"{script_name(version)}: {diff_summary(previous, code)} (/diff shows all)")
        if same_code(previous, code):
            ctx.ui.warn(
                f"The Coder sent {script_name(version)} unchanged again; the Reviewer is asked whether its "
                "points still stand."
            )
    if extracted.syntax_error:
        ctx.ui.warn(f"{path.name} does not parse ({extracted.syntax_error}); the Reviewer is told.")
    else:
        ctx.ui.info(f"Saved {path}.")


def reviewer_note(ctx: SessionContext, version: int) -> str:
    """The words added to the Reviewer's task when ``script_v{version}.py`` is the previous version
    unchanged (the Coder sent it again after being asked for changes); "" otherwise."""
    if version <= 1:
        return ""
    previous, script = ctx.workspace.read(script_name(version - 1)), ctx.workspace.read(script_name(version))
    if previous is None or script is None or not same_code(previous, script):
        return ""
    return render_prompt(
        "coder_same_for_reviewer", script_name=script_name(version), previous_name=script_name(version - 1)
    ).strip()


def coder_task(ctx: SessionContext, version: int) -> str:
    """The Coder's message for ``version``: built from the files alone, the same size at any N."""
    previous = feedback = ""
    if version > 1:
        last = version - 1
        run = read_run(ctx.workspace.read(run_name(last)), last)
        failing = "\n".join(f"- {f.name} ({f.result}): {f.message}" for f in (run.failing if run else []))
        review = read_review(ctx.workspace.read(review_name(last)))
        previous = render_prompt(
            "coder_previous",
            script_name=script_name(last),
            script=(ctx.workspace.read(script_name(last)) or "").rstrip(),
            review_name=review_name(last),
            review=review.render().strip() if review else "(no review)",
            failures=render_prompt("coder_failures", failing=failing) if failing else "",
        )
        text = ctx.workspace.read(feedback_name(last))
        if text and text.strip():
            feedback = render_prompt(
                "coder_feedback", feedback_name=feedback_name(last), feedback=text.strip()
            )
    return render_prompt(
        "coder_task", version=version, plan=plan_with_tests(ctx), previous=previous, feedback=feedback
    )
