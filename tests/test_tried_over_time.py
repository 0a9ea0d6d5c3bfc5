"""Programs tried over time, as a person tries them: a server sent requests and stopped with Ctrl-C, a
watcher left running until Ctrl-C, a full-screen terminal game typed at; each accepted when right and
not when broken."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tty
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from drive import review_of_version_1, run_loop, run_main, start_workspace
from fake_openai import FakeOpenAIServer

from iterative_coder.execution import demo_kinds
from iterative_coder.execution.demo import DemoRun, demo_for, read_demo, write_demo
from iterative_coder.execution.demo_fields import DemoRequest, TrialFields
from iterative_coder.execution.program_driver import Terminal
from iterative_coder.records.run import CommandRecord, DemoResult, RunRecord, kind_of, read_run, write_run
from iterative_coder.records.trial import SERVE, Answer, Trial, trial_lines

PROGRAMS = Path(__file__).parent / "programs"
YES = ["--yes", "--execute", "always", "--max-iterations", "1"]
APPROVE = json.dumps(
    {
        "verdict": "APPROVE",
        "coverage": [{"requirement": n, "status": "met", "evidence": "seen in the run"} for n in (1, 2)],
        "points": [],
    }
)
SHORT = demo_kinds.DriveTimes(listen=1.5, request=2.0, grace=1.5, settle=0.2, key=2.0, after_keys=1.0)

# name: (program file, plan, acceptance tests, demo runs)
CASES = {
    "api": (
        "todo_api",
        "# To-do API\n\n## Requirements\n1. `GET /todos` lists the to-dos as JSON; `POST /todos` adds one "
        "(201).\n2. An unknown to-do answers 404.\n",
        "import script\n\n\ndef test_req1_add_todo():\n    todos = []\n"
        "    assert script.add_todo(todos, 'milk')['id'] == 1\n\n\n"
        "def test_req2_missing():\n    assert script.find_todo([], 3) is None\n",
        [
            {
                "name": "add and list to-dos",
                "port": 8000,
                "requests": [
                    {"method": "POST", "path": "/todos", "body": {"title": "milk"}, "status": 201},
                    {"method": "GET", "path": "/todos", "status": 200},
                    {"method": "GET", "path": "/todos/7", "status": 404},
                ],
            }
        ],
    ),
    "watcher": (
        "watcher",
        "# Folder watcher\n\n## Requirements\n1. Prints how many files the folder holds, once a second, "
        "until Ctrl-C.\n2. `count_files(folder)` counts the files.\n",
        "import script\n\n\ndef test_req2_counts(tmp_path):\n    (tmp_path / 'a').write_text('x')\n"
        "    assert script.count_files(tmp_path) == 1\n",
        [{"name": "watch this folder", "args": ["."], "files": {"a.txt": "x"}, "run_seconds": 3}],
    ),
    "page": (
        "hello_page",
        "# Greeting page\n\n## Requirements\n1. `GET /` shows a page that greets the visitor.\n"
        "2. `page(count)` says which visitor it is.\n",
        "import script\n\n\ndef test_req2_count():\n    assert 'number 3' in script.page(3)\n",
        [{"name": "open the page", "port": 8000, "requests": [{"path": "/", "status": 200}]}],
    ),
    "game": (
        "box_game",
        "# Box game\n\n## Requirements\n1. A full-screen box shows the score; q quits.\n"
        "2. Each arrow key scores a point (`score_after`).\n",
        "import curses\nimport script\n\n\ndef test_req2_arrow_scores():\n"
        "    assert script.score_after(0, curses.KEY_UP) == 1\n",
        [{"name": "play three moves and quit", "keys": ["Up", "Right", "Down", "q"]}],
    ),
}
BROKEN = {
    "api": ("            self.send_json(200, TODOS)", '            self.send_json(500, {"error": "oops"})'),
    "never": ('HTTPServer(("127.0.0.1", port)', 'HTTPServer(("127.0.0.1", port + 1)'),
    "watcher": ("            print(f", "            assert seconds < 2, 'lost it'\n            print(f"),
    "game": ("        score = score_after(score, key)", "        score = score_after(score, key) / 0"),
}


@pytest.fixture(autouse=True)
def short_times(monkeypatch) -> None:
    monkeypatch.setattr(demo_kinds, "TIMES", SHORT)


def program(case: str) -> str:
    return (PROGRAMS / f"{CASES[case][0]}.py").read_text()


def reply_of_tester(case: str) -> str:
    _, _, tests, demo = CASES[case]
    return (
        "Here are the acceptance tests for the plan.\n\n"
        f"```python\n{tests}```\n\n"
        "And how a person would try it:\n\n"
        f"```json\n{json.dumps({'runs': demo}, indent=2)}\n```\n"
    )


def enqueue(server: FakeOpenAIServer, case: str, script: str) -> None:
    server.enqueue("planner", CASES[case][1])
    server.enqueue("tester", reply_of_tester(case))
    server.enqueue("coder", f"Here is the program.\n\n```python\n{script}```\n")
    server.enqueue("reviewer", APPROVE)


def accepted_run(case: str, fake_server, tmp_path: Path, model_env) -> tuple[Path, str]:
    enqueue(fake_server, case, program(case))
    result = run_main(["--task", case, *YES], tmp_path, model_env)
    assert result.returncode == 0, result.stdout + result.stderr
    ws = tmp_path / "workspace"
    assert (ws / "review_v1.md").read_text().startswith("Verdict: APPROVE"), (ws / "run_v1.md").read_text()
    return ws, (ws / "run_v1.md").read_text()


def not_accepted(case: str, broken: str, fake_server, tmp_path: Path) -> str:
    old, new = BROKEN[broken]
    script = program(case).replace(old, new)
    assert script != program(case)
    review = review_of_version_1(fake_server, tmp_path, CASES[case][1:], script, APPROVE)
    assert review.startswith("Verdict: REVISE")
    assert "The tool changed the verdict from APPROVE to REVISE" in review
    return (tmp_path / "run_v1.md").read_text()


def test_a_json_api_is_sent_requests_then_ctrl_c_and_is_accepted(
    fake_server, tmp_path: Path, model_env
) -> None:
    _ws, run = accepted_run("api", fake_server, tmp_path, model_env)
    assert "served 3 requests (201, 200, 404)" in run
    assert "| POST /todos | 201 | 201 |" in run and "| GET /todos/7 | 404 | 404 |" in run
    assert '[{"id": 1, "title": "milk", "done": false}]' in run  # the list, after the POST
    assert "Stopped after" in run and "with SIGINT." in run  # a person's Ctrl-C...
    assert "- result: ended cleanly on Ctrl-C" in run and "Stopped." in run  # ...and the server ended
    request = fake_server.requests_for("reviewer")[0]
    assert "| GET /todos | 200 | 200 |" in request.text


def test_a_server_answering_500_is_not_accepted(fake_server, tmp_path: Path) -> None:
    run = not_accepted("api", "api", fake_server, tmp_path)
    assert "GET /todos answered 500, expected 200" in run


def test_a_server_that_never_listens_is_reported_within_the_bound(fake_server, tmp_path: Path) -> None:
    run = not_accepted("api", "never", fake_server, tmp_path)
    assert re.search(r"never listened on port \d+ within 2 s", run)  # 8000, or a free one without the sandbox
    assert re.search(r"It never accepted connections on port \d+ \(waited \d\.\d s\)\.", run)
    assert "Serving the to-do API" in run  # its own output, to see why
    record = json.loads(run.split("iterative_coder record ", 1)[1].split(" -->", 1)[0])
    assert record["demos"][0]["command"]["seconds"] < 8


def test_a_watcher_runs_until_ctrl_c_and_is_accepted(fake_server, tmp_path: Path, model_env) -> None:
    _ws, run = accepted_run("watcher", fake_server, tmp_path, model_env)
    assert "ran 3 s, then ended cleanly on Ctrl-C" in run
    assert "  0 s: 2 files" in run and "  1 s: 2 files" in run  # the script and a.txt
    assert "Stopped watching." in run and "(it should have ended)" not in run


def test_a_watcher_gets_its_ctrl_c_when_the_tool_was_started_with_sigint_ignored(
    fake_server, tmp_path: Path, model_env
) -> None:
    """``nohup`` or a script's ``&`` job starts the tool with SIGINT ignored; the program must still
    get the Ctrl-C it is tried with."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _ws, run = accepted_run("watcher", fake_server, tmp_path, model_env)
    finally:
        signal.signal(signal.SIGINT, before)
    assert "then ended cleanly on Ctrl-C" in run


