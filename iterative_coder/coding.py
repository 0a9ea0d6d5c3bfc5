"""Writing one version: ask the Coder for ``script_vN.py`` from the plan, the latest script, its
review, its failing tests and the Manager's feedback, and take the script from the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .agents import call_and_record
from .convergence import diff_summary, same_code
from .edit_replies import (
    BROKEN,
    CUT_OFF,
    EDITS,
    MALFORMED,
    NOT_APPLIED,
    WHOLE,
    Answer,
    failed_blocks_prompt,
    failures_line,
    read_answer,
)
from .extract import ExtractedCode, words_line
from .fragments import DIFF, EDIT_BLOCKS, NO_CODE, Context, Refusal
from .layout import compose, plan_section
from .names import ACCEPTANCE, PLAN, feedback_name, review_name, run_name, script_name
from .prompt_files import render_prompt
from .records.review import read_review
from .records.run import read_run
from .reviewing import plan_with_tests, work_material
from .script_metadata import declaration_fix, describe_undeclared, undeclared

if TYPE_CHECKING:
    from .context import SessionContext

CODER_TRIES = 3  # the first ask for a whole script plus at most two asks again when a reply is not one
EDIT_TRIES = 2  # asks for edit blocks before the whole file is asked for instead
DECLARE_ASKS = 2  # asks to declare the packages a script imports; then it is saved, and not run
# ``--edit-format auto`` asks for edit blocks once the previous script is longer than this many lines.
# Measured by bench/edits.py: a one-function fix sent as a block costs half the output tokens of the
# whole file at about 57 lines. At half or less, edits cost no more than the whole file even if half of
# all edit replies fail once (another try) and a quarter twice (then the whole file as well).
EDIT_LINES = 60
_EDIT_FORM_REFUSALS = (NOT_APPLIED, MALFORMED, BROKEN)
# What came instead of the edit blocks asked for: a refusal's own words are for a request for the
# whole file ("a diff, not the whole file"), which was not the request.
_INSTEAD_OF_EDITS = {
    DIFF: "it is a unified diff, not the SEARCH/REPLACE edit blocks that were asked for",
    NO_CODE: "it held no SEARCH/REPLACE edit blocks and no Python code",
}


def asks_for_edits(edit_format: str, previous: str | None) -> bool:
    """Whether the Coder is asked for SEARCH/REPLACE blocks against ``previous`` (never for version 1)."""
    if previous is None or edit_format == "whole":
        return False
    return edit_format == "diff" or len(previous.splitlines()) > EDIT_LINES


def _ask_again(refusal: Refusal) -> tuple[str, str]:
    """(how the screen says what was wrong, the prompt that asks again for the whole script)."""
    if refusal.reason == CUT_OFF:
        return "came cut off at the model's token limit", render_prompt("coder_shorter")
    if refusal.reason == NO_CODE:
        return "came without Python code", render_prompt("coder_retry")
    return f"is not the whole script: {refusal.why}", render_prompt("coder_fragment", reason=refusal.why)


def judging_context(ctx: SessionContext, version: int) -> Context:
    """What the Coder's reply for ``version`` is judged against: the previous script, plan and tests."""
    previous = ctx.workspace.read(script_name(version - 1)) if version > 1 else None
    return Context(previous, ctx.workspace.read(PLAN) or "", ctx.workspace.read(ACCEPTANCE) or "")


@dataclass
class _Asking:
    """Where asking the Coder for one version stands."""

    version: int
    task: str  # the Coder's message for this version
    context: Context
    edits: bool  # edit blocks are asked for (until they fail twice)
    base: str | None  # what edit blocks apply to: the previous script, with any blocks that applied
    edit_tries: int = 0
    tries: int = 0
    asked_for_change: bool = False
    declare_asks: int = 0

    @property
    def edit_rules(self) -> str:
        """The task with the rules for edit blocks after it (after everything that changes)."""
        return (
            self.task
            + "\n"
            + render_prompt("coder_edits", previous_name=self.previous_name, script_name=self.script_name)
        )

    @property
    def previous_name(self) -> str:
        return script_name(self.version - 1)

    @property
    def script_name(self) -> str:
        return script_name(self.version)


async def write_version(ctx: SessionContext, version: int) -> bool:
    """Ask the Coder for ``script_v{version}.py``; False when it gave no usable script after every try.

    From version 2 on the Coder may be asked for SEARCH/REPLACE blocks (:func:`asks_for_edits`); they
    are applied to the previous script and the whole result is written. Blocks that do not apply get
    one more try, with the lines nearest to each; then the whole file is asked for. A fragment (a
    placeholder, a diff, dropped definitions) is never written: the Coder is asked again with the
    reason. A script identical to the previous version is not written either the first time: the
    Coder is asked once more (not counted as a try) to make the changes.
    """
    context = judging_context(ctx, version)
    edits = asks_for_edits(ctx.settings.edit_format, context.previous)
    state = _Asking(version, coder_task(ctx, version), context, edits, context.previous)
    message: str | None = state.edit_rules if edits else state.task
    while message is not None:
        asked = EDITS if state.edits else WHOLE
        reply = await call_and_record(
            ctx, ctx.agents.create("coder"), message, version, f"is writing {state.script_name}"
        )
        answer = read_answer(reply.text, context, state.base, reply.cut_off)
        ctx.session.note_answer(asked, answer.form)
        declare = _declaration_message(ctx, state, answer) if answer.refusal is None else None
        if declare is not None:
            message = declare
            continue
        if answer.refusal is None and not state.asked_for_change and _unchanged(context, answer.extracted):
            state.asked_for_change = True
            _say_unchanged(ctx, version)
            message = _same_message(state)
            continue
        if answer.refusal is None:
            _save(ctx, version, answer.extracted, reply.text)
            return True
        message = _edits_again(ctx, state, answer) if state.edits else _whole_again(ctx, state, answer)
    return False


