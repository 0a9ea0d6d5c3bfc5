"""Model calls that survive faults: bounded retries with backoff, then failover to the next entry.

:class:`ResilientClient` is an AutoGen ``ChatCompletionClient`` that wraps one client per model
entry. Rate limits (honouring ``Retry-After``), server errors, broken connections, timeouts, a reply
that is not JSON and a stream that breaks off are retried with exponential backoff and jitter, a
bounded number of times within a time budget; then the next entry answers. A refused key or an
unknown model is not retried: the person must fix the configuration.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, ModelCapabilities, ModelInfo, RequestUsage

from .config import ModelEntry, redact

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


def what_to_do(reason: str) -> str:
    """The advice that goes with a fault that outlasted every retry."""
    if reason == "rate limited":
        return "Wait a while, or add another entry to OAI_CONFIG_LIST to fail over to."
    if reason.startswith("server error"):
        return "The service may be down; try again later, or add another entry to OAI_CONFIG_LIST."
    return "Is the model server running, and is its URL right? (--request-timeout gives slow servers longer.)"


class ModelAccessError(Exception):
    """The server refused the key or does not know the model: a configuration problem (exit 2)."""


class ModelUnavailable(Exception):
    """Every configured model failed after its retries (exit 75)."""


class StreamBrokeOff(Exception):
    """A streamed reply ended without a finish reason: the connection dropped half-way."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one entry before failing over."""

    tries: int = 4
    budget_seconds: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Seconds to wait before try ``attempt + 1``: the server's Retry-After, else backoff with jitter."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.budget_seconds))
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (0.5 + jitter)  # jitter in [0, 1): 50% to 150% of the backoff


def retry_reason(exc: BaseException) -> str | None:
    """A short phrase for a fault worth retrying (``rate limited``, ``server error 503``...), else None."""
    import openai  # here, not at the top: the tool starts faster, and openai loads with the first call

    if isinstance(exc, openai.RateLimitError):
        return "rate limited"
    if isinstance(exc, openai.APITimeoutError):
        return "the request timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "the connection failed"
    if isinstance(exc, openai.APIStatusError) and exc.status_code in RETRYABLE_STATUS:
        return f"server error {exc.status_code}"
    if isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return "the reply was not valid JSON"
    if isinstance(exc, StreamBrokeOff):
        return "the reply stream broke off"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "the connection failed"
    return None


def access_problem(exc: BaseException, entry: ModelEntry) -> str | None:
    """The message for a refused key or an unknown model, else None."""
    import openai

    where = f"{entry.describe()} (from {entry.source})" if entry.source else entry.describe()
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return (
            f"The model server refused the API key for {where} ({exc.status_code}). "
            "Check that entry's api_key, or OPENAI_API_KEY."
        )
    if isinstance(exc, openai.NotFoundError):
        return (
            f"The model server does not know the model of {where} (404). "
            "Check the model name (--model) and the base_url."
        )
    return None


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's ``Retry-After`` (or ``retry-after-ms``), in seconds, when it sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when else None


class _Call:
    """The retry state of one model call."""

    def __init__(self, entry_index: int) -> None:
        self.entry_index = entry_index
        self.attempt = 0
        self.started = time.monotonic()
        self.last_error = ""