def test_a_watcher_that_crashes_after_two_seconds_is_not_accepted(fake_server, tmp_path: Path) -> None:
    run = not_accepted("watcher", "watcher", fake_server, tmp_path)
    assert "crashed with AssertionError" in run


def test_a_curses_game_is_typed_at_and_its_screen_reaches_the_reviewer(
    fake_server, tmp_path: Path, model_env
) -> None:
    ws, run = accepted_run("game", fake_server, tmp_path, model_env)
    screen = (ws / "runs" / "v1" / "screen-1.txt").read_text()
    lines = screen.splitlines()
    assert len(lines) == 24 and all(len(line) == 80 for line in (lines[0], lines[-1]))
    assert lines[0].startswith("┌") and lines[-1].startswith("└") and "│ Score: 3" in lines[1]
    assert "screen shown after the keys Up Right Down q; ended (exit 0)" in run
    assert "Final score: 3" in run
    request = fake_server.requests_for("reviewer")[0]
    assert "│ Score: 3" in request.text and "runs/v1/screen-1.txt" in request.text


def test_a_curses_game_raising_inside_the_wrapper_is_not_accepted(fake_server, tmp_path: Path) -> None:
    run = not_accepted("game", "game", fake_server, tmp_path)
    assert "crashed with TypeError" in run or "crashed with ZeroDivisionError" in run


