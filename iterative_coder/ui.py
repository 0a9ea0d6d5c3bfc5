"""The terminal: what the phases show and ask, behind the small :class:`UI` interface.

:class:`TerminalUI` renders with rich: Markdown panels, highlighted code, and while an agent works a
live view (a spinner, the elapsed seconds, the last rows of the streamed reply; see
:mod:`~iterative_coder.stream_view`). When its output is not a terminal it prints plain text: no
colour, no live widgets, and each reply once (a progress line while it streams, then the rendered
result). ``NO_COLOR`` removes colour and nothing else. Questions are read as
:mod:`~iterative_coder.terminal_input` describes: only what is typed once a question shows answers it,
and a paste is one answer.

Text from a model or a program can hold terminal control sequences (clear the screen, retitle the
window, write the clipboard). Every string reaches the screen through :class:`TerminalUI` and is
cleaned there with :func:`~iterative_coder.textsafe.clean_terminal_text`; streamed text is cleaned
piece by piece by :class:`StreamCleaner`, which holds back a sequence split across two pieces.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from .stream_view import HOLD_LIMIT, LiveStreamView, PlainStreamView, StreamCleaner
from .terminal_input import LineReader, discard_typed_ahead, dumb_terminal
from .textsafe import clean_terminal_text as clean

__all__ = ["HOLD_LIMIT", "UI", "StreamCleaner", "StreamView", "TerminalUI", "discard_typed_ahead"]


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
        """Ask the person; return their answer (a paste of several lines is one answer, its lines
        joined by ``\n``), or None when input has ended. Ctrl-C raises."""

    def show_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table, e.g. the summary of versions."""


def plain_output_wanted(stream: object = None) -> bool:
    """True when output must be plain text: not a terminal, or a terminal that cannot move its cursor
    (``TERM=dumb``). ``NO_COLOR`` is not a reason: it removes colour only (rich honours it)."""
    stream = stream if stream is not None else sys.stdout
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    return not is_tty or dumb_terminal()


class TerminalUI:
    """The rich terminal UI (plain text when output is not a terminal).

    ``to_stderr`` puts everything on stderr, so that stdout carries only the ``--json`` result.
    ``stream_text`` is accepted for callers of earlier versions; a reply is never printed raw now.
    """

    def __init__(
        self, *, plain: bool | None = None, stream_text: bool = True, to_stderr: bool = False
    ) -> None:
        output = sys.stderr if to_stderr else sys.stdout
        self.plain = plain_output_wanted(output) if plain is None else plain
        self.console = Console(
            file=output,
            highlight=False,
            no_color=True if self.plain else None,  # None: rich honours NO_COLOR
            force_terminal=False if self.plain else None,
            emoji=False,
            soft_wrap=self.plain,
        )
        self.stream_text = stream_text
        self._view: LiveStreamView | PlainStreamView | None = None
        self._reader = LineReader()
        self._question_console: Console | None = None

    def info(self, text: str) -> None:
        self.console.print(Text(clean(text)))

    def warn(self, text: str) -> None:
        self.console.print(Text(clean(text), style="bold yellow"))

    def error(self, text: str) -> None:
        """An error line, on stderr."""
        Console(stderr=True, highlight=False, no_color=True if self.plain else None, soft_wrap=True).print(
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
        view: LiveStreamView | PlainStreamView
        if self.plain:
            view = PlainStreamView(self.console, role, activity)
        else:
            view = LiveStreamView(self.console, role, activity)
        self._view = view
        return view

    def status(self, text: str) -> None:
        if self._view is not None and self._view.active:
            self._view.restart(text)
        else:
            self.warn(text)

    def ask(self, prompt: str) -> str | None:
        discard_typed_ahead()  # only what is typed once the question shows answers it
        console = self._questions()
        console.print(Text(clean(prompt), style="bold"))
        return self._reader.read(console.file)

    def _questions(self) -> Console:
        """The console a question is printed on: this UI's, or one on the terminal the person reads
        when this UI's output is not that terminal (redirected to a file)."""
        stream = self._reader.question_stream(self.console.file)
        if stream is self.console.file:
            return self.console
        if self._question_console is None or self._question_console.file is not stream:
            self._question_console = Console(file=stream, highlight=False, emoji=False)
        return self._question_console

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
