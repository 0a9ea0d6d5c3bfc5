"""How a person would try the program (``demo.json``): the typed demo runs, their writer and reader,
and what is inferred when the Tester gave none (or an older workspace has no file).

``demo.json`` is agreed with the acceptance tests and may be edited by the Manager; the edited file is
what runs. Its shape::

    {"runs": [{"name": "guess the number", "args": [], "stdin": "50\\n25\\n",
               "files": {"words.txt": "one two\\n"}, "window_seconds": null}]}

``args`` are the command-line arguments, ``stdin`` what a person would type, ``files`` sample input
files created in the run folder first, ``window_seconds`` how long to watch a program with a window;
``port`` and ``requests`` (a server), ``run_seconds`` (a program that runs until Ctrl-C) and ``keys``
(a full-screen terminal program) are read by :mod:`demo_fields`.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..extract import parse_python
from ..names import SCRIPT_IN_RUN, run_name, script_name
from ..records.run import read_run
from ..textsafe import plain_text
from .demo_fields import TrialFields, read_trial_fields, trial_fields_json

if TYPE_CHECKING:
    from ..workspace import Workspace

MAX_DEMO_RUNS = 3
MAX_ARGS, MAX_FILES, TEXT_CAP = 100, 20, 1_000_000  # per run: what a person would type or give it
NAME_CAP, FILE_NAME_CAP = 200, 100  # characters of a run's name and of a file's name
# What the tool makes in a demo's run folder: the program, its TMPDIR, the X cookie of a manual run.
RESERVED_NAMES = frozenset({SCRIPT_IN_RUN, "tmp", ".Xauthority"})
DEFAULT_WINDOW_SECONDS = 3.0
MAX_WINDOW_SECONDS = 30.0
# Importing one of these means the program opens a window.
WINDOW_MODULES = frozenset(
    {"tkinter", "turtle", "pygame", "pyglet", "arcade", "PyQt5", "PyQt6", "PySide2", "PySide6", "kivy", "wx"}
)
# Importing one of these means the program serves (it runs until stopped), or draws a full screen.
SERVER_MODULES = frozenset(
    {"http.server", "socketserver", "flask", "fastapi", "uvicorn", "aiohttp", "bottle", "tornado", "django"}
)
FULL_SCREEN_MODULES = frozenset({"curses", "urwid", "blessed", "textual", "npyscreen", "asciimatics"})
_RUNS_OBJECT = re.compile(r'\{\s*"runs"\s*:')


@dataclass(frozen=True)
class DemoRun:
    """One way a person would try the program."""

    name: str
    args: tuple[str, ...] = ()
    stdin: str = ""
    files: tuple[tuple[str, str], ...] = field(default=())  # (name, content) created in the run folder
    window_seconds: float | None = None  # watch a window this long; None: a program that ends by itself
    trial: TrialFields = TrialFields()  # a server's requests, run until stopped, keys (:mod:`demo_fields`)

    @property
    def tried_over_time(self) -> bool:
        """Whether the program is tried while it runs (served requests, a run until Ctrl-C, keys)."""
        trial = self.trial
        return trial.port is not None or trial.run_seconds is not None or bool(trial.keys)

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON types."""
        return {
            "name": self.name,
            "args": list(self.args),
            "stdin": self.stdin,
            "files": dict(self.files),
            "window_seconds": self.window_seconds,
            **trial_fields_json(self.trial),
        }

    @classmethod
    def from_json(cls, data: object, number: int) -> DemoRun:
        """A run from ``demo.json``; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"run {number} must be an object")
        args, files, seconds = data.get("args", []), data.get("files", {}), data.get("window_seconds")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError(f'run {number}: "args" must be a list of strings')
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ValueError(f'run {number}: "files" must map file names to their text')
        if any(not _plain_file_name(name) for name in files):
            raise ValueError(f'run {number}: "files" names must be plain file names, no folders')
        if reserved := sorted(set(files) & RESERVED_NAMES):
            what = f"{reserved[0]}: the tool makes it in the run folder"
            raise ValueError(f'run {number}: "files" may not name {what}')
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds)
        ):
            raise ValueError(f'run {number}: "window_seconds" must be a number or null')
        _check_sizes(number, args, files, data.get("stdin"))
        return cls(
            name=plain_text(str(data.get("name") or f"run {number}"))[:NAME_CAP],
            args=tuple(plain_text(arg) for arg in args),
            stdin=plain_text(str(data.get("stdin") or "")),
            files=tuple(sorted((name, plain_text(text)) for name, text in files.items())),
            window_seconds=None if seconds is None else min(max(float(seconds), 0.5), MAX_WINDOW_SECONDS),
            trial=read_trial_fields(data, number),
        )


def _plain_file_name(name: str) -> bool:
    return (
        bool(name)
        and len(name) <= FILE_NAME_CAP
        and name == plain_text(name)
        and "/" not in name
        and "\\" not in name
        and name not in (".", "..")
        and "\0" not in name
    )


def _check_sizes(number: int, args: list[str], files: dict[str, str], stdin: object) -> None:
    """ValueError when a run's values are too many, too long or hold a NUL (no program can take one)."""
    texts = [*args, str(stdin or ""), *files.values()]
    if len(args) > MAX_ARGS or len(files) > MAX_FILES or sum(map(len, texts)) > TEXT_CAP:
        most = f"at most {MAX_ARGS} arguments and {MAX_FILES} files, {TEXT_CAP:,} characters in all"
        raise ValueError(f"run {number}: {most}")
    if any("\0" in text for text in [*args, str(stdin or "")]):
        raise ValueError(f'run {number}: "args" and "stdin" cannot hold a NUL character')


