"""Reading the person's answer to a question, so that it answers only the question on screen.

- What was typed before the question appeared is dropped (:func:`discard_typed_ahead`), so an Enter
  pressed while an agent streamed cannot accept a version whose review is not shown yet.
- At a terminal the line is read with prompt_toolkit: bracketed paste makes a pasted block of lines
  ONE answer (returned with ``\\n`` between its lines), Alt-Enter (Esc then Enter) adds a line, and the
  answers of the session are its history (Up and Down). Elsewhere (a pipe, a file, ``TERM=dumb``) a
  line is read as :func:`input` reads it.
- The question goes where the person sees it: the UI's own output when that is a terminal, else
  stderr or ``/dev/tty`` when the person types at a terminal (``python -m iterative_coder > out.txt``,
  ``| tee log``). Output redirected to a file (:func:`redirected_to_file`) is shown on that terminal
  too, by the UI; output into a pipe reaches the person through the pipe.

prompt_toolkit runs in a thread of its own, since the caller (the Manager's ``input_func``) runs
inside the session's event loop, and asyncio does not nest loops; the calling thread waits for the
answer. Ctrl-C at the prompt raises :class:`KeyboardInterrupt` in the caller, Ctrl-D on an empty line
(end of input) gives None; a signal that ends the session while the prompt waits (SIGTERM) closes the
prompt, so the terminal is left as it was found. prompt_toolkit is imported only for a question asked
at a terminal, as it costs start-up time.
"""

from __future__ import annotations

import array
import contextlib
import os
import select
import stat
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

PROMPT = "> "
# Bold, and with a colour set (the terminal's default one) only so that prompt_toolkit writes the
# space after ">" instead of moving the cursor over it: what is on screen then reads "> " exactly.
PROMPT_STYLE = "bold fg:ansidefault"
# How long a prompt being closed (the session ends under it) may take to give the terminal back.
CLOSE_SECONDS = 2.0


def discard_typed_ahead() -> int:
    """Drop what was typed at the terminal before a question appeared (an Enter pressed while an agent
    streamed, lines meant for something else), so it cannot answer a question not yet seen; how many
    characters were dropped (whole lines only, as the terminal counts them in line mode)."""
    if not sys.stdin.isatty():
        return 0
    with contextlib.suppress(ImportError, OSError, ValueError):
        import termios

        waiting = _waiting(sys.stdin.fileno())
        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
        return waiting
    return 0


def _waiting(fd: int) -> int:
    """How many characters the terminal holds unread."""
    import fcntl
    import termios

    # Keys just typed may still be on their way to the terminal's input queue (the kernel moves them
    # there a moment later): FIONREAD would not count them and the flush would drop them unsaid. A
    # poll makes the kernel finish moving them first.
    select.select([fd], [], [], 0)
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


class KeysWhileWorking:
    """Keys typed while the tool works (an agent streams, a program runs) are never an answer: they are
    not echoed onto the screen, where they would land on the spinner's line and stay there, and are
    dropped when the work ends; :meth:`ignored` says how many were, once, for the next question."""

    def __init__(self) -> None:
        self._dropped = 0

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """Echo and line editing off on the person's terminal while inside (Ctrl-C still interrupts);
        what was typed meanwhile is dropped on the way out and the terminal is put back as it was."""
        fd, saved = _foreground_terminal()
        if saved is None:
            yield
            return
        import termios

        quiet = list(saved)
        quiet[3] &= ~(termios.ECHO | termios.ICANON)  # not in line mode: every key typed is counted
        try:
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
            yield
        finally:
            with contextlib.suppress(OSError, termios.error):
                self._dropped += _waiting(fd)
                termios.tcflush(fd, termios.TCIFLUSH)
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(fd, termios.TCSANOW, saved)

    def ignored(self) -> int:
        """How many keys were dropped since the last call."""
        dropped, self._dropped = self._dropped, 0
        return dropped


# What a full-screen program killed mid-run leaves switched on: the alternate screen, a hidden cursor,
# the application keypad, its colours. Switched off after such a run; harmless where none was on.
SCREEN_MODES_OFF = "\x1b[0m\x1b[?1049l\x1b[?25h\x1b[?1l\x1b>"


@contextlib.contextmanager
def terminal_given_back() -> Iterator[None]:
    """The person's terminal lent to a program (``/run``) comes back as it was: its settings (a curses
    program ended by Ctrl-C leaves no echo and no line editing) and the screen's modes."""
    fd, saved = _foreground_terminal()
    try:
        yield
    finally:
        if saved is not None:
            import termios

            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(fd, termios.TCSANOW, saved)
            if _is_terminal(sys.stdout):
                with contextlib.suppress(OSError, ValueError):
                    sys.stdout.write(SCREEN_MODES_OFF)
                    sys.stdout.flush()


def _foreground_terminal() -> tuple[int, list[Any] | None]:
    """stdin's descriptor and its terminal settings, when it is a terminal this process may change
    (in the foreground: a background job changing it would be stopped by SIGTTOU); else None."""
    try:
        import termios

        fd = sys.stdin.fileno()
        if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
            return -1, None
        return fd, termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        return -1, None


