"""One table for every kind of failure: is it retried, what the screen says, how a session ends.

In the style of Aider's ``exceptions.py``: each row (:class:`ExInfo`) names an exception class and
says whether a model call that raised it is tried again; the short phrase shown while retrying
(``rate limited``), or for a failure that is not retried the message that ends the session; the
advice shown when every retry failed; and the exit code when it ends the session. The first row
that matches wins, so a subclass comes before its base.

Classes are named, not imported: openai loads with the first classification, never for ``--help``.
"""

from __future__ import annotations

import errno
import importlib
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from .endings import EXIT_MODEL_UNAVAILABLE, EXIT_UNFINISHED, EXIT_USAGE

# Statuses that may well succeed when the same request is sent again.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class ModelAccessError(Exception):
    """The server refused the key or does not know the model: a configuration problem (exit 2)."""


class ModelUnavailable(Exception):
    """Every configured model failed after its retries (exit 75)."""


class StreamBrokeOff(Exception):
    """A streamed reply ended without a finish reason: the connection dropped half-way."""


class ReplyTooSlow(Exception):
    """A reply was not complete within the deadline of one try (``--call-deadline``)."""

    def __init__(self, seconds: float) -> None:
        self.limit = f"{seconds:g}"
        super().__init__(f"the reply took longer than {self.limit} s")


class ReplyTooLong(Exception):
    """A streamed reply grew past the size cap: a model that writes without end."""

    def __init__(self, characters: int) -> None:
        self.limit = f"{characters:,}"
        super().__init__(f"the reply grew past {self.limit} characters")


@dataclass(frozen=True)
class ExInfo:
    """One kind of failure, and what the tool does about it.

    ``description`` is, for a retried kind, the phrase shown while retrying; otherwise the message
    that ends the session. It may name ``{status}`` (the HTTP status), ``{message}`` (the server's
    message), ``{text}`` (the exception as text), ``{where}`` (the model entry) and ``{limit}`` (the
    limit a reply went past). ``exit_code`` None: not a model failure by itself (outside a model
    call it is an unexpected error, exit 1).
    ``statuses``: the row matches only these HTTP statuses (empty: any). ``access``: the server
    refused this entry's key or model; the call ends as :class:`ModelAccessError` at once.
    """

    name: str
    retry: bool
    description: str
    advice: str = ""
    exit_code: int | None = None
    statuses: frozenset[int] = frozenset()
    access: bool = False

    def matches(self, exc: BaseException) -> bool:
        """Whether ``exc`` is of this row's kind."""
        if not isinstance(exc, _resolve(self.name)):
            return False
        return not self.statuses or getattr(exc, "status_code", None) in self.statuses

    def phrase(self, exc: BaseException, where: str = "the model") -> str:
        """The description filled in for ``exc`` (for a retried kind: ``server error 503``)."""
        status = getattr(exc, "status_code", "")
        message = _server_message(exc)
        fields = {"text": str(exc), "where": where, "limit": getattr(exc, "limit", "")}
        return self.description.format(status=status, message=message, **fields)

    def message(self, exc: BaseException, where: str = "the model") -> str:
        """The description followed by the advice: what a person reads when this ends the session."""
        text = self.phrase(exc, where)
        return f"{text} {self.advice}" if self.advice else text


def _server_message(exc: BaseException) -> str:
    """What the server said went wrong: its error body's ``message`` when there is one.

    The client's own ``message`` for an HTTP error is ``Error code: 400 - {...}``, the whole body.
    """
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return body["message"]
    return getattr(exc, "message", None) or str(exc)


_WAIT = "Wait a while, or add another entry to OAI_CONFIG_LIST to fail over to."
_DOWN = "The service may be down; try again later, or add another entry to OAI_CONFIG_LIST."
_REACH = "Is the model server running, and is its URL right? (--request-timeout gives slow servers longer.)"
_KEY = "Check that entry's api_key, or OPENAI_API_KEY."
_REFUSED_KEY = "The model server refused the API key for {where} ({status})."
_SLOW = (
    "The server may be overloaded, or the model writing without end; try again later, or give each try "
    "longer with --call-deadline."
)
_ENDLESS = "The model may be repeating itself without end; try again, or pick another model with --model."
_SETTINGS = (
    "Check the model's settings (context length, the options it accepts), or pick another with --model."
)