# The demo.json fields, the records and the pieces, without running a program.


def test_the_new_demo_fields_are_written_and_read_back() -> None:
    text = json.dumps({"runs": [*CASES["api"][3], *CASES["watcher"][3], *CASES["game"][3]]})
    runs = read_demo(text)
    assert runs[0].trial.port == 8000 and runs[0].trial.requests[0].body == '{"title": "milk"}'
    assert dict(runs[0].trial.requests[0].headers) == {"Content-Type": "application/json"}
    assert runs[1].trial.run_seconds == 3.0 and runs[2].trial.keys == ("Up", "Right", "Down", "q")
    assert read_demo(write_demo(runs)) == runs
    assert [demo_kinds.mode_of(run) for run in runs] == ["serve", "until_stopped", "keys"]
    assert "port" not in json.loads(write_demo(read_demo('{"runs": [{"name": "plain"}]}')))["runs"][0]
    served = read_demo('{"runs": [{"port": 5000}]}')[0].trial.requests
    assert [request.describe() for request in served] == ["GET /"]  # a port alone: the front page


@pytest.mark.parametrize(
    ("run", "said"),
    [
        ({"port": 80, "window_seconds": 3}, "cannot have both 'window_seconds' and 'port'"),
        ({"requests": [{"path": "/"}]}, '"requests" need the "port"'),
        ({"port": 70000}, '"port" must be a port number'),
        ({"port": 80, "requests": [{"path": "todos"}]}, 'request 1: "path" must start with /'),
        ({"port": 80, "requests": [{"status": "ok"}]}, '"status" must be an HTTP status'),
        ({"keys": "q"}, '"keys" must be a list'),
    ],
)
def test_a_demo_field_that_cannot_be_used_is_named(run: dict, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        read_demo(json.dumps({"runs": [run]}))


def test_a_window_claimed_for_a_program_without_one_is_run_until_ctrl_c_and_said() -> None:
    runs, problem = demo_for('{"runs": [{"name": "serve", "window_seconds": 5}]}', program("api"))
    assert runs[0].window_seconds is None and runs[0].trial.run_seconds == 5.0
    assert "asks to watch a window for 5 s, but the program opens no window" in runs[0].trial.note
    assert problem is not None and "the Tester's demo.json needs fixing" in problem
    kept, nothing = demo_for('{"runs": [{"name": "watch", "window_seconds": 5}]}', "import tkinter\n")
    assert kept[0].window_seconds == 5.0 and nothing is None


def test_a_trial_reads_back_from_run_md() -> None:
    answers = (Answer("GET", "/", 200, 200, body="<h1>hi</h1>"), Answer("GET", "/x", None, None, "timed out"))
    trial = Trial(SERVE, ("SIGINT", "SIGTERM"), 2.5, 8000, True, 0.4, answers, screen_text="")
    command = CommandRecord("did not end on Ctrl-C; SIGTERM ended it", -15, 3.0)
    record = RunRecord(1, (DemoResult("serve", command, kind_of(command, trial=trial), trial=trial),))
    assert read_run(write_run(record, "script_v1.py"), 1) == record
    assert record.demos[0].describe() == "GET /x got no answer (timed out)"
    assert record.problems() == ["the script GET /x got no answer (timed out)"]


def test_the_screen_is_the_one_shown_before_the_program_left_it() -> None:
    drawn = b"\x1b[?1049h\x1b[H\x1b[2JScore: 3\x1b[24;1H\xe2\x94\x94\x1b[?1049l\x1b[H\x1b[2Jbye\r\n"
    screen = demo_kinds.render_screen(drawn).splitlines()
    assert screen[0] == "Score: 3" and screen[-1] == "└" and len(screen) == 24
    assert demo_kinds.printed_after(drawn).endswith("bye\r\n")


def test_arrows_follow_the_terminals_cursor_mode() -> None:
    terminal = Terminal(80, 24)
    tty.setraw(terminal.slave)  # as a curses program sets it: each key read as it comes
    try:
        terminal.type_key("Up")
        terminal.output += b"\x1b[?1h\x1b="  # keypad(True): application cursor keys
        terminal.type_key("Up")
        terminal.type_key("q")
        typed = b""
        while len(typed) < 7:  # the pty may hand the keys over in pieces
            typed += os.read(terminal.slave, 100)
        assert typed == b"\x1b[A\x1bOAq"
    finally:
        os.close(terminal.master)
        os.close(terminal.slave)


def test_without_the_sandbox_a_port_in_use_is_replaced_by_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        run = read_demo(json.dumps({"runs": [{"port": busy, "args": ["--port", "{port}"]}]}))[0]
        assert demo_kinds.port_for(run, sandboxed=True) == (busy, "")
        port, note = demo_kinds.port_for(run, sandboxed=False)
    assert port != busy and f"port {busy} is in use on this machine" in note
    config = demo_kinds.driver_config(run, ["python", "script.py", *run.args], Path("/tmp"), port)
    assert config["command"][-1] == str(port)


def test_a_served_page_is_given_as_the_text_a_browser_shows() -> None:
    page = "<title>To-dos</title><style>p{}</style><h1>Two left</h1><p>milk <b>eggs</b><script>x=1</script>"
    found = {
        "method": "GET",
        "path": "/",
        "status": 200,
        "body": page,
        "content_type": "text/html; charset=utf-8",
    }
    answer = demo_kinds.answer_of(found, DemoRequest(status=200))
    assert answer.page and answer.body == "To-dos\nTwo left\nmilk eggs"
    lines = "\n".join(trial_lines(Trial(SERVE, ("SIGINT",), 1.0, 8000, True, 0.2, (answer,))))
    assert "The page GET / answered, as text:\n\n```text\nTo-dos\nTwo left\nmilk eggs\n```" in lines
    assert demo_kinds.answer_of({**found, "content_type": "application/json"}, DemoRequest()).body == page
    hostile = demo_kinds.answer_of(
        {"status": None, "error": "BadStatusLine: '\x1b]0;owned\x07'"}, DemoRequest()
    )
    assert "\x1b" not in hostile.describe() and "\x07" not in hostile.describe()


@pytest.mark.skipif(demo_kinds.browser() is None, reason="no Chromium (apt-get install chromium)")
def test_a_served_page_is_photographed_for_a_reviewer_that_sees(
    fake_server, tmp_path: Path, clean_env
) -> None:
    entry = {"model": "gpt-4o-mini", "base_url": fake_server.base_url, "api_key": FAKE_KEY, "vision": True}
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps([entry]))
    _ws, run = accepted_run("page", fake_server, tmp_path, clean_env)
    assert "Hello, visitor!" in run and "Screenshot: `runs/v1/page-1.png` (taken at" in run
    request = fake_server.requests_for("reviewer")[0]
    assert len(request.image_parts) == 1 and "a headless browser's screenshot" in request.text


