"""The collaborators every step of a session needs, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .execution.runs import Execution
from .execution.sandbox import Sandbox, find_sandbox

if TYPE_CHECKING:
    from .agents import AgentFactory
    from .manager import Manager
    from .session import SessionLog
    from .settings import Settings
    from .ui import UI
    from .workspace import Workspace


@dataclass
class SessionContext:
    """One session's workspace, bookkeeping, agents, person, screen and settings."""

    workspace: Workspace
    session: SessionLog
    agents: AgentFactory
    manager: Manager
    ui: UI
    settings: Settings
    execute: str = "never"  # may generated code run now? ``ask`` can become ``always`` mid-session
    warned_unsandboxed: bool = False
    install_always: bool = False  # the Manager answered "a" to installing packages
    install_answers: dict[tuple[str, ...], bool] = field(default_factory=dict)  # per set of packages
    # Why a version was not run when its packages could not be installed, for the agents' prompts.
    not_run_reasons: dict[int, str] = field(default_factory=dict)
    suspects_sent: bool = False  # without a person, the Tester is asked about suspect tests once
    _sandbox: list[Sandbox | None] = field(default_factory=list, init=False)  # found once, when needed

    def __post_init__(self) -> None:
        self.execute = self.settings.execute
        if self.settings.sandbox == "on":  # without a working bubblewrap: refused before anything runs
            self._sandbox.append(find_sandbox("on"))

    @property
    def sandbox(self) -> Sandbox | None:
        """The sandbox generated code runs in, or None (probed the first time code runs)."""
        if not self._sandbox:
            self._sandbox.append(find_sandbox(self.settings.sandbox))
        return self._sandbox[0]

    @property
    def execution(self) -> Execution:
        """How generated code runs in this session."""
        keys = [
            entry.api_key
            for role_client in self.agents.role_clients.values()
            for entry in role_client.resilient.entries
            if entry.api_key
        ]
        return Execution(
            self.workspace.root,
            self.settings.run_timeout,
            self.sandbox,
            tuple(keys),
            network=self.settings.network,
        )
