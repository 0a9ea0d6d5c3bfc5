"""A run's environment (part of ``run_vN.md`` and of ``runs/env/declared.json``): the typed record,
its JSON, and its Markdown section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EnvironmentRecord:
    """The program's environment for a run: the packages the script declared, what they resolved to
    (``name==version`` of every package installed), how it was made (``uv`` or ``pip``) and in how
    many seconds; or why it could not be made, and who can fix that. Whether this run reused it is
    known in memory only: a resumed session's files are the same as an uninterrupted one's."""

    requested: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    builder: str = ""
    seconds: float = 0.0
    reused: bool = field(default=False, compare=False)
    problem: str | None = None  # one line
    fixer: str | None = None  # the role that can fix the problem: Coder or Manager

    def describe(self) -> str:
        """``pygame>=2.5 -> pygame==2.6.1, installed with uv in 1.2 s`` (or the problem)."""
        if self.problem:
            return f"not run, its environment not ready: {self.problem} (for the {self.fixer or 'Manager'})"
        asked = ", ".join(self.requested) or "no packages (the standard library only)"
        got = f" -> {', '.join(self.resolved)}" if self.resolved else ""
        return f"{asked}{got}; made with {self.builder or 'venv'} in {self.seconds:.2f} s"

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types."""
        return {
            "requested": list(self.requested),
            "resolved": list(self.resolved),
            "builder": self.builder,
            "seconds": self.seconds,
            "problem": self.problem,
            "fixer": self.fixer,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvironmentRecord:
        """The record from :meth:`to_json`'s output; KeyError, TypeError or ValueError otherwise."""
        return cls(
            requested=tuple(str(item) for item in data["requested"]),
            resolved=tuple(str(item) for item in data.get("resolved", [])),
            builder=str(data.get("builder", "")),
            seconds=float(data.get("seconds", 0.0)),
            problem=str(data["problem"]) if data.get("problem") else None,
            fixer=str(data["fixer"]) if data.get("fixer") else None,
        )


def environment_from(data: object) -> EnvironmentRecord | None:
    """The record of a JSON object, or None for anything else (a run from before environments)."""
    return EnvironmentRecord.from_json(data) if isinstance(data, dict) else None


def environment_section(environment: EnvironmentRecord) -> list[str]:
    """The Markdown lines that show the environment to people and to the Reviewer."""
    lines = ["## The environment", ""]
    lines.append(f"- declared: {', '.join(environment.requested) or '(nothing: the standard library only)'}")
    if environment.problem:
        return [*lines, f"- not ready: {environment.problem} (for the {environment.fixer or 'Manager'})", ""]
    lines.append(f"- installed: {', '.join(environment.resolved) or '(nothing)'}")
    return [*lines, f"- made with {environment.builder or 'venv'} in {environment.seconds:.2f} s", ""]
