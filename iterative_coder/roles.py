"""The agents' roles as one table: each role's prompt, reply cap, JSON mode, how it talks, its flag.

Nothing here imports AutoGen, so ``--help`` can list the role flags instantly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """What a role is."""

    name: str
    prompt: str  # its system prompt: ``prompts/<prompt>.md``
    max_tokens: int | None  # a cap on its replies, so a runaway costs little
    json_mode: bool  # asked for JSON mode where the model supports it
    conversational: bool  # keeps its context while the Manager asks for changes; else fresh per call

    @property
    def flag(self) -> str:
        """The option that picks this role's model, e.g. ``--coder-model``."""
        return f"--{self.name}-model"

    @property
    def title(self) -> str:
        """The name on screen, e.g. ``Coder``."""
        return self.name.capitalize()


REVIEWER_MAX_TOKENS = 2000

ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role("planner", "planner", None, json_mode=False, conversational=True),
        Role("tester", "tester", None, json_mode=False, conversational=True),
        Role("coder", "coder", None, json_mode=False, conversational=False),
        Role("reviewer", "reviewer", REVIEWER_MAX_TOKENS, json_mode=True, conversational=False),
    )
}
ROLE_NAMES = tuple(ROLES)
