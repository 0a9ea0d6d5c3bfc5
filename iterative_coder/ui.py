"""The terminal: what the phases show and ask, behind the small :class:`UI` interface.

:class:`TerminalUI` renders with rich: Markdown panels, highlighted code, a spinner with the
elapsed seconds and the streamed reply while an agent works. When stdout is not a terminal
or ``NO_COLOR`` is set it prints plain text and uses no live widgets.
"""

from __future__ import annotations

import contextlib
import difflib
import os
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

STREAM_TAIL_LINES = 12


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


class _LiveStreamView:
    """A spinner with elapsed seconds and the last lines of the reply, cleared when done."""

    def __init__(self, console: Console, role: str, activity: str) -> None:
        self._console = console
        self._label = f"{role} {activity}"
        self._text = ""
        self._status = ""
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
        self._text += text
        self._status = ""

    def restart(self, status: str) -> None:
        """The call starts again: drop the text so far and show why."""
        self._text = ""
        self._status = status

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
        self._header = f"{role} {activity}..."
        self._stream_text = stream_text
        self._wrote = False
        self.active = False

    def chunk(self, text: str) -> None:
        if self._stream_text and text:
            self._console.file.write(text)
            self._console.file.flush()
            self._wrote = True

    def restart(self, status: str) -> None:
        """The call starts again: say why, on a line of its own."""
        if self._wrote:
            self._console.file.write("\n")
            self._wrote = False
        self._console.print(Text(status))

    def __enter__(self) -> _PlainStreamView:
        self.active = True
        self._console.print(self._header)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        self.active = False
        if self._wrote:
            self._console.file.write("\n")
            self._console.file.flush()


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
        self.console.print(Text(text))

    def warn(self, text: str) -> None:
        self.console.print(Text(text, style="bold yellow"))

    def error(self, text: str) -> None:
        """An error line, on stderr."""
        Console(stderr=True, highlight=False, no_color=self.plain, soft_wrap=True).print(
            Text(text, style="bold red")
        )

    def show_markdown(self, title: str, text: str) -> None:
        if self.plain:
            self.console.print(Text(f"--- {title} ---\n{text.rstrip()}\n---"))
        else:
            self.console.print(Panel(Markdown(text), title=title, title_align="left", border_style="cyan"))

    def show_code(self, title: str, code: str) -> None:
        if self.plain:
            self.console.print(Text(f"--- {title} ---\n{code.rstrip()}\n---"))
        else:
            syntax = Syntax(code.rstrip("\n"), "python", line_numbers=True, word_wrap=True)
            self.console.print(Panel(syntax, title=title, title_align="left", border_style="green"))

    def show_diff(self, old_name: str, old: str, new_name: str, new: str) -> None:
        diff = "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
            )
        )
        if not diff:
            self.info(f"{new_name} is the same as {old_name}.")
        elif self.plain:
            self.console.print(Text(diff.rstrip()))
        else:
            self.console.print(Syntax(diff, "diff", word_wrap=True))

    def show_result(self, title: str, text: str, ok: bool) -> None:
        if self.plain:
            self.console.print(Text(f"[{title}] {text.rstrip()}"))
        else:
            style = "green" if ok else "red"
            self.console.print(
                Panel(Text(text.rstrip()), title=title, title_align="left", border_style=style)
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
        self.console.print(Text(prompt, style="bold"))
        try:
            if self._prompt_to_stderr:  # stdout carries only the JSON result
                sys.stderr.write("> ")
                sys.stderr.flush()
                return input()
            return input("> ")
        except EOFError:
            return None

    def show_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if self.plain:
            lines = [title, " | ".join(columns)]
            lines += [" | ".join(row) for row in rows]
            self.console.print(Text("\n".join(lines)))
            return
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        self.console.print(table)