def write_demo(runs: tuple[DemoRun, ...]) -> str:
    """The text of ``demo.json``."""
    return json.dumps({"runs": [run.to_json() for run in runs]}, indent=2, ensure_ascii=False) + "\n"


def read_demo(text: str) -> tuple[DemoRun, ...]:
    """The runs of a ``demo.json`` text; ValueError with a sentence naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list) or not runs:
        raise ValueError('it needs a non-empty list "runs"')
    return tuple(DemoRun.from_json(run, number) for number, run in enumerate(runs[:MAX_DEMO_RUNS], start=1))


def demo_from_reply(reply: str) -> tuple[DemoRun, ...] | None:
    """The demo runs a Tester proposed (a JSON object with ``"runs"``, fenced or not), or None."""
    decoder = json.JSONDecoder()
    for match in _RUNS_OBJECT.finditer(reply):
        try:
            data, _end = decoder.raw_decode(reply, match.start())
            return read_demo(json.dumps(data))
        except (ValueError, RecursionError):
            continue
    return None


def opens_window(script: str) -> bool:
    """Whether the program opens a window: it imports a GUI toolkit, or shows a matplotlib figure."""
    tree, _error = parse_python(script)
    if tree is None:
        return any(re.search(rf"^\s*(from|import)\s+{name}\b", script, re.M) for name in WINDOW_MODULES)
    imported = {name.split(".")[0] for name in imported_modules(tree)}
    if imported & WINDOW_MODULES:
        return True
    shows = any(isinstance(n, ast.Attribute) and n.attr == "show" for n in ast.walk(tree))
    return "matplotlib" in imported and shows


def imported_modules(tree: ast.AST) -> set[str]:
    """The modules a parsed program imports, by their full names (``http.server``)."""
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return imported


def inferred_demo(script: str) -> tuple[DemoRun, ...]:
    """The demo when none was agreed: a window is watched a few seconds; a server (no port known) runs
    a few seconds until Ctrl-C; a full-screen terminal program is looked at, then given ``q``; anything
    else runs once with no arguments and no input."""
    if opens_window(script):
        return (DemoRun("watch the window", window_seconds=DEFAULT_WINDOW_SECONDS),)
    tree, _error = parse_python(script)
    imported = imported_modules(tree) if tree is not None else set()
    names = imported | {name.split(".")[0] for name in imported}  # http.server, and flask of flask.views
    if names & SERVER_MODULES:
        return (DemoRun("run until Ctrl-C", trial=TrialFields(run_seconds=DEFAULT_WINDOW_SECONDS)),)
    if names & FULL_SCREEN_MODULES:
        return (DemoRun("look at the screen, then press q", trial=TrialFields(keys=("q",))),)
    return (DemoRun("run with no arguments and no input"),)


def demo_for(text: str | None, script: str) -> tuple[tuple[DemoRun, ...], str | None]:
    """The runs to make for ``script``: those of ``demo.json``, else inferred; and a sentence when the
    file was there but could not be used."""
    if text is None or not text.strip():
        return inferred_demo(script), None
    try:
        runs = read_demo(text)
    except ValueError as exc:
        return inferred_demo(script), f"demo.json could not be used ({exc}); ran the inferred demo instead"
    if opens_window(script):
        watched = tuple(run if run.window_seconds or run.tried_over_time else _watched(run) for run in runs)
        return watched, None
    claimed = [run for run in runs if run.window_seconds]
    if not claimed:
        return runs, None
    return tuple(_not_a_window(run) if run.window_seconds else run for run in runs), NOT_A_WINDOW


NOT_A_WINDOW = (
    "demo.json asks to watch a window, but the program opens none: it was run for those seconds and "
    "stopped with Ctrl-C instead (the Tester's demo.json needs fixing)"
)


def _watched(run: DemoRun) -> DemoRun:
    return replace(run, window_seconds=DEFAULT_WINDOW_SECONDS)


def _not_a_window(run: DemoRun) -> DemoRun:
    """A run that claims a window the program does not open: tried as what it is, a program that runs
    until a person stops it, with the claim noted."""
    seconds = run.window_seconds
    note = f"demo.json asks to watch a window for {seconds:g} s, but the program opens no window"
    return replace(run, window_seconds=None, trial=replace(run.trial, run_seconds=seconds, note=note))


def no_display_note(workspace: Workspace, version: int) -> str | None:
    """For /run of a window program where the person has no display: the line that says so, with the
    last screenshot; None when the program can run here."""
    name = script_name(version)
    if os.environ.get("DISPLAY") or not opens_window(workspace.read(name) or ""):
        return None
    record = read_run(workspace.read(run_name(version)), version)
    shots = record.screenshots if record else []
    seen = f"its last screenshot is {workspace.root / shots[-1]}" if shots else "no screenshot yet"
    return f"Not run: {name} opens a window and this terminal has no display ($DISPLAY); {seen}."
