"""The iteration loop without a terminal: a recording UI, the real client, the fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from conftest import FAKE_KEY
from fake_openai import FakeOpenAIServer
from recording_ui import RecordingUI
from test_e2e import review, script

from iterative_coder.agents import AgentFactory, Manager
from iterative_coder.config import ModelEntry
from iterative_coder.loop import IterationLoop, LoopSettings
from iterative_coder.models import create_client
from iterative_coder.workspace import ACCEPTANCE, PLAN, TASK, SessionLog, Workspace


def run_loop(
    server: FakeOpenAIServer,
    root: Path,
    answers: Sequence[str],
    max_iterations: int = 5,
    execute: str = "never",
    run_timeout: float = 30.0,
    interactive: bool = True,
) -> tuple[str, int, RecordingUI]:
    workspace = Workspace(root)
    if not workspace.exists(PLAN):
        workspace.write(TASK, "count words\n")
        workspace.write(PLAN, "# Word counter\n\n## Requirements\n1. count_words(text) counts words.\n")
        workspace.write(ACCEPTANCE, "# No automatic checks.\n")
    session = SessionLog.load(workspace)
    ui = RecordingUI(answers)

    async def go() -> tuple[str, int]:
        client = create_client(
            ModelEntry(model="gpt-4o-mini", api_key=FAKE_KEY, base_url=server.base_url), stream=True
        )
        try:
            agents = AgentFactory(client, model_name="gpt-4o-mini", stream=True)
            loop = IterationLoop(
                workspace,
                session,
                agents,
                Manager(ui),
                ui,
                LoopSettings(max_iterations, execute, run_timeout, interactive),
            )
            return await loop.run(workspace.resume_point(session))
        finally:
            await client.close()

    outcome, version = asyncio.run(go())
    return outcome, version, ui


def test_the_longest_parsing_block_is_taken_and_the_screen_says_so(fake_server, tmp_path: Path) -> None:
    reply = "Usage:\n```bash\npython script.py file.txt\n```\nA helper:\n```python\nx = 1\n```\n" + script(1)
    fake_server.enqueue("coder", reply)
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["/stop"])
    assert (outcome, version) == ("stopped", 1)
    assert "# marker-script-v1" in (tmp_path / "script_v1.py").read_text()
    assert any("2 code blocks; took block 2" in text for text in ui.texts("info"))
    assert "marker-script-v1" in ui.streamed  # the reply was streamed to the screen as it came


def test_no_code_asks_again_twice_then_stops_without_writing(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", "I will write it soon.", "Sure!", "Here you go.")
    outcome, version, ui = run_loop(fake_server, tmp_path, [])
    assert (outcome, version) == ("no_code", 0)
    assert not (tmp_path / "script_v1.py").exists()
    requests = fake_server.requests_for("coder")
    assert len(requests) == 3
    assert "held no Python code" not in requests[0].text and "held no Python code" in requests[1].text
    assert "The Coder's reply came without Python code; asking again (2/3)." in ui.texts("warn")
    assert (
        ui.texts("warn")[-1]
        == "The Coder's replies came without Python code 3 times; script_v1.py was not written."
    )


def test_a_script_that_does_not_parse_is_kept_and_the_reviewer_is_told(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", "```python\ndef broken(:\n    pass\n```")
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    assert outcome == "stopped"
    assert (tmp_path / "script_v1.py").read_text() == "def broken(:\n    pass\n"
    assert "SyntaxError at line 1" in fake_server.requests_for("reviewer")[0].text
    assert any("does not parse (line 1" in text for text in ui.texts("warn"))


def test_manager_commands_do_not_become_feedback(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    outcome, version, ui = run_loop(
        fake_server, tmp_path, ["/diff", "/frobnicate", "/help", "", "/diff", "/stop"]
    )
    assert (outcome, version) == ("stopped", 2)
    assert not list(tmp_path.glob("feedback_*"))
    infos = ui.texts("info")
    assert "This is the first version; there is nothing to compare it with." in infos
    assert any(text.startswith("Unknown command /frobnicate.") for text in ui.texts("warn"))
    assert ui.texts("diff") == ["script_v1.py -> script_v2.py"]


def test_iteration_limit_ends_the_loop_and_keeps_feedback_for_later(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    outcome, version, ui = run_loop(fake_server, tmp_path, ["handle empty files"], max_iterations=1)
    assert (outcome, version) == ("limit", 1)
    assert "last iteration (1)" in ui.texts("ask")[-1]
    assert (tmp_path / "feedback_v1.md").read_text() == "handle empty files\n"
    assert not (tmp_path / "script_v2.py").exists()

    # A later run with a higher limit writes v2 from that feedback.
    fake_server.enqueue("coder", script(2))
    fake_server.enqueue("reviewer", review(2, "APPROVE"))
    outcome, version, _ = run_loop(fake_server, tmp_path, [""], max_iterations=2)
    assert (outcome, version) == ("accepted", 2)
    assert "handle empty files" in fake_server.requests_for("coder")[1].text


def test_a_reply_without_verdict_counts_as_revise(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", "Looks mostly fine.\n1. Add docstrings.")
    outcome, _, ui = run_loop(fake_server, tmp_path, ["/stop"])
    review_text = (tmp_path / "review_v1.md").read_text()
    assert review_text.startswith(
        "Verdict: REVISE\n\n> The Reviewer gave no verdict line; counted as REVISE.\n"
    )
    assert "\n## Points\n\n1. [style] Add docstrings.\n" in review_text
    assert "The Reviewer gave no verdict line; counted as REVISE." in ui.texts("warn")
    assert "Enter accepts" not in ui.texts("ask")[-1]


def test_agents_see_files_the_person_edited(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    run_loop(fake_server, tmp_path, ["/stop"])
    (tmp_path / "plan.md").write_text("# Word counter\n\n1. EDITED-REQUIREMENT: count words per line.\n")
    (tmp_path / "script_v1.py").write_text("# EDITED-BY-HAND\nprint('hi')\n")
    fake_server.enqueue("coder", script(2))
    fake_server.enqueue("reviewer", review(2, "REVISE"))
    run_loop(fake_server, tmp_path, ["", "/stop"])
    coder_v2 = fake_server.requests_for("coder")[1].text
    assert "EDITED-REQUIREMENT" in coder_v2 and "EDITED-BY-HAND" in coder_v2
    assert "EDITED-REQUIREMENT" in fake_server.requests_for("reviewer")[1].text
