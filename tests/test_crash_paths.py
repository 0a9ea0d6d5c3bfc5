"""Crash paths closed, through the CLI: what a person (or a script) sees when the request, the
workspace, the disk, session.json or a signal is not what the tool hoped for. One line on stderr that
says what and what to do, the right exit code, the --json object, no traceback, nothing lost.

Signals, limits set before the tool starts, argv bytes and closed pipes need a real process; the rest
runs the CLI's own ``main`` in this process (drive.run_main)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import WAIT
from drive import run, run_main, start
from fake_openai import FakeOpenAIServer, Fault
from processes import still_alive_after
from scripted import PLAN_1, TESTS, good_script, review, script
from workspaces import make_workspace

from iterative_coder.review import requirement_numbers
from iterative_coder.session import SessionLog
from iterative_coder.wiring import signals_stop_the_session
from iterative_coder.workspace import Workspace

RESUME = "Resume with: python -m iterative_coder --resume workspace"


def one_line(stderr: str) -> str:
    """The only line of stderr (no traceback, nothing else)."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def reviewed(ws: Path, versions: int) -> Path:
    """A workspace whose versions are all reviewed (REVISE), at the Manager's turn; no model needed."""
    return make_workspace(ws, versions, last_verdict="REVISE")


def enqueue_up_to_the_coder(server: FakeOpenAIServer) -> None:
    """The replies up to the first version's script."""
    server.enqueue("planner", PLAN_1)
    server.enqueue("tester", TESTS)
    server.enqueue("coder", script(1))


def enqueue_start(server: FakeOpenAIServer) -> None:
    """The replies up to the first version's review."""
    enqueue_up_to_the_coder(server)
    server.enqueue("reviewer", review(1, "REVISE"))


# --- task.md before session.json; session.json alone is no session --------------------------------


def test_task_md_is_written_before_session_json(tmp_path: Path, model_env: dict[str, str]) -> None:
    (tmp_path / "workspace" / "task.md").mkdir(parents=True)  # so that writing task.md fails
    result = run_main(["--task", "count words", "--json"], tmp_path, model_env)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "iterative_coder: error: workspace/task.md: Is a directory. Something is in the way (a folder "
        "where a file belongs, or the reverse): move it aside, then try again."
    )
    assert json.loads(result.stdout)["stop_reason"] == "workspace_unusable"
    assert not (tmp_path / "workspace" / "session.json").exists()


def test_a_session_that_never_got_its_request_leaves_no_session_json(
    tmp_path: Path, model_env: dict[str, str]
) -> None:
    result = run_main([], tmp_path, model_env, stdin="")
    assert result.returncode == 1
    assert "Input ended before a request was given. Nothing was saved: run the same command again" in (
        result.stdout
    )
    assert not (tmp_path / "workspace").exists()  # the empty folder it made is gone again


def test_a_folder_with_only_session_json_holds_no_session(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    stale = {"settings": {"max_iterations": 2}, "calls": [], "finished": {"version": 3, "reason": "done"}}
    (ws / "session.json").write_text(json.dumps(stale))
    resumed = run_main(["--resume", "workspace"], tmp_path, model_env)
    assert resumed.returncode == 2
    assert one_line(resumed.stderr) == (
        "iterative_coder: error: --resume workspace: no task.md there (only a session.json, left by a "
        "session that never got its request), so there is nothing to continue. Start a new session with: "
        "python -m iterative_coder --workspace workspace --task TEXT"
    )
    status = run_main(["status", "workspace"], tmp_path, model_env)
    assert status.returncode == 2 and "no session there (no task.md or plan.md)" in one_line(status.stderr)

    fake_server.enqueue("planner", PLAN_1)
    started = run_main(["--task", "count words"], tmp_path, model_env, stdin="/stop\n")
    assert started.returncode == 0, started.stdout + started.stderr
    assert (ws / "task.md").read_text() == "count words\n"
    session = json.loads((ws / "session.json").read_text())
    assert session["finished"] is None and session["settings"]["max_iterations"] == 10


# --- --task that is not UTF-8 ---------------------------------------------------------------------


def test_a_task_that_is_not_utf8_is_refused_and_nothing_is_written(
    tmp_path: Path, model_env: dict[str, str]
) -> None:
    result = run(["--task", b"caf\xe9 counter", "--json"], tmp_path, model_env)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "iterative_coder: error: --task is not valid UTF-8 text (byte 3); give it as UTF-8, or leave it "
        "out and type the request when asked."
    )
    assert list(tmp_path.iterdir()) == []