EXCEPTIONS: tuple[ExInfo, ...] = (
    # Refused key or unknown model: the person must fix the configuration; retrying cannot help.
    ExInfo("openai.AuthenticationError", False, _REFUSED_KEY, _KEY, EXIT_USAGE, access=True),
    ExInfo("openai.PermissionDeniedError", False, _REFUSED_KEY, _KEY, EXIT_USAGE, access=True),
    ExInfo(
        "openai.NotFoundError",
        False,
        "The model server does not know the model of {where} ({status}).",
        "Check the model name (--model) and the base_url.",
        EXIT_USAGE,
        access=True,
    ),
    # Worth another try (APITimeoutError is a kind of APIConnectionError: it comes first).
    ExInfo("openai.RateLimitError", True, "rate limited", _WAIT, EXIT_MODEL_UNAVAILABLE),
    ExInfo("openai.APITimeoutError", True, "the request timed out", _REACH, EXIT_MODEL_UNAVAILABLE),
    ExInfo("openai.APIConnectionError", True, "the connection failed", _REACH, EXIT_MODEL_UNAVAILABLE),
    ExInfo(
        "openai.APIStatusError",
        True,
        "server error {status}",
        _DOWN,
        EXIT_MODEL_UNAVAILABLE,
        statuses=RETRYABLE_STATUS,
    ),
    # Any other status (400...): the same request would fail again.
    ExInfo(
        "openai.APIStatusError",
        False,
        "The model server refused the request ({status}): {message}.",
        _SETTINGS,
        EXIT_USAGE,
    ),
    ExInfo(
        "openai.APIResponseValidationError",
        True,
        "the reply was not valid JSON",
        _REACH,
        EXIT_MODEL_UNAVAILABLE,
    ),
    ExInfo("json.JSONDecodeError", True, "the reply was not valid JSON", _REACH),
    ExInfo("iterative_coder.errors.StreamBrokeOff", True, "the reply stream broke off", _REACH),
    ExInfo(
        "iterative_coder.errors.ReplyTooSlow",
        True,
        "the reply took longer than {limit} s",
        _SLOW,
        EXIT_MODEL_UNAVAILABLE,
    ),
    ExInfo(
        "iterative_coder.errors.ReplyTooLong",
        True,
        "the reply grew past {limit} characters",
        _ENDLESS,
        EXIT_MODEL_UNAVAILABLE,
    ),
    ExInfo("builtins.ConnectionError", True, "the connection failed", _REACH),
    ExInfo("builtins.TimeoutError", True, "the connection failed", _REACH),
    ExInfo("openai.APIError", False, "The model call failed: {message}", "", EXIT_MODEL_UNAVAILABLE),
    # How a session ends when its model calls gave up, or its files are in the way.
    ExInfo("iterative_coder.errors.ModelAccessError", False, "{text}", "", EXIT_USAGE),
    ExInfo("iterative_coder.errors.ModelUnavailable", False, "{text}", "", EXIT_MODEL_UNAVAILABLE),
    ExInfo("iterative_coder.workspace.WorkspaceError", False, "{text}", "", EXIT_USAGE),
)


@cache
def _resolve(name: str) -> type[BaseException]:
    """The exception class a row names (its module is imported on first use)."""
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def classify(exc: BaseException) -> ExInfo | None:
    """The first row of :data:`EXCEPTIONS` that ``exc`` matches, else None."""
    return next((info for info in EXCEPTIONS if info.matches(exc)), None)


class Explained(NamedTuple):
    """A failure that ended the session: the message, the exit code, and whether the table knew it."""

    message: str
    exit_code: int
    expected: bool


def session_ending(exc: BaseException) -> Explained:
    """The message and exit code for a failure that ended the session.

    A retried kind that still got here (its retries are spent) ends with its phrase and advice; a
    failure the table does not know, or knows only as a model fault, is an unexpected error.
    """
    if isinstance(exc, OSError) and is_file_problem(exc):
        return Explained(file_problem(exc, "then resume"), EXIT_UNFINISHED, True)
    info = classify(exc)
    if info is None or info.exit_code is None:
        return Explained(f"Unexpected error: {type(exc).__name__}: {exc}", EXIT_UNFINISHED, False)
    if info.retry:
        phrase = info.phrase(exc)
        said = _server_message(exc)
        detail = f" ({said})" if said and said not in phrase else ""
        return Explained(f"The model call failed: {phrase}{detail}. {info.advice}", info.exit_code, True)
    return Explained(info.message(exc), info.exit_code, True)


# What to do about a file the tool could not read or write, by the kind of failure.
_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_IN_THE_WAY = {errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY}


def is_file_problem(exc: BaseException) -> bool:
    """An OSError about a file or folder (not a network failure, which the table above knows)."""
    return isinstance(exc, OSError) and classify(exc) is None


def file_problem(exc: OSError, then: str = "then try again") -> str:
    """One line for a file the tool could not use: the path, what went wrong, and what to do."""
    path = exc.filename if exc.filename is not None else "a file of the workspace"
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _FULL:
        advice = "Check free space (and any quota or file-size limit) on that disk"
    elif exc.errno in _DENIED:
        advice = "Check the folder's permissions (or pick another --workspace)"
    elif exc.errno in _IN_THE_WAY:
        advice = "Something is in the way (a folder where a file belongs, or the reverse): move it aside"
    else:
        advice = "Check the disk and the folder's permissions"
    return f"{path}: {reason}. {advice}, {then}."
