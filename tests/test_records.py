"""Records and their files: every writer has its reader beside it, and decisions come from the record,
never from how the prose is worded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from drive import run
from workspaces import make_workspace

from iterative_coder.convergence import VersionEvidence, stall_reason
from iterative_coder.names import review_name, run_name
from iterative_coder.records.embedded import embed, extract, prose_of
from iterative_coder.records.review import (
    APPROVE,
    REVISE,
    Coverage,
    EarlierPoint,
    FeedbackCheck,
    Point,
    Review,
    read_review,
    write_review,
)
from iterative_coder.records.run import (
    CRASHED,
    ENDED,
    TIMED_OUT,
    TOO_MANY,
    WINDOW,
    CommandRecord,
    DemoResult,
    RunRecord,
    TestOutcome,
    read_run,
    write_run,
)
from iterative_coder.session import SessionLog
from iterative_coder.settling import enforce_consistency
from iterative_coder.status import history, version_rows
from iterative_coder.workspace import Workspace

DATA = Path(__file__).parent / "data"


def demo(command: CommandRecord, kind: str = ENDED, **extra: object) -> tuple[DemoResult, ...]:
    return (DemoResult("run once", command, kind, **extra),)  # type: ignore[arg-type]


RUNS = {
    "tests fail": RunRecord(
        3,
        demo(CommandRecord("exit 0", 0, 0.25, stdout="42\n"), args=("a.txt",), stdin="50\n"),
        CommandRecord("exit 1", 1, 0.5),
        (TestOutcome("test_a", "passed"), TestOutcome("test_b", "failed", "assert 1 == 2 | pipe")),
    ),
    "crash, no tests": RunRecord(
        1,
        demo(
            CommandRecord("exit 1", 1, 0.1, crash="IndexError", stderr="Traceback...\nIndexError: x\n"),
            CRASHED,
        ),
    ),
    "window and screenshot": RunRecord(
        5,
        demo(
            CommandRecord("still running after 3 s, stopped", None, 3.0, timed_out=True),
            WINDOW,
            screenshot="runs/v5/screen-1.png",
        ),
    ),
    "timeout, tests did not run": RunRecord(
        2,
        demo(CommandRecord("still running after 30 s, stopped", None, 30.0, timed_out=True), TIMED_OUT),
        CommandRecord("exit 4", 4, 1),
    ),
    "tests do not load": RunRecord(
        6,
        demo(CommandRecord("exit 0", 0, 0.1)),
        CommandRecord("exit 2", 2, 0.4),
        tests_unloadable="ModuleNotFoundError: No module named 'wc'",
    ),
    "too many processes": RunRecord(
        4,
        demo(
            CommandRecord("started more than 64 processes, stopped", -9, 1.0, too_many_processes=True),
            TOO_MANY,
        ),
    ),
}
REVIEWS = {
    "approve": Review(APPROVE, [Coverage("1", "met", "count_words")]),
    "revise with everything": Review(
        REVISE,
        [Coverage("1", "met", "x | y"), Coverage("2", "missing", "")],
        [Point("main() crashes --> on empty input", "failing", "main"), Point("rename x", "style")],
        [EarlierPoint(1, "fixed", "line 3"), EarlierPoint(2, "unclear", "")],
        ["The tool changed the verdict from APPROVE to REVISE: 1 of 2 acceptance tests fail."],
        "partial json",
    ),
    "feedback not done": Review(
        REVISE,
        [Coverage("1", "met", "count_words")],
        notes=["The tool changed the verdict from APPROVE to REVISE: the Manager's feedback not done."],
        feedback=FeedbackCheck("not done", "no --top option | in main"),
    ),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_a_run_reads_back_as_written(name: str) -> None:
    record = RUNS[name]
    assert read_run(write_run(record, "script_v3.py"), record.version) == record


def test_a_test_file_that_does_not_load_is_said_and_not_held_against_the_version() -> None:
    record = RUNS["tests do not load"]
    text = write_run(record, "script_v6.py")
    said = "acceptance_test.py itself does not load: ModuleNotFoundError: No module named 'wc'"
    assert said in record.summary() and said in prose_of(text)
    assert record.problems() == [] and record.failing == []
    assert RUNS["timeout, tests did not run"].problems()[0] == "the acceptance tests could not run"


@pytest.mark.parametrize("name", list(REVIEWS))
def test_a_review_reads_back_as_written(name: str) -> None:
    review = REVIEWS[name]
    text = write_review(review)
    assert read_review(text) == review
    assert prose_of(text) == review.render()  # the person and the prompts see the prose alone


def test_the_record_survives_any_text_inside_it() -> None:
    record = {"text": "--> <!-- iterative_coder record {} --> \n\x1b[2J ünïcode"}
    text = embed("# Title\n\nbody", record)
    assert extract(text) == record
    assert text.count("-->") == 1  # nothing inside can close the comment early
    assert extract("no record here") is None and extract(text.replace('"text"', "'text'")) is None


def reworded(text: str) -> str:
    """The prose of a file said differently, as a person or a later version of the tool might."""
    prose = prose_of(text)
    record = text[len(prose.rstrip()) :]
    return (
        prose.replace("Summary:", "In short:")
        .replace("tests ", "checks ")
        .replace("passed", "OK")
        .replace("Verdict: APPROVE", "Our verdict — revise? No: approve")
        .replace("Verdict: REVISE", "Decision: approve")
        .replace("## Points", "## Things to look at")
        .replace("1. [", "* [")
    ).rstrip() + record


def test_rewording_the_prose_changes_no_decision(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", 4, last_verdict="REVISE")
    workspace = Workspace(ws)
    session = SessionLog.load(workspace)
    before = [version_rows(workspace, session), history(workspace).to_json()]
    reviews = [read_review(workspace.read(review_name(v))) for v in (1, 2, 3)]
    runs = [read_run(workspace.read(run_name(v)), v) for v in (1, 2, 3, 4)]
    for v in range(1, 5):
        for name in (review_name(v), run_name(v)):
            (ws / name).write_text(reworded((ws / name).read_text()))
    assert [version_rows(workspace, session), history(workspace).to_json()] == before
    assert [read_review(workspace.read(review_name(v))) for v in (1, 2, 3)] == reviews
    assert [read_run(workspace.read(run_name(v)), v) for v in (1, 2, 3, 4)] == runs
    # The stall rule (nothing moved for three versions) and the verdict rules decide as before.
    evidence = [VersionEvidence(v, reviews[v - 1], runs[v - 1]) for v in (1, 2, 3)]
    assert stall_reason(3, ("a = 1\n", "a = 2\n"), evidence) == (
        "No progress for 3 versions: no previous point fixed, tests still 0/1."
    )
    assert runs[0] is not None and runs[0].problems() == ["1 of 1 acceptance tests fail"]
    assert enforce_consistency(Review(APPROVE), runs[0].problems()).verdict == REVISE


def _fields_of(actual: object, expected: object) -> object:
    """``actual`` cut down to the fields ``expected`` has, through nested objects and lists."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {key: _fields_of(actual.get(key), value) for key, value in expected.items()}
    if isinstance(expected, list) and isinstance(actual, list) and len(actual) == len(expected):
        return [_fields_of(a, e) for a, e in zip(actual, expected, strict=True)]
    return actual


