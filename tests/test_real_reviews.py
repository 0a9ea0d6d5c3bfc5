"""Reviews shaped the way real models write them (tests/replies/review/): each is read as a person
would read it: the verdict, every real point once, no praise, the coverage given, and "cut off" only
when the model said it stopped at its token limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drive import run_main
from scripted import PLAN_1, TESTS, good_script, script

from iterative_coder.review import parse_reply

CASES = Path(__file__).parent / "replies" / "review"
NAMES = sorted(path.stem for path in CASES.glob("*.json"))


def test_the_corpus_is_there() -> None:
    assert len(NAMES) >= 17


@pytest.mark.parametrize("name", NAMES)
def test_a_real_review_reads_as_a_person_reads_it(name: str) -> None:
    expected = json.loads((CASES / f"{name}.json").read_text(encoding="utf-8"))
    reply = (CASES / f"{name}.txt").read_text(encoding="utf-8")
    parsed = parse_reply(reply, expected.get("requirements"), cut_off=expected["finish_reason"] == "length")
    review = parsed.review
    assert parsed.verdict == expected["verdict"]
    shown = review.render()
    points = [line for line in shown.split("## Points", 1)[1].splitlines() if line[:1].isdigit()]
    if "points" in expected:
        for wanted in expected["points"]:
            assert sum(wanted in point for point in points) == 1, (wanted, points)
        assert len(points) == len(expected["points"]), points
    for praise in expected.get("not_points", []):
        assert not any(praise in point for point in points), (praise, points)
    statuses = {row.requirement: row.status for row in review.coverage}
    assert {number: statuses.get(number) for number in expected.get("coverage", {})} == expected.get(
        "coverage", {}
    )
    evidence = {row.requirement: row.evidence for row in review.coverage}
    for number, reason in expected.get("evidence", {}).items():
        assert reason in evidence[number], (reason, evidence)
    cut_off = any("cut off" in note for note in review.notes)
    assert cut_off == (expected["finish_reason"] == "length") == expected.get("cut_off", False)


MARKDOWN_REVISE = """**Verdict: REVISE**

### Strengths
- `count_words` is short and clear.

### Issues
1. **[failing] `main`** — without a file argument it crashes with `IndexError`.
2. **[missing] `count_lines`** — requirement 2 is not implemented; `test_req2_counts_lines` fails.
"""


def test_the_markdown_review_session_is_accepted_at_the_approved_version(
    fake_server, model_env: dict[str, str], tmp_path: Path
) -> None:
    plan = PLAN_1.replace(
        "2. The program prints the count for the file given as its argument.",
        "2. `count_lines(text)` returns the number of lines.",
    )
    fake_server.enqueue("planner", plan)
    fake_server.enqueue("tester", TESTS)  # test_req1_counts_words, test_req2_counts_lines
    fake_server.enqueue("coder", script(1), good_script(2))
    # v2's review: Markdown with a bold verdict, praise and optional nits, and no coverage at all: the
    # passing tests named after the two requirements assess them.
    fake_server.enqueue("reviewer", MARKDOWN_REVISE, (CASES / "01-bold-verdict-strengths.txt").read_text())
    args = ["--workspace", "ws", "--task", "count words and lines", "--yes", "--execute", "always", "--json"]
    result = run_main(args, tmp_path, model_env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["stop_reason"] == "accepted" and summary["final_script"].endswith("script_v2.py")
    assert [v["verdict"] for v in summary["versions"]] == ["REVISE", "APPROVE"]
    ws = tmp_path / "ws"
    first, second = ((ws / f"review_v{v}.md").read_text() for v in (1, 2))
    assert first.startswith("Verdict: REVISE\n") and "1. [failing] `main` — without a file argument" in first
    assert "count_words` is short" not in first
    assert second.startswith("Verdict: APPROVE\n")
    assert "| 2 | met | not assessed by the Reviewer; test_req2_counts_lines passed |" in second
    assert "1. [robustness] `count_file` reads the whole file into memory" in second
    assert "Clean separation" not in second and "3. [style] `main()` has no docstring" in second
