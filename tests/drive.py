"""Ways to drive the tool in tests: the CLI as a subprocess (:func:`run`), the CLI's ``main`` in this
process (:func:`run_main`, a second of CPU cheaper), or one session's steps in-process with a recording
UI. All reach the model only through the real OpenAI client and the fake server."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import io
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import preloaded
from conftest import FAKE_KEY, WAIT
from fake_openai import FakeOpenAIServer
from processes import after_setup
from recording_ui import RecordingUI

from iterative_coder.agents import AgentFactory
from iterative_coder.cli import main
from iterative_coder.config import ModelEntry
from iterative_coder.context import SessionContext
from iterative_coder.loop import IterationLoop
from iterative_coder.manager import Manager
from iterative_coder.models import ClientOptions, create_role_clients
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.records.review import REVISE, Point, Review, write_review
from iterative_coder.roles import ROLE_NAMES
from iterative_coder.session import SessionLog
from iterative_coder.settings import Settings
from iterative_coder.workspace import Workspace

T = TypeVar("T")
_PR_SET_DUMPABLE = 4


def run(
    args: list[Any], cwd: Path, env: dict[str, str], stdin: str = "", setup: str = ""
) -> subprocess.CompletedProcess[str]:
    """The CLI with stdin and stdout not a terminal, after the Python statements ``setup`` ran in its
    process (a limit to set, a capability to drop: see :func:`processes.after_setup`)."""
    command = [sys.executable, "-m", "iterative_coder", *args]
    if not setup and preloaded.usable(command, env):
        done = preloaded.run(command, cwd=cwd, env=env, input=stdin, timeout=WAIT)
        if done is not None:
            return done
    return subprocess.run(
        after_setup(setup, command) if setup else command,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def start(
    args: list[Any],
    cwd: Path,
    env: dict[str, str],
    *,
    stdin: int = subprocess.DEVNULL,
    stdout: int = subprocess.DEVNULL,
    stderr: int = subprocess.DEVNULL,
) -> subprocess.Popen[str] | preloaded.Piped:
    """The CLI started and left running, as ``subprocess.Popen(..., text=True)`` starts it, each of
    ``stdin``, ``stdout`` and ``stderr`` ``subprocess.PIPE`` or ``subprocess.DEVNULL`` (``stderr``
    also ``subprocess.STDOUT``): ``communicate``, ``send_signal``, ``poll``, ``wait``, ``kill``."""
    command = [sys.executable, "-m", "iterative_coder", *args]
    if preloaded.usable(command, env):
        process = preloaded.popen(command, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr)
        if process is not None:
            return process
    return subprocess.Popen(command, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, text=True)


def run_main(
    args: list[Any], cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The CLI's own ``main`` run in this process, as :func:`run` runs it in a new one: the same
    arguments, environment, folder, stdin and stdout not terminals, warnings printed to stderr as a new
    interpreter prints them; its exit code and what it printed.

    No interpreter starts and AutoGen is already imported, which makes it about a second of CPU cheaper
    than :func:`run`. What only a real process shows (signals, a pty, ``/proc`` of the tool, limits set
    before ``exec``, how argv bytes are decoded) needs :func:`run` or ``conftest.Cli``.
    """
    argv = [os.fsdecode(arg) if isinstance(arg, bytes) else str(arg) for arg in args]
    with _as_a_process(cwd, env, stdin) as (out, err):
        try:
            code = main(argv)
        except SystemExit as exc:  # --help, --version: argparse exits, as the interpreter would
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _as_a_process(cwd: Path, env: dict[str, str], stdin: str) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """This process with ``env`` as its environment, ``cwd`` as its folder, standard streams that are
    not terminals and a new interpreter's warning filters; everything put back afterwards."""
    saved_env, saved_cwd, saved_streams = dict(os.environ), os.getcwd(), (sys.stdin, sys.stdout, sys.stderr)
    saved_handlers = list(logging.getLogger().handlers)  # the tool adds one to the root logger
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            warnings.simplefilter("default")
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", category)
            warnings.showwarning = _warning_to_stderr
            yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        logging.getLogger().handlers[:] = saved_handlers
        # The tool makes its process undumpable (secrets_env.make_memory_private); this one is a test's.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)