# --- a plan with a huge list of requirements ------------------------------------------------------


def test_the_requirements_of_a_300000_line_plan_are_found_in_well_under_a_second() -> None:
    lines = "".join(f"{n}. The program does thing {n}.\n" for n in range(1, 300_001))
    plan = f"# Huge\n\n## Requirements\n{lines}2. Said twice.\n\n## Notes\n7. not a requirement\n"
    started = time.perf_counter()
    numbers = requirement_numbers(plan)
    took = time.perf_counter() - started
    print(f"requirement_numbers on 300,000 numbered lines: {took:.3f} s")
    assert numbers == [str(n) for n in range(1, 300_001)]
    assert took < 5


# --- session.json checked field by field ----------------------------------------------------------


def _setting(name: str, value: object) -> Callable[[dict], None]:
    return lambda data: data["settings"].update({name: value})


# Hostile values of session.json, each with what the one-line warning says of it (None: nothing to
# say, the value is mended in place); a bad value takes its default and the session goes on.
DAMAGES: dict[str, tuple[Callable[[dict], None], str | None]] = {
    "settings a list": (
        lambda data: data.update(settings=[1, 2]),
        "settings that were not an object ([1, 2])",
    ),
    "finished a word": (lambda data: data.update(finished="done"), 'a bad finished ("done": not an object)'),
    "version not a number": (
        lambda data: data.update(finished={"version": "v1", "reason": "accepted"}),
        'a bad finished ({"version": "v1", "reason": "accepted"}: its version not a whole number)',
    ),
    "max_iterations -3": (_setting("max_iterations", -3), "a bad max_iterations (-3: not from 1 to 100,000)"),
    "max_iterations 10**30": (
        _setting("max_iterations", 10**30),
        "a bad max_iterations (1000000000000000000000000000000: not from 1 to 100,000)",
    ),
    "budget_usd NaN": (_setting("budget_usd", math.nan), "a bad budget_usd (NaN: not a finite number)"),
    "budget_usd Infinity": (
        _setting("budget_usd", math.inf),
        "a bad budget_usd (Infinity: not a finite number)",
    ),
    "budget_tokens -1": (
        _setting("budget_tokens", -1),
        "a bad budget_tokens (-1: not from 1 to 1,000,000,000,000)",
    ),
    "execute a number": (_setting("execute", 3), "a bad execute (3: not one of ask, always, never)"),
    "network a word": (_setting("network", "yes"), 'a bad network ("yes": not true or false)'),
    "a NUL in a model's name": (
        _setting("models", {"coder": "a\u0000b"}),
        'a bad models ({"coder": "a\\u0000b"}: holds a NUL character)',
    ),
    "a 1 MB reason": (
        lambda data: data.update(stalled={"version": 1, "reason": "x" * 1_000_000}),
        'a bad stalled ({"version": 1, "reason": "xxxxxxxxxxx...: its reason longer than 10,000 characters)',
    ),
    "a lone surrogate": (
        lambda data: data.update(stalled={"version": 1, "reason": "stuck \ud800"}),
        None,
    ),
    "a call record lasting NaN seconds": (
        lambda data: data["calls"][0].update(seconds=math.nan),
        "1 damaged call record (seconds NaN: not a finite number)",
    ),
    "calls an object": (lambda data: data.update(calls={"role": "coder"}), "calls that were not a list"),
}
LOSE_CALLS = ("calls an object", "a call record lasting NaN seconds")


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_wrong_field_of_session_json_is_reported_once_and_replaced(
    damage: str, tmp_path: Path, model_env: dict[str, str]
) -> None:
    ws = reviewed(tmp_path / "workspace", 1)
    data = json.loads((ws / "session.json").read_text())
    data["settings"] = {"max_iterations": 4, "execute": "never"}
    spoil, what = DAMAGES[damage]
    spoil(data)
    (ws / "session.json").write_text(json.dumps(data))

    status = run_main(["status", "workspace"], tmp_path, model_env)
    assert status.returncode == 0 and status.stderr == ""
    assert "v1 " in status.stdout

    resumed = run_main(["--resume", "workspace", "--json"], tmp_path, model_env, stdin="/stop\n")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["stop_reason"] == "stopped"  # --json: its one object
    assert "Traceback" not in resumed.stdout + resumed.stderr
    warnings = [line for line in resumed.stderr.splitlines() if "session.json" in line]
    lost = " (the token counts of earlier calls are lost)" if damage in LOSE_CALLS else ""
    expected = f"workspace/session.json had {what}; went on with the default for each{lost}."
    assert warnings == ([expected] if what else [])
    assert "Your turn on version 1" in resumed.stderr
    saved = json.loads((ws / "session.json").read_text())
    assert isinstance(saved["settings"], dict) and isinstance(saved["calls"], list)
    assert saved["settings"]["max_iterations"] == (
        10 if damage in ("settings a list", "max_iterations -3", "max_iterations 10**30") else 4
    )
    if damage == "a lone surrogate":  # no character: mended to U+FFFD, which any file can hold
        assert saved["stalled"]["reason"] == "stuck \ufffd"
    # Written back mended: the next resume goes on without a word about it.
    again = run_main(["--resume", "workspace"], tmp_path, model_env, stdin="/stop\n")
    assert again.returncode == 0 and "session.json" not in again.stdout + again.stderr


