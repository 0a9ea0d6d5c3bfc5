"""End to end: the real CLI in a pseudo-terminal, the real OpenAI client, the fake server."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FAKE_KEY
from drive import run_main
from fake_openai import FakeOpenAIServer
from scripted import PLAN_1, PLAN_2, TESTS, good_script, review, script


def test_plan_iterate_stop_resume_finish(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path, model_env: dict[str, str]
) -> None:
    fake_server.enqueue("planner", PLAN_1, PLAN_2)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", script(1), script(2), script(3, "\n\ndef top(n):\n    return n"))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"), review(3, "REVISE"))

    cli = run_cli("--workspace", "ws", "--max-iterations", "5")
    cli.expect("What python creation would you like? Type below:")
    cli.answer("   ")  # an empty request is asked again
    cli.expect("What python creation would you like? Type below:")
    cli.answer("A tool that counts words in a file")
    cli.expect("Word counter")
    cli.expect('Reply "approve" to accept this plan')
    cli.answer("Also count lines, please")
    cli.expect("count_lines(text)")
    cli.expect('Reply "approve" to accept this plan')
    cli.answer("approve")
    cli.expect("Plan approved and saved")
    cli.expect("test_req2_counts_lines")
    cli.expect('Reply "approve" to accept these acceptance tests')
    cli.answer("approve")
    cli.expect("Acceptance tests saved")
    cli.expect("Run the generated code? [y/N/a(lways)]")
    cli.answer("a")
    cli.expect("tests 1/2 passed · crashed with IndexError")
    cli.expect("Your turn on version 1")
    cli.answer("")
    cli.expect("Your turn on version 2")
    cli.answer("Please add a --top N option")
    cli.expect("Feedback saved")
    cli.expect("Your turn on version 3")
    cli.answer("/stop")
    cli.expect("Resume with: python -m iterative_coder --resume ws")
    assert cli.wait_exit() == 0

    ws = tmp_path / "ws"
    assert (ws / "task.md").read_text() == "A tool that counts words in a file\n"
    plan = (ws / "plan.md").read_text()
    assert "count_lines(text)" in plan and "Do you approve" not in plan
    for version in (1, 2, 3):
        assert f"# marker-script-v{version}" in (ws / f"script_v{version}.py").read_text()
        review_text = (ws / f"review_v{version}.md").read_text()
        assert review_text.startswith("Verdict: REVISE\n")
        assert f"REVIEW-MARKER-{version}" in review_text
    assert (ws / "feedback_v2.md").read_text() == "Please add a --top N option\n"
    assert not (ws / "feedback_v1.md").exists()
    assert not (ws / "script_v4.py").exists()

    # The Planner saw the Manager's change; the Coder's prompt for v3 holds only the latest files.
    assert "Also count lines, please" in fake_server.requests_for("planner")[1].text
    coder_v3 = fake_server.requests_for("coder")[2].text
    assert "Please add a --top N option" in coder_v3
    assert "marker-script-v2" in coder_v3 and "REVIEW-MARKER-2" in coder_v3
    assert "marker-script-v1" not in coder_v3 and "REVIEW-MARKER-1" not in coder_v3
    assert "count_lines(text)" in coder_v3  # the approved plan
    reviewer_v3 = fake_server.requests_for("reviewer")[2].text
    assert "marker-script-v3" in reviewer_v3 and "marker-script-v2" not in reviewer_v3

    # Every version ran in its own folder against the approved tests; the Reviewer saw the result
    # and the Coder saw the failing test of the version before.
    assert "def test_req2_counts_lines" in (ws / "acceptance_test.py").read_text()
    run_v1 = (ws / "run_v1.md").read_text()
    assert "Summary: tests 1/2 passed · crashed with IndexError" in run_v1
    assert "| test_req2_counts_lines | failed |" in run_v1
    assert "IndexError" in run_v1  # main() without an argument
    assert (ws / "runs" / "v1" / "demo-1" / "script.py").read_text() == (ws / "script_v1.py").read_text()
    assert "Summary: tests 1/2 passed" in fake_server.requests_for("reviewer")[0].text
    assert "test_req2_counts_lines (failed)" in coder_v3
    assert "def test_req1_counts_words" in coder_v3  # the tests are part of the plan

    # Resume: continues at the Manager's turn on version 3, then v4 is approved and accepted.
    fake_server.enqueue("coder", good_script(4))
    fake_server.enqueue("reviewer", review(4, "APPROVE"))
    cli = run_cli("--resume", "ws")
    cli.expect("Resuming at version 3")
    cli.expect("Your turn on version 3")
    cli.answer("")
    cli.expect("Run the generated code? [y/N/a(lways)]")  # consent is asked again in a new process
    cli.answer("y")
    cli.expect("The Reviewer approves script_v4.py")
    cli.answer("")
    cli.expect("Accepted script_v4.py as final")
    assert cli.wait_exit() == 0
    assert "Summary" in cli.output and "Used: " in cli.output
    assert "Models: gpt-4o-mini (planner, tester, coder, reviewer)" in cli.output

    assert (ws / "review_v4.md").read_text().startswith("Verdict: APPROVE\n")
    session = json.loads((ws / "session.json").read_text())
    assert session["finished"] == {"version": 4, "reason": "accepted"}
    roles = [(c["role"], c["version"]) for c in session["calls"]]
    assert roles == [("planner", 0), ("planner", 0), ("tester", 0)] + [
        (role, v) for v in (1, 2, 3, 4) for role in ("coder", "reviewer")
    ]
    assert all(c["prompt_tokens"] > 0 for c in session["calls"])
    # The Reviewer's replies are capped and asked for in JSON mode; every reply is kept word for word.
    reviewer_body = fake_server.requests_for("reviewer")[0].body
    assert reviewer_body["max_tokens"] == 2000 and reviewer_body["response_format"] == {"type": "json_object"}
    assert "max_tokens" not in fake_server.requests_for("coder")[0].body
    log = [json.loads(line) for line in (ws / "log.jsonl").read_text().splitlines()]
    assert [(entry["role"], entry["version"]) for entry in log] == roles
    assert log[-1]["reply"] == review(4, "APPROVE")
    assert "## Coverage" in (ws / "review_v1.md").read_text()
    assert "# The previous review (review_v2.md)" in fake_server.requests_for("reviewer")[2].text
    assert not any(fake_server.remaining().values())
    # The key reached no file.
    for path in ws.rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace")

    # A finished session says so and changes nothing.
    finished = run_main(["--resume", "ws"], tmp_path, model_env)
    assert "This session is finished" in finished.stdout
    assert finished.returncode == 0
