"""Progress measured by what got fixed (issue 17): a previous point fixed, more tests passing, a
requirement newly met or the Manager's feedback done; three versions without any of it is a stall."""

from __future__ import annotations

import json
from pathlib import Path

from drive import in_session, run_loop, run_main
from recording_ui import RecordingUI
from scripted import script

from iterative_coder.context import SessionContext
from iterative_coder.convergence import VersionEvidence, same_point, stall_reason
from iterative_coder.loop import IterationLoop
from iterative_coder.names import ACCEPTANCE, PLAN, TASK, run_name
from iterative_coder.records.review import (
    APPROVE,
    REVISE,
    Coverage,
    EarlierPoint,
    FeedbackCheck,
    Point,
    Review,
    read_review,
)
from iterative_coder.records.run import CommandRecord, RunRecord, TestOutcome, read_run
from iterative_coder.settings import Settings

SCRIPTS = ("a = 1\n", "a = 2\n")  # two different scripts: the identical-script rule stays out of the way
STILL_OPEN = [{"point": 1, "status": "open", "evidence": "line 4 still calls text.split()[0]"}]


def reply(verdict: str = REVISE, points: list[str] = (), previous: list[dict] = (), met: bool = False) -> str:
    """A Reviewer reply as the prompt asks for it: requirement 1's status, points, previous points."""
    return json.dumps(
        {
            "verdict": verdict,
            "coverage": [{"requirement": 1, "status": "met" if met else "missing", "evidence": "main"}],
            "previous_points": list(previous),
            "points": [{"category": "failing", "where": "", "issue": text} for text in points],
        }
    )


def run_of(version: int, passed: int, total: int = 7) -> RunRecord:
    """A run whose acceptance tests passed ``passed`` of ``total``."""
    outcomes = tuple(
        TestOutcome(f"test_{n}", "passed" if n <= passed else "failed") for n in range(1, total + 1)
    )
    return RunRecord(version, (), CommandRecord("exit 1", 1, 0.1), outcomes)


def evidence(*reviews: Review, runs: tuple[RunRecord | None, ...] = ()) -> list[VersionEvidence]:
    """Versions 1, 2, ... with these reviews and runs."""
    runs = runs or (None,) * len(reviews)
    return [
        VersionEvidence(v, review, run)
        for v, (review, run) in enumerate(zip(reviews, runs, strict=True), start=1)
    ]


def revise(*points: str, fates: tuple[str, ...] = (), missing: tuple[str, ...] = ("3", "4")) -> Review:
    """A REVISE review with these points, these fates of the previous points, requirements missing."""
    coverage = [Coverage(n, "missing" if n in missing else "met") for n in ("1", "2", "3", "4")]
    earlier = [EarlierPoint(n, fate, "line 3") for n, fate in enumerate(fates, start=1)]
    return Review(REVISE, coverage, [Point(text) for text in points], earlier)


# The rule, on typed records.


def test_the_same_point_open_three_times_is_a_stall_that_names_what_did_not_move() -> None:
    first = revise("crashes on empty input")
    again = revise("crashes on empty input", fates=("open",))
    runs = (run_of(1, 5), run_of(2, 5), run_of(3, 5))
    assert stall_reason(3, SCRIPTS, evidence(first, again, again, runs=runs)) == (
        "No progress for 3 versions: no previous point fixed, tests still 5/7, "
        "requirements 3 and 4 still missing."
    )
    assert stall_reason(2, SCRIPTS, evidence(first, again, runs=runs[:2])) is None  # two versions only


def test_parallel_points_fixed_one_by_one_are_progress() -> None:
    reviews = [
        revise(f"step_{v} must double its input", fates=("fixed",) if v > 1 else ()) for v in (1, 2, 3, 4)
    ]
    assert stall_reason(4, SCRIPTS, evidence(*reviews)) is None
    # Without fates from the Reviewer, a previous point no longer raised counts as fixed; step_1 and
    # step_2 are different points although their words are nearly the same.
    unmarked = [revise(f"step_{v} must double its input") for v in (1, 2, 3, 4)]
    assert stall_reason(4, SCRIPTS, evidence(*unmarked)) is None
    assert not same_point(Point("step_1 must double its input"), Point("step_2 must double its input"))
    assert not same_point(Point("see requirement 3"), Point("see requirement 4"))
    assert same_point(Point("Crashes on empty input!"), Point("crashes on empty input"))


def test_more_tests_passing_a_requirement_met_or_feedback_done_are_progress() -> None:
    new_points = [revise(f"POINT-{v}", fates=("open",) if v > 1 else ()) for v in (1, 2, 3, 4, 5)]
    better = tuple(run_of(v, passed) for v, passed in enumerate((3, 5, 5, 5, 5), start=1))
    assert stall_reason(3, SCRIPTS, evidence(*new_points[:3], runs=better[:3])) is None  # 3/7, 5/7, 5/7
    assert stall_reason(4, SCRIPTS, evidence(*new_points[:4], runs=better[:4])) is None  # v2 passed more
    assert stall_reason(5, SCRIPTS, evidence(*new_points, runs=better)) == (
        "No progress for 3 versions: no previous point fixed, tests still 5/7, "
        "requirements 3 and 4 still missing."
    )
    met = [*new_points[:3], revise("POINT-4", fates=("open",), missing=("4",))]
    assert stall_reason(4, SCRIPTS, evidence(*met[:4])) is None  # requirement 3 became met
    done = Review(REVISE, new_points[3].coverage, new_points[3].points, feedback=FeedbackCheck("done"))
    assert stall_reason(4, SCRIPTS, evidence(*new_points[:3], done)) is None


