"""Prompt tokens a provider served from its prompt cache, read from each response's usage.

autogen-ext's ``RequestUsage`` keeps only prompt and completion tokens, so the figure is read where
the OpenAI library hands autogen-ext each response: the role's OpenAI client has its
``chat.completions.create`` wrapped, and the usage of a reply (or of a stream's usage chunk) is noted
on the role's :class:`PromptCacheTap`.
"""

from __future__ import annotations

from typing import Any


def cached_tokens_of(usage: object) -> int | None:
    """Cached prompt tokens in a usage block: OpenAI's ``prompt_tokens_details.cached_tokens``
    (also sent by vLLM, llama.cpp and most proxies), or DeepSeek's ``prompt_cache_hit_tokens``."""
    details = getattr(usage, "prompt_tokens_details", None)
    if isinstance(details, dict):
        value = details.get("cached_tokens")
    else:
        value = getattr(details, "cached_tokens", None)
    if value is None:
        value = getattr(usage, "prompt_cache_hit_tokens", None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class PromptCacheTap:
    """What the latest response for one role said about cached prompt tokens (0 when nothing)."""

    def __init__(self) -> None:
        self.cached_tokens = 0

    def reset(self) -> None:
        """A new call begins."""
        self.cached_tokens = 0

    def note(self, usage: object) -> None:
        """Keep the cached figure of a response's usage block, when it has one."""
        value = cached_tokens_of(usage)
        if value is not None:
            self.cached_tokens = value


class _TappedStream:
    """A streamed response that notes the usage chunk on its way through."""

    def __init__(self, inner: Any, tap: PromptCacheTap) -> None:
        self._inner = inner
        self._tap = tap

    def __aiter__(self) -> _TappedStream:
        return self

    async def __anext__(self) -> Any:
        chunk = await self._inner.__anext__()
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self._tap.note(usage)
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def tap_client(client: Any, tap: PromptCacheTap) -> Any:
    """``client`` (an autogen-ext OpenAI client) with its responses' cached tokens noted on ``tap``.

    A client without the OpenAI library behind it is returned as it is.
    """
    completions = getattr(getattr(getattr(client, "_client", None), "chat", None), "completions", None)
    original = getattr(completions, "create", None)
    if original is None:
        return client

    async def create(*args: Any, **kwargs: Any) -> Any:
        response = await original(*args, **kwargs)
        if kwargs.get("stream"):
            return _TappedStream(response, tap)
        tap.note(getattr(response, "usage", None))
        return response

    completions.create = create
    return client
