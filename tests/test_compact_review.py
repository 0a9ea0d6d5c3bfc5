"""Compact reviews (issue 27): the Reviewer writes only what is new, and review_vN.md, the stall rule
and approvals still see the whole review, each carried row saying where it came from. A reply in the
full format, from an older model or against an old workspace's review, is read as before."""

from __future__ import annotations

import json
from pathlib import Path

from drive import run_loop
from fake_openai import FakeOpenAIServer
from scripted import script

from iterative_coder.compact_review import Baseline, read_reviewer_reply
from iterative_coder.convergence import VersionEvidence, made_progress
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.records.review import REVISE, Coverage, Point, Review, read_review
from iterative_coder.review import parse_reply
from iterative_coder.workspace import Workspace

REQUIREMENTS = ["1", "2", "3"]
PLAN_TEXT = (
    "# Word counter\n\n## Requirements\n1. `count_words(text)` counts words.\n"
    "2. `count_lines(text)` counts lines.\n3. `main()` prints both for a file.\n"
)
CRASH = "main() crashes with IndexError when no file is given"
LINES = "count_lines is missing although requirement 2 asks for it"


def previous_review() -> Review:
    """A review of version 1 as the tool saved it."""
    return Review(
        verdict=REVISE,
        coverage=[
            Coverage("1", "met", "test_req1_counts_words passed"),
            Coverage("2", "missing", "no count_lines"),
            Coverage("3", "partly", "main() reads sys.argv[1] unchecked"),
        ],
        points=[Point(CRASH, "failing", "main"), Point(LINES, "missing", "count_lines")],
    )


def compact(**fields: object) -> str:
    """A compact reply the way models write JSON: prose before it, indented."""
    return "Here is my review.\n\n```json\n" + json.dumps({"verdict": REVISE, **fields}, indent=2) + "\n```\n"


def read(reply: str, failing: tuple[str, ...] = ()) -> Review:
    baseline = Baseline(previous_review(), "review_v1.md", failing)
    return read_reviewer_reply(reply, REQUIREMENTS, False, baseline).review


def test_rows_left_out_are_carried_forward_saying_from_where_and_a_given_row_wins() -> None:
    review = read(compact(coverage=[{"requirement": 2, "status": "met", "evidence": "count_lines()"}]))
    assert [(row.requirement, row.status) for row in review.coverage] == [
        ("1", "met"),
        ("2", "met"),
        ("3", "partly"),
    ]
    assert review.coverage[0].evidence == "carried from review_v1.md: test_req1_counts_words passed"
    assert review.coverage[1].evidence == "count_lines()"
    again = Baseline(review, "review_v2.md")
    later = read_reviewer_reply(compact(), REQUIREMENTS, False, again).review
    assert (
        later.coverage[0].evidence == "carried from review_v1.md: test_req1_counts_words passed"
    )  # not nested
    assert later.coverage[1].evidence == "carried from review_v2.md: count_lines()"


def test_an_open_point_keeps_its_words_and_the_points_not_listed_are_fixed() -> None:
    review = read(
        compact(
            open_points=[{"point": 2, "evidence": "still no def count_lines"}],
            points=[{"category": "style", "where": "main", "issue": "print the counts on one line"}],
        )
    )
    assert [(item.number, item.status) for item in review.earlier] == [(1, "fixed"), (2, "open")]
    assert review.earlier[1].evidence == "still no def count_lines"
    assert [point.text for point in review.points] == [LINES, "print the counts on one line"]
    rendered = review.render()
    assert "- point 1: fixed: not listed as open by the Reviewer" in rendered
    assert "1. [missing] (count_lines) " + LINES in rendered


def test_a_point_raised_again_in_new_words_is_open_not_fixed_so_the_stall_rule_sees_it() -> None:
    again = compact(points=[{"category": "failing", "where": "main", "issue": CRASH + "."}])
    review = read(again)
    assert [(item.number, item.status) for item in review.earlier] == [(1, "open"), (2, "fixed")]
    assert [point.text for point in review.points] == [CRASH + "."]  # once, not carried a second time
    stuck = read(
        compact(open_points=[{"point": 1, "evidence": "sys.argv[1]"}, {"point": 2, "evidence": "x"}])
    )
    before = VersionEvidence(1, previous_review())
    assert not made_progress(VersionEvidence(2, stuck), before)
    assert made_progress(VersionEvidence(2, review), before)  # point 2 was fixed


