"""Model entries become autogen-ext chat completion clients."""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, RequestUsage

from .config import ModelEntry
from .connections import http_client_options
from .prompt_cache import PromptCacheTap, tap_client
from .resilience import CallHooks, ResilientClient, RetryPolicy
from .roles import ROLES
from .settings import DEFAULT_CALL_DEADLINE, DEFAULT_MAX_REPLY_CHARS

# For a model name autogen-ext does not know (a local model): plain chat, no tools needed.
UNKNOWN_MODEL_INFO: dict[str, Any] = {
    "vision": False,
    "function_calling": False,
    "json_output": False,
    "family": "unknown",
    "structured_output": False,
}
# A placeholder for servers that need no key (Ollama, LM Studio, vLLM, llama.cpp): the
# OpenAI client refuses to start without one.
NO_KEY_PLACEHOLDER = "not-needed"
# autogen-ext warns on every reply whose model name is the dated one OpenAI resolves an alias to
# ("gpt-4o-mini" answered by "gpt-4o-mini-2024-07-18"), which is every reply from OpenAI: noise on the
# person's screen, not news. Only this warning is silenced.
warnings.filterwarnings("ignore", message="Resolved model mismatch", category=UserWarning)


def model_info_for(model: str) -> dict[str, Any] | None:
    """autogen-ext's own info for a known model name, else None."""
    from autogen_ext.models.openai._model_info import get_info

    try:
        return dict(get_info(model))
    except (ValueError, KeyError):
        return None


DEFAULT_REQUEST_TIMEOUT = 120.0
# Reasoning models take max_completion_tokens and refuse max_tokens; they are left uncapped.
_NO_MAX_TOKENS = ("o1", "o3", "o4", "gpt-5")


