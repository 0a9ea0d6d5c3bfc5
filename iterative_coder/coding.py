"""Writing one version: ask the Coder for ``script_vN.py`` from the plan, the latest script, its
review, its failing tests and the Manager's feedback, and take the script from the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .agents import AgentReply, call_and_record
from .convergence import diff_summary
from .extract import ExtractedCode, extract_code
from .names import feedback_name, review_name, run_name, script_name
from .prompt_files import render_prompt
from .records.review import read_review
from .records.run import read_run
from .reviewing import plan_with_tests

if TYPE_CHECKING:
    from .context import SessionContext

CODER_TRIES = 3  # the first ask plus at most two asks again when a reply holds no code


def _problem_with(reply: AgentReply, extracted: ExtractedCode) -> tuple[str, str] | None:
    """(what was wrong, the prompt that asks again) for an unusable reply, else None."""
    if reply.cut_off:
        return "cut off at the model's token limit", "coder_shorter"
    if extracted.code is None:
        return "without Python code", "coder_retry"
    return None


async def write_version(ctx: SessionContext, version: int) -> bool:
    """Ask the Coder for ``script_v{version}.py``; False when it gave no usable code after every try."""
    task = coder_task(ctx, version)
    message = task
    for attempt in range(1, CODER_TRIES + 1):
        reply = await call_and_record(
            ctx, ctx.agents.create("coder"), message, version, f"is writing {script_name(version)}"
        )
        extracted = extract_code(reply.text)
        problem = _problem_with(reply, extracted)
        if problem is None:
            _save(ctx, version, extracted)
            return True
        what, retry_prompt = problem
        if attempt < CODER_TRIES:
            ctx.ui.warn(f"The Coder's reply came {what}; asking again ({attempt + 1}/{CODER_TRIES}).")
        message = task + "\n\n" + render_prompt(retry_prompt)
    # A cut-off script is never written: it would look finished and is not.
    advice = " Give the model a larger output limit, or simplify the plan." if reply.cut_off else ""
    name = script_name(version)
    ctx.ui.warn(f"The Coder's replies came {what} {CODER_TRIES} times; {name} was not written.{advice}")
    return False


def _save(ctx: SessionContext, version: int, extracted: ExtractedCode) -> None:
    code = extracted.code or ""
    path = ctx.workspace.write(script_name(version), code)
    if extracted.note:
        ctx.ui.info(extracted.note)
    ctx.ui.show_code(script_name(version), code)
    if version > 1:
        previous = ctx.workspace.read(script_name(version - 1)) or ""
        ctx.ui.info(f"{script_name(version)}: {diff_summary(previous, code)} (/diff shows all)")
    if extracted.syntax_error:
        ctx.ui.warn(f"{path.name} does not parse ({extracted.syntax_error}); the Reviewer is told.")
    else:
        ctx.ui.info(f"Saved {path}.")


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
