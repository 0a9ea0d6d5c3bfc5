"""The OpenAI client's own exceptions, made the way the client makes them: over HTTP.

A test that builds an ``openai`` error from stand-in objects breaks when a new release reads more of
them (openai 3 reads the request's headers); these come from real requests to the fake server, so
they hold whatever HTTP library the installed ``openai`` uses.
"""

from __future__ import annotations

import functools

import openai
from fake_openai import FakeOpenAIServer, Fault

_MESSAGES = [{"role": "user", "content": "hi"}]


@functools.cache
def _server() -> FakeOpenAIServer:
    """One server for the whole test process (a daemon thread, gone with the process)."""
    return FakeOpenAIServer().start()


def _client() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=_server().base_url, max_retries=0, timeout=10)


def status_error(
    status: int, message: str = "no", headers: dict[str, str] | None = None
) -> openai.APIStatusError:
    """What the OpenAI client raises for a reply with this HTTP status, message and headers."""
    _server().inject(Fault("status", status=status, message=message, headers=headers or {}))
    try:
        _client().chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES)
    except openai.APIStatusError as exc:
        return exc
    raise AssertionError(f"the fake server's {status} raised nothing")


def timeout_error() -> openai.APITimeoutError:
    """A timeout with the real request the client sent."""
    return openai.APITimeoutError(request=status_error(500).request)


def connection_error() -> openai.APIConnectionError:
    """A failed connection with the real request the client sent."""
    return openai.APIConnectionError(request=status_error(500).request)


def api_error(message: str) -> openai.APIError:
    """The client's most general error, for a request it really sent."""
    return openai.APIError(message, status_error(500).request, body=None)


def not_valid_json() -> openai.APIResponseValidationError:
    """A 200 reply whose body the client could not read (its real HTTP response)."""
    _server().enqueue("default", "hello")
    raw = _client().chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=_MESSAGES)
    return openai.APIResponseValidationError(raw.http_response, body="this is {")
