"""Zero-set-up local models: with nothing configured, a server on this machine is found and offered."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from drive import run
from fake_openai import FakeOpenAIServer
from recording_ui import RecordingUI
from scripted import PLAN_1

from iterative_coder.config import NO_MODEL_MESSAGE, ConfigError
from iterative_coder.local_models import (
    LOCAL_SERVERS,
    PORTS_VARIABLE,
    LocalServer,
    _chat_models,
    find_local_servers,
    offer,
    servers_to_probe,
)
from iterative_coder.settings import Settings
from iterative_coder.wiring import model_entries


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_of(server: FakeOpenAIServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1].split("/")[0])


def test_the_usual_servers_are_probed_unless_the_knob_says_otherwise() -> None:
    assert servers_to_probe({}) == [
        ("Ollama", 11434),
        ("LM Studio", 1234),
        ("llama.cpp", 8080),
        ("vLLM", 8000),
    ]
    assert servers_to_probe({}) == list(LOCAL_SERVERS)
    assert servers_to_probe({PORTS_VARIABLE: "Ollama:5001, my server:5002"}) == [
        ("Ollama", 5001),
        ("my server", 5002),
    ]
    assert servers_to_probe({PORTS_VARIABLE: "none"}) == []
    for bad in ("11434", "Ollama:", "Ollama:99999", "Ollama:x"):
        with pytest.raises(ConfigError, match=f"{PORTS_VARIABLE}=.*NAME:PORT"):
            servers_to_probe({PORTS_VARIABLE: bad})


def test_a_server_that_answers_is_found_with_its_chat_models(fake_server: FakeOpenAIServer) -> None:
    env = {PORTS_VARIABLE: f"Ollama:{port_of(fake_server)},vLLM:{closed_port()}"}
    assert find_local_servers(env) == [LocalServer("Ollama", port_of(fake_server), ("fake-model",))]
    listed = {"data": [{"id": "llama3.2"}, {"id": "nomic-embed-text"}, {"id": "\x1b[2Jqwen"}, {"id": 3}]}
    assert _chat_models(listed) == ("llama3.2", "qwen")  # no embedding model; no escape reaches a screen
    assert _chat_models({"error": "not found"}) is None  # some other web server on that port


def test_without_a_person_the_error_is_the_command_to_run() -> None:
    servers = [LocalServer("Ollama", 11434, ("llama3.2", "qwen2.5-coder:7b"))]
    argv = ["--model", "gpt-4o", "--task", "count words", "--yes"]
    with pytest.raises(ConfigError) as caught:
        offer(servers, None, argv, None)
    message = str(caught.value)
    assert message.startswith(
        "No model is configured, but a local server answers: Ollama (port 11434), serving llama3.2, "
        "qwen2.5-coder:7b."
    )
    assert message.endswith(
        "run: OPENAI_BASE_URL=http://127.0.0.1:11434/v1 python -m iterative_coder --model llama3.2 "
        "--task 'count words' --yes (for another model above: its name after --model, its server's port in "
        "the URL)"
    )
    empty = [LocalServer("LM Studio", 1234, ())]
    with pytest.raises(ConfigError, match=r"LM Studio \(port 1234\), serving no model yet \(load or pull"):
        offer(empty, None, [], RecordingUI(["1"]))


def test_at_a_terminal_the_person_picks_a_model_by_number() -> None:
    servers = [LocalServer("Ollama", 11434, ("llama3.2",)), LocalServer("vLLM", 8000, ("qwen",))]
    ui = RecordingUI(["7", "2"])
    server, model = offer(servers, None, [], ui)
    assert (server.name, model) == ("vLLM", "qwen")
    assert ui.texts("info")[1] == "  1. llama3.2  (Ollama, port 11434)\n  2. qwen  (vLLM, port 8000)"
    assert ui.texts("ask")[1] == "'7' is not one of the numbers 1 to 2. Which model? (q: none)"
    assert "--resume remembers it" in ui.texts("info")[-1]
    assert offer(servers, None, [], RecordingUI([""]))[1] == "llama3.2"  # Enter: the first
    assert offer(servers, "qwen", [], RecordingUI([]))[1] == "qwen"  # --model it serves: not asked
    with pytest.raises(ConfigError) as caught:
        offer(servers, None, [], RecordingUI(["q"]))
    assert str(caught.value) == NO_MODEL_MESSAGE


def test_resume_uses_the_local_server_the_session_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    saved = Settings(local_server=url, saved_role_models={"coder": "llama3.2"})
    entries, settings, ui = model_entries(saved, {PORTS_VARIABLE: "none"}, [])
    assert [(e.model, e.base_url, e.api_key) for e in entries] == [("llama3.2", url, None)]
    assert settings.local_server == url and ui is None
    # Configured since: the configuration is used and the local server forgotten.
    entries, settings, _ui = model_entries(saved, {"OPENAI_API_KEY": "k"}, [])
    assert entries[0].base_url is None and settings.local_server is None


def test_json_with_no_model_configured_is_one_object_with_exit_code_2(tmp_path: Path, clean_env) -> None:
    env = {**clean_env, PORTS_VARIABLE: f"Ollama:{closed_port()}"}
    result = run(["--json", "--task", "count words"], tmp_path, env)
    assert result.returncode == 2
    assert result.stderr == f"iterative_coder: error: {NO_MODEL_MESSAGE}\n"
    data = json.loads(result.stdout)
    assert data["exit_code"] == 2 and data["stop_reason"] == "configuration"
    assert data["error"] == NO_MODEL_MESSAGE and data["versions"] == [] and data["final_script"] is None
    assert not (tmp_path / "workspace").exists()


def test_under_yes_a_local_server_is_named_with_the_command(fake_server, tmp_path: Path, clean_env) -> None:
    env = {**clean_env, PORTS_VARIABLE: f"Ollama:{port_of(fake_server)}"}
    result = run(["--task", "count words", "--yes", "--json"], tmp_path, env)
    assert result.returncode == 2, result.stderr
    command = (
        f"OPENAI_BASE_URL={fake_server.base_url} python -m iterative_coder --model fake-model "
        "--task 'count words' --yes --json"
    )
    (line,) = result.stderr.splitlines()
    assert "Ollama (port " in line and line.endswith(f"run: {command}")
    assert json.loads(result.stdout)["error"] == line.removeprefix("iterative_coder: error: ")
    assert not fake_server.requests and not (tmp_path / "workspace").exists()


def test_at_a_terminal_the_picked_local_model_runs_and_is_remembered(
    fake_server: FakeOpenAIServer, run_cli, tmp_path: Path, clean_env
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    cli = run_cli(
        "--task", "count words", env={**clean_env, PORTS_VARIABLE: f"Ollama:{port_of(fake_server)}"}
    )
    cli.expect(f"a local server answers: Ollama (port {port_of(fake_server)}), serving fake-model.")
    cli.expect("1. fake-model")
    cli.answer("1")
    cli.expect("Using fake-model on Ollama")
    cli.expect('Reply "approve" to accept this plan')
    cli.answer("/stop")
    assert cli.wait_exit() == 0
    assert fake_server.requests[0].body["model"] == "fake-model"
    ws = tmp_path / "workspace"
    settings = json.loads((ws / "session.json").read_text())["settings"]
    assert settings["local_server"] == fake_server.base_url
    assert set(settings["models"].values()) == {"fake-model"}
    # A clean exit leaves no .lock, and files are made as the umask says (0644 under the usual 022).
    assert not (ws / ".lock").exists()
    umask = os.umask(0o022)
    os.umask(umask)
    assert (ws / "task.md").stat().st_mode & 0o777 == 0o666 & ~umask