def test_a_workspace_of_version_0_1_shows_the_same_status_and_resumes(
    tmp_path: Path, fake_server, model_env: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(DATA / "workspace_v0_1", ws)
    expected = json.loads((DATA / "workspace_v0_1.status.json").read_text())
    status = json.loads(run(["status", "ws", "--json"], tmp_path, model_env).stdout)
    assert _fields_of(status, expected) == expected  # every field 0.1 had, unchanged; new ones may be added
    assert status["stalled"] is None  # a field 0.1 did not have

    # Go back to the Manager's turn after v1 (a REVISE written by 0.1), give feedback, and go on.
    for name in ("script_v2.py", "review_v2.md", "run_v2.md", "feedback_v1.md"):
        (ws / name).unlink()
    session = json.loads((ws / "session.json").read_text())
    (ws / "session.json").write_text(json.dumps({**session, "finished": None}))
    v2 = (ws / "script_v1.py").read_text().replace("VERSION = 1", "VERSION = 2")
    fake_server.enqueue("coder", f"```python\n{v2}```")
    covered = [{"requirement": n, "status": "met", "evidence": "main"} for n in (1, 2)]
    done = {"status": "done", "evidence": "main"}  # the Manager's feedback below
    fake_server.enqueue(
        "reviewer", json.dumps({"verdict": "APPROVE", "coverage": covered, "points": [], "feedback": done})
    )
    result = run(
        ["--resume", "ws", "--max-iterations", "2"], tmp_path, model_env, stdin="handle a missing file\n\n"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Resuming at version 1: your turn after review_v1.md" in result.stdout
    coder = fake_server.requests_for("coder")[0].text
    assert "REVIEW-MARKER-1: main() crashes with IndexError" in coder  # the old review, read from its file
    assert "test_req2_counts_lines (failed)" in coder  # the old run's failing test, by name
    assert "handle a missing file" in coder
    assert (ws / "script_v2.py").read_text() == v2


@pytest.mark.parametrize("seconds", [0.049, 0.051, 0.95, 1.049])
def test_a_runs_seconds_read_the_same_in_its_file_and_in_status(seconds: float) -> None:
    # status showed 0.1 s where run_v1.md said 0.0 s: one rounded to hundredths first, the other not.
    from iterative_coder.records.demo_run import CommandRecord, DemoResult
    from iterative_coder.records.run import RunRecord, shown_seconds

    demo = DemoResult("run once", CommandRecord("exit 0", 0, seconds), "exited")
    record = RunRecord(1, (demo,), None)
    kept = round(record.seconds, 2)  # what status reads from the record
    assert record.summary().endswith(f"· {shown_seconds(kept)} s")
    assert shown_seconds(kept) == shown_seconds(seconds)