class ResilientClient(ChatCompletionClient):
    """One model client per configured entry, with retries and failover in between."""

    def __init__(
        self,
        entries: Sequence[ModelEntry],
        make_client: Callable[[ModelEntry], ChatCompletionClient],
        *,
        status: Callable[[str], None] = lambda _text: None,
        announce: Callable[[str], None] = lambda _text: None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not entries:
            raise ValueError("at least one model entry is needed")
        self.entries = list(entries)
        self._make_client = make_client
        self._clients: dict[int, ChatCompletionClient] = {}
        self._status = status
        self._announce = announce
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self.active = 0
        self.last_finish_reason: str | None = None
        self.calls = 0  # calls that reached this client (a cache in front answers the others)
        self._secrets = [entry.api_key for entry in self.entries]

    @property
    def entry(self) -> ModelEntry:
        """The entry that answers now."""
        return self.entries[self.active]

    @property
    def model(self) -> str:
        """The model that answers now."""
        return self.entry.model

    def _client(self, index: int) -> ChatCompletionClient:
        if index not in self._clients:
            self._clients[index] = self._make_client(self.entries[index])
        return self._clients[index]

    async def create(self, messages: Sequence[Any], **kwargs: Any) -> CreateResult:
        """One reply, retried and failed over as needed."""
        self.calls += 1
        call = _Call(self.active)
        while True:
            try:
                result = await self._client(call.entry_index).create(messages, **kwargs)
                self.last_finish_reason = result.finish_reason
                return result
            except Exception as exc:  # noqa: BLE001 - sorted out in _recover
                await self._recover(call, exc)

    def create_stream(
        self, messages: Sequence[Any], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        """A streamed reply; a retry starts the stream again (the screen is told to start over)."""
        return self._stream(messages, kwargs)

    async def _stream(
        self, messages: Sequence[Any], kwargs: dict[str, Any]
    ) -> AsyncGenerator[str | CreateResult, None]:
        self.calls += 1
        call = _Call(self.active)
        while True:
            try:
                result: CreateResult | None = None
                async for item in self._client(call.entry_index).create_stream(messages, **kwargs):
                    if isinstance(item, CreateResult):
                        result = item
                    else:
                        yield item
                if result is None or result.finish_reason == "unknown":
                    raise StreamBrokeOff("the stream ended without a finish reason")
                self.last_finish_reason = result.finish_reason
                yield result
                return
            except Exception as exc:  # noqa: BLE001 - sorted out in _recover
                await self._recover(call, exc)

    async def _recover(self, call: _Call, exc: Exception) -> None:
        """Wait and return to retry, switch to the next entry, or raise."""
        entry = self.entries[call.entry_index]
        problem = access_problem(exc, entry)
        if problem:
            raise ModelAccessError(redact(problem, self._secrets)) from None
        reason = retry_reason(exc)
        if reason is None:
            raise exc
        detail = redact(str(exc), self._secrets)
        call.last_error = f"{reason} ({detail})" if detail and detail not in reason else reason
        call.attempt += 1
        if call.attempt < self.policy.tries:
            wait = self.policy.delay(call.attempt, retry_after_seconds(exc), self._jitter())
            # The first retry is always made (a request that timed out may have used the whole
            # budget); later ones only within it.
            if call.attempt == 1 or time.monotonic() - call.started + wait <= self.policy.budget_seconds:
                self._status(f"{reason}, retrying in {wait:.0f} s ({call.attempt + 1}/{self.policy.tries})")
                await self._sleep(wait)
                return
        if call.entry_index + 1 < len(self.entries):
            failed = entry.model
            call.entry_index += 1
            call.attempt = 0
            call.started = time.monotonic()
            self.active = call.entry_index
            now = self.entries[call.entry_index].describe()
            self._announce(f"{failed} failed ({call.last_error}); now answering: {now}")
            return
        raise ModelUnavailable(
            f"Every configured model failed. The last, {entry.describe()}, after {call.attempt} tries: "
            f"{call.last_error}. {what_to_do(reason)}"
        ) from None

    async def close(self) -> None:
        """Close every client opened."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # The rest speaks for the entry that answers now.
    def actual_usage(self) -> RequestUsage:
        return self._client(self.active).actual_usage()

    def total_usage(self) -> RequestUsage:
        return self._client(self.active).total_usage()

    def count_tokens(self, messages: Sequence[Any], **kwargs: Any) -> int:
        return self._client(self.active).count_tokens(messages, **kwargs)

    def remaining_tokens(self, messages: Sequence[Any], **kwargs: Any) -> int:
        return self._client(self.active).remaining_tokens(messages, **kwargs)

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return self._client(self.active).capabilities  # type: ignore[return-value]

    @property
    def model_info(self) -> ModelInfo:
        return self._client(self.active).model_info
