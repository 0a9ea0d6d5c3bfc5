"""A fake OpenAI-compatible chat-completions server for tests (standard library only).

Usage: ``with FakeOpenAIServer() as s: s.enqueue("coder", "print('hi')")``, then point a client at
``s.base_url``. A request's role comes from its first system message ("You are the Coder" -> "coder"), or,
when that names none (iterative_coder's system message is common to all roles), from the role's
instructions in the first user message (the last line "You are the Coder of iterative_coder...");
replies are served FIFO per role, then from "default"; if both are empty the server answers HTTP 500.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[["RecordedRequest"], str]
"""A scripted reply: fixed text, or a callable that builds the text from the request."""

_ROLE_RE = re.compile(r"You are the (\w+)", re.IGNORECASE)
_INSTRUCTIONS_RE = re.compile(r"^You are the (\w+) of iterative_coder\b", re.IGNORECASE | re.MULTILINE)
# What a Coder prompt for a later version carries for the Coder to act on (prompts/coder_*.md).
_WRITE_VERSION = re.compile(r"^Write version (\d+) of the program\.", re.MULTILINE)
_WORK_MARKERS = (
    re.compile(r"^## Points\n\n1\. ", re.MULTILINE),  # a point of the review
    re.compile(r"^# Acceptance tests that failed on that version$", re.MULTILINE),
    re.compile(r"^# Feedback from the Manager \(", re.MULTILINE),
)
BENCH_CHUNK_CHARS = 16  # the pieces the benchmarks stream in (closer to a model's token or so)
_HOLD_LIMIT = 60  # seconds a paused reply waits at most for the test to release it
_TRICKLE = "trickle, trickle... "  # 20 characters, again and again
_CHARS_PER_TOKEN = 4  # for pacing a reply like a real model (tokens_per_second)


def _content_text(content: Any) -> str:
    """Text of a message content that is either a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


@dataclass
class RecordedRequest:
    """One chat-completions request received by the fake server."""

    role: str
    body: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    stream: bool = False
    received_at: float = 0.0  # time.monotonic() when the request arrived
    authorization: str = ""  # the Authorization header it came with
    answered_at: float = 0.0  # ... and when its reply was fully written (0 if it never was)

    @property
    def text(self) -> str:
        """All message contents joined with blank lines."""
        return "\n\n".join(_content_text(m.get("content")) for m in self.messages)

    @property
    def image_parts(self) -> list[dict[str, Any]]:
        """The images sent with the request (``image_url`` content parts)."""
        return [
            part
            for message in self.messages
            if isinstance(message.get("content"), list)
            for part in message["content"]
            if isinstance(part, dict) and part.get("type") == "image_url"
        ]

    @property
    def system(self) -> str:
        """Content of the first system message, or ""."""
        for m in self.messages:
            if m.get("role") == "system":
                return _content_text(m.get("content"))
        return ""


def detect_role(messages: list[dict[str, Any]]) -> str:
    """Role named by the first system message ("You are the X"), else by the last line of the first user
    message that opens a role's instructions; lowercased; "default" if none. (The last: the script and
    plan come before the instructions, and a hostile one may hold such a line.)"""
    system = next((m for m in messages if m.get("role") == "system"), None)
    if system is not None and (match := _ROLE_RE.search(_content_text(system.get("content")))):
        return match.group(1).lower()
    user = next((m for m in messages if m.get("role") == "user"), None)
    found = _INSTRUCTIONS_RE.findall(_content_text(user.get("content"))) if user is not None else []
    return found[-1].lower() if found else "default"


class _NoReply(Exception):
    """No scripted reply is left for a role."""


