"""The terminal: what the phases show and ask, behind the small :class:`UI` interface.

:class:`TerminalUI` renders with rich: Markdown panels, highlighted code, and while an agent works a
live view (a spinner, the elapsed seconds, the last rows of the streamed reply; see
:mod:`~iterative_coder.stream_view`). When its output is not a terminal it prints plain text: no
colour, no live widgets, and each reply once (a progress line while it streams, then the rendered
result). ``NO_COLOR`` removes colour and nothing else. Questions are read as
:mod:`~iterative_coder.terminal_input` describes: only what is typed once a question shows answers it,
and a paste is one answer.

Output redirected to a file while a person types at a terminal (``python -m iterative_coder >
out.txt``) is shown twice: as plain text in the file, and on the terminal as at a terminal, so that
the person sees the plan they are asked to approve. Output into a pipe (``| tee log``) is not: it
reaches the person through the pipe.

Text from a model or a program can hold terminal control sequences (clear the screen, retitle the
window, write the clipboard). Every string reaches the screen through :class:`TerminalUI` and is
cleaned there with :func:`~iterative_coder.textsafe.clean_terminal_text`; streamed text is cleaned
piece by piece by :class:`StreamCleaner`, which holds back a sequence split across two pieces.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, TextIO

from rich.console import Console, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from .stream_view import HOLD_LIMIT, LiveStreamView, PlainStreamView, StreamCleaner, StreamViews
from .terminal_input import (
    KeysWhileWorking,
    LineReader,
    discard_typed_ahead,
    dumb_terminal,
    redirected_to_file,
)
from .textsafe import clean_terminal_text as clean

IGNORED_KEYS = "Ignored what was typed while the tool worked: only an answer to a question counts."
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
        self.console = _console(output, self.plain)
        self.stream_text = stream_text
        self._view: StreamViews | None = None
        self._reader = LineReader()
        self._keys = KeysWhileWorking()
        self._question_console: Console | None = None
        # The person's terminal, when the output goes to a file they cannot read meanwhile.
        self._mirror: tuple[Console, bool] | None = None
        screen = self._reader.terminal_beside(output) if redirected_to_file(output) else None
        if screen is not None:
            self._mirror = (_console(screen, plain_output_wanted(screen)), plain_output_wanted(screen))

    def _screens(self) -> list[tuple[Console, bool]]:
        """Where output goes, each console with whether it wants plain text."""
        screens = [(self.console, self.plain)]
        return screens + [self._mirror] if self._mirror else screens

    def _show(self, plain: RenderableType, rich: RenderableType) -> None:
        """Print ``plain`` where plain text is wanted, ``rich`` elsewhere."""
        for console, wants_plain in self._screens():
            console.print(plain if wants_plain else rich)

    def info(self, text: str) -> None:
        line = Text(clean(text))
        self._show(line, line)

    def warn(self, text: str) -> None:
        line = Text(clean(text), style="bold yellow")
        self._show(line, line)

    def error(self, text: str) -> None:
        """An error line, on stderr (and on the person's terminal when that is not stderr)."""
        line = Text(clean(text), style="bold red")
        stderr = Console(stderr=True, highlight=False, no_color=True if self.plain else None, soft_wrap=True)
        stderr.print(line)
        if self._mirror is not None and self._mirror[0].file is not sys.stderr:
            self._mirror[0].print(line)

    def show_markdown(self, title: str, text: str) -> None:
        title, text = clean(title), clean(text)
        markdown = Markdown(text, hyperlinks=False)  # a link shows its address, not a hidden one
        self._show(
            Text(f"--- {title} ---\n{text.rstrip()}\n---"),
            Panel(markdown, title=Text(title), title_align="left", border_style="cyan"),
        )

    def show_code(self, title: str, code: str) -> None:
        title, code = clean(title), clean(code)
        syntax = Syntax(code.rstrip("\n"), "python", line_numbers=True, word_wrap=True)
        self._show(
            Text(f"--- {title} ---\n{code.rstrip()}\n---"),
            Panel(syntax, title=Text(title), title_align="left", border_style="green"),
        )

    def show_diff(self, old_name: str, old: str, new_name: str, new: str) -> None:
        old_name, new_name = clean(old_name), clean(new_name)
        old_lines, new_lines = clean(old).splitlines(keepends=True), clean(new).splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(old_lines, new_lines, old_name, new_name))
        if not diff:
            self.info(f"{new_name} is the same as {old_name}.")
        else:
            self._show(Text(diff.rstrip()), Syntax(diff, "diff", word_wrap=True))

    def show_result(self, title: str, text: str, ok: bool) -> None:
        title, text = clean(title), clean(text)
        style = "green" if ok else "red"
        self._show(
            Text(f"[{title}] {text.rstrip()}"),
            Panel(Text(text.rstrip()), title=Text(title), title_align="left", border_style=style),
        )

    def working(self, role: str, activity: str) -> StreamView:
        views: list[LiveStreamView | PlainStreamView] = [
            PlainStreamView(console, role, activity) if plain else LiveStreamView(console, role, activity)
            for console, plain in self._screens()
        ]
        self._view = StreamViews(views, self._keys.hidden())
        return self._view

    def status(self, text: str) -> None:
        if self._view is not None and self._view.active:
            self._view.restart(text)
        else:
            self.warn(text)

    def ask(self, prompt: str) -> str | None:
        ignored = discard_typed_ahead() + self._keys.ignored()  # only what is typed from now on answers
        console = self._questions()
        # What was shown before the question leaves first (into a pipe, it may still lag behind).
        for stream in (self.console.file, sys.stdout):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        if ignored:  # said where the person types, as the question is
            console.print(Text(IGNORED_KEYS))
        console.print(Text(clean(prompt), style="bold"))
        return self._reader.read(console.file)

    def _questions(self) -> Console:
        """The console a question is printed on: this UI's, or one on the terminal the person reads
        when this UI's output is not that terminal (redirected to a file or a pipe)."""
        stream = self._reader.question_stream(self.console.file)
        if stream is self.console.file:
            return self.console
        if self._mirror is not None and stream is self._mirror[0].file:
            return self._mirror[0]
        if self._question_console is None or self._question_console.file is not stream:
            self._question_console = Console(file=stream, highlight=False, emoji=False)
        return self._question_console

    def show_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        title, columns = clean(title), [clean(column) for column in columns]
        rows = [[clean(cell) for cell in row] for row in rows]
        lines = [title, " | ".join(columns)] + [" | ".join(row) for row in rows]
        table = Table(title=Text(title), title_justify="left")
        for column in columns:
            table.add_column(Text(column))
        for row in rows:
            table.add_row(*map(Text, row))
        self._show(Text("\n".join(lines)), table)


def _console(stream: TextIO, plain: bool) -> Console:
    """A rich console on ``stream``: plain text (no colour, no cursor moves, lines never wrapped), or
    as at a terminal (colour unless ``NO_COLOR``)."""
    return Console(
        file=stream,
        highlight=False,
        no_color=True if plain else None,  # None: rich honours NO_COLOR
        force_terminal=False if plain else None,
        emoji=False,
        soft_wrap=plain,
    )