def _declaration_message(ctx: SessionContext, state: _Asking, answer: Answer) -> str | None:
    """When the script imports packages it does not declare (its own imports or the tests'), the
    message that asks for the whole script again with the exact block to put at its top (said on the
    screen); None when all is declared, or when it was asked :data:`DECLARE_ASKS` times already."""
    code = answer.extracted.code or ""
    missing = undeclared(code, state.script_name, state.context.tests, ACCEPTANCE, state.context.plan)
    if not missing or state.declare_asks >= DECLARE_ASKS:
        return None
    state.declare_asks += 1
    state.edits, state.base = False, state.context.previous
    what = describe_undeclared(missing)
    ctx.ui.warn(
        f"The Coder's {state.script_name} was not saved: {what}, not declared in its `# /// script` "
        "block; asking again with the block to add."
    )
    fix = render_prompt("coder_declare", undeclared=what, block=declaration_fix(code, missing).rstrip())
    return state.task + "\n\n" + fix


def _same_message(state: _Asking) -> str:
    if state.edits:
        return (
            state.edit_rules + "\n\n" + render_prompt("coder_edits_same", previous_name=state.previous_name)
        )
    return state.task + "\n\n" + render_prompt("coder_same", previous_name=state.previous_name)


def _edits_again(ctx: SessionContext, state: _Asking, answer: Answer) -> str:
    """The next message after a reply to a request for edit blocks that could not be saved: once more
    with what was wrong, then the request for the whole file (said on the screen)."""
    refusal = answer.refusal
    assert refusal is not None
    why = _INSTEAD_OF_EDITS.get(refusal.reason, refusal.why)
    state.edit_tries += 1
    applied = answer.applied if refusal.reason == NOT_APPLIED else None
    state.base = applied.partial if applied else state.context.previous
    if state.edit_tries < EDIT_TRIES:
        if applied:
            said = f"The Coder's edit blocks did not apply ({failures_line(applied)}); asking once more, "
            ctx.ui.warn(said + "with the lines nearest to each.")
            return state.edit_rules + "\n\n" + failed_blocks_prompt(applied)
        ctx.ui.warn(f"The Coder's reply was not saved: {why}; asking once more for edit blocks.")
        retry = render_prompt("coder_edits_again", reason=why, previous_name=state.previous_name)
        return state.edit_rules + "\n\n" + retry
    ctx.ui.warn(
        f"The Coder's edits could not be used twice (the last time: {why}); asking for the whole "
        f"{state.script_name} instead."
    )
    state.edits, state.base = False, state.context.previous
    return state.task + "\n\n" + render_prompt("coder_edits_whole")


def _whole_again(ctx: SessionContext, state: _Asking, answer: Answer) -> str | None:
    """The next message after a reply to a request for the whole script that could not be saved, or
    None (said on the screen) when it was the last try."""
    refusal = answer.refusal
    assert refusal is not None
    if refusal.reason in _EDIT_FORM_REFUSALS:
        refusal = Refusal(EDIT_BLOCKS, "it is SEARCH/REPLACE edit blocks, not the whole file")
    state.tries += 1
    what, retry = _ask_again(refusal)
    if state.tries == CODER_TRIES:
        _give_up(ctx, state.version, refusal)
        return None
    ctx.ui.warn(f"The Coder's reply {what}; asking again ({state.tries + 1}/{CODER_TRIES}).")
    return state.task + "\n\n" + retry


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
    previous = ctx.workspace.read(script_name(version - 1)) if version > 1 else None
    unchanged = previous is not None and same_code(previous, code)
    if not unchanged:  # the same script again is said in a line, not shown in full again
        ctx.ui.show_code(script_name(version), code)
    words = words_line(reply, "Coder")
    if words:
        ctx.ui.info(words)
    if unchanged:
        ctx.ui.warn(
            f"The Coder sent {script_name(version - 1)} unchanged again as {script_name(version)}; the "
            "Reviewer is asked whether its points still stand."
        )
    elif previous is not None:
        ctx.ui.info(f"{script_name(version)}: {diff_summary(previous, code)} (/diff shows all)")
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
    """The Coder's message for ``version``: built from the files alone, the same size at any N. From
    version 2 on it starts as the Reviewer's message on the previous version did (plan, tests, script,
    run), so a provider's prompt cache serves that part (:mod:`layout`)."""
    previous = feedback = ""
    material = [plan_section(plan_with_tests(ctx))]
    if version > 1:
        last = version - 1
        material = work_material(ctx, last)
        run = read_run(ctx.workspace.read(run_name(last)), last)
        failing = "\n".join(f"- {f.name} ({f.result}): {f.message}" for f in (run.failing if run else []))
        review = read_review(ctx.workspace.read(review_name(last)))
        previous = render_prompt(
            "coder_previous",
            script_name=script_name(last),
            review_name=review_name(last),
            review=review.render().strip() if review else "(no review)",
            failures=render_prompt("coder_failures", failing=failing) if failing else "",
        )
        text = ctx.workspace.read(feedback_name(last))
        if text and text.strip():
            feedback = render_prompt(
                "coder_feedback", feedback_name=feedback_name(last), feedback=text.strip()
            )
    particular = render_prompt("coder_task", version=version, previous=previous, feedback=feedback)
    return compose(material, "coder", particular)
