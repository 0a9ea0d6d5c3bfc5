"""Retries, backoff and failover of model calls, without a single real wait.

The waits are computed (:class:`RetryPolicy`), read from the server (``Retry-After``) and classified
(the table of :mod:`iterative_coder.errors`); then :class:`ResilientClient` runs in-process around a
real autogen-ext ``OpenAIChatCompletionClient`` talking HTTP to the fake server, with a fake sleep
that only records the waits, a fixed jitter and a clock that only that sleep moves. Each test checks
what a person would see: the status lines, the failover notice, the final message, the number of
requests that reached the server, and that the key shows nowhere.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import openai
import pytest
from autogen_core.models import CreateResult, SystemMessage, UserMessage
from conftest import FAKE_KEY
from fake_openai import FakeOpenAIServer, Fault
from openai_errors import api_error, connection_error, not_valid_json, status_error, timeout_error
from scripted import FAULTS

from iterative_coder.config import ModelEntry
from iterative_coder.errors import EXCEPTIONS, classify, session_ending
from iterative_coder.models import create_client
from iterative_coder.resilience import (
    CallHooks,
    ModelAccessError,
    ModelUnavailable,
    ReplyTooLong,
    ReplyTooSlow,
    ResilientClient,
    RetryPolicy,
    StreamBrokeOff,
    retry_after_seconds,
)
from iterative_coder.wiring import explain_failure as _explain_failure
from iterative_coder.workspace import WorkspaceError

# autogen-ext's remarks on the fake server's replies (a dated model name, an empty broken stream).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Resolved model mismatch"),
    pytest.mark.filterwarnings("ignore:No text content"),
]

WAIT = "Wait a while, or add another entry to OAI_CONFIG_LIST to fail over to."
DOWN = "The service may be down; try again later, or add another entry to OAI_CONFIG_LIST."
REACH = "Is the model server running, and is its URL right? (--request-timeout gives slow servers longer.)"
KEY = "Check that entry's api_key, or OPENAI_API_KEY."
SETTINGS = (
    "Check the model's settings (context length, the options it accepts), or pick another with --model."
)
SLOW = (
    "The server may be overloaded, or the model writing without end; try again later, or give each try "
    "longer with --call-deadline."
)
ENDLESS = "The model may be repeating itself without end; try again, or pick another model with --model."
REPLY = "print('hello, world')"
MESSAGES = [SystemMessage(content="You are the Coder."), UserMessage(content="Write it.", source="user")]
STREAM_MODES = pytest.mark.parametrize("stream", [True, False], ids=["streaming", "non-streaming"])


# --- RetryPolicy.delay ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (9, 30.0)]
)
def test_backoff_doubles_from_the_base_up_to_the_cap(attempt: int, expected: float) -> None:
    assert RetryPolicy(base_delay=1.0, max_delay=30.0).delay(attempt, None, jitter=0.5) == expected


@pytest.mark.parametrize(("jitter", "expected"), [(0.0, 2.0), (0.25, 3.0), (0.5, 4.0), (0.999, 5.996)])
def test_jitter_spreads_the_backoff_from_50_to_150_percent(jitter: float, expected: float) -> None:
    assert RetryPolicy().delay(3, None, jitter) == pytest.approx(expected)


def test_retry_after_wins_over_backoff_and_is_capped_by_the_budget() -> None:
    policy = RetryPolicy(budget_seconds=60.0)
    assert policy.delay(3, 7.0, jitter=0.9) == 7.0
    assert policy.delay(1, 0.0, jitter=0.9) == 0.0
    assert policy.delay(1, 500.0, jitter=0.5) == 60.0
    assert policy.delay(1, -3.0, jitter=0.5) == 0.0


# --- retry_after_seconds --------------------------------------------------------------------------

NOW = 1_700_000_000.0  # an injected "now", seconds since the epoch


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + seconds_from_now, tz=timezone.utc), usegmt=True)


def rate_limited(headers: dict[str, str]) -> openai.RateLimitError:
    error = status_error(429, "rate limited", headers)
    assert isinstance(error, openai.RateLimitError)
    return error


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after": http_date(30)}, 30.0),
        ({"retry-after": http_date(-30)}, 0.0),
        ({"retry-after": "after lunch"}, None),
        ({}, None),
    ],
    ids=[
        "seconds",
        "fraction",
        "milliseconds",
        "bad milliseconds",
        "date",
        "date passed",
        "garbage",
        "missing",
    ],
)
def test_the_servers_retry_after_in_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(rate_limited(headers), now=NOW) == expected


def test_a_failure_without_a_response_has_no_retry_after() -> None:
    assert retry_after_seconds(ConnectionResetError("reset"), now=NOW) is None


# --- the error table ------------------------------------------------------------------------------

WHERE = "gpt-4o-mini at http://127.0.0.1:9/v1"


# (exception, retried, the phrase shown while retrying or the message that ends the session,
#  the advice, the exit code when it ends the session)
ROWS = [
    (status_error(429), True, "rate limited", WAIT, 75),
    (timeout_error(), True, "the request timed out", REACH, 75),
    (connection_error(), True, "the connection failed", REACH, 75),
    *[
        (status_error(s), True, f"server error {s}", DOWN, 75)
        for s in (408, 409, 425, 500, 502, 503, 504, 529)
    ],
    (not_valid_json(), True, "the reply was not valid JSON", REACH, 75),
    (json.JSONDecodeError("Expecting value", "this is {", 0), True, "the reply was not valid JSON", REACH, 1),
    (StreamBrokeOff("no finish reason"), True, "the reply stream broke off", REACH, 1),
    (ConnectionResetError("reset by peer"), True, "the connection failed", REACH, 1),
    (TimeoutError(), True, "the connection failed", REACH, 1),
    (ReplyTooSlow(300), True, "the reply took longer than 300 s", SLOW, 75),
    (ReplyTooLong(400_000), True, "the reply grew past 400,000 characters", ENDLESS, 75),
    (status_error(401), False, f"The model server refused the API key for {WHERE} (401).", KEY, 2),
    (status_error(403), False, f"The model server refused the API key for {WHERE} (403).", KEY, 2),
    (
        status_error(404),
        False,
        f"The model server does not know the model of {WHERE} (404).",
        "Check the model name (--model) and the base_url.",
        2,
    ),
    (
        status_error(400, "too long"),
        False,
        "The model server refused the request (400): too long.",
        SETTINGS,
        2,
    ),
    (
        status_error(422, "bad option"),
        False,
        "The model server refused the request (422): bad option.",
        SETTINGS,
        2,
    ),
    (
        api_error("stream error"),
        False,
        "The model call failed: stream error",
        "",
        75,
    ),
    (ModelAccessError("refused"), False, "refused", "", 2),
    (ModelUnavailable("Every configured model failed."), False, "Every configured model failed.", "", 75),
    (WorkspaceError("script_v2.py is missing"), False, "script_v2.py is missing", "", 2),
]


ROW_IDS = [f"{type(row[0]).__name__} {getattr(row[0], 'status_code', '')}".strip() for row in ROWS]


@pytest.mark.parametrize(("exc", "retried", "phrase", "advice", "code"), ROWS, ids=ROW_IDS)
def test_each_kind_of_failure_has_one_row(
    exc: Exception, retried: bool, phrase: str, advice: str, code: int
) -> None:
    info = classify(exc)
    assert info is not None
    assert info.retry is retried
    assert info.phrase(exc, WHERE) == phrase
    assert info.advice == advice
    message, exit_code, expected = session_ending(exc)
    assert exit_code == code and expected is (code != 1)
    if not retried:
        assert message == (f"{phrase} {advice}" if advice else phrase).replace(WHERE, "the model")


def test_a_spent_retryable_failure_that_ends_a_session_says_what_to_do() -> None:
    message, code, _ = session_ending(status_error(503, "overloaded"))
    assert message == f"The model call failed: server error 503 (overloaded). {DOWN}"
    assert code == 75


def test_a_failure_the_table_does_not_know_is_unexpected(monkeypatch: pytest.MonkeyPatch) -> None:
    assert classify(ValueError("boom")) is None
    monkeypatch.delenv("ITERATIVE_CODER_DEBUG", raising=False)
    assert _explain_failure(ValueError("boom")) == ("Unexpected error: ValueError: boom", 1)
    # A JSON or connection error outside a model call is a bug, not the model's fault.
    assert _explain_failure(json.JSONDecodeError("Expecting value", "", 0))[1] == 1
    monkeypatch.setenv("ITERATIVE_CODER_DEBUG", "1")
    with pytest.raises(ValueError, match="boom"):
        _explain_failure(ValueError("boom"))
    assert _explain_failure(ModelUnavailable("Every configured model failed.")) == (
        "Every configured model failed.",
        75,
    )


def test_every_row_names_a_class_that_exists() -> None:
    for info in EXCEPTIONS:
        assert info.matches(Exception()) is False, info.name
        assert info.exit_code in (None, 2, 75) and info.description


def test_the_table_does_not_load_openai() -> None:
    code = "import sys, iterative_coder.errors; print('openai' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --- ResilientClient against the fake server, with fake waiting -----------------------------------


@dataclass
class Seen:
    """What the hooks saw: status lines, failover notices, waits; and a clock only waits move."""

    status: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    now: float = 1000.0

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def hooks(self) -> CallHooks:
        return CallHooks(
            status=self.status.append,
            announce=self.announced.append,
            sleep=self.sleep,
            jitter=lambda: 0.5,  # exactly the base backoff: 1 s, then 2 s...
            clock=lambda: self.now,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.status + self.announced)


def entries(server: FakeOpenAIServer, *models: str) -> list[ModelEntry]:
    """Entries for ``models`` (default: gpt-4o-mini) at the fake server, with the fake key."""
    return [
        ModelEntry(model=m, api_key=FAKE_KEY, base_url=server.base_url) for m in models or ["gpt-4o-mini"]
    ]


def ask(
    models: list[ModelEntry], stream: bool, seen: Seen, policy: RetryPolicy | None = None, timeout: float = 10
) -> CreateResult:
    """One call for the Coder through a resilient client over ``models``, each request given ``timeout``."""

    async def call() -> CreateResult:
        client = ResilientClient(
            models,
            lambda entry: create_client(entry, stream=stream, timeout=timeout),
            policy=policy,
            hooks=seen.hooks(),
        )
        try:
            if not stream:
                return await client.create(MESSAGES)
            items = [item async for item in client.create_stream(MESSAGES)]
            assert isinstance(items[-1], CreateResult)
            return items[-1]
        finally:
            await client.close()

    return asyncio.run(call())


@STREAM_MODES
@pytest.mark.parametrize("kind", list(FAULTS))
def test_each_fault_is_retried_then_the_call_succeeds(kind: str, stream: bool, fake_server) -> None:
    fault, shown = FAULTS[kind]
    fake_server.enqueue("coder", REPLY)
    fake_server.inject(fault, role="coder")
    seen = Seen()
    assert ask(entries(fake_server), stream, seen).content == REPLY
    assert len(seen.status) == 1 and shown in seen.status[0]
    assert seen.waits == [0.0 if fault.retry_after == 0 else 1.0]
    assert len(fake_server.requests_for("coder")) == 2
    assert all(r.stream == stream for r in fake_server.requests)
    assert FAKE_KEY not in seen.text


@STREAM_MODES
def test_a_request_that_times_out_is_retried(stream: bool, fake_server) -> None:
    fake_server.enqueue("coder", REPLY)
    slow = Fault("slow", delay=10)
    fake_server.inject(slow, role="coder")
    seen = Seen()
    try:
        assert ask(entries(fake_server), stream, seen, timeout=0.5).content == REPLY
    finally:
        slow.release.set()
    assert seen.status == ["the request timed out, retrying in 1 s (2/4)"]
    assert len(fake_server.requests_for("coder")) == 2


@STREAM_MODES
def test_repeated_faults_back_off_1_s_then_2_s(stream: bool, fake_server) -> None:
    fake_server.enqueue("coder", REPLY)
    fake_server.inject(Fault("status", status=503), Fault("status", status=503), role="coder")
    seen = Seen()
    assert ask(entries(fake_server), stream, seen).content == REPLY
    assert seen.waits == [1.0, 2.0]
    assert seen.status == [
        "server error 503, retrying in 1 s (2/4)",
        "server error 503, retrying in 2 s (3/4)",
    ]
    assert len(fake_server.requests_for("coder")) == 3


@STREAM_MODES
@pytest.mark.parametrize(("retry_after", "waited"), [(7, 7.0), (500, 120.0)], ids=["7 s", "over the budget"])
def test_the_servers_retry_after_is_honoured(
    retry_after: float, waited: float, stream: bool, fake_server
) -> None:
    fake_server.enqueue("coder", REPLY)
    fake_server.inject(Fault("status", status=429, retry_after=retry_after), role="coder")
    seen = Seen()
    assert ask(entries(fake_server), stream, seen).content == REPLY
    assert seen.waits == [waited]
    assert seen.status == [f"rate limited, retrying in {waited:.0f} s (2/4)"]


@STREAM_MODES
def test_spent_tries_fail_over_to_the_next_entry(stream: bool, fake_server) -> None:
    fake_server.enqueue("coder", REPLY)
    faults = [Fault("status", status=500, retry_after=0, message=f"down (key {FAKE_KEY})")] * 2
    fake_server.inject(*faults, model="model-a", role="coder")
    seen = Seen()
    assert (
        ask(entries(fake_server, "model-a", "model-b"), stream, seen, RetryPolicy(tries=2)).content == REPLY
    )
    assert [r.body["model"] for r in fake_server.requests] == ["model-a", "model-a", "model-b"]
    assert len(seen.announced) == 1
    assert seen.announced[0].startswith("model-a failed (server error 500 (")
    assert seen.announced[0].endswith(f"); now answering: model-b at {fake_server.base_url}")
    assert FAKE_KEY not in seen.text and "[redacted]" in seen.text


@STREAM_MODES
@pytest.mark.parametrize(
    ("last", "phrase", "advice"),
    [
        (Fault("status", status=503, retry_after=0), "server error 503", DOWN),
        (Fault("status", status=429, retry_after=0), "rate limited", WAIT),
        (Fault("reset"), "the connection failed", REACH),
    ],
    ids=["server error", "rate limited", "connection"],
)
def test_when_every_entry_fails_the_model_is_unavailable(
    last: Fault, phrase: str, advice: str, stream: bool, fake_server
) -> None:
    first = Fault("status", status=503, retry_after=0, message=f"overloaded (key {FAKE_KEY})")
    fake_server.inject(first, first, Fault("status", status=503, retry_after=0), last, role="coder")
    seen = Seen()
    with pytest.raises(ModelUnavailable) as raised:
        ask(entries(fake_server, "model-a", "model-b"), stream, seen, RetryPolicy(tries=2))
    message = str(raised.value)
    assert message.startswith(
        f"Every configured model failed. The last, model-b at {fake_server.base_url}, after 2 tries: {phrase}"
    )
    assert message.endswith(f". {advice}")
    assert [r.body["model"] for r in fake_server.requests] == ["model-a", "model-a", "model-b", "model-b"]
    assert len(seen.announced) == 1
    assert FAKE_KEY not in message + seen.text


@STREAM_MODES
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "The model server refused the API key for gpt-4o-mini at {url} (401). " + KEY),
        (403, "The model server refused the API key for gpt-4o-mini at {url} (403). " + KEY),
        (404, "The model server does not know the model of gpt-4o-mini at {url} (404). "
              "Check the model name (--model) and the base_url."),
    ],
)  # fmt: skip
def test_a_refused_key_or_unknown_model_is_not_retried(
    status: int, expected: str, stream: bool, fake_server
) -> None:
    fake_server.enqueue("coder", REPLY)
    fake_server.inject(Fault("status", status=status, message=f"Incorrect API key provided: {FAKE_KEY}"))
    seen = Seen()
    with pytest.raises(ModelAccessError) as raised:
        ask(entries(fake_server), stream, seen)
    assert str(raised.value) == expected.format(url=fake_server.base_url)
    assert len(fake_server.requests) == 1
    assert seen.waits == [] and seen.status == []


@STREAM_MODES
def test_a_request_the_server_rejects_is_not_retried(stream: bool, fake_server) -> None:
    fake_server.inject(Fault("status", status=400, message="context too long"))
    seen = Seen()
    with pytest.raises(openai.BadRequestError) as raised:
        ask(entries(fake_server), stream, seen)
    assert _explain_failure(raised.value) == (
        f"The model server refused the request (400): context too long. {SETTINGS}",
        2,
    )
    assert len(fake_server.requests) == 1 and seen.waits == []


@STREAM_MODES
def test_the_time_budget_stops_retrying_after_the_first_retry(stream: bool, fake_server) -> None:
    fake_server.inject(*[Fault("status", status=503)] * 3, role="coder")
    seen = Seen()
    # The first retry is always made (1 s); the second would end 1 + 2 = 3 s after the start.
    with pytest.raises(ModelUnavailable) as raised:
        ask(entries(fake_server), stream, seen, RetryPolicy(budget_seconds=2.5))
    assert seen.waits == [1.0]
    assert len(fake_server.requests_for("coder")) == 2
    assert f"gpt-4o-mini at {fake_server.base_url}, after 2 tries: server error 503" in str(raised.value)


# --- a total deadline per try, and a size cap on a streamed reply ---------------------------------


@STREAM_MODES
def test_a_reply_that_trickles_past_the_deadline_is_cut_and_retried(stream: bool, fake_server) -> None:
    fake_server.enqueue("coder", REPLY)
    # 20 characters every 0.3 s: the read timeout (10 s here) never fires, the deadline does. The
    # deadline leaves the second, whole reply room on a loaded machine.
    trickle = Fault("trickle", delay=0.3)
    fake_server.inject(trickle, role="coder")
    seen = Seen()
    started = time.monotonic()
    try:
        assert ask(entries(fake_server), stream, seen, RetryPolicy(call_deadline=1.5)).content == REPLY
    finally:
        trickle.release.set()
    print(f"cut after the deadline and answered in {time.monotonic() - started:.2f} s")
    assert trickle.arrived.is_set()
    assert seen.status == ["the reply took longer than 1.5 s, retrying in 1 s (2/4)"]
    assert len(fake_server.requests_for("coder")) == 2


def test_a_streamed_reply_past_the_size_cap_is_cut_and_retried(fake_server) -> None:
    fake_server.enqueue("coder", REPLY)
    endless = Fault("trickle", delay=0.001)
    fake_server.inject(endless, role="coder")
    seen = Seen()
    try:
        result = ask(entries(fake_server), True, seen, RetryPolicy(max_reply_chars=200))
    finally:
        endless.release.set()
    assert result.content == REPLY
    assert seen.status == ["the reply grew past 200 characters, retrying in 1 s (2/4)"]
    assert len(fake_server.requests_for("coder")) == 2


def test_a_server_that_never_finishes_is_given_up_after_two_tries(fake_server) -> None:
    """The defaults' proportions (a 120 s retry budget, a 300 s deadline), scaled down 333 times (a
    deadline a loaded machine still meets): the first retry is always made, a third try would start
    past the budget."""
    trickles = [Fault("trickle", delay=0.05) for _ in range(4)]
    fake_server.inject(*trickles, role="coder")
    seen = Seen()
    hooks = replace(seen.hooks(), clock=lambda: time.monotonic() + sum(seen.waits))
    policy = RetryPolicy(call_deadline=0.9, budget_seconds=0.36)

    async def call() -> None:
        client = ResilientClient(
            entries(fake_server), lambda entry: create_client(entry, stream=True), policy=policy, hooks=hooks
        )
        try:
            [item async for item in client.create_stream(MESSAGES)]
        finally:
            await client.close()

    try:
        with pytest.raises(ModelUnavailable) as raised:
            asyncio.run(call())
    finally:
        for trickle in trickles:
            trickle.release.set()
    assert str(raised.value) == (
        f"Every configured model failed. The last, gpt-4o-mini at {fake_server.base_url}, after 2 tries: "
        f"the reply took longer than 0.9 s. {SLOW}"
    )
    assert len(fake_server.requests_for("coder")) == 2
    assert policy.give_up_seconds() == pytest.approx(0.9 + 1.5 + 0.9)


def test_the_docs_state_when_a_hanging_server_is_given_up() -> None:
    policy = RetryPolicy()
    assert (policy.tries, policy.call_deadline, policy.budget_seconds) == (4, 300.0, 120.0)
    assert policy.give_up_seconds() == 601.5  # 300 s, at most 1.5 s of backoff, 300 s; no third try
    page = (Path(__file__).resolve().parent.parent / "docs" / "troubleshooting.md").read_text()
    assert "300 + 1.5 + 300 = 601.5 s" in page


def test_a_reply_past_the_size_cap_is_refused_without_streaming_too(fake_server) -> None:
    fake_server.enqueue("coder", "x" * 300)
    fake_server.enqueue("coder", REPLY)
    seen = Seen()
    result = ask(entries(fake_server), False, seen, RetryPolicy(max_reply_chars=200))
    assert result.content == REPLY
    assert seen.status == ["the reply grew past 200 characters, retrying in 1 s (2/4)"]