def create_client(
    entry: ModelEntry,
    *,
    stream: bool,
    max_tokens: int | None = None,
    json_output: bool = False,
    timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> ChatCompletionClient:
    """A chat completion client for ``entry``; the caller closes it (``await client.close()``).

    The OpenAI library's own retries are off: :mod:`resilience` retries, visibly. ``json_output``
    asks for JSON mode when the model is known to support it.
    """
    options: dict[str, Any] = {"model": entry.model, "timeout": timeout, "max_retries": 0}
    if stream:
        options["stream_options"] = {"include_usage": True}
    info = model_info_for(entry.model)
    if info is None:
        options["model_info"] = dict(UNKNOWN_MODEL_INFO, vision=bool(entry.vision))
    elif entry.vision is not None:
        options["model_info"] = {**info, "vision": entry.vision}
    if max_tokens and not entry.model.startswith(_NO_MAX_TOKENS):
        options["max_tokens"] = max_tokens
    if json_output and info and info.get("json_output"):
        options["response_format"] = {"type": "json_object"}
    options.update(http_client_options())
    if entry.api_type == "azure":
        from autogen_ext.models.openai import AzureOpenAIChatCompletionClient

        return AzureOpenAIChatCompletionClient(
            azure_endpoint=entry.base_url,
            azure_deployment=entry.model,
            api_version=entry.api_version or "2024-06-01",
            api_key=entry.api_key,
            **options,
        )
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    if entry.base_url:
        options["base_url"] = entry.base_url
    # An entry with its own base_url and no key is sent no key of ours (OPENAI_API_KEY is for
    # OpenAI, not for whatever server the entry names).
    options["api_key"] = entry.api_key or (NO_KEY_PLACEHOLDER if entry.base_url else None)
    if options["api_key"] is None:
        del options["api_key"]  # the OpenAI client reads OPENAI_API_KEY itself
    return OpenAIChatCompletionClient(**options)


@dataclass(frozen=True)
class ClientOptions:
    """How every role's model client is built."""

    stream: bool
    timeout: float = DEFAULT_REQUEST_TIMEOUT
    tries: int = 4
    cache_dir: Path | None = None  # replies cached on disk here (``--cache-seed``)
    status: Callable[[str], None] = lambda _text: None  # a passing state: ``rate limited, retrying...``
    announce: Callable[[str], None] = lambda _text: None  # a lasting change: ``now answering: ...``
    call_deadline: float = DEFAULT_CALL_DEADLINE  # seconds one try of a call may take in all
    max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS  # the most characters of one streamed reply


class RecordingClient(ChatCompletionClient):
    """A role's outermost client: it keeps the ``CreateResult`` of the last call, so usage, the
    finish reason and whether the cache answered are read from the result itself."""

    def __init__(self, inner: ChatCompletionClient, tap: PromptCacheTap | None = None) -> None:
        self.inner = inner
        self.last_result: CreateResult | None = None
        self.tap = tap or PromptCacheTap()  # cached prompt tokens of the last call, as the server said

    async def create(self, messages: Sequence[Any], **kwargs: Any) -> CreateResult:
        """One reply; kept as :attr:`last_result`."""
        self.last_result = None
        self.tap.reset()
        self.last_result = await self.inner.create(messages, **kwargs)
        return self.last_result

    def create_stream(
        self, messages: Sequence[Any], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        """A streamed reply; its final ``CreateResult`` is kept as :attr:`last_result`."""
        self.last_result = None
        self.tap.reset()
        return self._stream(messages, kwargs)

    async def _stream(
        self, messages: Sequence[Any], kwargs: dict[str, Any]
    ) -> AsyncGenerator[str | CreateResult, None]:
        async for item in self.inner.create_stream(messages, **kwargs):
            if isinstance(item, CreateResult):
                self.last_result = item
            yield item

    async def close(self) -> None:
        """Close the client behind."""
        await self.inner.close()

    def actual_usage(self) -> RequestUsage:
        return self.inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return self.inner.total_usage()

    def count_tokens(self, messages: Sequence[Any], **kwargs: Any) -> int:
        return self.inner.count_tokens(messages, **kwargs)

    def remaining_tokens(self, messages: Sequence[Any], **kwargs: Any) -> int:
        return self.inner.remaining_tokens(messages, **kwargs)

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities  # type: ignore[attr-defined]

    @property
    def model_info(self) -> Any:
        return self.inner.model_info


@dataclass(frozen=True)
class RoleClient:
    """A role's model access: what its agent talks to, and the resilient client behind it."""

    client: RecordingClient  # outermost: the reply cache (if any) and the retries are behind it
    resilient: ResilientClient  # knows the model that answers now


def create_role_clients(
    entries_by_role: Mapping[str, Sequence[ModelEntry]], options: ClientOptions
) -> dict[str, RoleClient]:
    """A resilient client for each role, failing over through that role's entries in order.

    Each role's reply cap and JSON mode come from :data:`roles.ROLES`. With ``cache_dir``, replies
    are cached on disk in front of the retries (AutoGen's ``ChatCompletionCache``), so only complete
    replies are cached, one store per role and model.
    """
    policy = RetryPolicy(
        tries=options.tries, call_deadline=options.call_deadline, max_reply_chars=options.max_reply_chars
    )
    clients = {}
    for role, entries in entries_by_role.items():
        spec = ROLES[role]
        settings: dict[str, Any] = {"max_tokens": spec.max_tokens, "json_output": spec.json_mode}
        tap = PromptCacheTap()
        resilient = ResilientClient(
            entries,
            lambda entry, settings=settings, tap=tap: tap_client(
                create_client(entry, stream=options.stream, timeout=options.timeout, **settings), tap
            ),
            policy=policy,
            hooks=CallHooks(status=options.status, announce=options.announce),
        )
        front: ChatCompletionClient = resilient
        if options.cache_dir is not None:
            front = cached(resilient, options.cache_dir / _safe_name(f"{role}-{entries[0].model}"))
        clients[role] = RoleClient(RecordingClient(front, tap), resilient)
    return clients


def cached(client: ChatCompletionClient, directory: Path) -> ChatCompletionClient:
    """``client`` behind AutoGen's on-disk reply cache in ``directory``; only complete replies
    (finish reason ``stop``) are stored, so a cut-off reply is never replayed."""
    from autogen_core import CacheStore
    from autogen_core.models import CreateResult
    from autogen_ext.cache_store.diskcache import DiskCacheStore
    from autogen_ext.models.cache import ChatCompletionCache
    from diskcache import Cache

    class CompleteRepliesStore(CacheStore[Any]):
        def __init__(self, inner: CacheStore[Any]) -> None:
            self.inner = inner

        def get(self, key: str, default: Any = None) -> Any:
            return self.inner.get(key, default)

        def set(self, key: str, value: Any) -> None:
            final = value[-1] if isinstance(value, list) and value else value
            if isinstance(final, CreateResult) and final.finish_reason == "stop":
                self.inner.set(key, value)

    directory.mkdir(exist_ok=True)
    return ChatCompletionCache(client, CompleteRepliesStore(DiskCacheStore(Cache(str(directory)))))


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)
