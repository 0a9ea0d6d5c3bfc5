"""How a run ends, as a person or a script reads it: the --json object for every ending, the summary's
scripts and money, the resume hint at the iteration limit, and a session that never got started."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from drive import in_session, run_main, start_workspace
from fake_openai import FakeOpenAIServer
from recording_ui import RecordingUI
from scripted import review, script

from iterative_coder import cli, wiring
from iterative_coder.app import json_result, run_session, show_summary
from iterative_coder.endings import SessionEnd, outcome_without_session
from iterative_coder.names import SESSION, TASK
from iterative_coder.records.calls import CallRecord
from iterative_coder.session import SessionLog
from iterative_coder.settings import Settings
from iterative_coder.status import history, render_text
from iterative_coder.workspace import Workspace


@pytest.fixture
def in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cli.main in this process, in ``tmp_path``, with the keys left where the test put them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(wiring, "move_secrets_out_of_environ", dict)
    monkeypatch.setattr(wiring, "make_memory_private", lambda: None)
    for name in ("OAI_CONFIG_LIST", "ITERATIVE_CODER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_usage_errors_print_the_json_object_too(in_process: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = set(outcome_without_session(None, SessionEnd("usage")))
    assert cli.main(["--max-iterations", "0", "--json"]) == 2
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert set(data) == keys and data["exit_code"] == 2 and data["stop_reason"] == "usage"
    assert err == f"iterative_coder: error: {data['error']}\n" and "--max-iterations" in data["error"]
    assert cli.main(["--task", "x", "--from-version", "2", "--js"]) == 2  # argparse takes --js for --json
    data = json.loads(capsys.readouterr().out)
    assert data["workspace"] == "workspace" and "--from-version K goes with --resume DIR" in data["error"]
    assert cli.main(["--max-iterations", "0"]) == 2
    assert capsys.readouterr().out == ""  # without --json, stdout stays empty


def test_the_same_command_goes_on_with_a_session_that_never_got_past_its_request(
    fake_server: FakeOpenAIServer, in_process: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    ws = in_process / "workspace"
    ws.mkdir()
    (ws / TASK).write_text("count words\n")  # as the first model call, failing, left it
    SessionLog(Workspace(ws)).save()
    args = ["--yes", "--json", "--max-iterations", "1"]
    assert cli.main(["--task", "count lines", *args]) == 2
    out, err = capsys.readouterr()
    assert "holds a session that never got past its request, for another task ('count words')" in err
    assert "--resume workspace" in err and json.loads(out)["stop_reason"] == "workspace_unusable"
    assert sorted(p.name for p in ws.iterdir()) == [SESSION, TASK]

    # Going on (not refused): a budget too small for any call ends it at once, resumable.
    assert cli.main(["--task", "count words", *args, "--budget-tokens", "1"]) == 1
    out, err = capsys.readouterr()
    assert "workspace holds a session that never got past its request: going on." in err
    assert json.loads(out)["stop_reason"] == "budget" and "Token budget reached" in err
    assert (ws / TASK).read_text() == "count words\n"
    assert not (ws / ".lock").exists()  # a clean exit takes the lock file away


def calls_costing(*costs: float) -> list[CallRecord]:
    return [CallRecord("coder", 1, "gpt-4o-mini", 100, 10, 1.0, cost) for cost in costs]


def test_final_script_only_for_an_accepted_version_and_money_without_float_noise(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    workspace.write(TASK, "count words\n")
    workspace.write("script_v1.py", "print(1)\n")
    session = SessionLog(workspace)
    for call in calls_costing(0.00051, 0.00102):  # adds up to 0.0015300000000000001
        session.record_call(call)
    ui = RecordingUI()
    show_summary(workspace, session, ui)
    assert f"Latest script (not accepted): {workspace.path('script_v1.py')}" in ui.texts("info")
    assert not any(text.startswith("Final script") for text in ui.texts("info"))
    data = json_result(workspace, SessionEnd("limit"))
    assert set(data) == set(outcome_without_session(None, SessionEnd("limit")))  # one shape
    assert data["final_script"] is None and data["latest_script"] == str(workspace.path("script_v1.py"))
    assert data["cost_usd"] == 0.00153 and data["versions"][0]["cost_usd"] == 0.00153
    assert history(workspace).to_json()["total"]["cost_usd"] == 0.00153
    assert "$0.0015" in render_text(history(workspace)) and "0.0015300000000000001" not in json.dumps(data)
    stored = json.loads((tmp_path / SESSION).read_text())["calls"]
    assert [call["cost_usd"] for call in stored] == [0.00051, 0.00102]  # kept exact

    session.mark_finished(1, "accepted")
    ui = RecordingUI()
    show_summary(workspace, session, ui)
    assert f"Final script: {workspace.path('script_v1.py')}" in ui.texts("info")
    assert json_result(workspace, SessionEnd("accepted"))["final_script"] == str(
        workspace.path("script_v1.py")
    )


def test_at_the_iteration_limit_without_a_person_the_hint_raises_the_limit(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    start_workspace(tmp_path)
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    ui = RecordingUI()
    end = in_session(fake_server, tmp_path, ui, Settings(max_iterations=1, interactive=False), run_session)
    assert end.reason == "limit"
    assert ui.texts("warn")[-1] == (
        "Reached the iteration limit (1) without acceptance. To go on: "
        f"python -m iterative_coder --resume {tmp_path} --max-iterations 2"
    )
    assert any(text.startswith("Latest script (not accepted): ") for text in ui.texts("info"))


def test_ctrl_c_that_breaks_a_librarys_clean_up_still_ends_as_stopped(
    tmp_path: Path, model_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C raised inside anyio's cancel scope (under the HTTP client of a streaming call) makes its
    # clean-up fail in turn: that RuntimeError, not the KeyboardInterrupt, reached the top and was shown
    # as "Unexpected error" with exit code 1 (seen on CI, about one Ctrl-C in a few hundred).
    async def interrupted_inside_a_library(_ctx: object) -> SessionEnd:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError(
                "Attempted to exit a cancel scope that isn't the current tasks's current cancel scope"
            ) from None

    import iterative_coder.app

    monkeypatch.setattr(iterative_coder.app, "run_session", interrupted_inside_a_library)
    result = run_main(["--task", "count words", "--yes", "--json"], tmp_path, model_env)
    said = result.stdout + result.stderr
    assert result.returncode == 130, said
    assert "Unexpected error" not in said
    assert "Stopped. Resume with: python -m iterative_coder --resume workspace" in said
    assert json.loads(result.stdout[result.stdout.index("{") :])["stop_reason"] == "interrupted"


def test_a_signal_whose_raise_is_lost_still_ends_the_sessions_task() -> None:
    # A signal landing while a finalizer runs raises there, and Python drops that exception: the
    # session went on until the exit watchdog (seen on CI: SIGTERM while the Coder's reply streamed).
    import asyncio
    import os
    import signal

    from iterative_coder.interruptions import signals_also_cancel

    loop = asyncio.new_event_loop()
    task = loop.create_task(asyncio.Event().wait())  # a session waiting on a model for ever
    received: list[int] = []
    lost = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)  # its raise lost
    try:
        with signals_also_cancel(loop, task, received):
            loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
            with pytest.raises(asyncio.CancelledError):
                loop.run_until_complete(task)
    finally:
        signal.signal(signal.SIGTERM, lost)
        loop.close()
    assert received == [signal.SIGTERM]


def test_a_signal_raised_inside_a_finalizer_prints_no_traceback(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SIGTERM landing in a weakref callback printed "Exception ignored in: <function WeakSet._remove
    # ...>" and a traceback above "Stopped by SIGTERM" (seen on CI, the --json signal test).
    import asyncio
    import os
    import signal

    from iterative_coder.interruptions import signals_also_cancel, signals_stop_the_session

    class SignalledWhileFinalized:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs here, between two instructions of the finalizer
                pass

    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)  # Python's, not pytest's
    loop = asyncio.new_event_loop()
    task = loop.create_task(asyncio.Event().wait())
    received: list[int] = []
    try:
        with signals_stop_the_session(), signals_also_cancel(loop, task, received):
            loop.call_soon(lambda: SignalledWhileFinalized())  # made and finalized at once
            with pytest.raises(asyncio.CancelledError):
                loop.run_until_complete(task)
    finally:
        loop.close()
    assert received == [signal.SIGTERM]
    assert capfd.readouterr().err == ""