def test_session_json_nested_10000_deep_or_with_a_5000_digit_number_is_rebuilt(
    tmp_path: Path, model_env: dict[str, str]
) -> None:
    ws = reviewed(tmp_path / "workspace", 1)
    text = (ws / "session.json").read_text()
    for hostile in ("[" * 10_000 + "]" * 10_000, "1" * 5_000):
        spoiled = text.replace('"settings": {', f'"settings": {{"models": {hostile},', 1)
        (ws / "session.json").write_text(spoiled)
        resumed = run_main(["--resume", "workspace"], tmp_path, model_env, stdin="/stop\n")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "Traceback" not in resumed.stdout + resumed.stderr
        assert (
            "workspace/session.json was unreadable; rebuilt it from the files (the token counts of earlier "
            "calls are lost)." in resumed.stdout
        )
        assert "Your turn on version 1" in resumed.stdout


def test_session_json_replaced_by_a_fifo_holds_nothing_up(tmp_path: Path, model_env: dict[str, str]) -> None:
    ws = reviewed(tmp_path / "workspace", 1)
    (ws / "session.json").unlink()
    os.mkfifo(ws / "session.json")  # reading it would wait for a writer for ever
    status = run_main(["status", "workspace"], tmp_path, model_env)
    assert status.returncode == 0 and "v1 " in status.stdout
    resumed = run_main(["--resume", "workspace"], tmp_path, model_env, stdin="/stop\n")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "workspace/session.json was unreadable; rebuilt it from the files" in resumed.stdout
    assert (ws / "session.json").is_file()  # written back as a file


# --- every OSError is one line --------------------------------------------------------------------


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1
# Root writes into any folder; so as root the tool runs without that power (CAP_DAC_OVERRIDE), and a
# read-only folder is read-only for it as for anyone else.
WITHOUT_ROOTS_OVERRIDE = (
    "import ctypes\n"
    f"if ctypes.CDLL(None, use_errno=True).prctl({PR_CAPBSET_DROP}, {CAP_DAC_OVERRIDE}, 0, 0, 0) != 0:\n"
    "    raise OSError(ctypes.get_errno(), 'cannot drop CAP_DAC_OVERRIDE')"
)
READ_ONLY_HOLDS = WITHOUT_ROOTS_OVERRIDE if os.geteuid() == 0 else ""


