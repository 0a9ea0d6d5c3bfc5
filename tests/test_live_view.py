"""What the screen shows while an agent works: at a terminal a live view that fits the screen (the
spinner line and the elapsed seconds stay visible at 80x24, after a resize, during a long reply with
long lines) and whose spinner moves; in plain output one progress line and no raw reply."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console, RenderableType

from iterative_coder.stream_view import MAX_DOTS, LiveStreamView
from iterative_coder.ui import TerminalUI

# 40 lines of about 330 characters: each takes 5 rows at 80 columns, 200 rows in all.
LONG_REPLY = "\n".join(f"line {n}: " + "lorem ipsum " * 27 + f"END-{n}" for n in range(40))
LABEL = "Coder is writing script_v1.py"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def terminal(width: int = 80, height: int = 24, clock: Clock | None = None) -> Console:
    """A rich console standing for a terminal of the given size."""
    return Console(
        file=io.StringIO(), force_terminal=True, width=width, height=height, get_time=clock, emoji=False
    )


def screen_rows(console: Console, renderable: RenderableType) -> list[str]:
    """The rows the renderable takes on the console, as text."""
    lines = console.render_lines(renderable, console.options, pad=False)
    return ["".join(segment.text for segment in line) for line in lines]


def streamed(view: LiveStreamView, text: str, size: int = 37) -> None:
    for start in range(0, len(text), size):
        view.chunk(text[start : start + size])


def test_a_long_reply_at_80x24_leaves_the_spinner_line_and_the_seconds_on_screen() -> None:
    clock = Clock()
    console = terminal(clock=clock)
    view = LiveStreamView(console, "Coder", "is writing script_v1.py")
    clock.now = 7.2
    streamed(view, LONG_REPLY)
    rows = screen_rows(console, view.render())
    # Shorter than the screen with room to spare: the view never scrolls, so the transient view
    # leaves nothing of the raw reply above what follows it.
    assert len(rows) <= 24 - 3
    assert f"{LABEL} · 7s" in rows[-1]
    assert rows[-2].rstrip().endswith("END-39")  # the tail is the newest text
    assert all(console.measure(row).maximum <= 80 for row in rows)


def test_after_a_resize_the_view_fits_the_new_size() -> None:
    clock = Clock()
    console = terminal(clock=clock)
    view = LiveStreamView(console, "Coder", "is writing script_v1.py")
    streamed(view, LONG_REPLY)
    console.size = (50, 10)  # the person made the window smaller
    clock.now = 61
    rows = screen_rows(console, view.render())
    assert len(rows) <= 10 - 3
    assert f"{LABEL} · 61s" in rows[-1]
    console.size = (30, 4)  # a tiny window: the spinner line alone, cut to the width
    rows = screen_rows(console, view.render())
    assert len(rows) == 1 and rows[0].startswith(tuple("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")) and rows[0].endswith("…")


def test_the_spinner_moves() -> None:
    clock = Clock()
    console = terminal(clock=clock)
    view = LiveStreamView(console, "Reviewer", "is reviewing script_v1.py")
    glyphs = []
    for tenth in range(5):
        clock.now = tenth / 10
        glyphs.append(screen_rows(console, view.render())[-1][0])
    assert len(set(glyphs)) == 5, glyphs


def test_no_color_at_a_terminal_keeps_the_live_view(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr("sys.stdout", Tty())
    ui = TerminalUI()
    assert not ui.plain and ui.console.no_color
    (view,) = ui.working("Planner", "is drafting the plan").views
    assert isinstance(view, LiveStreamView)


def test_plain_output_shows_a_progress_line_and_no_raw_reply() -> None:
    ui = TerminalUI(plain=True)
    ui.console.file = io.StringIO()
    raw_review = '{"verdict": "REVISE", "points": [{"issue": "RAW-POINT"}]}' + " " * 40_000
    with ui.working("Reviewer", "is reviewing script_v1.py") as view:
        for start in range(0, len(raw_review), 100):
            view.chunk(raw_review[start : start + 100])
    ui.show_markdown("review_v1.md", "Verdict: REVISE\n\n1. RENDERED-POINT")
    shown = ui.console.file.getvalue()
    header, line = "Reviewer is reviewing script_v1.py ...", shown.splitlines()[0]  # not "py...."
    assert line.startswith(header + "....") and line.endswith(" done in 0 s.")  # a dot per 400 characters
    assert len(line) <= len(header) + MAX_DOTS + len(" done in 0 s.")  # however long the reply
    assert "RAW-POINT" not in shown and '"verdict"' not in shown
    assert shown.count("RENDERED-POINT") == 1


CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURSOR_UP = "\x1b[1A"


def draw(view: LiveStreamView, console: Console) -> tuple[int, list[str]]:
    """Have the view draw a frame now; the rows it erased first (of the frame before) and the rows
    it drew."""
    file = console.file
    assert isinstance(file, io.StringIO)
    start = len(file.getvalue())
    view._live.refresh()
    written = file.getvalue()[start:]
    erased = written.count(CURSOR_UP) + 1 if CURSOR_UP in written or "\r" in written else 0
    return erased, CONTROL.sub("", written).lstrip("\r").split("\n")


def rows_at(width: int, rows: list[str]) -> int:
    """The rows ``rows`` take in a terminal ``width`` columns wide that re-wraps them (tmux does)."""
    return sum(max(1, -(-len(row) // width)) for row in rows)


def test_a_terminal_made_narrower_and_wider_keeps_no_raw_row_above_the_view() -> None:
    """tmux resize-window -x 60 -y 18 while the Coder streams, then back to 80x24: the view erases
    every row its last frame takes after the terminal re-wrapped it, its rows are cut to the width
    (a row never becomes two), and the frame fits the screen even when its rows are split in two."""
    console = terminal()
    view = LiveStreamView(console, "Coder", "is writing script_v1.py")
    view._live.auto_refresh = False  # frames are drawn when the test says, not on a timer
    with view:
        streamed(view, LONG_REPLY)
        _, at_80 = draw(view, console)
        assert 2 < len(at_80) <= 24 // 2 and all(len(row) <= 80 for row in at_80)
        assert at_80[0].startswith("line ") and at_80[0].endswith("…")  # cut, not wrapped
        assert at_80[-2].endswith("END-39") and LABEL in at_80[-1]
        assert rows_at(60, at_80) <= 18  # re-wrapped at 60 columns it still fits: none scrolls away
        console.size = (60, 18)
        erased, at_60 = draw(view, console)
        assert erased == rows_at(60, at_80) > len(at_80)
        assert len(at_60) <= 18 // 2 and all(len(row) <= 60 for row in at_60)
        assert rendered_height(view) == len(at_60)  # what Live will erase next
        console.size = (80, 24)
        erased, at_80_again = draw(view, console)
        assert erased == len(at_60)  # wider: nothing was re-wrapped
        assert len(at_80_again) == len(at_80)


def rendered_height(view: LiveStreamView) -> int:
    """The height of the frame rich's Live drew last, which it erases next (``last_render_height``
    from rich 14.3; its ``_shape`` before)."""
    live_render = view._live._live_render
    if hasattr(live_render, "last_render_height"):
        return live_render.last_render_height
    return live_render._shape[1] if live_render._shape else 0
