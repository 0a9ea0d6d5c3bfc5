"""Generated code runs only with consent, in a limited subprocess; hostile scripts are contained.

Each hostile script comes from the Coder through the fake model server, is written, run by the
real runner and reviewed; the tests assert what a user relies on: bounded time, no process left,
no key in the program's environment, capped output, an honest run_vN.md the Reviewer sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from drive import run_loop, start_workspace
from fake_openai import FakeOpenAIServer

from iterative_coder.execution.runner import OUTPUT_KEEP, RunOptions, run_limited
from iterative_coder.records.embedded import prose_of

TIMEOUT = 3.0
MARGIN = 3.0  # start-up of two Python processes and the kill, on a slow machine
# A busy loop takes a whole core until it is stopped, so it is stopped sooner.
LOOP_TIMEOUT = 1.0

HOSTILE = {
    "raises": ("raise ValueError('boom from the script')", "exit 1", "ValueError: boom from the script"),
    "loops forever": ("while True:\n    pass", f"still running after {LOOP_TIMEOUT:g} s, stopped", ""),
    "prints the environment": ("import os\nprint(sorted(os.environ.items()))", "exit 0", "PYTHONUNBUFFERED"),
    "allocates without bound": (
        "chunks = []\nwhile True:\n    chunks.append(bytes(10**8))",
        "exit 1",
        "MemoryError",
    ),
    "forks many children": (
        "import os, time\nfor _ in range(100):\n    if os.fork() == 0:\n        time.sleep(600)\n"
        "        os._exit(0)\ntime.sleep(600)",
        "started more than 64 processes (or 256 threads), stopped",
        "",
    ),
    "leaves children behind": (
        "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n"
        "        time.sleep(600)\n        os._exit(0)",
        "exit 0",
        "3 process(es) it left running were stopped",
    ),
    "prints 50 MB": (
        "import sys\nsys.stdout.write('x' * 50_000_000)",
        "exit 0",
        "first and last 4 KB of 50,000,000",
    ),
    "asks for input": (
        "name = input('Your name? ')\nprint(name)",
        "exit 1",
        "It asked for more input than the demo gives",
    ),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_scripts_are_contained(
    kind: str, fake_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)  # our process has a key; the program must not see it
    code, result, evidence = HOSTILE[kind]
    start_workspace(tmp_path)
    fake_server.enqueue("coder", f"```python\n{code}\n```")
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n1. Fix it.")
    timeout = LOOP_TIMEOUT if kind == "loops forever" else TIMEOUT
    started = time.monotonic()
    run_loop(fake_server, tmp_path, ["/stop"], execute="always", run_timeout=timeout)
    assert time.monotonic() - started < timeout + MARGIN + 2  # + the two model calls

    run_text = (tmp_path / "run_v1.md").read_text()
    assert f"- result: {result}" in run_text
    assert evidence in run_text
    assert prose_of(run_text).strip() in fake_server.requests_for("reviewer")[0].text
    assert len(run_text) < 4 * OUTPUT_KEEP + 4000  # output capped, whatever the program printed
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path
    assert not leftover_processes(tmp_path)


def leftover_processes(root: Path) -> list[int]:
    """Processes still running from the workspace's run folders."""
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
                state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if cwd.startswith(str(root.resolve())) and state != b"Z":
                left.append(int(entry))
    return left


def test_the_program_sees_only_a_bare_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("SOME_SECRET_TOKEN", "hunter2")
    (tmp_path / "env.py").write_text("import json, os\nprint(json.dumps(dict(os.environ)))")
    result = run_limited([sys.executable, "env.py"], tmp_path, TIMEOUT)
    seen = json.loads(result.stdout.text())
    assert set(seen) <= {
        "PATH", "LANG", "HOME", "TMPDIR", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "MPLBACKEND",
        "SDL_VIDEODRIVER", "QT_QPA_PLATFORM", "LC_CTYPE", "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "ITERATIVE_CODER_RUN",
    }  # fmt: skip
    assert seen["HOME"] == str(tmp_path) and seen["MPLBACKEND"] == "Agg"
    assert len(seen["ITERATIVE_CODER_RUN"]) == 32  # the run's random token (strays.py), nothing of ours