def test_an_approval_is_never_a_stall_and_the_message_names_partly_met_and_feedback() -> None:
    stuck = revise("crashes", fates=("unclear",), missing=())
    assert stall_reason(3, SCRIPTS, evidence(stuck, stuck, Review(APPROVE))) is None
    partly = Review(REVISE, [Coverage("2", "partly")], [Point("crashes")], feedback=FeedbackCheck("not done"))
    assert stall_reason(3, SCRIPTS, evidence(stuck, stuck, partly)) == (
        "No progress for 3 versions: no previous point fixed, requirement 2 still partly met, "
        "the Manager's feedback still not done."
    )


# Scripted sessions.


def test_parallel_points_fixed_one_by_one_reach_the_approving_version(fake_server, tmp_path: Path) -> None:
    reviews = [
        reply(
            points=[f"step_{v} must double its input"], previous=[{"point": 1, "status": "fixed"}] * (v > 1)
        )
        for v in range(1, 6)
    ]
    fake_server.enqueue("coder", *(script(v) for v in range(1, 7)))
    fake_server.enqueue(
        "reviewer", *reviews, reply(APPROVE, previous=[{"point": 1, "status": "fixed"}], met=True)
    )
    outcome, version, ui = run_loop(fake_server, tmp_path, [""] * 6, max_iterations=6, interactive=False)
    assert (outcome, version) == ("accepted", 6)
    assert not any(text.startswith("No progress") for text in ui.texts("warn"))


def stuck_session(fake_server, root: Path) -> None:
    """A workspace at version 1 whose next three reviews keep the same point open, same evidence."""
    root.joinpath(TASK).write_text("count words\n")
    root.joinpath(PLAN).write_text("# Word counter\n\n## Requirements\n1. count_words(text) counts words.\n")
    root.joinpath(ACCEPTANCE).write_text("# No automatic checks.\n")
    fake_server.enqueue("coder", script(1), script(2), script(3))
    stuck = ["crashes on empty input"]
    fake_server.enqueue("reviewer", reply(points=stuck), *[reply(points=stuck, previous=STILL_OPEN)] * 2)


def stalled_loop(fake_server, root: Path) -> tuple[str, int, IterationLoop, RecordingUI]:
    """Three versions whose review keeps the same point open with the same evidence, under --yes."""
    stuck_session(fake_server, root)
    ui = RecordingUI([""] * 3)

    async def go(ctx: SessionContext) -> tuple[str, int, IterationLoop]:
        loop = IterationLoop(ctx)
        return (*await loop.run(ctx.session.resume_point()), loop)

    outcome, version, loop = in_session(
        fake_server, root, ui, Settings(max_iterations=5, interactive=False), go
    )
    return outcome, version, loop, ui


def test_the_same_point_open_three_times_stops_and_says_what_did_not_move(
    fake_server, tmp_path: Path
) -> None:
    outcome, version, loop, ui = stalled_loop(fake_server, tmp_path)
    sentence = "No progress for 3 versions: no previous point fixed, requirement 1 still missing."
    assert (outcome, version) == ("stalled", 3)
    assert ui.texts("warn")[-1] == sentence
    assert loop.stall == sentence  # what the session's ending records


def test_tests_passing_3_then_5_then_5_of_7_is_no_stall(fake_server, tmp_path: Path) -> None:
    tests = "import script\n\n" + "".join(
        f"\ndef test_{n}():\n    assert script.LEVEL >= {n}\n\n" for n in range(1, 8)
    )
    levels = {1: 3, 2: 5, 3: 5}
    coder = [f"```python\nLEVEL = {level}\nVERSION = {v}\n```" for v, level in levels.items()]
    fake_server.enqueue("coder", *coder)
    fake_server.enqueue(
        "reviewer", *(reply(points=[f"POINT-{v}"], previous=STILL_OPEN * (v > 1)) for v in levels)
    )
    tmp_path.joinpath(TASK).write_text("levels\n")
    tmp_path.joinpath(PLAN).write_text("# Levels\n\n## Requirements\n1. LEVEL is 7.\n")
    tmp_path.joinpath(ACCEPTANCE).write_text(tests)
    outcome, version, ui = run_loop(
        fake_server, tmp_path, [""] * 3, max_iterations=3, execute="always", interactive=False
    )
    runs = [read_run(tmp_path.joinpath(run_name(v)).read_text(), v) for v in levels]
    assert [(run.count("passed"), run.tests_ran) for run in runs if run] == [(3, 7), (5, 7), (5, 7)]
    assert (outcome, version) == ("limit", 3)
    assert not any(text.startswith("No progress") for text in ui.texts("warn"))


def test_one_review_with_the_same_point_100_times_keeps_one_point(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", reply(points=["main() crashes with IndexError"] * 100))
    run_loop(fake_server, tmp_path, [""], max_iterations=1, interactive=False)
    review = read_review(tmp_path.joinpath("review_v1.md").read_text())
    assert review is not None and [point.text for point in review.points] == [
        "main() crashes with IndexError"
    ]


def test_a_stall_says_what_did_not_move_in_json_and_status(fake_server, tmp_path: Path, model_env) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    stuck_session(fake_server, ws)
    result = run_main(["--resume", "workspace", "--yes", "--json"], tmp_path, model_env)
    sentence = "No progress for 3 versions: no previous point fixed, requirement 1 still missing."
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["stop_reason"] == "stalled" and data["stall"] == sentence
    status = run_main(["status", "workspace"], tmp_path, model_env)
    assert f"Stopped: {sentence}" in status.stdout
    as_json = run_main(["status", "workspace", "--json"], tmp_path, model_env)
    assert json.loads(as_json.stdout)["stall"] == json.loads(as_json.stdout)["stalled"] == sentence
    assert result.stderr.count(sentence) == 1  # said once, then "Stopped: no progress."
    assert "Stopped: no progress. Resume with: " in result.stderr