def _warning_to_stderr(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, *_: object
) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno))


def start_workspace(root: Path, tests: str = "# none\n") -> None:
    """A workspace with a request, a one-requirement plan and the given acceptance tests."""
    (root / TASK).write_text("a program\n")
    (root / PLAN).write_text("# Program\n\n1. It runs.\n")
    (root / ACCEPTANCE).write_text(tests)


def review_to_answer(root: Path) -> None:
    """``review_v1.md`` asking for one change, as a session has it before version 2 is written (the
    Coder is never asked for a version with nothing to act on, issue 22)."""
    point = Point("the validators do not count the problems they find", "failing", "validate_book")
    (root / "review_v1.md").write_text(write_review(Review(REVISE, points=[point])))


def in_session(
    server: FakeOpenAIServer,
    root: Path,
    ui: RecordingUI,
    settings: Settings,
    step: Callable[[SessionContext], Awaitable[T]],
) -> T:
    """Run ``step`` on a session context in ``root`` whose every role talks to ``server``."""
    workspace = Workspace(root)
    session = SessionLog.load(workspace)
    entry = ModelEntry(model="gpt-4o-mini", api_key=FAKE_KEY, base_url=server.base_url)

    async def go() -> T:
        clients = create_role_clients(
            {role: [entry] for role in ROLE_NAMES}, ClientOptions(stream=settings.stream)
        )
        agents = AgentFactory(clients, stream=settings.stream)
        try:
            return await step(SessionContext(workspace, session, agents, Manager(ui), ui, settings))
        finally:
            await agents.close()

    return asyncio.run(go())


def run_loop(
    server: FakeOpenAIServer,
    root: Path,
    answers: Sequence[str],
    max_iterations: int = 5,
    execute: str = "never",
    **options: object,
) -> tuple[str, int, RecordingUI]:
    """The iteration loop from wherever the files in ``root`` say, answered from ``answers``."""
    workspace = Workspace(root)
    if not workspace.exists(PLAN):
        workspace.write(TASK, "count words\n")
        workspace.write(PLAN, "# Word counter\n\n## Requirements\n1. count_words(text) counts words.\n")
        workspace.write(ACCEPTANCE, "# No automatic checks.\n")
    ui = RecordingUI(answers)
    settings = Settings(max_iterations=max_iterations, execute=execute, **options)  # type: ignore[arg-type]

    async def loop(ctx: SessionContext) -> tuple[str, int]:
        return await IterationLoop(ctx).run(ctx.session.resume_point())

    outcome, version = in_session(server, root, ui, settings, loop)
    return outcome, version, ui


def review_of_version_1(server: FakeOpenAIServer, root: Path, agreed: tuple[str, str, list], script: str,
                        reviewer: str) -> str:  # fmt: skip
    """The review of ``script`` as version 1, run as under ``--yes --execute always`` (nobody to ask,
    every version runs) in a workspace holding the ``agreed`` plan, acceptance tests and demo runs."""
    plan, tests, demo = agreed
    (root / "task.md").write_text(plan.splitlines()[0].lstrip("# ") + "\n")
    (root / "plan.md").write_text(plan)
    (root / "acceptance_test.py").write_text(tests)
    (root / "demo.json").write_text(json.dumps({"runs": demo}))
    server.enqueue("coder", f"```python\n{script}```")
    server.enqueue("reviewer", reviewer)
    outcome, _, _ = run_loop(server, root, [], max_iterations=1, execute="always", interactive=False)
    assert outcome == "limit"
    return (root / "review_v1.md").read_text()
