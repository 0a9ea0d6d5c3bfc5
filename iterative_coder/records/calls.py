"""One model call as ``session.json`` keeps it: the typed record, its JSON writer and reader."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..textsafe import plain_text
from .values import MAX_COUNT, MAX_NAME, number_problem, shown, text_problem, whole_problem


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
        """A record from session.json, field by field; ValueError naming the first bad field (a wrong
        type, a number not finite or out of range, text too long or holding a NUL)."""
        if not isinstance(data, dict):
            raise ValueError("a call record must be an object")
        cost = data.get("cost_usd")
        finish = data.get("finish_reason")
        return cls(
            role=_text(data, "role"),
            version=_whole(data, "version"),
            model=_text(data, "model"),
            prompt_tokens=_whole(data, "prompt_tokens"),
            completion_tokens=_whole(data, "completion_tokens"),
            seconds=_number(data, "seconds"),
            cost_usd=None if cost is None else _number(data, "cost_usd"),
            cached=data.get("cached") is True,
            finish_reason=None if finish is None else _text(data, "finish_reason"),
            cached_tokens=_whole(data, "cached_tokens"),
            asked=_optional_text(data, "asked"),
            answered=_optional_text(data, "answered"),
        )


_CODER_ONLY = ("asked", "answered")


def _checked(data: dict[str, Any], name: str, problem: str | None) -> Any:
    """The field's value, or ValueError saying what is wrong with it."""
    if problem is not None:
        raise ValueError(f"{name} {shown(data[name])}: {problem}")
    return data[name]


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else _text(data, name)


def _text(data: dict[str, Any], name: str) -> str:
    if data.get(name) is None:
        return ""
    return plain_text(_checked(data, name, text_problem(data[name], MAX_NAME)))


def _whole(data: dict[str, Any], name: str) -> int:
    if data.get(name) is None:
        return 0
    return _checked(data, name, whole_problem(data[name], 0, MAX_COUNT))


def _number(data: dict[str, Any], name: str) -> float:
    if data.get(name) is None:
        return 0.0
    return float(_checked(data, name, number_problem(data[name], MAX_COUNT)))
