"""Reviews that converge: the shape of review_vN.md is guaranteed by the tool, not the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drive import in_session, run_loop, start_workspace
from fake_openai import Fault
from recording_ui import RecordingUI
from scripted import good_script, script

from iterative_coder.convergence import VersionEvidence, diff_summary, same_code, stall_reason
from iterative_coder.records.review import FeedbackCheck, read_review
from iterative_coder.records.run import TestOutcome
from iterative_coder.review import (
    APPROVE,
    MAX_POINTS,
    REVISE,
    Point,
    Review,
    distinct_points,
    parse_reply,
    parse_review,
    requirement_numbers,
)
from iterative_coder.reviewing import review_version
from iterative_coder.settings import Settings
from iterative_coder.settling import enforce_consistency

PLAN = "# Counter\n\n## Requirements\n1. Count words.\n2. Count lines.\n3. Print both.\n\n"
PLAN += "## Notes\n1. Not a requirement.\n"
REPLIES = Path(__file__).parent / "replies" / "review"
NO_VERDICT = (REPLIES / "13-no-verdict.txt").read_text(encoding="utf-8")
MARKDOWN_APPROVE = (REPLIES / "01-bold-verdict-strengths.txt").read_text(encoding="utf-8")


def reply(
    verdict: str = "REVISE", points: list[dict] | None = None, coverage: list[dict] | None = None, **extra
) -> str:
    body = {"verdict": verdict, "coverage": coverage or [], "previous_points": [], "points": points or []}
    return json.dumps(body | extra)


def assert_shape(text: str) -> list[str]:
    """review_vN.md: the verdict, then the coverage table, then at most 10 numbered distinct points."""
    lines = text.splitlines()
    assert lines[0] in ("Verdict: APPROVE", "Verdict: REVISE")
    coverage_at, points_at = lines.index("## Coverage"), lines.index("## Points")
    assert coverage_at < points_at
    assert lines[coverage_at + 2] == "| requirement | status | evidence |"
    points = []
    for line in lines[points_at + 1 :]:
        if line.startswith("## "):
            break
        if line[:1].isdigit():
            assert line.startswith(f"{len(points) + 1}. ")
            points.append(line)
    assert len(points) <= MAX_POINTS
    return points


def test_requirement_numbers_come_from_the_requirements_section() -> None:
    assert requirement_numbers(PLAN) == ["1", "2", "3"]
    assert requirement_numbers("1. a\n2. b\n") == ["1", "2"]


def test_a_hundred_and_fifty_copies_of_one_point_become_one(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    (tmp_path / "plan.md").write_text(PLAN)
    runaway = "Verdict: REVISE\n\n" + "".join(
        f"{n}. The function count_words does not handle empty input.\n" for n in range(1, 151)
    )
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", runaway)
    run_loop(fake_server, tmp_path, ["/stop"])
    text = (tmp_path / "review_v1.md").read_text()
    points = assert_shape(text)
    assert points == ["1. [robustness] The function count_words does not handle empty input."]
    assert "repetition was cut" in text
    # The tool caps what the Reviewer may cost, and keeps its raw reply.
    assert "max_tokens" not in fake_server.requests_for("coder")[0].body
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["role"] for entry in log] == ["coder", "reviewer"]
    assert log[1]["reply"] == runaway


def test_near_duplicates_collapse_and_points_are_ranked_and_capped() -> None:
    points = [
        Point("Use a docstring for main.", "style"),
        Point("main() crashes when the file does not exist.", "failing"),
        Point("main() crashes when the file does not exist!", "failing"),
        Point("Main crashes when the file doesn't exist.", "failing"),
        Point("Requirement 2 (count lines) is missing.", "missing"),
    ] + [
        Point(text, "robustness")
        for text in (
            "Reading a huge file loads it all into memory.",
            "Non-UTF-8 input raises UnicodeDecodeError.",
            "A directory given as the path gives a confusing message.",
            "Counting ignores tabs as separators.",
            "The exit code is 0 even on errors.",
            "Symbolic links are followed without warning.",
            "Empty lines are counted as words.",
            "The output format is not stable for scripts.",
            "Ctrl-C shows a traceback.",
            "Very long lines are slow to split.",
        )
    ]
    kept = distinct_points(points)
    assert len(kept) == MAX_POINTS
    assert [p.category for p in kept[:2]] == ["failing", "missing"]
    assert sum("crashes" in p.text for p in kept) == 1
    assert all(p.category != "style" for p in kept)  # style ranks last and is cut first


def test_a_reply_cut_off_mid_json_keeps_what_arrived(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    (tmp_path / "plan.md").write_text(PLAN)
    full = reply(
        "REVISE",
        coverage=[{"requirement": 1, "status": "met", "evidence": "count_words"}],
        points=[
            {"category": "failing", "where": "main", "issue": "crashes on a missing file"},
            {"category": "missing", "where": "count_lines", "issue": "not written yet, requirement 2"},
        ],
    )
    cut = full[: full.index("not written yet")]
    fake_server.enqueue("coder", script(1))
    fake_server.inject(Fault("length", text=cut), role="reviewer")  # finish_reason "length"
    run_loop(fake_server, tmp_path, ["/stop"])
    text = (tmp_path / "review_v1.md").read_text()
    assert assert_shape(text) == ["1. [failing] (main) crashes on a missing file"]
    assert "| 1 | met | count_words |" in text and "| 2 | not assessed |  |" in text
    assert "was cut off" in text


def test_plain_text_reviews_are_parsed_too() -> None:
    text = "VERDICT: **Approve**\n\n| 1 | met | count_words |\nR2: missing - no count_lines\n\n"
    text += "- Add a docstring."
    review = parse_review(text, ["1", "2", "3"])
    assert review.verdict == APPROVE and review.parsed_from == "text"
    assert [(c.requirement, c.status) for c in review.coverage] == [
        ("1", "met"),
        ("2", "missing"),
        ("3", "not assessed"),
    ]
    assert [p.text for p in review.points] == ["Add a docstring."]
    # A numbered point that starts with a status word is a point, not a coverage row.
    assert parse_review("Verdict: REVISE\n1. Missing error handling in main.").points[0].text == (
        "Missing error handling in main."
    )


@pytest.mark.parametrize(
    ("text", "verdict", "points"),
    [
        (
            "{'verdict': 'Approve', 'points': [{'issue': 'rename x',},],}",
            APPROVE,
            ["rename x"],
        ),  # json-repair
        (
            "## VERDICT: REQUEST_CHANGES\n\n## Must fix\n- crashes on empty input",
            REVISE,
            ["crashes on empty input"],
        ),
        ("Verdict: Not approved\n\n- crashes on empty input", REVISE, ["crashes on empty input"]),
        ('{"verdict": "APPROVE or REVISE", "points": []}', None, []),  # the template, echoed
        ('<think>I will say {"verdict": "APPROVE"}', None, []),  # thinking that never ended
        ("Verdict: APPROVE, I think\n</think>\nDecision: Reject\n\nNits:\n- rename x", REVISE, ["rename x"]),
    ],
)
def test_verdicts_in_any_shape(text: str, verdict: str | None, points: list[str]) -> None:
    parsed = parse_reply(text)
    assert parsed.verdict == verdict
    assert [point.text for point in parsed.review.points] == points


def test_points_that_name_different_things_are_different_points() -> None:
    points = [
        Point("handle negative numbers in parse_a"),
        Point("handle negative numbers in parse_b"),
        Point("Requirement 2 is not implemented yet."),
        Point("Requirement 3 is not implemented yet."),
        Point("handle negative numbers in parse_a!"),
    ]
    assert [point.text for point in distinct_points(points)] == [point.text for point in points[:4]]


def test_approve_with_a_failing_test_becomes_revise(fake_server, tmp_path: Path) -> None:
    start_workspace(
        tmp_path, "import script\n\n\ndef test_req1():\n    assert script.count_words('a b') == 3\n"
    )
    (tmp_path / "plan.md").write_text(PLAN)
    covered = [{"requirement": n, "status": "met", "evidence": "ok"} for n in (1, 2, 3)]
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", reply("APPROVE", coverage=covered))
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="always", run_timeout=10)
    text = (tmp_path / "review_v1.md").read_text()
    assert text.startswith("Verdict: REVISE\n")
    assert "changed the verdict from APPROVE to REVISE: 1 of 1 acceptance tests fail" in text
    assert any("APPROVE to REVISE" in shown for shown in ui.texts("markdown"))  # in the review panel
    assert "Enter accepts" not in ui.texts("ask")[-1]


@pytest.mark.parametrize(
    ("verdict", "coverage", "points", "problems", "expected"),
    [
        ("APPROVE", ["met", "missing"], [], [], REVISE),
        ("APPROVE", ["met", "met"], [], ["the script crashed with IndexError"], REVISE),
        ("APPROVE", ["met", "partly"], [], [], APPROVE),
        ("REVISE", ["met", "met"], [], [], APPROVE),
        ("REVISE", ["met", "met"], ["a point"], [], REVISE),
        ("REVISE", ["met", "met"], [], ["2 of 5 acceptance tests fail"], REVISE),
    ],
)
def test_consistency_rules(verdict, coverage, points, problems, expected) -> None:
    rows = [{"requirement": n, "status": s, "evidence": "e"} for n, s in enumerate(coverage, start=1)]
    review = parse_review(reply(verdict, coverage=rows, points=[{"issue": p} for p in points]), ["1", "2"])
    assert enforce_consistency(review, problems).verdict == expected
    assert (verdict != expected) == any("changed the verdict" in note for note in review.notes)


@pytest.mark.parametrize(
    ("outcomes", "expected", "row"),
    [
        ([], REVISE, "| 2 | not assessed |  |"),
        ([("test_req2_counts_lines", "passed")], APPROVE, "| 2 | met | not assessed by the Reviewer; "),
        ([("test_req2_a", "passed"), ("test_req2_b", "failed")], REVISE, "| 2 | not assessed |  |"),
        ([("test_counts_lines", "passed")], REVISE, "| 2 | not assessed |  |"),
    ],
)
def test_approve_needs_every_requirement_assessed_by_the_reviewer_or_its_test(
    outcomes, expected, row
) -> None:
    covered = [{"requirement": 1, "status": "met", "evidence": "count_words"}]
    review = parse_review(reply("APPROVE", coverage=covered), ["1", "2"])
    tests = [TestOutcome(name, result) for name, result in outcomes]
    assert enforce_consistency(review, [], tests).verdict == expected
    assert row in review.render()
    if expected == REVISE:
        assert "changed the verdict from APPROVE to REVISE: requirement 2 not assessed" in review.notes[-1]


@pytest.mark.parametrize(
    ("again", "verdict", "note"),
    [
        (
            '{"verdict": "REVISE"}',
            REVISE,
            "The Reviewer's review gave no verdict; asked again, it answered REVISE.",
        ),
        (
            "I would rather not say.",
            REVISE,
            "The Reviewer gave no verdict, even when asked again; counted as REVISE.",
        ),
    ],
)
def test_a_review_without_a_verdict_asks_the_reviewer_once_for_it(
    fake_server, tmp_path: Path, again: str, verdict: str, note: str
) -> None:
    start_workspace(tmp_path)
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", NO_VERDICT, again)
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    first, second = fake_server.requests_for("reviewer")
    question = second.messages[-1]["content"]
    assert "Reply with the verdict alone" in question and len(question) < 400  # brief
    assert second.messages[-2]["content"] == NO_VERDICT  # the same Reviewer, its review in mind
    text = (tmp_path / "review_v1.md").read_text()
    assert text.startswith(f"Verdict: {verdict}\n") and f"> {note}" in text
    assert sum(shown.count(note) for shown in ui.texts("markdown") + ui.texts("warn")) == 1  # said once
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(entry["role"], entry["reply"]) for entry in log[1:]] == [
        ("reviewer", NO_VERDICT),
        ("reviewer", again),
    ]


@pytest.mark.parametrize(
    ("answer", "verdict", "said"),
    [
        ("R2: met — `count_lines` returns len(text.splitlines())", APPROVE, "asked, it answered: 2 met."),
        ("R2: missing — there is no count_lines", REVISE, "asked, it answered: 2 missing."),
        ("I'm not sure; I would need to run it.", APPROVE, "asked, it still did not say."),
    ],
)
def test_an_approval_leaving_a_requirement_unassessed_asks_the_reviewer_for_that_row(
    fake_server, tmp_path: Path, answer: str, verdict: str, said: str
) -> None:
    # Issue 22: this used to be REVISE at once (a version spent on a question the Reviewer can answer).
    start_workspace(tmp_path)
    (tmp_path / "plan.md").write_text(PLAN)
    covered = [{"requirement": n, "status": "met", "evidence": "count_words"} for n in (1, 3)]
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", reply("APPROVE", coverage=covered), answer)
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    asked = fake_server.requests_for("reviewer")[1].messages[-1]["content"]
    assert "does not assess requirement 2" in asked and "R2: met, partly or missing" in asked
    assert len(asked) < 400 and not fake_server.requests_for("coder")[1:]  # brief, the same version
    text = (tmp_path / "review_v1.md").read_text()
    assert text.startswith(f"Verdict: {verdict}\n")
    assert f"> The Reviewer's approval did not assess requirement 2; {said}" in text
    if "missing" in answer:
        assert "1. [missing] requirement 2 is missing: there is no count_lines" in text
    if "not sure" in answer:
        doubt = "the Reviewer approved but did not say whether requirement 2 is met, even when asked"
        assert f"> Approval in doubt: {doubt}." in text and "changed the verdict" not in text
        assert ui.texts("ask")[-1].startswith(f"Approval of script_v1.py in doubt: {doubt}. Enter accepts")


@pytest.mark.parametrize(
    ("test_name", "outcome"), [("test_req1_counts_words", "accepted"), ("test_count", "stopped")]
)
def test_a_markdown_approval_stands_when_its_test_assesses_the_requirement(
    fake_server, tmp_path: Path, test_name: str, outcome: str
) -> None:
    start_workspace(
        tmp_path, f"import script\n\n\ndef {test_name}():\n    assert script.count_words('a b') == 2\n"
    )
    fake_server.enqueue("coder", good_script(1))
    fake_server.enqueue("reviewer", MARKDOWN_APPROVE)  # no coverage, praise, three optional points
    fake_server.enqueue("reviewer", "R1: met — count_words splits on white space")  # asked for row 1
    answer = "" if outcome == "accepted" else "/stop"  # Enter accepts an approved version
    result, version, ui = run_loop(fake_server, tmp_path, [answer], execute="always", run_timeout=10)
    assert (result, version) == (outcome, 1)
    text = (tmp_path / "review_v1.md").read_text()
    assert text.startswith("Verdict: APPROVE\n")
    if outcome == "accepted":
        assert f"| 1 | met | not assessed by the Reviewer; {test_name} passed |" in text
        assert len(fake_server.requests_for("reviewer")) == 1
    else:  # issue 22: the Reviewer is asked for the row (this used to be REVISE with nothing to fix)
        assert "| 1 | met | count_words splits on white space |" in text
        assert "> The Reviewer's approval did not assess requirement 1; asked, it answered: 1 met." in text
    assert "Clean separation" not in text and "3. [style] `main()` has no docstring" in text


@pytest.mark.parametrize(
    ("feedback", "verdict", "shown"),
    [
        (
            {"status": "not done", "evidence": "main has no --top option"},
            REVISE,
            "not done: main has no --top option",
        ),
        ({"status": "done", "evidence": "main: args.top"}, APPROVE, "done: main: args.top"),
        (None, APPROVE, "not assessed"),  # said, but no reason to refuse the approval
    ],
)
def test_the_reviewer_checks_the_managers_feedback(
    fake_server, tmp_path: Path, feedback: dict | None, verdict: str, shown: str
) -> None:
    start_workspace(tmp_path)
    covered = [{"requirement": 1, "status": "met", "evidence": "count_words"}]
    extra = {"feedback": feedback} if feedback else {}
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue(
        "reviewer", reply(points=[{"issue": "x"}]), reply("APPROVE", coverage=covered, **extra)
    )
    fake_server.enqueue("reviewer", "I can't tell from the script alone.")  # asked about the feedback
    _, _, ui = run_loop(fake_server, tmp_path, ["Please add a --top N option", "/stop"])
    first, second = (request.text for request in fake_server.requests_for("reviewer")[:2])
    assert "# The Manager's feedback on version 1 (feedback_v1.md)" in second
    assert "Please add a --top N option" in second and "# The Manager's feedback on" not in first
    text = (tmp_path / "review_v2.md").read_text()
    assert text.startswith(f"Verdict: {verdict}\n")
    assert f"## The Manager's feedback\n\n{shown}\n" in text
    if verdict == REVISE:
        assert f"from APPROVE to REVISE: the Manager's feedback {shown.split(':')[0]}." in text
    assert "did not say whether the Manager's feedback" not in text.split("## The Manager's feedback")[0]
    if feedback is None:  # issue 22: asked about the feedback; still unsaid, the approval is in doubt
        assert "does not assess the Manager's feedback" in fake_server.requests_for("reviewer")[2].text
        doubt = "the Reviewer did not say whether your feedback is done, even when asked"
        assert f"> Approval in doubt: {doubt}." in text
        assert ui.texts("ask")[-1].startswith(f"Approval of script_v2.py in doubt: {doubt}.")
    else:
        assert len(fake_server.requests_for("reviewer")) == 2
    assert read_review(text).feedback == FeedbackCheck(
        shown.split(": ")[0], (feedback or {}).get("evidence", "")
    )


def test_extra_words_end_the_reviewers_task(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    (tmp_path / "script_v1.py").write_text("print(1)\n")
    fake_server.enqueue("reviewer", reply(points=[{"issue": "x"}]), reply(points=[{"issue": "x"}]))
    for words in ("", "EXTRA-MARKER: script_v1.py is unchanged."):
        in_session(
            fake_server,
            tmp_path,
            RecordingUI(),
            Settings(),
            lambda ctx, w=words: review_version(ctx, 1, extra=w),
        )
    plain, told = (request.messages[-1]["content"] for request in fake_server.requests_for("reviewer"))
    assert told == plain.rstrip() + "\n\nEXTRA-MARKER: script_v1.py is unchanged.\n"


def test_the_reviewer_sees_the_previous_review_and_open_points_need_evidence(
    fake_server, tmp_path: Path
) -> None:
    start_workspace(tmp_path)
    (tmp_path / "plan.md").write_text(PLAN)
    first = reply(points=[{"category": "failing", "where": "main", "issue": "UNIQUE-FIRST-POINT crashes"}])
    second = reply(
        # Issue 22: a required point (an optional [style] one alone would be a suggestion, not a REVISE).
        points=[{"category": "robustness", "where": "main", "issue": "main shadows the builtin input"}],
        previous_points=[
            {"point": 1, "status": "open"},
            {"point": 2, "status": "fixed", "evidence": "line 3"},
        ],
    )
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", first, second)
    run_loop(fake_server, tmp_path, ["", "/stop"])
    prompt = fake_server.requests_for("reviewer")[1].text
    assert "# The previous review (review_v1.md)" in prompt and "UNIQUE-FIRST-POINT" in prompt
    assert "UNIQUE-FIRST-POINT" not in fake_server.requests_for("reviewer")[0].text
    text = (tmp_path / "review_v2.md").read_text()
    assert "- point 1: unclear: the Reviewer called it open but named no evidence" in text
    assert "- point 2: fixed: line 3" in text


def test_two_identical_scripts_ask_whether_to_go_on(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    same = "```python\ndef f():\n    return 1\n```"
    reformatted = "```python\n# a new comment\ndef f():\n\n    return 1   # same\n```"
    fake_server.enqueue("coder", same, reformatted, reformatted)  # the Coder may be asked once more
    fake_server.enqueue("reviewer", reply(points=[{"issue": "first"}]), reply(points=[{"issue": "second"}]))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["", "n"])
    assert (outcome, version) == ("stalled", 2)
    assert "No progress: script_v2.py is the same as script_v1.py apart from white space and comments." in (
        ui.texts("warn")
    )
    assert ui.texts("ask")[-1] == "Go on with another version anyway? [y/N]"


def test_the_same_points_three_times_stop_the_loop_without_a_person(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    stuck = reply(points=[{"category": "failing", "where": "main", "issue": "crashes on empty input"}])
    fake_server.enqueue("coder", script(1), script(2), script(3))
    fake_server.enqueue("reviewer", stuck, stuck, stuck)
    outcome, version, ui = run_loop(fake_server, tmp_path, ["", ""], interactive=False)
    assert (outcome, version) == ("stalled", 3)
    assert (
        ui.texts("warn")[-1]
        == "No progress for 3 versions: no previous point fixed, requirement 1 still not assessed."
    )
    assert "Go on with another version anyway? [y/N]" not in ui.texts("ask")


def test_points_staying_open_needs_three_versions_of_the_same_points() -> None:
    review = Review(REVISE, points=[Point("crashes on empty input", "failing", "main")])
    other = Review(REVISE, points=[Point("rename x", "style", "main")])

    def stalls(*reviews: Review) -> bool:
        versions = [VersionEvidence(v, r) for v, r in enumerate(reviews, start=1)]
        return stall_reason(len(reviews), ("a = 1\n", "a = 2\n"), versions) is not None

    assert stalls(review, review, review)
    assert not stalls(review, review)
    assert not stalls(other, review, review, review)  # v2 no longer raised "rename x": it was fixed


def test_same_code_ignores_whitespace_and_comments_only() -> None:
    assert same_code("def f():\n    return 1\n", "# hi\ndef f():  # x\n\n    return 1\n")
    assert not same_code("def f():\n    return 1\n", "def f():\n    return 2\n")
    assert same_code("def f(:\n  x  # c\n", "def f(:\n x\n")  # does not parse: compared line by line


def test_diff_summary_counts_lines_and_names_changed_functions() -> None:
    old = "def main():\n    return 1\n\n\ndef parse_args():\n    pass\n\n\n"
    old += "def keep():\n    pass\n"
    new = "def main():\n    return 2\n\n\ndef parse_args():\n    x = 1\n    return x\n\n\n"
    new += "def keep():\n    pass\n"
    assert diff_summary(old, new) == "+3 −2 lines; changed: main, parse_args"
