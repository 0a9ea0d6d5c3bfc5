"""What is typed answers only the question on screen, and reaches the person: a pasted block of lines
is one answer, Ctrl-C and Ctrl-D keep their meaning at the prompt, and with stdout redirected to a file
the terminal shows the questions and everything the file gets (into a pipe, the output goes the pipe's way).

Two sessions of the real CLI in a pseudo-terminal; the rest drives :class:`TerminalUI` in-process on
a pseudo-terminal of its own (80x24), from inside a running event loop as the Manager asks."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shlex
import signal
import socket
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
from conftest import WAIT
from drive import start_workspace
from fake_openai import FakeOpenAIServer
from scripted import PLAN_1, good_script, review, script
from terminal_process import TerminalProcess, set_window_size

from iterative_coder.ui import IGNORED_KEYS, TerminalUI

FEEDBACK = ["Count words case-insensitively", "Ignore punctuation around words", "Print the total at the end"]
# What a terminal sends for a paste when bracketed paste is on: the lines end with CR, as typed.
PASTE = "\x1b[200~" + "\r".join(FEEDBACK) + "\x1b[201~"
CURSOR_POSITION_REQUEST = "\x1b[6n"
BRACKETED_PASTE_OFF = "\x1b[?2004l"


def test_a_pasted_block_at_the_version_prompt_is_one_feedback(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    (tmp_path / "ws").mkdir()
    start_workspace(tmp_path / "ws")
    fake_server.enqueue("coder", good_script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
    cli = run_cli("--resume", "ws", "--execute", "never", "--max-iterations", "3")
    cli.expect("Your turn on version 1")
    cli.child.expect_exact("> ")
    cli.child.send(PASTE)
    cli.child.send("\r")
    cli.expect("Feedback saved to")
    cli.expect("Your turn on version 2")  # the paste's later lines answered nothing: this one waits
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    ws = tmp_path / "ws"
    assert (ws / "feedback_v1.md").read_text() == "\n".join(FEEDBACK) + "\n"
    assert not (ws / "feedback_v2.md").exists()
    assert "\n".join(FEEDBACK) in fake_server.requests_for("coder")[1].text
    assert CURSOR_POSITION_REQUEST not in cli.output


def test_questions_reach_the_terminal_when_stdout_is_redirected(
    fake_server: FakeOpenAIServer, model_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    command = f"exec {shlex.quote(sys.executable)} -m iterative_coder --task 'count words' > out.txt"
    child = TerminalProcess(["/bin/sh", "-c", command], cwd=tmp_path, env=model_env, timeout=WAIT)
    child.expect_exact("Word counter")  # the plan shows on the terminal too, before its question
    child.expect_exact('Reply "approve" to accept this plan')
    child.expect_exact("> ")
    child.sendline("/stop")
    child.expect_exact("Stopped before the plan was approved.")
    assert child.wait_exit() == 0
    out = (tmp_path / "out.txt").read_text()
    assert "Word counter" in out and "Stopped before the plan was approved." in out
    assert "Reply" not in out and "\x1b" not in out  # the file holds the output, the terminal the talk


# In-process: TerminalUI on a pseudo-terminal, its stdout redirected to a file (a StringIO).


class Terminal:
    """A pseudo-terminal of 80x24 standing for the person's: what the program writes to it is
    collected; what the person types is written to it."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        set_window_size(self.slave, 24, 80)
        self.stdin = open(self.slave, encoding="utf-8", closefd=False)  # noqa: SIM115
        self.stderr = open(self.slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        self._shown = ""
        self._seen = 0
        self._changed = threading.Condition()
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            with self._changed:
                self._shown += data.decode("utf-8", "replace")
                self._changed.notify_all()

    def expect(self, text: str) -> None:
        """Wait (bounded) until ``text`` shows after what an earlier expect matched."""
        with self._changed:
            found = self._changed.wait_for(lambda: text in self._shown[self._seen :], WAIT)
            assert found, f"{text!r} never showed; the screen got: {self._shown[self._seen :]!r}"
            self._seen = self._shown.index(text, self._seen) + len(text)

    def type(self, keys: str) -> None:
        """Keys the person presses."""
        os.write(self.master, keys.encode())

    @property
    def shown(self) -> str:
        """Everything written to the terminal so far."""
        with self._changed:
            return self._shown

    def close(self) -> None:
        """Hang up: the collecting thread ends (before its descriptor's number can be reused), and so
        does a read still waiting on the terminal."""
        os.close(self.slave)
        self._collector.join(WAIT)
        os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """The person's terminal; :func:`attach` makes it stdin and stderr."""
    tty = Terminal()
    yield tty
    tty.close()


def attach(terminal: Terminal, monkeypatch: pytest.MonkeyPatch, stdout: TextIO | None = None) -> TextIO:
    """The person's terminal on stdin and stderr, stdout redirected to ``stdout`` (a file; by default
    a StringIO, which is returned).

    Done in the test itself: pytest sets its own sys.stdout and sys.stderr again when a test starts.
    """
    stdout = stdout or io.StringIO()
    monkeypatch.setattr(sys, "stdin", terminal.stdin)
    monkeypatch.setattr(sys, "stderr", terminal.stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setenv("TERM", "xterm-256color")
    return stdout


class Asking:
    """``ui.ask(question)`` called from a coroutine on a running event loop (as the Manager's
    ``input_func`` is), on a thread of its own so that the test can type meanwhile."""

    def __init__(self, ui: TerminalUI, question: str) -> None:
        self.outcome: dict[str, object] = {}

        async def manager() -> str | None:
            return ui.ask(question)

        def run() -> None:
            try:
                self.outcome["answer"] = asyncio.run(manager())
            except BaseException as exc:  # noqa: BLE001 - checked by the test
                self.outcome["error"] = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self) -> dict[str, object]:
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "the question was never answered"
        return self.outcome


def test_a_question_shows_on_the_terminal_and_a_paste_is_one_answer(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = attach(terminal, monkeypatch)
    ui = TerminalUI()
    ui.info("Saved script_v1.py.")
    terminal.type("typed while the agent worked\r")  # before the question: dropped
    asking = Asking(ui, "Your turn on version 1.")
    terminal.expect("Your turn on version 1.")
    terminal.expect("> ")
    terminal.type(PASTE + "\r")
    assert asking.result() == {"answer": "\n".join(FEEDBACK)}
    assert isinstance(stdout, io.StringIO)
    assert stdout.getvalue() == "Saved script_v1.py.\n"  # the file gets the output, not the question
    assert CURSOR_POSITION_REQUEST not in terminal.shown


def test_up_recalls_an_earlier_answer_and_alt_enter_adds_a_line(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    attach(terminal, monkeypatch)
    ui = TerminalUI()
    asking = Asking(ui, "First?")
    terminal.expect("> ")
    terminal.type("add a --top option\r")
    assert asking.result() == {"answer": "add a --top option"}
    asking = Asking(ui, "Second?")
    terminal.expect("Second?")
    terminal.expect("> ")
    terminal.type("\x1b[A")  # Up
    terminal.expect("add a --top option")
    terminal.type(" and a --bottom one\x1b\rplease\r")  # Esc Enter: a new line in the same answer
    assert asking.result() == {"answer": "add a --top option and a --bottom one\nplease"}


@pytest.mark.parametrize(("key", "outcome"), [("\x03", "KeyboardInterrupt"), ("\x04", "None")])
def test_ctrl_c_at_the_prompt_interrupts_and_ctrl_d_ends_input(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch, key: str, outcome: str
) -> None:
    attach(terminal, monkeypatch)
    ui = TerminalUI()
    asking = Asking(ui, "What python creation would you like?")
    terminal.expect("> ")
    terminal.type(key)
    result = asking.result()
    if outcome == "None":
        assert result == {"answer": None}
    else:
        assert isinstance(result.get("error"), KeyboardInterrupt)
    attributes = termios.tcgetattr(terminal.slave)
    assert attributes[3] & termios.ICANON and attributes[3] & termios.ECHO  # the terminal is given back


class Ended(Exception):
    """Stands for Terminated: what the tool's SIGTERM handler raises on the main thread."""


def test_a_signal_while_the_prompt_waits_gives_the_terminal_back(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    attach(terminal, monkeypatch)
    ui = TerminalUI()

    def stop(_signum: int, _frame: object) -> None:
        raise Ended

    previous = signal.signal(signal.SIGUSR1, stop)
    main = threading.main_thread().ident

    def signal_at_the_prompt() -> None:
        terminal.expect("> ")
        signal.pthread_kill(main, signal.SIGUSR1)  # type: ignore[arg-type]

    threading.Thread(target=signal_at_the_prompt, daemon=True).start()
    try:
        with pytest.raises(Ended):
            ui.ask("Your turn on version 1.")  # on the main thread, as in the tool
    finally:
        signal.signal(signal.SIGUSR1, previous)
    terminal.expect(BRACKETED_PASTE_OFF)
    attributes = termios.tcgetattr(terminal.slave)
    assert attributes[3] & termios.ICANON and attributes[3] & termios.ECHO


def test_lines_typed_in_one_go_answer_only_the_question_on_screen(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal without bracketed paste sends a pasted block as lines typed very fast."""
    attach(terminal, monkeypatch)
    ui = TerminalUI()
    asking = Asking(ui, "Run the generated code? [y/N/a(lways)]")
    terminal.expect("> ")
    terminal.type("n\rlooks fine\r\r")
    assert asking.result() == {"answer": "n"}
    asking = Asking(ui, "Your turn on version 1.")
    terminal.expect("Your turn on version 1.")
    terminal.expect("> ")
    terminal.type("/stop\r")
    assert asking.result() == {"answer": "/stop"}


def test_output_redirected_to_a_file_shows_on_the_terminal_too(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``python -m iterative_coder > out.txt``: the person sees the plan they approve, rendered as at
    a terminal, and the live view; the file holds the plain transcript and no question."""
    with open(tmp_path / "out.txt", "w", encoding="utf-8") as out:
        attach(terminal, monkeypatch, out)
        ui = TerminalUI()
        with ui.working("Planner", "is drafting the plan") as view:
            view.chunk("# Word counter\n")
        ui.show_markdown("plan.md", "# Word counter\n\n## Requirements\n\n1. Count the words of a file.")
        asking = Asking(ui, 'Reply "approve" to accept this plan.')
        terminal.expect("Planner is drafting the plan ·")  # the live view
        terminal.expect("╭─")  # the plan, in its panel
        terminal.expect(" plan.md ")
        terminal.expect("Count the words of a file.")
        terminal.expect('Reply "approve" to accept this plan.')
        terminal.expect("> ")
        terminal.type("approve\r")
        assert asking.result() == {"answer": "approve"}
    saved = (tmp_path / "out.txt").read_text()
    assert saved.startswith("Planner is drafting the plan ... done in ")
    assert "--- plan.md ---" in saved and "1. Count the words of a file." in saved
    assert "Reply" not in saved and "\x1b" not in saved


def test_output_into_a_pipe_reaches_the_person_through_the_pipe(
    terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``| tee log``: the output goes into the pipe only, as plain text (its reader shows it)."""
    reading, writing = os.pipe()
    with open(writing, "w", encoding="utf-8") as pipe, open(reading, encoding="utf-8") as reader:
        attach(terminal, monkeypatch, pipe)
        ui = TerminalUI()
        ui.show_markdown("plan.md", "1. Count the words of a file.")
        pipe.close()
        assert reader.read() == "--- plan.md ---\n1. Count the words of a file.\n---\n"
    assert "Count the words" not in terminal.shown


def test_what_counts_as_output_redirected_to_a_file(tmp_path: Path) -> None:
    """A file or /dev/null: nobody reads it meanwhile. A pipe or a socket has a reader that shows it."""
    from iterative_coder.terminal_input import redirected_to_file

    reading, writing = os.pipe()
    one, other = socket.socketpair()
    with (
        open(tmp_path / "out.txt", "w") as file,
        open(os.devnull, "w") as null,
        open(writing, "w") as pipe,
        one.makefile("w") as connection,
    ):
        assert redirected_to_file(file) and redirected_to_file(null)
        assert not redirected_to_file(pipe) and not redirected_to_file(connection)
        assert not redirected_to_file(io.StringIO())
    os.close(reading)
    one.close()
    other.close()


# --- a program typing into the tool's terminal (TIOCSTI), the sandbox off ----------------------------

# A hostile program, run unsandboxed: it finds the tool's terminal (the first process above it whose
# stdin is a terminal) and types "/done" and Enter into it with TIOCSTI, while the tool is busy running
# it: long before the Manager's question. Were the keys taken, they would accept version 1.
TYPES_DONE = """Here it is.

```python
import fcntl, os, termios

def tool_terminal():
    pid = os.getppid()
    while pid > 1:
        try:
            name = os.readlink(f"/proc/{pid}/fd/0")
            if name.startswith("/dev/pts/"):
                return name
        except OSError:
            pass
        pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    return None

path = tool_terminal()
if path:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    for byte in b"/done\\r":
        fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))
    print("typed /done into", path)
```
"""


def _tiocsti_refused() -> str | None:
    """Why TIOCSTI cannot type into a terminal that is not the caller's own here, or None."""
    import fcntl

    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSTI, b"x")
    except OSError as error:
        return (
            f"TIOCSTI is refused here ({error.strerror}): since Linux 6.2 with dev.tty.legacy_tiocsti=0, "
            "or without CAP_SYS_ADMIN, no program can type into another terminal"
        )
    finally:
        os.close(master)
        os.close(slave)
    return None


@pytest.mark.skipif(bool(_tiocsti_refused()), reason=str(_tiocsti_refused()))
def test_keys_a_program_types_into_the_terminal_while_the_tool_works_answer_nothing(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    (tmp_path / "ws").mkdir()
    start_workspace(tmp_path / "ws")
    fake_server.enqueue("coder", TYPES_DONE)
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    cli = run_cli("--resume", "ws", "--execute", "always", "--sandbox", "off", "--max-iterations", "2")
    cli.expect("Your turn on version 1")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    ws = tmp_path / "ws"
    assert "typed /done into /dev/pts/" in (ws / "run_v1.md").read_text()  # the keys were typed
    assert IGNORED_KEYS in cli.output  # ... and dropped before the question
    assert json.loads((ws / "session.json").read_text())["finished"] is None  # version 1 not accepted
    assert "Stopped." in cli.output
    # With the sandbox off the tool said, before the program ran, that it could do this.
    shown = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", cli.output).split())
    assert "Unsandboxed, a program can reach this terminal: write to it and type into it." in shown


# --- keys typed the moment before a question ---------------------------------------------------------


@pytest.mark.parametrize("line_mode", [True, False], ids=["at a question", "while the tool works"])
def test_keys_typed_the_moment_before_a_question_are_counted_not_dropped_unsaid(
    line_mode: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel moves typed keys into the terminal's input queue a moment after they are typed: keys
    typed just before a question (or just before the work ends) were flushed before they were counted,
    so they were dropped with no "Ignored what was typed" line (a CI run of the 80x24 test showed it)."""
    from iterative_coder.terminal_input import discard_typed_ahead

    master, slave = os.openpty()
    terminal = os.fdopen(os.dup(slave), "r")
    try:
        settings = termios.tcgetattr(slave)
        if not line_mode:  # as the terminal is while the tool works (KeysWhileWorking.hidden)
            settings[3] &= ~(termios.ECHO | termios.ICANON)
        termios.tcsetattr(slave, termios.TCSANOW, settings)
        monkeypatch.setattr(sys, "stdin", terminal)
        counted = []
        for _ in range(20):  # without the fix, about 49 of 50 went uncounted here
            os.write(master, b"hello\r")
            counted.append(discard_typed_ahead())
        assert counted == [6] * 20
    finally:
        terminal.close()
        os.close(master)
        os.close(slave)


# --- the terminal lent to a program (/run) -----------------------------------------------------------

LENT = """
import sys, termios, tty
from iterative_coder.terminal_input import terminal_given_back
with terminal_given_back():  # as a curses program killed by Ctrl-C leaves it
    tty.setraw(0)
    sys.stdout.write("\\x1b[?1049h\\x1b[?25l")
    sys.stdout.flush()
print("echo on" if termios.tcgetattr(0)[3] & termios.ECHO else "echo off")
"""


def test_a_terminal_lent_to_a_program_comes_back_as_it_was(tmp_path: Path) -> None:
    from iterative_coder.terminal_input import SCREEN_MODES_OFF

    child = TerminalProcess([sys.executable, "-c", LENT], cwd=tmp_path, env=dict(os.environ), timeout=WAIT)
    child.expect_exact(SCREEN_MODES_OFF)  # the alternate screen left, the cursor shown
    child.expect_exact("echo on")  # line editing and echo back, so the next question can be typed at
    assert child.wait_exit() == 0
