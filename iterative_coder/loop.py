"""The iteration loop: Coder writes ``script_vN.py``, Reviewer writes ``review_vN.md``, the Manager decides.

Every agent call starts from a fresh context built from the files alone (the plan, the latest
script, its review and the Manager's feedback), so a prompt does not grow with N.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .accounting import totals
from .agents import AgentFactory, AgentReply, Manager, call_and_record, render_prompt
from .convergence import diff_summary, points_stay_open, same_code
from .extract import extract_code, parse_python
from .review import APPROVE, enforce_consistency, parse_review, requirement_numbers, verdict_of
from .runs import failures_of, render_run, run_problems, run_summary, run_version, run_with_arguments
from .workspace import ACCEPTANCE, PLAN, feedback_name, review_name, run_name, script_name

if TYPE_CHECKING:
    from .ui import UI
    from .workspace import ResumePoint, SessionLog, Workspace

CODER_TRIES = 3  # the first ask plus at most two asks again when a reply holds no code
MANAGER_HELP = (
    "Enter: go on · any other text: feedback for the Coder · /diff: changes since the previous version · "
    "/run [ARGS...]: run this version with arguments · /done: accept this version as final · "
    "/stop: stop here (resume later)"
)
RUN_QUESTION = "Run the generated code? [y/N/a(lways)]"

LoopOutcome = Literal["accepted", "done", "limit", "stopped", "ended", "no_code", "stalled"]
GO_ON_QUESTION = "Go on with another version anyway? [y/N]"


@dataclass(frozen=True)
class LoopSettings:
    """Options of the iteration loop."""

    max_iterations: int
    execute: str = "never"  # ask | always | never: may generated code run?
    run_timeout: float = 30.0
    interactive: bool = True  # a person answers; without one the loop stops where it would ask


class IterationLoop:
    """Runs versions from a resume point until the Manager accepts, stops, or the limit is reached."""

    def __init__(
        self,
        workspace: Workspace,
        session: SessionLog,
        agents: AgentFactory,
        manager: Manager,
        ui: UI,
        settings: LoopSettings,
    ) -> None:
        self.workspace = workspace
        self.session = session
        self.agents = agents
        self.manager = manager
        self.ui = ui
        self.settings = settings
        self.execute = settings.execute

    async def run(self, start: ResumePoint) -> tuple[LoopOutcome, int]:
        """Go on from ``start``; return how the loop ended and the last version."""
        step, version = start.step, start.version
        while True:
            if step == "code":
                if version > self.settings.max_iterations:
                    return "limit", version - 1
                if not await self.write_version(version):
                    return "no_code", version - 1
                step = "review"
            elif step == "review":
                await self.review_version(version)
                self._report_spending(version)
                step = "manager"
                stall = self.no_progress(version)
                if stall and not await self._go_on_despite(stall):
                    return "stalled", version
            elif step == "manager":
                decision = await self.manager_turn(version)
                if decision != "next":
                    return decision, version
                step, version = "code", version + 1
            elif step == "finished":
                return "accepted", version
            else:
                raise ValueError(f"the iteration loop cannot start at step {step!r}")

    async def write_version(self, version: int) -> bool:
        """Ask the Coder for ``script_v{version}.py``; False when it gave no code after every try."""
        task = self._coder_task(version)
        message = task
        for attempt in range(1, CODER_TRIES + 1):
            reply = await self._call("coder", message, version, f"is writing {script_name(version)}")
            extracted = extract_code(reply.text)
            if reply.cut_off:
                problem, retry_prompt = "cut off at the model's token limit", "coder_shorter"
            elif extracted.code is None:
                problem, retry_prompt = "without Python code", "coder_retry"
            else:
                break
            if attempt < CODER_TRIES:
                self.ui.warn(f"The Coder's reply came {problem}; asking again ({attempt + 1}/{CODER_TRIES}).")
            message = task + "\n\n" + render_prompt(retry_prompt)
        else:
            # A cut-off script is never written: it would look finished and is not.
            advice = " Give the model a larger output limit, or simplify the plan." if reply.cut_off else ""
            self.ui.warn(
                f"The Coder's replies came {problem} {CODER_TRIES} times; {script_name(version)} was not "
                f"written.{advice}"
            )
            return False
        path = self.workspace.write(script_name(version), extracted.code)
        if extracted.note:
            self.ui.info(extracted.note)
        self.ui.show_code(script_name(version), extracted.code)
        if version > 1:
            previous = self.workspace.read(script_name(version - 1)) or ""
            self.ui.info(
                f"{script_name(version)}: {diff_summary(previous, extracted.code)} (/diff shows all)"
            )
        if extracted.syntax_error:
            self.ui.warn(f"{path.name} does not parse ({extracted.syntax_error}); the Reviewer is told.")
        else:
            self.ui.info(f"Saved {path}.")
        return True

    async def review_version(self, version: int) -> None:
        """Ask the Reviewer about ``script_v{version}.py`` and save ``review_v{version}.md``."""
        name = script_name(version)
        script = self.workspace.read(name) or ""
        _tree, error = parse_python(script)
        run_text = self.workspace.read(run_name(version))
        if run_text is None and await self.may_run():
            run_text = self.run_version(version, script)
        if run_text is None:
            evidence = "The script was not run: the Manager did not allow running generated code."
        else:
            evidence = f"# The run ({run_name(version)})\n\n{run_text.strip()}"
        previous_review = self.workspace.read(review_name(version - 1)) if version > 1 else None
        task = render_prompt(
            "reviewer_task",
            version=version,
            plan=self._plan_with_tests(),
            script_name=name,
            script=script.rstrip(),
            syntax_note=render_prompt("reviewer_syntax", syntax_error=error) if error else "",
            run=evidence,
            previous_review=render_prompt(
                "reviewer_previous",
                review_name=review_name(version - 1),
                script_name=name,
                review=previous_review.strip(),
            )
            if previous_review
            else "",
        )
        reply = await self._call("reviewer", task, version, f"is reviewing {name}")
        review = parse_review(reply.text, requirement_numbers(self.workspace.read(PLAN) or ""))
        if reply.cut_off and review.parsed_from != "partial json":
            review.notes.append("The Reviewer's reply was cut off at the model's token limit.")
        problems = run_problems(run_summary(run_text))
        if error:
            problems.append(f"the script does not parse ({error})")
        review = enforce_consistency(review, problems)
        self.workspace.write(review_name(version), review.render())
        for note in review.notes:
            self.ui.warn(note)
        self.ui.show_markdown(review_name(version), review.render())

    def _report_spending(self, version: int) -> None:
        this = totals(call for call in self.session.calls if call.get("version") == version)
        self.ui.info(f"v{version}: {this.describe()} · total {totals(self.session.calls).describe()}")

    def no_progress(self, version: int) -> str | None:
        """A plain sentence when the loop stopped converging at ``version``, else None."""
        if version > 1:
            old = self.workspace.read(script_name(version - 1))
            new = self.workspace.read(script_name(version))
            if old is not None and new is not None and same_code(old, new):
                return (
                    f"No progress: {script_name(version)} is the same as {script_name(version - 1)} "
                    "apart from white space and comments."
                )
        reviews = [self.workspace.read(review_name(v)) for v in range(max(1, version - 2), version + 1)]
        if verdict_of(reviews[-1]) != APPROVE and points_stay_open(reviews):
            return (
                f"No progress: the same review points have stayed open for {len(reviews)} versions in a row."
            )
        return None

    async def _go_on_despite(self, stall: str) -> bool:
        self.ui.warn(stall)
        if not self.settings.interactive:
            return False
        answer = await self.manager.ask(GO_ON_QUESTION)
        return (answer or "").strip().lower() in {"y", "yes"}

    async def may_run(self) -> bool:
        """Whether generated code may run now; in ``ask`` mode the Manager decides."""
        if self.execute != "ask" or not self.settings.interactive:
            return self.execute == "always"
        answer = (await self.manager.ask(RUN_QUESTION) or "").strip().lower()
        if answer in {"a", "always"}:
            self.execute = "always"
        return answer in {"y", "yes", "a", "always"}

    def run_version(self, version: int, script: str) -> str:
        """Run ``script_v{version}.py`` and its acceptance tests; save and show ``run_v{version}.md``."""
        tests = self.workspace.read(ACCEPTANCE)
        with self.ui.working("Runner", f"is running {script_name(version)} and its tests"):
            report = run_version(
                self.workspace.root,
                version,
                script,
                tests if has_tests(tests) else None,
                self.settings.run_timeout,
            )
        text = render_run(report, script_name(version))
        self.workspace.write(run_name(version), text)
        ok = report.script_ok and (report.tests is None or report.all_tests_pass)
        failing = [o.name for o in report.outcomes if o.result in {"failed", "error"}]
        more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
        details = f"\nfailing: {', '.join(failing[:3])}{more}" if failing else ""
        self.ui.show_result(run_name(version), report.summary() + details, ok)
        return text

    async def manager_turn(self, version: int) -> LoopOutcome | Literal["next"]:
        """The Manager's turn after ``review_v{version}.md``: go on, give feedback, or end."""
        approved = verdict_of(self.workspace.read(review_name(version))) == APPROVE
        at_limit = version >= self.settings.max_iterations
        if not self.settings.interactive:  # nobody to ask: an approval is accepted, else go on
            if approved:
                self.session.mark_finished(version, "accepted")
                return "accepted"
            return "limit" if at_limit else "next"
        if approved:
            question = (
                f"The Reviewer approves {script_name(version)}. Enter accepts it as final; or type feedback."
            )
        elif at_limit:
            question = (
                f"That was the last iteration ({self.settings.max_iterations}). Enter ends the session; "
                "/done accepts this version; feedback is saved for a later --resume with a higher "
                "--max-iterations."
            )
        else:
            question = (
                f"Your turn on version {version}. Enter goes on; type feedback, /diff, /run, /done or /stop."
            )
        while True:
            answer = await self.manager.ask(question)
            if answer is None:
                return "ended"
            command = answer.lower()
            if command == "/stop":
                return "stopped"
            if command == "/done" or (answer == "" and approved):
                self.session.mark_finished(version, "done" if command == "/done" else "accepted")
                return "done" if command == "/done" else "accepted"
            if command == "/diff":
                self._show_diff(version)
                continue
            if command == "/run" or command.startswith("/run "):
                await self._run_with_arguments(version, answer[4:])
                continue
            if command in {"/help", "/?"}:
                self.ui.info(MANAGER_HELP)
                continue
            if command.startswith("/"):
                self.ui.warn(f"Unknown command {answer}. {MANAGER_HELP}")
                continue
            if answer:
                path = self.workspace.write(feedback_name(version), answer + "\n")
                self.ui.info(f"Feedback saved to {path}; the Coder gets it next.")
            return "limit" if at_limit else "next"

    async def _run_with_arguments(self, version: int, arguments: str) -> None:
        try:
            args = shlex.split(arguments)
        except ValueError as exc:
            self.ui.warn(f"Cannot read those arguments ({exc}); quote them as in a shell.")
            return
        if not await self.may_run():
            self.ui.info("Not run.")
            return
        script = self.workspace.read(script_name(version)) or ""
        with self.ui.working("Runner", f"is running {script_name(version)}"):
            result = run_with_arguments(self.workspace.root, version, script, args, self.settings.run_timeout)
        output = result.text("stdout") + (
            f"\n[stderr]\n{result.text('stderr')}" if result.stderr.total else ""
        )
        title = " ".join(["python", script_name(version), *map(shlex.quote, args)])
        self.ui.show_result(
            title, f"{result.describe(self.settings.run_timeout)}\n{output.rstrip()}", result.exit_code == 0
        )

    def _coder_task(self, version: int) -> str:
        previous = ""
        feedback = ""
        if version > 1:
            last = version - 1
            failures = failures_of(self.workspace.root / "runs" / f"v{last}")
            failing = "\n".join(f"- {f.name} ({f.result}): {f.message}" for f in failures)
            previous = render_prompt(
                "coder_previous",
                script_name=script_name(last),
                script=(self.workspace.read(script_name(last)) or "").rstrip(),
                review_name=review_name(last),
                review=(self.workspace.read(review_name(last)) or "(no review)").strip(),
                failures=render_prompt("coder_failures", failing=failing) if failing else "",
            )
            text = self.workspace.read(feedback_name(last))
            if text and text.strip():
                feedback = render_prompt(
                    "coder_feedback", feedback_name=feedback_name(last), feedback=text.strip()
                )
        return render_prompt(
            "coder_task", version=version, plan=self._plan_with_tests(), previous=previous, feedback=feedback
        )

    def _plan_with_tests(self) -> str:
        plan = (self.workspace.read(PLAN) or "").strip()
        tests = self.workspace.read(ACCEPTANCE)
        if not has_tests(tests):
            return plan
        return plan + "\n\n" + render_prompt("acceptance_section", tests=(tests or "").rstrip())

    async def _call(self, role: str, message: str, version: int, activity: str) -> AgentReply:
        """A fresh agent for ``role`` (empty context) answers ``message``."""
        return await call_and_record(
            self.agents.create(role),
            message,
            ui=self.ui,
            session=self.session,
            agents=self.agents,
            version=version,
            activity=activity,
        )

    def _show_diff(self, version: int) -> None:
        if version <= 1:
            self.ui.info("This is the first version; there is nothing to compare it with.")
            return
        old, new = script_name(version - 1), script_name(version)
        self.ui.show_diff(old, self.workspace.read(old) or "", new, self.workspace.read(new) or "")


def has_tests(tests: str | None) -> bool:
    """Whether an acceptance test file holds any test function."""
    return bool(tests) and "def test" in (tests or "")
