"""What the screen shows while an agent works: a live view at a terminal, a progress line otherwise.

:class:`LiveStreamView` (a terminal) animates one spinner with the elapsed seconds and shows the last
lines of the reply as it streams, fitted to the screen as it is at each refresh: one row per line, cut
(not wrapped) to the width, and at most half the rows the height leaves, so the spinner line stays on
screen at 80x24 and after a resize. The view is transient, so nothing of the raw reply stays above the
rendered result, including after a resize: see :meth:`LiveStreamView.render`.

:class:`PlainStreamView` (output not a terminal) prints one progress line and no raw text: the phases
print the rendered result (the plan, the script, the review) when the reply is complete, so each thing
is said once. Streamed text is cleaned piece by piece by :class:`StreamCleaner`.
"""

from __future__ import annotations

import contextlib
import re
from types import TracebackType

from rich.cells import cell_len
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from .textsafe import clean_terminal_text as clean

# The tail of a streamed reply: at most this many screen rows...
STREAM_TAIL_ROWS = 8
# ...and at most half of the rows left after those the spinner line, the cursor and a margin need, so
# that a view whose rows a terminal splits in two when it narrows (tmux, most terminals) still fits.
RESERVED_ROWS = 4
# The plain progress line: a dot for each this many characters received, at most MAX_DOTS dots.
DOT_CHARS = 400
MAX_DOTS = 40
# The last ESC or C1 control of a text and all after it: perhaps a sequence the next piece completes.
_LAST_INTRODUCER = re.compile(r"[\x1b\x80-\x9f][^\x1b\x80-\x9f]*\Z")
# A possible sequence longer than this is not held back (an unterminated string runs to the end).
HOLD_LIMIT = 4096