def test_a_carried_met_row_whose_test_now_fails_is_partly() -> None:
    review = read(compact(), failing=("acceptance_test.py::test_req1_counts_words",))
    assert review.coverage[0] == Coverage(
        "1",
        "partly",
        "acceptance_test.py::test_req1_counts_words failed in this run (review_v1.md had it met)",
    )


def test_a_full_format_reply_and_a_text_review_are_read_exactly_as_before() -> None:
    full = json.dumps(
        {
            "verdict": "REVISE",
            "coverage": [{"requirement": 1, "status": "met", "evidence": "count_words"}],
            "previous_points": [{"point": 1, "status": "fixed", "evidence": "main checks argv"}],
            "points": [{"category": "missing", "where": "count_lines", "issue": LINES}],
        }
    )
    text = "**Verdict: REVISE**\n\n## Issues\n- count_lines is still missing.\n"
    for reply in (full, text):
        assert read(reply) == parse_reply(reply, REQUIREMENTS).review
    first = Baseline(None, "review_v0.md")  # version 1: nothing to carry
    assert read_reviewer_reply(compact(), REQUIREMENTS, False, first) == parse_reply(compact(), REQUIREMENTS)


def _old_workspace(root: Path) -> None:
    """A workspace an older iterative_coder left at version 1: its review_v1.md has no record."""
    workspace = Workspace(root)
    workspace.write(TASK, "count words and lines\n")
    workspace.write(PLAN, PLAN_TEXT)
    workspace.write(ACCEPTANCE, "# No automatic checks.\n")
    workspace.write("script_v1.py", "import sys\n\n\ndef count_words(text):\n    return len(text.split())\n")
    workspace.write(
        "review_v1.md",
        "Verdict: REVISE\n\n## Coverage\n\n| requirement | status | evidence |\n|---|---|---|\n"
        "| 1 | met | count_words |\n| 2 | missing | no count_lines |\n| 3 | partly | main unchecked |\n\n"
        "## Points\n\n1. [missing] (count_lines) " + LINES + "\n",
    )


def test_compact_reviews_on_an_old_workspace_give_whole_reviews_and_an_approval(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    _old_workspace(tmp_path)
    assert read_review((tmp_path / "review_v1.md").read_text()).parsed_from == "legacy file"
    fake_server.enqueue("coder", script(2), script(3))
    fake_server.enqueue(
        "reviewer",
        compact(
            coverage=[{"requirement": 2, "status": "met", "evidence": "count_lines()"}],
            points=[
                {"category": "robustness", "where": "main", "issue": "main() reads sys.argv[1] unchecked"}
            ],
        ),
        json.dumps(
            {"verdict": "APPROVE", "coverage": [{"requirement": 3, "status": "met", "evidence": "main()"}]}
        ),
    )
    outcome, version, _ui = run_loop(fake_server, tmp_path, [""] * 4, max_iterations=3, interactive=False)
    assert (outcome, version) == ("accepted", 3)
    second = read_review((tmp_path / "review_v2.md").read_text())
    assert [(row.status, row.evidence) for row in second.coverage] == [
        ("met", "carried from review_v1.md: count_words"),
        ("met", "count_lines()"),
        ("partly", "carried from review_v1.md: main unchecked"),
    ]
    assert [(item.number, item.status) for item in second.earlier] == [(1, "fixed")]
    third = read_review((tmp_path / "review_v3.md").read_text())
    assert third.approved and all(row.status == "met" for row in third.coverage)
    prompt = fake_server.requests_for("reviewer")[1].text  # the Reviewer of v3 sees the whole review_v2.md
    assert "carried from review_v1.md: main unchecked" in prompt and '"open_points"' in prompt