def test_a_read_only_parent_folder_for_a_new_session_is_one_line(
    tmp_path: Path, model_env: dict[str, str]
) -> None:
    (tmp_path / "parent").mkdir()
    (tmp_path / "parent").chmod(0o555)
    args = ["--workspace", "parent/ws", "--task", "count words", "--json"]
    result = run(args, tmp_path, model_env, setup=READ_ONLY_HOLDS)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "iterative_coder: error: parent/ws: Permission denied. Check the folder's permissions (or pick "
        "another --workspace), then try again."
    )
    outcome = json.loads(result.stdout)
    assert (outcome["stop_reason"], outcome["exit_code"], outcome["versions"]) == (
        "workspace_unusable",
        2,
        [],
    )
    assert list((tmp_path / "parent").iterdir()) == []


def test_a_read_only_workspace_on_resume_is_one_line(tmp_path: Path, model_env: dict[str, str]) -> None:
    ws = reviewed(tmp_path / "workspace", 2)
    (ws / ".lock").write_text("")  # as an earlier session leaves it
    before = {path.name: path.read_bytes() for path in ws.iterdir() if path.name != ".lock"}
    ws.chmod(0o555)
    result = run(["--resume", "workspace", "--json"], tmp_path, model_env, "/stop\n", READ_ONLY_HOLDS)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "iterative_coder: error: workspace/session.json: Permission denied. Check the folder's permissions "
        "(or pick another --workspace), then try again."
    )
    outcome = json.loads(result.stdout)
    assert outcome["stop_reason"] == "workspace_unusable" and len(outcome["versions"]) == 2
    assert {path.name: path.read_bytes() for path in ws.iterdir() if path.name != ".lock"} == before


def test_a_full_disk_mid_session_is_one_line_and_the_session_resumes(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    enqueue_start(fake_server)

    small_disk = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))"  # then EFBIG

    args = ["--task", "count words", "--yes", "--json"]
    full = run(args, tmp_path, model_env, setup=small_disk)
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    errors = [line for line in full.stderr.splitlines() if "File too large" in line]
    assert errors == [
        "workspace/log.jsonl: File too large. Check free space (and any quota or file-size limit) on that "
        "disk, then resume."
    ]
    assert RESUME in full.stderr
    outcome = json.loads(full.stdout)
    assert (outcome["stop_reason"], outcome["exit_code"]) == ("file_error", 1)

    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    resumed = run_main(["--resume", "workspace", "--yes", "--json"], tmp_path, model_env)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["stop_reason"] == "accepted"
    lines = (tmp_path / "workspace" / "log.jsonl").read_text().splitlines()
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    assert parsed.count(None) == 1  # the line the full disk tore, and only that one
    assert parsed[-1]["role"] == "reviewer" and "APPROVE" in parsed[-1]["reply"]  # after the torn line


