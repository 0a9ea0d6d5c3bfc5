"""Programs that reach for the network: runs have none, so the failure is said in words, the Reviewer
is told, and it never becomes an approved run; --network lets a session's runs have it (kept)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from drive import run_loop, start_workspace
from scripted import review

from iterative_coder.cli import build_parser
from iterative_coder.execution.offline import network_failure
from iterative_coder.execution.runs import Execution
from iterative_coder.execution.sandbox import find_sandbox, unavailable_reason
from iterative_coder.records.embedded import prose_of
from iterative_coder.records.run import read_run
from iterative_coder.settings import resolve_settings

PROJECT_FILE = Path(__file__).resolve().parent.parent / "pyproject.toml"  # a file of the person's
WEATHER = "open-meteo.com/v1/forecast?latitude=52.5"
URLLIB = (
    "Traceback (most recent call last):\n  ...\nsocket.gaierror: [Errno -3] Temporary failure in name "
    "resolution\n\nDuring handling of the above exception, another exception occurred:\n...\n"
    "urllib.error.URLError: <urlopen error [Errno -3] Temporary failure in name resolution>\n"
)
REQUESTS = (
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.github.com', port=443): Max "
    'retries exceeded with url: /users/x (Caused by NameResolutionError("<urllib3.connection.'
    "HTTPSConnection object>: Failed to resolve 'api.github.com' ([Errno -3] Temporary failure)\"))"
)


@pytest.mark.parametrize(
    ("output", "script", "said"),
    [
        (URLLIB, f"URL = 'https://api.{WEATHER}'\n", "script_v1.py tried to reach api.open-meteo.com"),
        (REQUESTS, "", "script_v1.py tried to reach api.github.com"),
        (
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "",
            "script_v1.py tried to reach the network",
        ),
    ],
)
def test_a_network_failure_is_said_in_words(output: str, script: str, said: str) -> None:
    assert network_failure([output], script, "script_v1.py") == f"{said}; runs have no network"


def test_loopback_and_ordinary_output_are_not_network_failures() -> None:
    refused = "ConnectionRefusedError: [Errno 111] Connection refused (host='127.0.0.1', port 8000)"
    assert network_failure([refused], "", "script_v1.py") is None
    assert network_failure(["3 words\n"], "URL = 'https://example.org'\n", "script_v1.py") is None


PROGRAM = f"""import urllib.request


def fetch():
    return urllib.request.urlopen("https://api.{WEATHER}", timeout=5).read()


def main():
    try:
        print(fetch()[:100])
    except OSError as error:
        print("could not fetch the weather:", error)


if __name__ == "__main__":
    main()
"""


@pytest.mark.skipif(unavailable_reason() is not None, reason="needs a working bubblewrap")
def test_a_program_that_needs_the_network_is_never_approved(fake_server, tmp_path: Path) -> None:
    start_workspace(tmp_path)
    fake_server.enqueue("coder", f"Here it is:\n\n```python\n{PROGRAM}```\n")
    fake_server.enqueue("reviewer", review(1, "APPROVE"))
    _, _, ui = run_loop(fake_server, tmp_path, ["/stop"], execute="always", sandbox="on")
    said = "script_v1.py tried to reach api.open-meteo.com; runs have no network"
    record = read_run((tmp_path / "run_v1.md").read_text(), 1)
    assert record is not None and record.network == said and not record.ok
    assert f"Network: {said}." in prose_of((tmp_path / "run_v1.md").read_text())
    assert said in fake_server.requests_for("reviewer")[0].text
    assert f"{said}. To let its runs use the network, resume with --network." in ui.texts("warn")
    assert (tmp_path / "review_v1.md").read_text().startswith("Verdict: REVISE")


def test_network_is_an_option_kept_with_the_session() -> None:
    def network(*argv: str, saved: dict[str, object] | None = None) -> bool:
        return resolve_settings(build_parser().parse_args(list(argv)), saved or {}, True).network

    kept = resolve_settings(build_parser().parse_args(["--task", "weather", "--network"]), {}, True).kept({})
    assert kept["network"] is True and network("--resume", "ws", saved=kept)
    assert not network("--resume", "ws", "--no-network", saved=kept)
    assert not network("--task", "weather")


@pytest.mark.skipif(unavailable_reason() is not None, reason="needs a working bubblewrap")
def test_with_the_network_the_sandbox_shares_it_and_still_hides_the_persons_files(tmp_path: Path) -> None:
    look = (
        "import os, socket\nprint(sorted(name for _, name in socket.if_nameindex()))\n"
        f"print(os.path.exists({str(PROJECT_FILE)!r}))\n"
    )
    shown = {}
    for network in (False, True):
        folder = tmp_path / str(network)
        folder.mkdir()
        execution = Execution(folder, 10.0, find_sandbox("on"), network=network)
        shown[network] = execution.run([sys.executable, "-c", look], folder).stdout.splitlines()
    assert PROJECT_FILE.exists() and shown[False] == ["['lo']", "False"]
    assert shown[True][1] == "False"  # the person's files are not there
    assert shown[True][0] == str(sorted(name for _, name in socket.if_nameindex()))
