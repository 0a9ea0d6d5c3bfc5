"""Model calls that survive faults: bounded retries with backoff, then failover to the next entry.

:class:`ResilientClient` is an AutoGen ``ChatCompletionClient`` that wraps one client per model
entry. Rate limits (honouring ``Retry-After``), server errors, broken connections, timeouts, a reply
that is not JSON and a stream that breaks off are retried with exponential backoff and jitter, a
bounded number of times within a time budget; then the next entry answers. A refused key or an
unknown model is not retried: the person must fix the configuration. Which failure is which, and
what the screen says about it, is the table in :mod:`errors`.

Each try has a total deadline (the OpenAI client's timeout is per read, so a reply that trickles in
would never end) and a streamed reply a size cap; going past either is a fault that is retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autogen_core.models import ChatCompletionClient, CreateResult, ModelCapabilities, ModelInfo, RequestUsage

from .config import ModelEntry, redact
from .errors import (
    RETRYABLE_STATUS,
    ExInfo,
    ModelAccessError,
    ModelUnavailable,
    ReplyTooLong,
    ReplyTooSlow,
    StreamBrokeOff,
    classify,
)
from .settings import DEFAULT_CALL_DEADLINE, DEFAULT_MAX_REPLY_CHARS

__all__ = [
    "RETRYABLE_STATUS",
    "CallHooks",
    "ModelAccessError",
    "ModelUnavailable",
    "ReplyTooLong",
    "ReplyTooSlow",
    "ResilientClient",
    "RetryPolicy",
    "StreamBrokeOff",
    "retry_after_seconds",
]


def _ignore(_text: str) -> None:
    """A status line or an announcement nobody shows."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one entry before failing over, and how long and large one try may get.

    ``budget_seconds``: later retries only start within this time of the first try (the first
    retry is always made). ``call_deadline``: the total seconds one try may take, from the request
    to the last chunk. ``max_reply_chars``: the most characters one reply may have, streamed or not.
    """

    tries: int = 4
    budget_seconds: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    call_deadline: float = DEFAULT_CALL_DEADLINE
    max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS

    def allows(self, attempt: int, spent: float, wait: float) -> bool:
        """Whether try ``attempt + 1`` is made, ``spent`` seconds after the first began, after ``wait``.

        The first retry is always made (a try that hit its deadline may have used the whole budget);
        later ones only while they start within the budget.
        """
        return attempt < self.tries and (attempt == 1 or spent + wait <= self.budget_seconds)

    def give_up_seconds(self) -> float:
        """The longest one entry is tried when every try hangs until its deadline: the tries made
        (see :meth:`allows`), each cut at ``call_deadline``, and the longest waits between them."""
        spent, attempt = self.call_deadline, 1
        while self.allows(attempt, spent, wait := self.delay(attempt, None, jitter=1.0)):
            spent += wait + self.call_deadline
            attempt += 1
        return spent

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Seconds to wait before try ``attempt + 1``: the server's Retry-After, else backoff with jitter."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.budget_seconds))
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (0.5 + jitter)  # jitter in [0, 1): 50% to 150% of the backoff


@dataclass(frozen=True)
class CallHooks:
    """What a :class:`ResilientClient` tells and uses from outside; tests replace the waiting and time.

    ``status``: a passing line while retrying; ``announce``: a failover; ``sleep``: waits between
    tries; ``jitter``: a number in [0, 1) that spreads the backoff; ``clock``: seconds, for the budget.
    """

    status: Callable[[str], None] = _ignore
    announce: Callable[[str], None] = _ignore
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    jitter: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic


def retry_after_seconds(exc: BaseException, now: float | None = None) -> float | None:
    """The server's ``Retry-After`` (or ``retry-after-ms``), in seconds, when it sent one.

    An HTTP-date is counted from ``now`` (seconds since the epoch; default: the time now).
    """
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
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Call:
    """The retry state of one model call."""

    def __init__(self, entry_index: int, started: float) -> None:
        self.entry_index = entry_index
        self.attempt = 0
        self.started = started
        self.last_error = ""


class ResilientClient(ChatCompletionClient):
    """One model client per configured entry, with retries and failover in between."""

    def __init__(
        self,
        entries: Sequence[ModelEntry],
        make_client: Callable[[ModelEntry], ChatCompletionClient],
        *,
        policy: RetryPolicy | None = None,
        hooks: CallHooks | None = None,
    ) -> None:
        if not entries:
            raise ValueError("at least one model entry is needed")
        self.entries = list(entries)
        self._make_client = make_client
        self._clients: dict[int, ChatCompletionClient] = {}
        self.hooks = hooks or CallHooks()
        self.policy = policy or RetryPolicy()
        self.active = 0
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
        """One reply, retried and failed over as needed; each try within the deadline."""
        call = _Call(self.active, self.hooks.clock())
        while True:
            try:
                deadline = asyncio.get_running_loop().time() + self.policy.call_deadline
                reply = self._client(call.entry_index).create(messages, **kwargs)
                result = await self._within(reply, deadline)
                if isinstance(result.content, str) and len(result.content) > self.policy.max_reply_chars:
                    raise ReplyTooLong(self.policy.max_reply_chars)  # as for a streamed reply
                return result
            except Exception as exc:  # noqa: BLE001 - sorted out in _recover
                await self._recover(call, exc)

    async def _within(self, step: Awaitable[Any], deadline: float) -> Any:
        """``await step``, or :class:`ReplyTooSlow` once the loop's clock reaches ``deadline``."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(step, max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            if loop.time() < deadline:  # a timeout of the request itself, not the deadline
                raise
            raise ReplyTooSlow(self.policy.call_deadline) from None

    def create_stream(
        self, messages: Sequence[Any], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        """A streamed reply; a retry starts the stream again (the screen is told to start over)."""
        return self._stream(messages, kwargs)

    async def _stream(
        self, messages: Sequence[Any], kwargs: dict[str, Any]
    ) -> AsyncGenerator[str | CreateResult, None]:
        call = _Call(self.active, self.hooks.clock())
        while True:
            try:
                async for item in self._stream_once(call, messages, kwargs):
                    yield item
                return
            except Exception as exc:  # noqa: BLE001 - sorted out in _recover
                await self._recover(call, exc)

    async def _stream_once(
        self, call: _Call, messages: Sequence[Any], kwargs: dict[str, Any]
    ) -> AsyncGenerator[str | CreateResult, None]:
        """One try of a streamed reply: each chunk must come before the try's deadline, and the
        text must stay under the size cap; the stream must end with a finish reason."""
        deadline = asyncio.get_running_loop().time() + self.policy.call_deadline
        stream = self._client(call.entry_index).create_stream(messages, **kwargs)
        result: CreateResult | None = None
        size = 0
        try:
            while True:
                try:
                    item = await self._within(anext(stream), deadline)
                except StopAsyncIteration:
                    break
                if isinstance(item, CreateResult):
                    result = item
                    continue
                size += len(item)
                if size > self.policy.max_reply_chars:
                    raise ReplyTooLong(self.policy.max_reply_chars)
                yield item
        finally:
            await stream.aclose()  # a try cut short lets go of its connection now
        if result is None or result.finish_reason == "unknown":
            raise StreamBrokeOff("the stream ended without a finish reason")
        yield result

    async def _recover(self, call: _Call, exc: Exception) -> None:
        """Wait and return to retry, switch to the next entry, or raise."""
        entry = self.entries[call.entry_index]
        info = classify(exc)
        if info is not None and info.access:
            where = f"{entry.describe()} (from {entry.source})" if entry.source else entry.describe()
            raise ModelAccessError(redact(info.message(exc, where), self._secrets)) from None
        if info is None or not info.retry:
            raise exc
        reason = info.phrase(exc)
        detail = redact(str(exc), self._secrets)
        call.last_error = f"{reason} ({detail})" if detail and detail not in reason else reason
        call.attempt += 1
        wait = self.policy.delay(call.attempt, retry_after_seconds(exc), self.hooks.jitter())
        if self.policy.allows(call.attempt, self.hooks.clock() - call.started, wait):
            tries = f"{call.attempt + 1}/{self.policy.tries}"
            self.hooks.status(f"{reason}, retrying in {wait:.0f} s ({tries})")
            await self.hooks.sleep(wait)
            return
        if call.entry_index + 1 < len(self.entries):
            self._fail_over(call)
            return
        raise ModelUnavailable(self._exhausted(call, info)) from None

    def _fail_over(self, call: _Call) -> None:
        """Go on with the next entry, and say so."""
        failed = self.entries[call.entry_index].model
        call.entry_index += 1
        call.attempt = 0
        call.started = self.hooks.clock()
        self.active = call.entry_index
        now = self.entries[call.entry_index].describe()
        self.hooks.announce(f"{failed} failed ({call.last_error}); now answering: {now}")

    def _exhausted(self, call: _Call, info: ExInfo) -> str:
        """What a person reads when the last entry failed too: the last error and what to do."""
        entry = self.entries[call.entry_index]
        tries = "1 try" if call.attempt == 1 else f"{call.attempt} tries"
        return (
            f"Every configured model failed. The last, {entry.describe()}, after {tries}: "
            f"{call.last_error}. {info.advice}"
        )

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
