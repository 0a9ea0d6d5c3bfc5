"""What is typed before a question appears answers nothing: an Enter pressed while an agent works
cannot accept a version whose review is not on the screen yet."""

from __future__ import annotations

from conftest import WAIT
from fake_openai import FakeOpenAIServer, Fault
from scripted import PLAN_1, TESTS, good_script, review


def test_enter_pressed_while_the_reviewer_works_does_not_accept_the_version(
    fake_server: FakeOpenAIServer, run_cli
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", good_script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    paused = Fault("pause")
    fake_server.inject(paused, role="reviewer")
    cli = run_cli("--task", "count words", "--execute", "never")
    for _ in range(2):  # the plan, then the tests
        cli.expect('Reply "approve"')
        cli.answer("approve")
    try:
        assert paused.arrived.wait(WAIT), "the Reviewer's reply never started"
        cli.child.send("\r\r")  # impatient Enters, typed while the review is held half-way
    finally:
        paused.release.set()
    cli.expect("The Reviewer approves script_v1.py. Enter accepts it as final")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    assert "Stopped." in cli.output and "Accepted script_v1.py as final." not in cli.output