def test_a_run_is_recorded_in_the_workspace_before_the_program_starts(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "v1" / "demo-1"
    run_dir.mkdir(parents=True)
    (run_dir / "look.py").write_text(
        "import json, os\n"
        "record = json.load(open('../../.running'))\n"
        "print(json.dumps([record, os.environ['ITERATIVE_CODER_RUN'], os.getpgid(0)]))"
    )
    result = run_limited([sys.executable, "look.py"], run_dir, TIMEOUT, RunOptions(workspace=tmp_path))
    record, token, group = json.loads(result.stdout.text())
    assert record == {"runs": [{"token": token, "group": group, "folder": "runs/v1/demo-1"}]}
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["v1"]  # the record went with the run


def test_once_the_session_ends_its_job_threads_start_no_program(tmp_path: Path) -> None:
    # A session stopped during the program's run exits without waiting for its job thread, which went
    # on to the acceptance tests: a sandbox started as the tool exited left bubblewrap's init running
    # for good (seen in the suite: a bwrap of runs/v1-tests after a SIGHUP, its record still there).
    import asyncio

    from iterative_coder.execution.running import SessionEnding, session_runs, stop_all_programs

    def run_in(folder: Path) -> None:
        folder.mkdir()
        (folder / "touch.py").write_text("open('ran', 'w').close()")
        run_limited([sys.executable, "touch.py"], folder, TIMEOUT, RunOptions(workspace=tmp_path))

    async def session() -> None:
        await asyncio.to_thread(run_in, tmp_path / "before")  # runs while the session goes on
        stop_all_programs(ending=True)  # as the tool's way out does
        with pytest.raises(SessionEnding):
            await asyncio.to_thread(run_in, tmp_path / "after")  # a job thread left behind

    with session_runs():
        asyncio.run(session())
    assert (tmp_path / "before" / "ran").exists()
    assert not (tmp_path / "after" / "ran").exists()
    assert not (tmp_path / "runs" / ".running").exists()  # nothing recorded as running either
    run_in(tmp_path / "next")  # another session (in-process tests) runs again
    assert (tmp_path / "next" / "ran").exists()


def test_a_silent_program_still_times_out_and_its_group_is_killed(tmp_path: Path) -> None:
    (tmp_path / "quiet.py").write_text(
        "import subprocess, time\nsubprocess.Popen(['sleep', '600'])\ntime.sleep(600)"
    )
    started = time.monotonic()
    result = run_limited([sys.executable, "quiet.py"], tmp_path, 1.0)
    assert result.timed_out and time.monotonic() - started < 1.0 + MARGIN
    assert not leftover_processes(tmp_path)


def test_acceptance_tests_run_against_the_script_and_are_reported_by_name(
    fake_server, tmp_path: Path
) -> None:
    tests = (
        "import script\n\n\ndef test_adds():\n    assert script.add(2, 2) == 4\n\n\n"
        "def test_subtracts():\n    assert script.sub(3, 1) == 2\n\n\n"
        "def test_errors():\n    script.missing()\n"
    )
    start_workspace(tmp_path, tests)
    fake_server.enqueue(
        "coder", "```python\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n```"
    )
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n1. sub() adds.", "Verdict: REVISE\n\n1. Gone.")
    fake_server.enqueue(  # keeps sub(): a whole script, not one that drops a function
        "coder", "```python\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n```"
    )
    outcome, _, ui = run_loop(fake_server, tmp_path, ["", "/stop"], execute="always", run_timeout=10)
    run_text = (tmp_path / "run_v1.md").read_text()
    assert "Summary: tests 1/3 passed · ended (exit 0)" in run_text
    assert "| test_adds | passed |" in run_text
    assert "| test_subtracts | failed | assert 4 == 2" in run_text
    assert "| test_errors | failed | AttributeError" in run_text
    shown = ui.texts("result")[0]
    assert shown.startswith("run_v1.md: tests 1/3 passed · ended (exit 0) · ")
    assert shown.endswith("\nfailing: test_subtracts, test_errors")
    coder_v2 = fake_server.requests_for("coder")[1].text
    assert "- test_subtracts (failed): assert 4 == 2" in coder_v2
    assert "test_adds (" not in coder_v2


def test_a_script_the_tests_cannot_import_from_is_the_versions_fault(fake_server, tmp_path: Path) -> None:
    start_workspace(
        tmp_path, "from script import count_words\n\n\ndef test_req1():\n    assert count_words('a b') == 2\n"
    )
    first = "def add(a, b):\n    return a + b\n"
    second = first + "\n\ndef count_words(text):\n    return len(text.split())\n"
    fake_server.enqueue("coder", f"```python\n{first}```", f"```python\n{second}```")
    fake_server.enqueue("reviewer", "Verdict: APPROVE\n\nFine.", "Verdict: REVISE\n\n1. More.")
    run_loop(fake_server, tmp_path, ["", "/stop"], execute="always", run_timeout=10)
    run_text = (tmp_path / "run_v1.md").read_text()
    assert "itself does not load" not in run_text  # the test file loads against a stand-in script
    assert (
        "| acceptance_test | error | ImportError: cannot import name 'count_words' from 'script'" in run_text
    )
    assert (tmp_path / "review_v1.md").read_text().startswith("Verdict: REVISE")
    coder_v2 = fake_server.requests_for("coder")[1].text
    assert (
        "- acceptance_test (error): ImportError: cannot import name 'count_words' from 'script' (script.py)"
        in (coder_v2)
    )


def test_nothing_runs_without_consent(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    fake_server.enqueue(
        "coder", "```python\nopen('ran.txt', 'w').write('x')\n```", "```python\nprint(1)\n```"
    )
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n1. a", "Verdict: REVISE\n\n1. b")
    # --execute never: not even asked.
    _, _, ui = run_loop(fake_server, tmp_path, ["/run", "", "/stop"], execute="never")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "run_v1.md").exists()
    assert not any("Run the generated code?" in q for q in ui.texts("ask"))
    assert "The script was not run" in fake_server.requests_for("reviewer")[0].text
    # --execute ask and the Manager says no (or just Enter): nothing runs. (Typing /run is consent.)
    second = tmp_path / "second"
    second.mkdir()
    start_workspace(second)
    fake_server.enqueue("coder", "```python\nopen('ran.txt', 'w').write('x')\n```")
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n1. a")
    _, _, ui = run_loop(fake_server, second, ["", "", "/stop"], execute="ask", max_iterations=1)
    assert ui.texts("ask")[0] == "Run the generated code? [y/N/a(lways)]"  # before the review
    assert not (second / "runs").exists() and not (second / "run_v1.md").exists()
    assert not list(tmp_path.rglob("ran.txt"))


def test_always_is_asked_once_and_run_repeats_with_arguments(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    code = "import sys\nprint('args:', sys.argv[1:])\nopen('args.txt', 'w').write(repr(sys.argv[1:]))"
    changed = code.replace("'args:'", "'arguments:'")  # the same script again would be asked for again
    fake_server.enqueue("coder", f"```python\n{code}\n```", f"```python\n{changed}\n```")
    fake_server.enqueue("reviewer", "Verdict: REVISE\n\n1. a", "Verdict: REVISE\n\n1. b")
    _, _, ui = run_loop(fake_server, tmp_path, ["a", "/run --top 3 'two words'", "", "/stop"], execute="ask")
    assert [q for q in ui.texts("ask") if q.startswith("Run the generated code?")] == [
        "Run the generated code? [y/N/a(lways)]"
    ]
    assert (tmp_path / "run_v1.md").exists() and (tmp_path / "run_v2.md").exists()
    # /run gives the program the person's terminal: its output goes there, and one line says how it ended.
    shown = [text for text in ui.texts("result") if text.startswith("python script_v1.py")]
    assert shown == ["python script_v1.py --top 3 'two words': exit 0"]
    assert (tmp_path / "runs" / "v1-manual" / "args.txt").read_text() == "['--top', '3', 'two words']"
    assert any(
        text.startswith("Running script_v1.py in ") and "v1-manual" in text for text in ui.texts("info")
    )


def test_the_wait_for_a_program_ends_when_the_program_does_not_at_the_next_check() -> None:
    from iterative_coder.execution.waiting import ExitWatch

    program = subprocess.Popen(["cat"], stdin=subprocess.PIPE)
    with ExitWatch(program.pid, poll_seconds=0.02) as exited:
        assert program.stdin is not None
        program.stdin.close()  # cat ends at the end of its input
        started = time.monotonic()
        while program.poll() is None:
            exited.wait(40)
        assert time.monotonic() - started < 20  # woken by the exit, not after the 40 s asked for


def test_the_report_line_of_pytest_8_0_reads_alike_whatever_the_tools_pid() -> None:
    # pytest 8.0 prints the report's path in a line of dashes as wide as the terminal; the folder's name
    # holds the tool's pid, so a resumed run (another pid, maybe another number of digits) wrote a
    # run_vN.md that differed by a dash (CI's oldest-releases run, after a SIGKILL and --resume).
    from iterative_coder.execution.runs import _without_folder
    from iterative_coder.records.demo_run import CommandRecord

    def as_pytest_8_0_prints(folder: str) -> CommandRecord:
        title = f" generated xml file: {folder}/report.xml "
        left = (80 - len(title)) // 2
        line = "-" * left + title + "-" * (80 - len(title) - left)
        return CommandRecord("exit 0", 0, 0.1, stdout=f"..   [100%]\n{line}\n2 passed in 0.02s\n")

    seen = set()
    for pid in (999, 10000, 123456):
        folder = f"/tmp/iterative-coder-report-{pid}-k2j4h5g6"
        seen.add(_without_folder(as_pytest_8_0_prints(folder), folder).stdout)
    assert seen == {"..   [100%]\n-- generated xml file: <report folder>/report.xml --\n2 passed in 0.02s\n"}