@dataclass
class Fault:
    """A scripted misbehaviour served instead of (or around) a reply, for fault-injection tests.

    kinds: ``status`` (an HTTP error, with ``Retry-After`` when ``retry_after`` is set, and any
    other ``headers``), ``reset``
    (the connection closes with no answer), ``drop`` (a stream, or a body, stops half-way),
    ``bad_json`` (200 with a body that is not JSON), ``slow`` (the reply comes after ``delay``
    seconds), ``length`` (``text`` is served with finish_reason "length"), ``pause`` (half the
    stream, then a wait until ``release`` is set, then the rest; ``arrived`` is set on the way),
    ``trickle`` (a reply that never ends: ``text``, default 20 characters, every ``delay`` seconds,
    or for a request that does not stream a body that never completes, a space at a time; until
    ``release`` is set or the client hangs up; ``arrived`` is set once it has started).
    """

    kind: str
    status: int = 500
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "fake server: injected fault"
    text: str = ""
    delay: float = 0.0
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeOpenAIServer:
    """Scripted OpenAI-compatible server on 127.0.0.1 with a random port, served in a daemon thread."""

    def __init__(self, chunk_chars: int = 256) -> None:
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Reply]] = {}
        self._faults: list[tuple[str, str, Fault]] = []  # (model, role; "*" for any), served first
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Like OpenAI's automatic prompt caching: report, as usage.prompt_tokens_details.cached_tokens,
        # the words of the longest prefix a prompt shares with an earlier one.
        self.prompt_cache = False
        # Like a real model generating: reply text at this many tokens (4 characters) a second. None: at once.
        self.tokens_per_second: float | None = None
        # A streamed reply comes in pieces of this many characters. Real models send a token or so
        # (about 4); the client's work per piece (the OpenAI library parses each into objects, about
        # half a millisecond) made 16 the suite's largest single cost, so tests stream in pieces of
        # 64, and the benchmarks ask for 16 (BENCH_CHUNK_CHARS), as their figures were measured.
        self.chunk_chars = chunk_chars

    def start(self) -> FakeOpenAIServer:
        """Bind 127.0.0.1:0 and serve in a daemon thread. Returns self."""
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        idle = self.versions_without_work()
        if exc[0] is None and idle:
            raise AssertionError(
                f"the Coder was asked for version(s) {idle} with no point, no failing test and no "
                "Manager feedback in its prompt (issue 22)"
            )

    def versions_without_work(self) -> list[int]:
        """The versions after the first whose Coder prompt carries nothing to act on: no point of the
        review, no failing acceptance test, no feedback of the Manager. A property of every session the
        suite drives (checked when the server stops): a version is never spent on nothing to change."""
        idle = []
        for request in self.requests_for("coder"):
            text = request.text
            version = _WRITE_VERSION.search(text)
            if version is None or int(version.group(1)) < 2:
                continue
            if not any(marker.search(text) for marker in _WORK_MARKERS):
                idle.append(int(version.group(1)))
        return idle

    @property
    def base_url(self) -> str:
        """Base URL for OpenAI clients, e.g. "http://127.0.0.1:PORT/v1"."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def enqueue(self, role: str, *replies: Reply) -> None:
        """Append scripted replies (str or callable(RecordedRequest) -> str) to a role's FIFO queue."""
        with self._lock:
            self._queues.setdefault(role.lower(), deque()).extend(replies)

    def cached_words(self, req: RecordedRequest) -> int | None:
        """With :attr:`prompt_cache`: the words of ``req``'s prompt that an earlier prompt began with."""
        if not self.prompt_cache:
            return None
        with self._lock:
            earlier = [r.text for r in self.requests if r is not req and r.received_at <= req.received_at]
        shared = max((len(os.path.commonprefix([text, req.text])) for text in earlier), default=0)
        prefix, rest = req.text[:shared], req.text[shared:]
        cut_word = bool(prefix) and not prefix[-1].isspace() and bool(rest) and not rest[0].isspace()
        return len(prefix.split()) - (1 if cut_word else 0)

    def inject(self, *faults: Fault, model: str = "*", role: str = "*") -> None:
        """Serve these faults, in order, to the next requests for ``model`` and ``role`` ("*": any)."""
        with self._lock:
            self._faults.extend((model, role, fault) for fault in faults)

    def next_fault(self, req: RecordedRequest) -> Fault | None:
        """The first injected fault that applies to ``req`` (and forget it)."""
        with self._lock:
            for index, (model, role, fault) in enumerate(self._faults):
                if model in ("*", req.body.get("model")) and role in ("*", req.role):
                    del self._faults[index]
                    return fault
        return None

    def requests_for(self, role: str) -> list[RecordedRequest]:
        """Recorded requests whose detected role is `role`."""
        with self._lock:
            return [r for r in self.requests if r.role == role.lower()]

    def remaining(self) -> dict[str, int]:
        """Number of unserved replies per role."""
        with self._lock:
            return {role: len(q) for role, q in self._queues.items()}

    def model_names(self) -> list[str]:
        """Distinct model names seen in requests, in first-seen order."""
        with self._lock:
            names = [str(r.body.get("model")) for r in self.requests if r.body.get("model")]
        return list(dict.fromkeys(names))

    def record(self, body: dict[str, Any], authorization: str = "") -> RecordedRequest:
        """Parse a request body into a RecordedRequest and record it."""
        messages = body.get("messages") or []
        req = RecordedRequest(
            detect_role(messages), body, messages, bool(body.get("stream")), time.monotonic()
        )
        req.authorization = authorization
        with self._lock:
            self.requests.append(req)
        return req

    def peek_text(self, req: RecordedRequest) -> str:
        """The text the next reply for ``req`` would have (for a stream that drops half-way)."""
        with self._lock:
            for role in (req.role, "default"):
                queue = self._queues.get(role)
                if queue:
                    reply = queue[0]
                    return reply(req) if callable(reply) else reply
        return "a reply that never arrives in full " * 4

    def next_reply(self, req: RecordedRequest) -> str:
        """Reply text for `req`: its role's queue, then "default". Raises _NoReply if both are empty.

        This is the single place replies are chosen; fault injection hooks in here.
        """
        with self._lock:
            for role in (req.role, "default"):
                queue = self._queues.get(role)
                if queue:
                    reply = queue.popleft()
                    break
            else:
                raise _NoReply(f"fake server: no scripted reply left for role {req.role}")
        return reply(req) if callable(reply) else reply


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a timeout, a cancelled call) is part of the tests, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    """HTTP handler; `fake` is set on a per-server subclass."""

    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind}})

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            names = self.fake.model_names() or ["fake-model"]
            models = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._error(404, f"fake server: no route GET {self.path}", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?")[0].rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"fake server: no route POST {self.path}", "not_found")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._error(400, f"fake server: bad JSON body: {exc}", "invalid_request_error")
            return
        req = self.fake.record(body, self.headers.get("Authorization", ""))
        fault = self.fake.next_fault(req)
        if fault is not None and self._serve_fault(req, fault):
            return
        try:
            text = fault.text if fault is not None and fault.kind == "length" else self.fake.next_reply(req)
        except _NoReply as exc:
            self._error(500, str(exc), "server_error")
            return
        finish = "length" if fault is not None and fault.kind == "length" else "stop"
        self._reply(req, text, finish, fault if fault is not None and fault.kind == "pause" else None)
        req.answered_at = time.monotonic()

    def _reply(self, req: RecordedRequest, text: str, finish: str, pause: Fault | None = None) -> None:
        usage: dict[str, Any] = _usage(req, text)
        cached = self.fake.cached_words(req)
        if cached is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        if req.stream:
            self._stream(req, text, usage, finish, pause)
        else:
            self._pace(text)
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            envelope = _envelope("chat.completion", req)
            self._send_json(200, {**envelope, "choices": [choice], "usage": usage})

    def _pace(self, text: str) -> None:
        """Take as long as a model generating ``text`` at :attr:`FakeOpenAIServer.tokens_per_second`."""
        if self.fake.tokens_per_second:
            time.sleep(len(text) / _CHARS_PER_TOKEN / self.fake.tokens_per_second)

    def _serve_fault(self, req: RecordedRequest, fault: Fault) -> bool:
        """Serve a fault; False when the request goes on to a normal (or cut-off, paused) reply."""
        if fault.kind == "status":
            payload = json.dumps({"error": {"message": fault.message, "type": "fault", "code": fault.status}})
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if fault.retry_after is not None:
                self.send_header("Retry-After", f"{fault.retry_after:g}")
            for name, value in fault.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload.encode())
        elif fault.kind == "reset":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "bad_json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "22")
            self.end_headers()
            self.wfile.write(b"this is { not JSON ...")
        elif fault.kind == "drop":
            self.close_connection = True
            if req.stream:
                self._stream(req, self.fake.peek_text(req), {}, "stop", None, drop=True)
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "5000")
                self.end_headers()
                self.wfile.write(b'{"id": "chatcmpl-dropped", "choices": [')
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "slow":
            fault.release.wait(fault.delay)
            return False
        elif fault.kind == "trickle":
            self._trickle(req, fault)
        else:
            return False
        return True

    def _trickle(self, req: RecordedRequest, fault: Fault) -> None:
        """A reply that never ends, until released, the client hangs up, or the hold limit."""
        if req.stream:
            event = self._start_events(req)
            event(_choice({"role": "assistant", "content": ""}))

            def more() -> None:
                event(_choice({"content": fault.text or _TRICKLE}))
        else:
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()

            def more() -> None:
                self.wfile.write(b" ")  # JSON may start with any amount of white space
                self.wfile.flush()

        fault.arrived.set()
        held_until = time.monotonic() + _HOLD_LIMIT
        try:
            while not fault.release.wait(fault.delay) and time.monotonic() < held_until:
                more()
        except OSError:
            pass  # the client gave up on it: that is the point

    def _start_events(self, req: RecordedRequest) -> Callable[..., None]:
        """Send the headers of an event stream; return what writes one event of it."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        base = _envelope("chat.completion.chunk", req)

        def event(choices: list[dict[str, Any]], **extra: Any) -> None:
            self.wfile.write(f"data: {json.dumps({**base, 'choices': choices, **extra})}\n\n".encode())
            self.wfile.flush()

        return event

    def _stream(
        self,
        req: RecordedRequest,
        text: str,
        usage: dict[str, Any],
        finish: str = "stop",
        pause: Fault | None = None,
        drop: bool = False,
    ) -> None:
        event = self._start_events(req)
        choice = _choice
        event(choice({"role": "assistant", "content": ""}))
        half = len(text) // 2  # a dropped or paused reply stops here, whatever the size of the pieces
        size = self.fake.chunk_chars
        for start, end in ((0, half), (half, len(text))):
            if start and drop:
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if start and pause is not None:
                pause.arrived.set()
                pause.release.wait(_HOLD_LIMIT)
            for i in range(start, end, size):
                event(choice({"content": text[i : min(i + size, end)]}))
                self._pace(text[i : min(i + size, end)])
        event(choice({}, finish))
        if (req.body.get("stream_options") or {}).get("include_usage"):
            event([], usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
    """The ``choices`` of one stream event."""
    return [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]


def _envelope(kind: str, req: RecordedRequest) -> dict[str, Any]:
    """Fields shared by chat.completion and chat.completion.chunk objects."""
    model = req.body.get("model") or "fake-model"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def _usage(req: RecordedRequest, reply: str) -> dict[str, int]:
    """Word-count usage: prompt = words in all message contents, completion = words in reply (>= 1)."""
    prompt = len(req.text.split())
    completion = max(1, len(reply.split()))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
