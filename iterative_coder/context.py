"""The collaborators every step of a session needs, in one object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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

    def __post_init__(self) -> None:
        self.execute = self.settings.execute
