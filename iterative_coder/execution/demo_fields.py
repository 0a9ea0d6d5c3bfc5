"""The ``demo.json`` fields of programs tried over time rather than run to their end: a server's
``port`` and ``requests``, ``run_seconds`` for a program that runs until stopped, ``keys`` for a
full-screen terminal program. Read and written here; :mod:`demo` holds the rest of a run.

A run is tried one way: it has at most one of ``window_seconds``, ``port``, ``run_seconds`` and
``keys``, except that ``keys`` may come with ``run_seconds`` (how long to let it run after the last key).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_RUN_SECONDS = 30.0
MAX_REQUESTS = 10
MAX_KEYS = 50
_METHOD = re.compile(r"^[A-Z]{3,10}$")


@dataclass(frozen=True)
class DemoRequest:
    """One request a person would send to the server, and the status they expect (None: any answer
    below 500)."""

    method: str = "GET"
    path: str = "/"
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The request as plain JSON types."""
        data: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.body is not None:
            data["body"] = self.body
        if self.headers:
            data["headers"] = dict(self.headers)
        data["status"] = self.status
        return data

    @classmethod
    def from_json(cls, data: object, where: str) -> DemoRequest:
        """A request from ``demo.json``; ValueError naming what is wrong (``where``: ``run 1, request 2``)."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} must be an object")
        method = str(data.get("method") or "GET").upper()
        path, body, headers, status = (data.get(key) for key in ("path", "body", "headers", "status"))
        path = path or "/"
        if not _METHOD.match(method):
            raise ValueError(f'{where}: "method" must be an HTTP method such as GET or POST')
        if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
            raise ValueError(f'{where}: "path" must start with / and hold no spaces')
        if headers is not None and (
            not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())
        ):
            raise ValueError(f'{where}: "headers" must map header names to text')
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                                   or not 100 <= status <= 599):  # fmt: skip
            raise ValueError(f'{where}: "status" must be an HTTP status (100 to 599) or null')
        headers = dict(headers or {})
        if body is not None and not isinstance(body, str):  # a JSON value: sent as JSON
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return cls(method, path, body, tuple(sorted(headers.items())), status)

    def describe(self) -> str:
        """``GET /todos``."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class TrialFields:
    """How a run is tried beyond arguments and input, as read from ``demo.json``."""

    port: int | None = None
    requests: tuple[DemoRequest, ...] = ()
    run_seconds: float | None = None
    keys: tuple[str, ...] = ()
    note: str = field(default="", compare=False)  # what the tool changed, for the run's record; not saved


def read_trial_fields(data: dict[str, Any], number: int) -> TrialFields:
    """The server, until-stopped and keys fields of run ``number``; ValueError naming what is wrong."""
    where = f"run {number}"
    port, requests, seconds, keys = (data.get(k) for k in ("port", "requests", "run_seconds", "keys"))
    ways = [name for name in ("window_seconds", "port", "run_seconds", "keys") if data.get(name)]
    if len(ways) > 1 and set(ways) != {"keys", "run_seconds"}:
        raise ValueError(f"{where}: a run is tried one way; it cannot have both {ways[0]!r} and {ways[1]!r}")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise ValueError(f'{where}: "port" must be a port number (1 to 65535)')
    if requests and port is None:
        raise ValueError(f'{where}: "requests" need the "port" the server listens on')
    if requests is not None and not isinstance(requests, list):
        raise ValueError(f'{where}: "requests" must be a list of requests')
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        raise ValueError(f'{where}: "run_seconds" must be a number or null')
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys)):
        raise ValueError(f'{where}: "keys" must be a list of key names or text, e.g. ["Down", "Enter", "q"]')
    read = tuple(
        DemoRequest.from_json(one, f"{where}, request {n}")
        for n, one in enumerate((requests or [])[:MAX_REQUESTS], start=1)
    )
    return TrialFields(
        port=port,
        requests=read or ((DemoRequest(),) if port is not None else ()),
        run_seconds=None if seconds is None else min(max(float(seconds), 0.5), MAX_RUN_SECONDS),
        keys=tuple((keys or [])[:MAX_KEYS]),
    )


def trial_fields_json(fields: TrialFields) -> dict[str, Any]:
    """The fields that are set, as plain JSON types (a run without them writes none)."""
    data: dict[str, Any] = {}
    if fields.port is not None:
        data["port"] = fields.port
        data["requests"] = [request.to_json() for request in fields.requests]
    if fields.run_seconds is not None:
        data["run_seconds"] = fields.run_seconds
    if fields.keys:
        data["keys"] = list(fields.keys)
    return data