class StreamCleaner:
    """Cleans text that arrives in pieces: each piece comes out clean at once, except a possible
    control sequence at its end, which waits for the next piece so that it is removed whole."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> str:
        """The clean text of ``text`` (after what was held back), less what is held back now."""
        text, self._pending = self._pending + text, ""
        last = _LAST_INTRODUCER.search(text)
        if last and len(last.group()) <= HOLD_LIMIT and not clean(last.group()):
            self._pending = last.group()
            text = text[: last.start()]
        return clean(text)

    def flush(self) -> str:
        """The clean text of what is still held back (the stream has ended)."""
        text, self._pending = self._pending, ""
        return clean(text)


def tail_rows(text: str, width: int, rows: int) -> list[Text]:
    """The last ``rows`` lines of ``text``, one screen row each, cut to ``width`` cells.

    A line too long for the row is cut, not wrapped, so each line takes exactly one row: its start
    shows, except on the last line (the one arriving), whose end shows, so that the newest text is
    in view. Only the end of the text is read, so a long reply costs no more to show than a short one.
    """
    if rows <= 0 or width <= 0:
        return []
    text = text.rstrip("\n")
    if not text:
        return []
    lines = text.rsplit("\n", rows)[-rows:]
    shown = [Text(_start(line, width), style="dim") for line in lines[:-1]]
    return [*shown, Text(_end(lines[-1], width), style="dim")]


def _start(line: str, width: int) -> str:
    """``line`` in at most ``width`` cells: its start, and "…" where it is cut."""
    cut = line[:width]  # a character takes at least one cell (controls are cleaned out)
    if cut == line and cell_len(line) <= width:
        return line
    while cell_len(cut) > width - 1:
        cut = cut[:-1]
    return cut + "…"


def _end(line: str, width: int) -> str:
    """``line`` in at most ``width`` cells: "…" where it is cut, and its end."""
    cut = line[-width:]
    if cut == line and cell_len(line) <= width:
        return line
    while cell_len(cut) > width - 1:
        cut = cut[1:]
    return "…" + cut


class LiveStreamView:
    """A spinner with the elapsed seconds under the last rows of the reply, cleared when done."""

    def __init__(self, console: Console, role: str, activity: str) -> None:
        self._console = console
        self._label = clean(f"{role} {activity}")
        self._text = ""
        self._status = ""
        self._cleaner = StreamCleaner()
        self._started = console.get_time()
        self._spinner = Spinner("dots", style="bold cyan")  # one spinner: its frame follows the clock
        self._drawn: tuple[int, list[int]] = (0, [])  # the width of the last frame, its rows' cells
        self.active = False
        self._live = Live(console=console, refresh_per_second=8, transient=True, get_renderable=self.render)

    def render(self) -> Group:
        """What the view shows now, fitted to the console's size as it is now.

        Live erases its last frame by moving up as many rows as it drew. A terminal made narrower
        splits each row longer than its new width in two (tmux and most terminals reflow), and the
        rows Live does not know of would stay above the view: so when the width shrinks, the count
        Live erases is set to the rows the last frame takes now (:meth:`_after_reflow`).
        """
        width, height = self._console.size
        now = self._console.get_time()
        status = f" · {self._status}" if self._status else ""
        line = Text.assemble(
            self._spinner.render(now),  # type: ignore[arg-type]  (a Text: the spinner has no text)
            " ",
            Text(f"{self._label} · {now - self._started:.0f}s{status}", style="bold cyan"),
            no_wrap=True,
            overflow="ellipsis",
        )
        line.truncate(width, overflow="ellipsis")
        budget = min(STREAM_TAIL_ROWS, (height - RESERVED_ROWS) // 2)
        rows = [*tail_rows(self._text, width, budget), line]
        self._after_reflow(width, height)
        self._drawn = (width, [row.cell_len for row in rows])
        return Group(*rows)

    def _after_reflow(self, width: int, height: int) -> None:
        """Make Live erase the rows its last frame takes after the terminal narrowed to ``width``."""
        drawn_width, cells = self._drawn
        # Rich's own record of the frame; absent (Live not made yet, another rich): nothing to do.
        live_render = getattr(getattr(self, "_live", None), "_live_render", None)
        if width >= drawn_width or not getattr(live_render, "_shape", None):
            return
        taken = sum(max(1, -(-cell // width)) for cell in cells)
        live_render._shape = (width, min(taken, height))  # type: ignore[union-attr]

    def chunk(self, text: str) -> None:
        """Add a piece of the reply to the tail."""
        self._text += self._cleaner.feed(text)
        self._status = ""

    def restart(self, status: str) -> None:
        """The call starts again: drop the text so far and show why."""
        self._text = ""
        self._cleaner = StreamCleaner()
        self._status = clean(status)

    def __enter__(self) -> LiveStreamView:
        self.active = True
        self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.active = False
        self._live.stop()


class PlainStreamView:
    """One progress line: who works on what, a dot per :data:`DOT_CHARS` characters of the reply as it
    arrives, then the seconds it took. The reply itself is not printed: its rendered result follows."""

    def __init__(self, console: Console, role: str, activity: str) -> None:
        self._console = console
        self._header = clean(f"{role} {activity} ...")
        self._received = 0
        self._dots = 0
        self._started = console.get_time()
        self.active = False

    def _write(self, text: str) -> None:
        self._console.file.write(text)
        self._console.file.flush()

    def chunk(self, text: str) -> None:
        """Count a piece of the reply; a dot when another :data:`DOT_CHARS` characters have come."""
        self._received += len(text)
        dots = min(MAX_DOTS, self._received // DOT_CHARS)
        if dots > self._dots:
            self._write("." * (dots - self._dots))
            self._dots = dots

    def restart(self, status: str) -> None:
        """The call starts again: say why on a line of its own, then a new progress line."""
        self._write(f"\n{clean(status)}\n{self._header}")
        self._received = self._dots = 0

    def __enter__(self) -> PlainStreamView:
        self.active = True
        self._write(self._header)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        self.active = False
        seconds = self._console.get_time() - self._started
        self._write(f" done in {seconds:.0f} s.\n" if exc_type is None else "\n")


class StreamViews:
    """The views of one reply (the transcript file's progress line and the terminal's live view, when
    stdout is redirected to a file): each gets every piece, while ``keys`` is entered."""

    def __init__(
        self,
        views: list[LiveStreamView | PlainStreamView],
        keys: contextlib.AbstractContextManager[None] | None = None,
    ) -> None:
        self._views = views
        self._keys = keys  # what to do with keys typed while the views show (hide them)
        self._entered = contextlib.ExitStack()
        self.active = False

    @property
    def views(self) -> tuple[LiveStreamView | PlainStreamView, ...]:
        """The views, one for each place the output goes."""
        return tuple(self._views)

    def chunk(self, text: str) -> None:
        """Show a piece of the reply in every view."""
        for view in self._views:
            view.chunk(text)

    def restart(self, status: str) -> None:
        """The call starts again, in every view."""
        for view in self._views:
            view.restart(status)

    def __enter__(self) -> StreamViews:
        if self._keys is not None:
            self._entered.enter_context(self._keys)
        for view in self._views:
            self._entered.enter_context(view)
        self.active = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.active = False
        self._entered.__exit__(exc_type, exc, tb)  # each view ends, even when one fails to
