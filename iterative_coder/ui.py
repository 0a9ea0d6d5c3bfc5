"""The terminal: what the phases show and ask, behind the small :class:`UI` interface.

:class:`TerminalUI` renders with rich: Markdown panels, highlighted code, a spinner with the
elapsed seconds and the streamed reply while an agent works. When stdout is not a terminal
or ``NO_COLOR`` is set it prints plain text and uses no live widgets.

Text from a model or a program can hold terminal control sequences (clear the screen, retitle the
window, write the clipboard). Every string reaches the screen through :class:`TerminalUI` and is
cleaned there with :func:`~iterative_coder.textsafe.clean_terminal_text`; streamed text is cleaned
piece by piece by :class:`StreamCleaner`, which holds back a sequence split across two pieces.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.spinner import Spinner
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from .textsafe import clean_terminal_text as clean

STREAM_TAIL_LINES = 12
# The last ESC or C1 control of a text and all after it: perhaps a sequence the next piece completes.
_LAST_INTRODUCER = re.compile(r"[\x1b\x80-\x9f][^\x1b\x80-\x9f]*\Z")
# A possible sequence longer than this is not held back (an unterminated string runs to the end).
HOLD_LIMIT = 4096


class StreamView(Protocol):
    """Shows one agent's reply while it arrives; used as a context manager."""

    def chunk(self, text: str) -> None:
        """Show a piece of streamed text."""

    def __enter__(self) -> StreamView: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class UI(Protocol):
    """Everything the planning phase and the iteration loop show or ask."""

    def info(self, text: str) -> None:
        """A line of information."""

    def warn(self, text: str) -> None:
        """A line the person should notice."""

    def show_markdown(self, title: str, text: str) -> None:
        """A Markdown document (plan, review) under a title."""

    def show_code(self, title: str, code: str) -> None:
        """A Python script under a title."""

    def show_diff(self, old_name: str, old: str, new_name: str, new: str) -> None:
        """The difference between two scripts."""

    def show_result(self, title: str, text: str, ok: bool) -> None:
        """A compact result (a run's summary, a program's output), marked good or bad."""

    def working(self, role: str, activity: str) -> StreamView:
        """A view that shows an agent at work and its streamed text."""

    def status(self, text: str) -> None:
        """A passing state of the call under way (``rate limited, retrying in 4 s (2/4)``); the
        reply streamed so far is dropped, since the call starts again."""

    def ask(self, prompt: str) -> str | None:
        """Ask the person; return their line, or None when input has ended. Ctrl-C raises."""

    def show_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table, e.g. the summary of versions."""


def plain_output_wanted(stream: object = None) -> bool:
    """True when output must be plain text: not a terminal, or NO_COLOR set."""
    stream = stream if stream is not None else sys.stdout
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    return not is_tty or "NO_COLOR" in os.environ


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


class _LiveStreamView:
    """A spinner with elapsed seconds and the last lines of the reply, cleared when done."""

    def __init__(self, console: Console, role: str, activity: str) -> None:
        self._console = console
        self._label = clean(f"{role} {activity}")
        self._text = ""
        self._status = ""
        self._cleaner = StreamCleaner()
        self._started = time.monotonic()
        self.active = False
        self._live = Live(console=console, refresh_per_second=8, transient=True, get_renderable=self._render)

    def _render(self) -> Group:
        elapsed = time.monotonic() - self._started
        tail = "\n".join(self._text.splitlines()[-STREAM_TAIL_LINES:])
        status = f" · {self._status}" if self._status else ""
        spinner = Spinner("dots", text=Text(f"{self._label} · {elapsed:.0f}s{status}", style="bold cyan"))
        return Group(Text(tail, style="dim"), spinner) if tail else Group(spinner)

    def chunk(self, text: str) -> None:
        self._text += self._cleaner.feed(text)
        self._status = ""

    def restart(self, status: str) -> None:
        """The call starts again: drop the text so far and show why."""
        self._text = ""
        self._cleaner = StreamCleaner()
        self._status = clean(status)

    def __enter__(self) -> _LiveStreamView:
        self.active = True
        self._live.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        self.active = False
        self._live.stop()


class _PlainStreamView:
    """Prints a start line, then the reply as it arrives."""

    def __init__(self, console: Console, role: str, activity: str, stream_text: bool) -> None:
        self._console = console
        self._header = clean(f"{role} {activity}...")
        self._stream_text = stream_text
        self._cleaner = StreamCleaner()
        self._wrote = False
        self.active = False

    def chunk(self, text: str) -> None:
        if self._stream_text:
            self._write(self._cleaner.feed(text))

    def _write(self, text: str) -> None:
        if text:
            self._console.file.write(text)
            self._console.file.flush()
            self._wrote = True

    def restart(self, status: str) -> None:
        """The call starts again: say why, on a line of its own."""
        self._cleaner = StreamCleaner()
        if self._wrote:
            self._console.file.write("\n")
            self._wrote = False
        self._console.print(Text(clean(status)))

    def __enter__(self) -> _PlainStreamView:
        self.active = True
        self._console.print(Text(self._header))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        self.active = False
        if self._stream_text:
            self._write(self._cleaner.flush())
        if self._wrote:
            self._console.file.write("\n")
            self._console.file.flush()


def discard_typed_ahead() -> None:
    """Drop what was typed at the terminal before a question appeared (an Enter pressed while an agent
    streamed, lines meant for something else), so it cannot answer a question not yet seen."""
    if not sys.stdin.isatty():
        return
    with contextlib.suppress(ImportError, OSError, ValueError):
        import termios

        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)


class TerminalUI:
    """The rich terminal UI (plain text when output is not a terminal or NO_COLOR is set)."""

    def __init__(
        self, *, plain: bool | None = None, stream_text: bool = True, to_stderr: bool = False
    ) -> None:
        output = sys.stderr if to_stderr else sys.stdout
        self._prompt_to_stderr = to_stderr
        self.plain = plain_output_wanted(output) if plain is None else plain
        self.console = Console(
            file=output,
            highlight=False,
            no_color=self.plain,
            force_terminal=False if self.plain else None,
            emoji=False,
            soft_wrap=self.plain,
        )
        self.stream_text = stream_text
        self._view: _LiveStreamView | _PlainStreamView | None = None
        if sys.stdin.isatty():
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (gives input() line editing and history)

    def info(self, text: str) -> None:
        self.console.print(Text(clean(text)))

    def warn(self, text: str) -> None:
        self.console.print(Text(clean(text), style="bold yellow"))

    def error(self, text: str) -> None:
        """An error line, on stderr."""
        Console(stderr=True, highlight=False, no_color=self.plain, soft_wrap=True).print(
            Text(clean(text), style="bold red")
        )

    def show_markdown(self, title: str, text: str) -> None:
        title, text = clean(title), clean(text)
        if self.plain:
            self.console.print(Text(f"--- {title} ---\n{text.rstrip()}\n---"))
        else:
            markdown = Markdown(text, hyperlinks=False)  # a link shows its address, not a hidden one
            self.console.print(Panel(markdown, title=Text(title), title_align="left", border_style="cyan"))

    def show_code(self, title: str, code: str) -> None:
        title, code = clean(title), clean(code)
        if self.plain:
            self.console.print(Text(f"--- {title} ---\n{code.rstrip()}\n---"))
        else:
            syntax = Syntax(code.rstrip("\n"), "python", line_numbers=True, word_wrap=True)
            self.console.print(Panel(syntax, title=Text(title), title_align="left", border_style="green"))

    def show_diff(self, old_name: str, old: str, new_name: str, new: str) -> None:
        old_name, new_name = clean(old_name), clean(new_name)
        old_lines, new_lines = clean(old).splitlines(keepends=True), clean(new).splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(old_lines, new_lines, old_name, new_name))
        if not diff:
            self.info(f"{new_name} is the same as {old_name}.")
        elif self.plain:
            self.console.print(Text(diff.rstrip()))
        else:
            self.console.print(Syntax(diff, "diff", word_wrap=True))

    def show_result(self, title: str, text: str, ok: bool) -> None:
        title, text = clean(title), clean(text)
        if self.plain:
            self.console.print(Text(f"[{title}] {text.rstrip()}"))
        else:
            style = "green" if ok else "red"
            self.console.print(
                Panel(Text(text.rstrip()), title=Text(title), title_align="left", border_style=style)
            )

    def working(self, role: str, activity: str) -> StreamView:
        view: _LiveStreamView | _PlainStreamView
        if self.plain:
            view = _PlainStreamView(self.console, role, activity, self.stream_text)
        else:
            view = _LiveStreamView(self.console, role, activity)
        self._view = view
        return view

    def status(self, text: str) -> None:
        if self._view is not None and self._view.active:
            self._view.restart(text)
        else:
            self.warn(text)

    def ask(self, prompt: str) -> str | None:
        discard_typed_ahead()  # only what is typed once the question shows answers it
        self.console.print(Text(clean(prompt), style="bold"))
        try:
            if self._prompt_to_stderr:  # stdout carries only the JSON result
                sys.stderr.write("> ")
                sys.stderr.flush()
                return input()
            return input("> ")
        except EOFError:
            return None

    def show_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        title, columns = clean(title), [clean(column) for column in columns]
        rows = [[clean(cell) for cell in row] for row in rows]
        if self.plain:
            lines = [title, " | ".join(columns)]
            lines += [" | ".join(row) for row in rows]
            self.console.print(Text("\n".join(lines)))
            return
        table = Table(title=Text(title), title_justify="left")
        for column in columns:
            table.add_column(Text(column))
        for row in rows:
            table.add_row(*map(Text, row))
        self.console.print(table)
