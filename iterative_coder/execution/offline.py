"""Programs that reach for the network: runs have none (the sandbox's own network namespace), so a
failed name lookup or a connection to a public address that cannot be made is said in words, for the
Manager and the Reviewer, and never counts as a successful run."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..records.run import RunRecord

# What Python, urllib, requests/urllib3, httpx and aiohttp print when there is no network.
_NO_NETWORK = re.compile(
    r"gaierror|Temporary failure in name resolution|Name or service not known|No address associated with "
    r"hostname|nodename nor servname|NameResolutionError|Failed to resolve|getaddrinfo failed|Network is "
    r"unreachable|ConnectionRefusedError|Connection refused|NewConnectionError|Failed to establish a new "
    r"connection|Cannot connect to host"
)
_HOST = re.compile(r"host='([^']+)'|host ([A-Za-z0-9.-]+):\d+|https?://([A-Za-z0-9.-]+)")
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$", re.IGNORECASE)


def outputs(record: RunRecord) -> list[str]:
    """Everything a run printed (its excerpts) and the messages of its tests."""
    texts = [text for demo in record.demos for text in (demo.command.stdout, demo.command.stderr)]
    if record.tests is not None:
        texts += [record.tests.stdout, record.tests.stderr]
    return texts + [outcome.message for outcome in record.outcomes]


def hosts_in(text: str) -> list[str]:
    """The host names and addresses ``text`` names (``host='x'``, ``https://x/...``), in order."""
    return [host for match in _HOST.finditer(text) for host in match.groups() if host]


def network_failure(texts: Iterable[str], script: str, name: str) -> str | None:
    """``script_v1.py tried to reach api.open-meteo.com; runs have no network`` when the output shows a
    program that could not reach the network; None otherwise, and when only loopback was tried (the
    program's own server: not the network). The host is named by the output, else by the script."""
    said = "\n".join(texts)
    if not _NO_NETWORK.search(said):
        return None
    named = hosts_in(said)
    if named and all(_LOOPBACK.match(host) for host in named):
        return None
    public = [host for host in named or hosts_in(script) if not _LOOPBACK.match(host)]
    return f"{name} tried to reach {public[0] if public else 'the network'}; runs have no network"
