"""One model call as ``session.json`` keeps it: the typed record, its JSON writer and reader."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """A model call: who asked, which model answered, what it cost. Never a key."""

    role: str
    version: int
    model: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost_usd: float | None
    cached: bool = False  # answered from the tool's own reply cache (--cache-seed): nothing spent
    finish_reason: str | None = None
    cached_tokens: int = 0  # of the prompt tokens, how many the provider served from its prompt cache
    asked: str | None = None  # a Coder call: how it was asked to answer, "edits" or "whole"
    answered: str | None = None  # ... and how it did ("edits", "whole"; None: neither)

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together (none for a reply from the cache)."""
        return 0 if self.cached else self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON types (``asked`` and ``answered`` only when set: Coder calls)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # every field is a plain value
        return {k: v for k, v in data.items() if v is not None or k not in _CODER_ONLY}

    @classmethod
    def from_json(cls, data: object) -> CallRecord:
        """A record from session.json, field by field; ValueError when a field has the wrong type."""
        if not isinstance(data, dict):
            raise ValueError("a call record must be an object")
        cost = data.get("cost_usd")
        finish = data.get("finish_reason")
        return cls(
            role=_text(data.get("role")),
            version=_whole(data.get("version")),
            model=_text(data.get("model")),
            prompt_tokens=_whole(data.get("prompt_tokens")),
            completion_tokens=_whole(data.get("completion_tokens")),
            seconds=_number(data.get("seconds")),
            cost_usd=None if cost is None else _number(cost),
            cached=data.get("cached") is True,
            finish_reason=None if finish is None else _text(finish),
            cached_tokens=_whole(data.get("cached_tokens")),
            asked=_optional_text(data.get("asked")),
            answered=_optional_text(data.get("answered")),
        )


_CODER_ONLY = ("asked", "answered")


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected text, not {type(value).__name__}")
    return value


def _whole(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number, not {value!r}")
    return value


def _number(value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"expected a number, not {value!r}")
    return float(value)
