"""Text from a model or a program reaches the screen clean: a reply or a program's output that holds
``ESC[2J`` (clear the screen), ``ESC]0;...BEL`` (window title) or ``ESC]52;...BEL`` (clipboard write)
shows its words and nothing of the sequences, in the rich view and in plain text alike."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from drive import run, start_workspace
from fake_openai import FakeOpenAIServer
from scripted import PLAN_1, review
from workspaces import make_workspace

from iterative_coder.names import PLAN, TASK
from iterative_coder.textsafe import clean_terminal_text
from iterative_coder.ui import HOLD_LIMIT, StreamCleaner, TerminalUI

CLEAR, TITLE, CLIPBOARD = "\x1b[2J", "\x1b]0;pwned\x07", "\x1b]52;c;cHduZWQ=\x07"
HOSTILE = CLEAR + TITLE + CLIPBOARD
# What must never reach a terminal (rich writes its own colour and cursor codes, so not every ESC).
FORBIDDEN = ("\x1b]52", "\x1b]0;", "\x1b[2J")

HOSTILE_PLAN = PLAN_1.replace("# Word counter", f"# Word{HOSTILE} counter").replace(
    "Files that do not exist.", f"Files that{HOSTILE} do not exist."
)
# The program prints the sequences between two words; the source holds them as escapes.
PRINTING_SCRIPT = "```python\nprint('before\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\x1b]0;pwned\\x07after')\n```"


def hostile_review() -> str:
    """A REVISE review whose point holds the sequences (JSON escapes them), after raw ones in prose."""
    data = json.loads(review(1, "REVISE"))
    data["points"][0]["issue"] = f"REVIEW-MARKER-1: main{HOSTILE} crashes{CLIPBOARD}"
    return f"{TITLE}Here is my review.{CLEAR}\n{json.dumps(data)}"


def assert_clean(screen: str) -> None:
    for sequence in FORBIDDEN:
        assert sequence not in screen, f"{sequence!r} reached the terminal"


def review_and_run(fake_server: FakeOpenAIServer, root: Path) -> list[str]:
    """A workspace with an agreed plan, a Coder whose script prints the sequences, a hostile Reviewer;
    the arguments that resume it with every run allowed."""
    (root / "ws").mkdir()
    start_workspace(root / "ws")
    fake_server.enqueue("coder", PRINTING_SCRIPT)
    fake_server.enqueue("reviewer", hostile_review())
    return ["--resume", "ws", "--execute", "always", "--max-iterations", "2"]


# Through the real CLI in a pseudo-terminal: the rich view, with its live streaming widget.


def test_a_hostile_plan_shows_its_words_and_no_sequence(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    fake_server.enqueue("planner", HOSTILE_PLAN)
    cli = run_cli("--task", "count words")
    cli.expect("Word counter")
    cli.expect("Files that do not exist.")
    cli.answer("/stop")
    cli.expect("Stopped before the plan was approved.")
    assert cli.wait_exit() == 0
    assert_clean(cli.output)
    log = (tmp_path / "workspace" / "log.jsonl").read_text().splitlines()
    assert f"# Word{HOSTILE} counter" in json.loads(log[0])["reply"]  # the log keeps it as it came


def test_a_hostile_review_and_program_output_show_their_words_and_no_sequence(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path
) -> None:
    cli = run_cli(*review_and_run(fake_server, tmp_path))
    cli.expect("REVIEW-MARKER-1: main crashes")
    cli.expect("Your turn on version 1")
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    assert_clean(cli.output)
    # Files keep the text as it came: they are data; but the program's output excerpts in run_v1.md are
    # stored cleaned (and redacted), since the Reviewer and the person read them.
    assert f"main{HOSTILE} crashes" in (tmp_path / "ws" / "review_v1.md").read_text()
    assert "beforeafter" in (run_v1 := (tmp_path / "ws" / "run_v1.md").read_text()) and "\x1b" not in run_v1


# Plain text (stdout not a terminal): no escape sequence at all.


def test_a_hostile_plan_in_plain_text_holds_no_escape_at_all(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env
) -> None:
    fake_server.enqueue("planner", HOSTILE_PLAN)
    result = run(["--task", "count words"], tmp_path, model_env, stdin="/stop\n")
    assert "Word counter" in result.stdout and "Files that do not exist." in result.stdout
    assert "\x1b" not in result.stdout + result.stderr


def test_a_hostile_review_and_program_output_in_plain_text_hold_no_escape_at_all(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env
) -> None:
    result = run(review_and_run(fake_server, tmp_path), tmp_path, model_env, stdin="/stop\n")
    assert "REVIEW-MARKER-1: main crashes" in result.stdout
    assert "[run_v1.md] ended (exit 0)" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr


def test_status_shows_a_hostile_plan_title_without_its_sequences(tmp_path: Path, clean_env) -> None:
    ws = make_workspace(tmp_path / "ws", 2)
    (ws / PLAN).write_text(f"# Word{CLIPBOARD} counter{TITLE}\n\n1. Count words.\n")
    (ws / TASK).write_text(f"count{CLEAR} words\n")
    result = run(["status", "ws"], tmp_path, clean_env)
    assert result.returncode == 0, result.stderr
    assert "Plan: Word counter\n" in result.stdout and "Task: count words\n" in result.stdout
    assert "\x1b" not in result.stdout
    data = json.loads(run(["status", "ws", "--json"], tmp_path, clean_env).stdout)
    assert data["plan_title"] == f"Word{CLIPBOARD} counter{TITLE}"  # data, escaped by JSON


# TerminalUI itself, writing to a string as to a terminal.


def rich_ui() -> tuple[TerminalUI, io.StringIO]:
    from rich.console import Console

    ui = TerminalUI(plain=False)
    screen = io.StringIO()
    ui.console = Console(file=screen, force_terminal=True, width=100, highlight=False, emoji=False)
    return ui, screen


def plain_ui() -> tuple[TerminalUI, io.StringIO]:
    ui = TerminalUI(plain=True)
    screen = io.StringIO()
    ui.console.file = screen
    return ui, screen


CALLS: dict[str, Callable[[TerminalUI], None]] = {
    "info": lambda ui: ui.info(f"saved{HOSTILE} it"),
    "warn": lambda ui: ui.warn(f"saved{HOSTILE} it"),
    "markdown": lambda ui: ui.show_markdown(f"Pl{TITLE}an", f"# saved{HOSTILE} it\n\n- [a](x{CLIPBOARD})"),
    "code": lambda ui: ui.show_code(f"v{TITLE}1", f"x = 1  # saved{HOSTILE} it\n\tpass"),
    "diff": lambda ui: ui.show_diff("a.py", "x = 1\n", f"b{TITLE}.py", f"x = 2  # saved{HOSTILE} it\n"),
    "result": lambda ui: ui.show_result(f"python{TITLE}", f"saved{HOSTILE} it", ok=False),
    "table": lambda ui: ui.show_table(f"Sum{TITLE}", [f"ver{CLEAR}sion"], [[f"saved{HOSTILE} it"]]),
    "status": lambda ui: ui.status(f"saved{HOSTILE} it"),
}


@pytest.mark.parametrize("make", [rich_ui, plain_ui], ids=["rich", "plain"])
@pytest.mark.parametrize("name", CALLS)
def test_every_terminal_ui_call_cleans_its_text(make: Callable, name: str) -> None:
    ui, screen = make()
    CALLS[name](ui)
    shown = screen.getvalue()
    assert_clean(shown)
    assert "saved it" in shown
    if ui.plain:
        assert "\x1b" not in shown


@pytest.mark.parametrize("make", [rich_ui, plain_ui], ids=["rich", "plain"])
def test_streamed_pieces_and_the_prompt_are_cleaned(make: Callable, monkeypatch, capsys) -> None:
    ui, screen = make()
    reply = f"streamed{HOSTILE} words\nmore {TITLE}text"
    with ui.working("Planner", f"is drafting{TITLE}") as view:
        for start in range(0, len(reply), 3):  # every sequence is cut across pieces
            view.chunk(reply[start : start + 3])
    monkeypatch.setattr("builtins.input", lambda prompt="": "yes")
    assert ui.ask(f"Approve{CLIPBOARD}?") == "yes"
    ui.error(f"failed{HOSTILE} badly")
    shown, error = screen.getvalue(), capsys.readouterr().err
    assert_clean(shown + error)
    assert "Planner is drafting" in shown and "Approve?" in shown
    assert "failed badly" in error
    if ui.plain:  # a progress line only: the rendered result follows the reply
        assert "\x1b" not in shown and "streamed" not in shown
    else:
        assert "streamed words" in shown and "more text" in shown


HOSTILE_REPLY = f"a{HOSTILE}b\r\nc\x1b\x1b[31md\x9b2Je\x9d0;t\x9cf{CLIPBOARD[:-1]}"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 1000])
def test_a_stream_cut_anywhere_comes_out_as_the_whole_text_cleaned(size: int) -> None:
    cleaner = StreamCleaner()
    pieces = [cleaner.feed(HOSTILE_REPLY[i : i + size]) for i in range(0, len(HOSTILE_REPLY), size)]
    assert "".join(pieces) + cleaner.flush() == clean_terminal_text(HOSTILE_REPLY) == "ab\ncdef"


def test_a_long_unterminated_sequence_is_not_held_back_for_ever() -> None:
    cleaner = StreamCleaner()
    assert cleaner.feed("text\x1b]52;c;") == "text"
    assert cleaner.feed("A" * HOLD_LIMIT) == ""  # dropped, not kept to the end of the stream
    assert cleaner.feed("B\n") == "B\n"
    assert cleaner.flush() == ""
