"""Ways to drive the tool in tests: the CLI as a subprocess, or one session's steps in-process with a
recording UI. Both reach the model only through the real OpenAI client and the fake server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from conftest import FAKE_KEY, WAIT
from fake_openai import FakeOpenAIServer
from recording_ui import RecordingUI

from iterative_coder.agents import AgentFactory
from iterative_coder.config import ModelEntry
from iterative_coder.context import SessionContext
from iterative_coder.loop import IterationLoop
from iterative_coder.manager import Manager
from iterative_coder.models import ClientOptions, create_role_clients
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.roles import ROLE_NAMES
from iterative_coder.session import SessionLog
from iterative_coder.settings import Settings
from iterative_coder.workspace import Workspace

T = TypeVar("T")


def run(
    args: list[Any], cwd: Path, env: dict[str, str], stdin: str = "", **options: Any
) -> subprocess.CompletedProcess[str]:
    """The CLI with stdin and stdout not a terminal (and more ``subprocess.run`` options, such as a
    ``preexec_fn``)."""
    return subprocess.run(
        [sys.executable, "-m", "iterative_coder", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT,
        **options,
    )


def start_workspace(root: Path, tests: str = "# none\n") -> None:
    """A workspace with a request, a one-requirement plan and the given acceptance tests."""
    (root / TASK).write_text("a program\n")
    (root / PLAN).write_text("# Program\n\n1. It runs.\n")
    (root / ACCEPTANCE).write_text(tests)


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