def test_status_into_a_closed_pipe_ends_quietly(tmp_path: Path, model_env: dict[str, str]) -> None:
    reviewed(tmp_path / "workspace", 3)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written, as after `| head -1`
    try:
        result = subprocess.run(
            [sys.executable, "-m", "iterative_coder", "status", "workspace"],
            cwd=tmp_path,
            env=model_env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141


def test_status_piped_into_head_shows_one_line(tmp_path: Path, model_env: dict[str, str]) -> None:
    reviewed(tmp_path / "workspace", 3)
    shown = subprocess.run(
        ["sh", "-c", f"{sys.executable} -m iterative_coder status workspace | head -1"],
        cwd=tmp_path,
        env=model_env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert shown.stdout == "Workspace: workspace\n" and shown.stderr == ""


# --- log.jsonl after a torn line ------------------------------------------------------------------


def test_an_append_after_a_torn_line_starts_on_a_line_of_its_own(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    complete = json.dumps({"role": "planner", "version": 0, "reply": "a plan"})
    (tmp_path / "log.jsonl").write_text(complete + '\n{"role": "coder", "version": 1, "reply": "half a rep')
    session = SessionLog(workspace)
    session.keep_reply(role="coder", version=1, text="the whole reply\nover two lines")
    session.keep_reply(role="reviewer", version=1, text="fine")
    lines = (tmp_path / "log.jsonl").read_text().split("\n")
    assert lines[-1] == ""  # the file ends with a newline
    assert json.loads(lines[0]) == json.loads(complete)
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[1])
    assert [json.loads(line)["reply"] for line in lines[2:-1]] == ["the whole reply\nover two lines", "fine"]


# --- SIGTERM and SIGHUP end like Ctrl-C -----------------------------------------------------------


def test_sigterm_while_the_coder_works_ends_like_ctrl_c_then_resume_finishes(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path, model_env: dict[str, str]
) -> None:
    enqueue_up_to_the_coder(fake_server)
    paused = Fault("pause")  # the Coder's reply is held half-way, then lost
    fake_server.inject(paused, role="coder")
    try:
        cli_run = run_cli("--task", "count words", "--yes")
        assert paused.arrived.wait(WAIT), "the Coder's reply never started"
        cli_run.child.kill(signal.SIGTERM)
        cli_run.expect(f"Stopped by SIGTERM. {RESUME}")
        assert cli_run.wait_exit() == 143
        assert "Traceback" not in cli_run.output
    finally:
        paused.release.set()
    assert not (tmp_path / "workspace" / "script_v1.py").exists()
    fake_server.enqueue("coder", good_script(1))
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    resumed = run_main(["--resume", "workspace", "--yes"], tmp_path, model_env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    resuming = resumed.stdout.index("Resuming at version 1: writing script_v1.py")
    assert resumed.stdout.index("Accepted script_v1.py as final.") > resuming


@pytest.mark.parametrize(
    ("signum", "reason", "code"), [(signal.SIGTERM, "terminated", 143), (signal.SIGHUP, "hung_up", 129)]
)
def test_a_signal_with_json_prints_the_object(
    signum: int,
    reason: str,
    code: int,
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    model_env: dict[str, str],
) -> None:
    enqueue_up_to_the_coder(fake_server)
    paused = Fault("pause")  # the Coder's reply is held half-way, then lost
    fake_server.inject(paused, role="coder")
    process = start(
        ["--task", "count words", "--yes", "--json"],
        tmp_path,
        {**model_env, "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert paused.arrived.wait(WAIT), "the Coder's reply never started"
        process.send_signal(signum)
        try:
            stdout, stderr = process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:  # hung: make it say where (PYTHONFAULTHANDLER dumps every thread)
            process.send_signal(signal.SIGABRT)
            where = process.communicate(timeout=WAIT)[1][-8000:]
            pytest.fail(f"the tool did not end after the signal:\n{where}")
    finally:
        paused.release.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == code
    assert RESUME in stderr and "Traceback" not in stderr
    outcome = json.loads(stdout)
    assert (outcome["stop_reason"], outcome["exit_code"]) == (reason, code)
    assert not (tmp_path / "workspace" / "script_v1.py").exists()  # resumable: see the test above


SLEEPER = (
    "```python\nimport os, pathlib, time\n\n\ndef count_words(text):\n    return len(text.split())\n\n\n"
    'pathlib.Path("started").write_text(str(os.getpid()))\ntime.sleep(60)\n```'
)


def test_sigterm_during_a_run_stops_the_tool_and_its_program_at_once(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    fake_server.enqueue("coder", SLEEPER)
    # Without the sandbox, the program's process ID is the one this test sees.
    args = ["--task", "count words", "--yes", "--json", "--execute", "always", "--sandbox", "off"]
    process = start(args, tmp_path, model_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = tmp_path / "workspace" / "runs"
    try:
        deadline = time.monotonic() + WAIT
        while not (started := [path for path in runs.rglob("started") if path.read_text()]):
            assert time.monotonic() < deadline and process.poll() is None, "the program never started"
            threading.Event().wait(0.02)  # bounded polling: the program shows it runs by this file
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        stdout, stderr = process.communicate(timeout=WAIT)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    print(f"the tool ended {took:.2f} s after SIGTERM")
    assert process.returncode == 143, stderr
    assert json.loads(stdout)["stop_reason"] == "terminated"
    assert took < 5
    assert still_alive_after([int(started[0].read_text())]) == [], "the program outlived the tool"


def test_the_signals_are_caught_only_while_the_session_runs_and_an_ignored_one_stays_ignored() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with signals_stop_the_session():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert callable(signal.getsignal(signal.SIGTERM))
            with pytest.raises(KeyboardInterrupt) as raised:
                signal.raise_signal(signal.SIGTERM)
            assert getattr(raised.value, "signum", None) == signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) == before[0]
    finally:
        signal.signal(signal.SIGHUP, before[1])