def _is_terminal(stream: object) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def redirected_to_file(stream: object) -> bool:
    """``stream`` is neither a terminal nor a pipe, FIFO or socket: a regular file or ``/dev/null``,
    which nobody reads while the session runs (a pipe has a reader that shows it, ``| tee log``)."""
    if _is_terminal(stream):
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # no descriptor: a stream in memory
        return False
    return not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode))


def dumb_terminal() -> bool:
    """TERM says the terminal cannot move its cursor (an editor's shell buffer, some CI logs)."""
    return os.environ.get("TERM", "") in ("dumb", "unknown")


class LineReader:
    """Reads one answer per question from the person; one per UI, so that answers share a history."""

    def __init__(self) -> None:
        self._tty: TextIO | None = None  # /dev/tty, opened for the first question that needs it
        self._session: Any = None  # the prompt_toolkit PromptSession, made at the first question
        self._history: Any = None  # the answers of the session, for Up and Down

    def question_stream(self, output: TextIO) -> TextIO:
        """Where a question is shown: the UI's ``output``, unless the person types at a terminal and
        ``output`` is not one (see :meth:`terminal_beside`)."""
        return self.terminal_beside(output) or output

    def terminal_beside(self, output: TextIO) -> TextIO | None:
        """The terminal the person types at, when ``output`` is not it (redirected to a file or a
        pipe, or ``--json`` with stderr redirected): stderr when it is a terminal, else ``/dev/tty``.
        None when nobody types at a terminal, or ``output`` is that terminal."""
        if not sys.stdin.isatty() or _is_terminal(output):
            return None
        if _is_terminal(sys.stderr):
            return sys.stderr
        if self._tty is None:
            self._tty = _open_tty()
        return self._tty

    def read(self, stream: TextIO) -> str | None:
        """The person's answer, without its line end, the prompt shown on ``stream`` (where the
        question is); None when input has ended. Ctrl-C raises :class:`KeyboardInterrupt`."""
        if sys.stdin.isatty() and _is_terminal(stream) and not dumb_terminal():
            with contextlib.suppress(ImportError):
                return self._prompt(stream)
        return _read_line(stream)

    def _prompt(self, stream: TextIO) -> str | None:
        if self._session is None or self._session.output.stdout is not stream:
            from prompt_toolkit.history import InMemoryHistory

            self._history = self._history or InMemoryHistory()
            self._session = _prompt_session(stream, self._history)
        from prompt_toolkit.input.typeahead import clear_typeahead

        # Keys the last prompt read past its Enter (lines typed or pasted in one go without bracketed
        # paste) would answer this question before it shows: dropped, as the terminal's are.
        clear_typeahead(self._session.input)
        return _prompt_in_thread(self._session)


def _open_tty() -> TextIO | None:
    try:
        return open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115 (kept open for the session)
    except OSError:
        return None


def _read_line(stream: TextIO) -> str | None:
    """A line as :func:`input` reads it, the prompt written to ``stream``."""
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (gives input() line editing and history)
    try:
        if stream is sys.stdout:
            return input(PROMPT)
        stream.write(PROMPT)
        stream.flush()
        return input()
    except EOFError:
        return None


def _prompt_session(stream: TextIO, history: Any) -> Any:
    """A prompt_toolkit session reading stdin and drawing on ``stream``, with ``history``."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.input import create_input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.output.vt100 import Vt100_Output

    output = Vt100_Output.from_pty(stream, term=os.environ.get("TERM"))
    # No cursor position requests: a terminal (or a test's pseudo-terminal) that does not answer
    # them would cost a two-second wait and a warning, and nothing here needs the cursor's row.
    output.enable_cpr = False
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _new_line(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return PromptSession(
        message=[(PROMPT_STYLE, PROMPT)],
        history=history,
        input=create_input(sys.stdin),
        output=output,
        key_bindings=bindings,
    )


def _prompt_in_thread(session: Any) -> str | None:
    """Run ``session.prompt()`` on a daemon thread of its own and wait for it here."""
    outcome: dict[str, Any] = {}
    # Waited on rather than the thread: a Thread.join() cut by a signal leaves the thread marked
    # as ended while it still runs (CPython gh-90882), and the terminal would stay in raw mode.
    ended = threading.Event()
    closing = threading.Event()  # the session ends: a prompt not started yet ends as it starts

    def end_if_closing() -> None:
        if closing.is_set():
            _end(session.app)

    def prompt() -> None:
        try:
            outcome["answer"] = session.prompt(pre_run=end_if_closing)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc
        finally:
            ended.set()

    try:
        threading.Thread(target=prompt, name="iterative_coder-prompt", daemon=True).start()
        ended.wait()
    except BaseException:  # a signal ended the session meanwhile: close the prompt, then go on ending
        closing.set()
        loop = session.app.loop
        with contextlib.suppress(AttributeError, RuntimeError):  # not started yet, or already ended
            loop.call_soon_threadsafe(end_if_closing)
        ended.wait(CLOSE_SECONDS)
        raise
    error = outcome.get("error")
    if isinstance(error, EOFError):
        return None
    if error is not None:
        raise error
    return outcome.get("answer")


def _end(app: Any) -> None:
    """End a running prompt as end of input does, giving the terminal back as it was."""
    if app.future is not None and not app.future.done():
        app.exit(exception=EOFError)
