"""Zero-set-up local models: with no model configured at all, look for an OpenAI-compatible server on
this machine (Ollama, LM Studio, llama.cpp, vLLM) and offer the models it serves.

Standard library only, no AutoGen and no openai: the probe runs before anything heavy is imported,
and ``http.client`` (unlike urllib) never sends 127.0.0.1 through an ``HTTP_PROXY``.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import NO_MODEL_MESSAGE, ConfigError
from .textsafe import clean_terminal_text

if TYPE_CHECKING:
    from .ui import UI

# The usual servers and their default ports, probed in this order (and listed in it).
LOCAL_SERVERS: tuple[tuple[str, int], ...] = (
    ("Ollama", 11434),
    ("LM Studio", 1234),
    ("llama.cpp", 8080),
    ("vLLM", 8000),
)
# "name:port,..." probed instead of the table above ("none": probe nothing); for tests and servers on
# other ports.
PORTS_VARIABLE = "ITERATIVE_CODER_LOCAL_PORTS"
CONNECT_SECONDS = 0.3  # nothing listening is refused at once; this bounds a filtered port
ANSWER_SECONDS = 2.0  # something that accepts the connection but never answers
MAX_ANSWER_BYTES = 1_000_000
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class LocalServer:
    """A server on this machine that answered ``GET /v1/models``, and the chat models it lists."""

    name: str
    port: int
    models: tuple[str, ...]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the OPENAI_BASE_URL that reaches it."""
        return f"http://127.0.0.1:{self.port}/v1"

    def describe(self) -> str:
        """``Ollama (port 11434)``."""
        return f"{self.name} (port {self.port})"


def servers_to_probe(env: Mapping[str, str]) -> list[tuple[str, int]]:
    """The (name, port) pairs to probe: :data:`LOCAL_SERVERS`, or those of ``ITERATIVE_CODER_LOCAL_PORTS``."""
    value = env.get(PORTS_VARIABLE, "").strip()
    if not value:
        return list(LOCAL_SERVERS)
    if value.lower() == "none":
        return []
    pairs = []
    for item in value.split(","):
        name, _, port = item.strip().rpartition(":")
        if not name.strip() or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"{PORTS_VARIABLE}={value!r}: each item must be NAME:PORT, e.g. Ollama:11434,vLLM:8000 "
                '(or "none" to look for no local server).'
            )
        pairs.append((name.strip(), int(port)))
    return pairs


def probe(name: str, port: int) -> LocalServer | None:
    """The server on 127.0.0.1:``port`` if it answers ``GET /v1/models`` with a model list, else None."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONNECT_SECONDS)
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(ANSWER_SECONDS)
        connection.request("GET", "/v1/models", headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            return None
        data = json.loads(response.read(MAX_ANSWER_BYTES))
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()
    models = _chat_models(data)
    return None if models is None else LocalServer(name, port, models)


def _chat_models(data: object) -> tuple[str, ...] | None:
    """The model ids of an OpenAI ``/v1/models`` answer, without embedding models (they cannot chat);
    None when it is not such an answer."""
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    names = []
    for entry in entries:
        model = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(model, str):
            model = clean_terminal_text(model).strip()
            if model and len(model) <= MAX_NAME_CHARS and "embed" not in model.lower():
                names.append(model)
    return tuple(dict.fromkeys(names))


def find_local_servers(env: Mapping[str, str]) -> list[LocalServer]:
    """Every server of :func:`servers_to_probe` that answers, probed at once, in the table's order."""
    pairs = servers_to_probe(env)
    if not pairs:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        answers = list(pool.map(lambda pair: probe(*pair), pairs))
    return [server for server in answers if server is not None]


def found_sentence(servers: Sequence[LocalServer]) -> str:
    """``No model is configured, but a local server answers: Ollama (port 11434), serving a, b.``"""
    parts = [
        f"{server.describe()}, serving {', '.join(server.models)}"
        if server.models
        else f"{server.describe()}, serving no model yet (load or pull one there)"
        for server in servers
    ]
    return f"No model is configured, but a local server answers: {'; '.join(parts)}."


def command_line(server: LocalServer, model: str, argv: Sequence[str]) -> str:
    """The command that runs ``argv`` again with ``model`` on ``server``, ready to paste."""
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--model":
            skip = True
        elif not arg.startswith("--model="):
            rest.append(arg)
    words = ["python", "-m", "iterative_coder", "--model", model, *rest]
    return f"OPENAI_BASE_URL={server.base_url} {shlex.join(words)}"


def choices(servers: Sequence[LocalServer]) -> list[tuple[LocalServer, str]]:
    """Every (server, model) that can be picked, in the order they are listed."""
    return [(server, model) for server in servers for model in server.models]


def pick(
    servers: Sequence[LocalServer], ask: Callable[[str], str | None], say: Callable[[str], None]
) -> tuple[LocalServer, str] | None:
    """Let the person at the terminal pick a model by number (Enter: the first); None when they
    pick none (``q``, ``/stop`` or the end of input)."""
    options = choices(servers)
    say(found_sentence(servers))
    say(
        "\n".join(
            f"  {n}. {model}  ({server.name}, port {server.port})"
            for n, (server, model) in enumerate(options, 1)
        )
    )
    question = "Which model? Type its number (Enter: 1; q: none)."
    while True:
        answer = ask(question)
        if answer is None or answer.strip().lower() in ("q", "quit", "/stop", "none"):
            return None
        text = answer.strip() or "1"
        if text.isdigit() and 1 <= int(text) <= len(options):
            return options[int(text) - 1]
        question = f"{text!r} is not one of the numbers 1 to {len(options)}. Which model? (q: none)"


def offer(
    servers: Sequence[LocalServer], wanted: str | None, argv: Sequence[str], ui: UI | None
) -> tuple[LocalServer, str]:
    """The (server, model) to use, from the servers that answered.

    ``ui`` None: nobody to ask (``--yes``, or stdin not a terminal), so ConfigError with the command
    line to use. At a terminal: ``--model`` when a server serves it, else the person's pick; none
    picked is ConfigError too.
    """
    options = choices(servers)
    if not options:
        raise ConfigError(f"{found_sentence(servers)} {NO_MODEL_MESSAGE}")
    if ui is None:
        server, model = next(((s, m) for s, m in options if m == wanted), options[0])
        others = " (for another model above: its name after --model, its server's port in the URL)"
        others = others if len(options) > 1 else ""
        raise ConfigError(
            f"{found_sentence(servers)} With nobody to ask, none is picked; to use it, run: "
            f"{command_line(server, model, argv)}{others}"
        )
    chosen = next(((s, m) for s, m in options if m == wanted), None) or pick(servers, ui.ask, ui.info)
    if chosen is None:
        raise ConfigError(NO_MODEL_MESSAGE)
    server, model = chosen
    ui.info(
        f"Using {model} on {server.describe()}; --resume remembers it. To skip this question in new "
        f"sessions, set OPENAI_BASE_URL={server.base_url} and pass --model {shlex.quote(model)}."
    )
    return chosen
