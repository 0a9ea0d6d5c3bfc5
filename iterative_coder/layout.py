"""How every agent's prompt is laid out: the same order for all roles, so that a provider's prefix
cache serves one role what another already sent.

The system message is a preamble common to all roles. The task message then gives the session's
material in a fixed order (the approved plan with its acceptance tests, the script under work, its
run), and only after it the role's instructions and what is particular to the moment (the review, the
Manager's feedback, the version line). The Reviewer of version N and the Coder of version N+1 read the
same plan, tests, script N and run N, byte for byte, before anything of their own.
"""

from __future__ import annotations

from .prompt_files import load_prompt, render_prompt
from .roles import ROLES

PREAMBLE = "preamble"  # prompts/preamble.md: the system message of every role


def system_message() -> str:
    """The system message of every agent: the preamble common to all roles."""
    return load_prompt(PREAMBLE)


def instructions(role: str) -> str:
    """The role's instructions (``prompts/<role>.md``), placed after the session's material."""
    return load_prompt(ROLES[role].prompt)


def plan_section(plan: str) -> str:
    """The approved plan (with the acceptance tests after it, when there are any)."""
    return render_prompt("plan_section", plan=plan.strip())


def script_section(name: str, script: str) -> str:
    """The script under work, in a fence."""
    return render_prompt("script_section", script_name=name, script=script.rstrip())


def compose(material: list[str], role: str, particular: str) -> str:
    """A task message: the material in order, then the role's instructions, then ``particular``.

    Parts are joined by one blank line, so two roles given the same material send the same bytes up to
    their instructions.
    """
    parts = [part.strip("\n") for part in (*material, instructions(role), particular)]
    return "\n\n".join(part for part in parts if part.strip()) + "\n"
