"""Shared test fixtures: the fake OpenAI-compatible server, a clean environment, the CLI in a pty."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer
from pexpect import EOF, TIMEOUT
from preloaded import MODEL_VARIABLES
from terminal_process import TerminalProcess

# Recognisable, so a test can search every file and all output for it.
FAKE_KEY = "sk-fake-test-key-7Qw3rTy9uIo1pAs5dFg"
# Every wait in these tests is bounded by this many seconds; none is a sleep.
WAIT = 30


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 with per-role scripted replies."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment without any model configuration of the machine."""
    env = {k: v for k, v in os.environ.items() if k not in MODEL_VARIABLES}
    env["HOME"] = str(tmp_path / "home")
    env["TERM"] = "xterm-256color"
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


@pytest.fixture
def model_env(clean_env: dict[str, str], fake_server: FakeOpenAIServer) -> dict[str, str]:
    """The environment pointing the tool at the fake server with a fake key."""
    return {**clean_env, "OPENAI_BASE_URL": fake_server.base_url, "OPENAI_API_KEY": FAKE_KEY}


class Cli:
    """The real CLI in a pseudo-terminal, driven as a person would drive it."""

    def __init__(
        self, args: list[str], cwd: Path, env: dict[str, str], dimensions: tuple[int, int] = (50, 200)
    ) -> None:
        self.transcript = io.StringIO()
        self.child = TerminalProcess(
            [sys.executable, "-m", "iterative_coder", *args],
            cwd=cwd,
            env=env,
            timeout=WAIT,
            size=dimensions,  # (rows, columns)
        )
        self.child.logfile_read = self.transcript

    def expect(self, text: str) -> None:
        """Wait (bounded) until ``text`` appears on the screen; when it never does, fail showing the
        end of what the program printed and whether it still runs (its exit code)."""
        try:
            self.child.expect_exact(text)
        except (EOF, TIMEOUT) as exc:
            state = "still running" if self.child.isalive() else f"exit {self.child.process.poll()}"
            tail = self.output[-3000:]
            raise AssertionError(
                f"{text!r} never appeared ({type(exc).__name__}, {state}); the screen ended:\n{tail}"
            ) from None

    def answer(self, line: str) -> None:
        """Type a line and press Enter at the prompt that is showing."""
        self.child.expect_exact("> ")
        self.child.sendline(line)

    def wait_exit(self) -> int:
        """Wait (bounded) for the program to end; its exit code."""
        return self.child.wait_exit()

    @property
    def output(self) -> str:
        """Everything the program printed so far."""
        return self.transcript.getvalue()


@pytest.fixture
def run_cli(tmp_path: Path, model_env: dict[str, str]) -> Iterator:
    """Start the CLI in a pty in ``tmp_path``: ``run_cli(*args, env=None, dimensions=(50, 200))``."""
    started: list[Cli] = []

    def start(*args: str, env: dict[str, str] | None = None, dimensions: tuple[int, int] = (50, 200)) -> Cli:
        cli = Cli(list(args), tmp_path, env if env is not None else model_env, dimensions)
        started.append(cli)
        return cli

    yield start
    for cli in started:
        cli.child.stop()


# Workspaces kept as data (e.g. one written by an older version) are not test modules.
collect_ignore_glob = ["data/*"]