def test_run_of_a_window_program_without_a_display_says_so_in_one_line(
    fake_server, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    start_workspace(tmp_path)
    fake_server.enqueue("coder", "```python\nimport tkinter\n\ntkinter.Tk().mainloop()\n```")
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n1. a")
    _, _, ui = run_loop(fake_server, tmp_path, ["", "/run", "/stop"], execute="ask", max_iterations=1)
    said = [text for text in ui.texts("info") if text.startswith("Not run:")]
    assert said == [  # Enter at the run question is said back first (a no)
        "Not run: Enter means no. The Reviewer judges the code without a run; at your turn, /run runs it at "
        "your keyboard.",
        "Not run: script_v1.py opens a window and this terminal has no display ($DISPLAY); no screenshot "
        "yet.",
    ]
    assert not (tmp_path / "runs").exists()  # nothing was started


@pytest.mark.parametrize(
    ("signals", "traceback", "said", "problem"),
    [
        (("SIGINT",), False, "ran 3 s, then ended cleanly on Ctrl-C", None),
        (
            ("SIGINT",),
            True,
            "ran 3 s, then ended on Ctrl-C with a KeyboardInterrupt traceback (a small defect)",
            None,
        ),
        (
            ("SIGINT", "SIGTERM"),
            False,
            "ran 3 s, then did not end on Ctrl-C; SIGTERM ended it",
            "the script ran",
        ),
        ((), False, "ended (exit 0)", None),  # it ended by itself, before its time was up
    ],
)
def test_how_a_program_run_until_stopped_ended(signals, traceback, said, problem) -> None:
    trial = Trial("until_stopped", signals, 3.0, traceback=traceback)
    command = CommandRecord("x", -2 if traceback else 0, 3.5)
    demo = DemoResult("watch", command, kind_of(command, trial=trial), trial=trial)
    assert demo.describe() == said
    assert (demo.problem() or "").startswith(problem or "") and bool(demo.problem()) == bool(problem)


def test_what_the_driver_left_is_read_bounded_and_never_through_a_link(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text('{"signals": ["SIGINT"]}')
    (tmp_path / "result.json").symlink_to(secret)  # planted by the program in the shared folder
    assert demo_kinds._read_json(tmp_path / "result.json") == {}
    (tmp_path / "big").write_bytes(b"x" * 100)
    assert demo_kinds._read_capped(tmp_path / "big", 10) == b"x" * 10
    assert demo_kinds._read_capped(tmp_path, 10) == b""  # a folder


@pytest.mark.parametrize(
    ("case", "inferred"),
    [
        ("api", DemoRun("run until Ctrl-C", trial=TrialFields(run_seconds=3.0))),
        ("game", DemoRun("look at the screen, then press q", trial=TrialFields(keys=("q",)))),
    ],
)
def test_without_a_demo_a_server_or_a_full_screen_program_is_tried_as_what_it_is(case, inferred) -> None:
    assert demo_for(None, program(case)) == ((inferred,), None)
    assert demo_for(None, "import http.client\nprint(1)\n")[0][0].trial == TrialFields()  # a client ends


def test_without_the_sandbox_a_taken_port_is_replaced_by_one_no_other_server_is_handed() -> None:
    # A port from the range the system hands out for bind(port 0) could go to any other process
    # between the check and the program's bind (another session's server then answered the demo).
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = DemoRun("serve", trial=TrialFields(port=port))
        assert demo_kinds.port_for(demo, sandboxed=True) == (port, "")  # the sandbox has ports of its own
        given, note = demo_kinds.port_for(demo, sandboxed=False)
    assert given != port and given < low
    assert note == (
        f"port {port} is in use on this machine (the sandbox is off), so the program was given port "
        f"{given} (PORT in its environment, {{port}} in its arguments)"
    )


def test_a_port_answered_by_another_server_on_the_machine_is_not_the_programs(tmp_path: Path) -> None:
    # Without the sandbox, two sessions' servers can share the machine's ports: a demo must not take
    # another server's answers for its program's (a server test saw another test's 500s as its own).
    probe = (
        "import socket, sys\n"
        f"sys.path.insert(0, {str(demo_kinds.DRIVER.parent)!r})\n"
        "from program_driver import listened_by_another\n"
        "own = socket.socket(); own.bind(('127.0.0.1', 0)); own.listen()\n"
        "print(listened_by_another(int(sys.argv[1])), listened_by_another(own.getsockname()[1]))\n"
    )
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        result = subprocess.run(
            [sys.executable, "-c", probe, str(other.getsockname()[1])],
            capture_output=True, text=True, timeout=30, start_new_session=True,
        )  # fmt: skip
    assert result.stdout.split() == ["True", "False"], result.stderr
