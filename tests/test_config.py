"""Model configuration: precedence, AutoGen's OAI_CONFIG_LIST, local servers, and clear errors."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from fake_openai import FakeOpenAIServer

from iterative_coder.config import (
    NO_MODEL_MESSAGE,
    ConfigError,
    ModelEntry,
    load_dotenv_file,
    resolve_model_entries,
)
from iterative_coder.json_mistakes import JsonMistake, likely_mistake


def write_list(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps(entries))
    return path


def resolve(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: str | None) -> list[ModelEntry]:
    options = {"config_list_path": None, "model": None} | kwargs
    return resolve_model_entries(env=env or {}, cwd=tmp_path, **options)


def test_precedence_config_list_flag_then_env_then_file_then_openai_variables(tmp_path: Path) -> None:
    flag = write_list(tmp_path / "flag.json", [{"model": "from-flag", "api_key": "k"}])
    env_file = write_list(tmp_path / "env.json", [{"model": "from-env", "api_key": "k"}])
    write_list(tmp_path / "OAI_CONFIG_LIST", [{"model": "from-file", "api_key": "k"}])
    env = {"OAI_CONFIG_LIST": str(env_file), "OPENAI_API_KEY": "k2"}

    assert resolve(tmp_path, env, config_list_path=str(flag))[0].model == "from-flag"
    assert resolve(tmp_path, env)[0].model == "from-env"
    assert resolve(tmp_path, {"OPENAI_API_KEY": "k2"})[0].model == "from-file"
    (tmp_path / "OAI_CONFIG_LIST").unlink()
    only_key = resolve(tmp_path, {"OPENAI_API_KEY": "k2"})
    assert [(e.model, e.api_key, e.base_url) for e in only_key] == [("gpt-4o-mini", "k2", None)]


def test_env_config_list_may_hold_the_json_itself(tmp_path: Path) -> None:
    text = json.dumps([{"model": "a", "api_key": "k"}, {"model": "b", "api_key": "k"}])
    assert [e.model for e in resolve(tmp_path, {"OAI_CONFIG_LIST": text})] == ["a", "b"]


def test_model_flag_picks_the_entry_and_model_variable_names_the_model(tmp_path: Path) -> None:
    path = write_list(
        tmp_path / "list.json", [{"model": "a", "api_key": "k"}, {"model": "b", "api_key": "k"}]
    )
    assert [e.model for e in resolve(tmp_path, config_list_path=str(path), model="b")] == ["b", "a"]
    with pytest.raises(ConfigError, match=r"--model c: no entry with that model .*\(it has: a, b\)"):
        resolve(tmp_path, config_list_path=str(path), model="c")
    env = {"OPENAI_API_KEY": "k", "ITERATIVE_CODER_MODEL": "gpt-4.1"}
    assert resolve(tmp_path, env)[0].model == "gpt-4.1"
    assert resolve(tmp_path, env, model="o3")[0].model == "o3"


def test_local_server_by_base_url_needs_no_key(tmp_path: Path) -> None:
    entry = resolve(tmp_path, {"OPENAI_BASE_URL": "http://localhost:11434/v1"}, model="llama3.2")[0]
    assert (entry.model, entry.base_url, entry.api_key) == ("llama3.2", "http://localhost:11434/v1", None)
    listed = write_list(
        tmp_path / "l.json", [{"model": "qwen2.5-coder", "base_url": "http://127.0.0.1:1234/v1"}]
    )
    assert resolve(tmp_path, config_list_path=str(listed))[0].base_url == "http://127.0.0.1:1234/v1"


def test_entry_fields_follow_autogen_convention(tmp_path: Path) -> None:
    entry = {
        "model": "gpt-4o",
        "api_key": "secret-value-123",
        "base_url": "https://example.openai.azure.com/",
        "api_type": "azure",
        "api_version": "2024-06-01",
        "tags": ["coder"],
        "price": [0.0025, 0.01],
    }
    parsed = resolve(tmp_path, config_list_path=str(write_list(tmp_path / "l.json", [entry])))[0]
    assert (parsed.api_type, parsed.api_version, parsed.tags, parsed.price) == (
        "azure",
        "2024-06-01",
        ("coder",),
        (0.0025, 0.01),
    )
    assert "secret-value-123" not in repr(parsed)  # keys stay out of reprs and logs


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{'model': 'x'}]", "not valid JSON at line 1, column 3"),
        ('[{"model" "x"}]', r"not valid JSON at line 1, column 11 \(Expecting ':' delimiter\)"),
        ('{"model": "x"}', "must be a JSON list of model entries, not a dict"),
        ("[]", "the list is empty"),
        ('[{"api_key": "k"}]', 'entry 1 has no "model"'),
        ('[{"model": "a", "api_key": "k"}, "b"]', "entry 2 must be a JSON object"),
        ('[{"model": "a", "api_type": "anthropic"}]', "api_type 'anthropic' is not supported"),
        ('[{"model": "a", "price": 3}]', '"price" must be'),
    ],
)
def test_bad_config_list_names_the_file_and_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "OAI_CONFIG_LIST"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        resolve(tmp_path)
    assert str(path) in str(caught.value)


def test_missing_config_list_file_and_missing_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        resolve(tmp_path, config_list_path=str(tmp_path / "nope.json"))
    path = write_list(tmp_path / "l.json", [{"model": "gpt-4o"}])
    with pytest.raises(ConfigError, match="has no api_key and no base_url, and OPENAI_API_KEY is not set"):
        resolve(tmp_path, config_list_path=str(path))
    assert resolve(tmp_path, {"OPENAI_API_KEY": "k"}, config_list_path=str(path))[0].model == "gpt-4o"


def test_nothing_configured_names_the_three_ways(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path)
    assert str(caught.value) == NO_MODEL_MESSAGE
    for way in ("--config-list", "OAI_CONFIG_LIST", "OPENAI_API_KEY"):
        assert way in NO_MODEL_MESSAGE


def test_dotenv_is_loaded_without_overriding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ITERATIVE_CODER_TEST_A=from-dotenv\nITERATIVE_CODER_TEST_B=from-dotenv\n")
    monkeypatch.setenv("ITERATIVE_CODER_TEST_A", "from-shell")
    monkeypatch.delenv("ITERATIVE_CODER_TEST_B", raising=False)
    load_dotenv_file(tmp_path)
    assert os.environ["ITERATIVE_CODER_TEST_A"] == "from-shell"
    assert os.environ["ITERATIVE_CODER_TEST_B"] == "from-dotenv"
    monkeypatch.delenv("ITERATIVE_CODER_TEST_B")


def test_a_model_name_autogen_does_not_know_works_against_a_local_server(
    fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iterative_coder.agents import AgentFactory, run_agent
    from iterative_coder.layout import compose
    from iterative_coder.models import ClientOptions, create_role_clients

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_server.enqueue("coder", "```python\nprint('hi')\n```")
    entry = ModelEntry(model="qwen2.5-coder:7b", base_url=fake_server.base_url)

    class Silent:
        def chunk(self, text: str) -> None:
            pass

    async def ask() -> str:
        agents = AgentFactory(
            create_role_clients({"coder": [entry]}, ClientOptions(stream=True)), stream=True
        )
        try:
            task = compose([], "coder", "hi")  # the role's instructions are in its task
            return await run_agent(agents.create("coder"), task, Silent(), agents.cancellation)
        finally:
            await agents.close()

    assert asyncio.run(ask()) == "```python\nprint('hi')\n```"
    request = fake_server.requests[0]
    assert request.body["model"] == "qwen2.5-coder:7b" and request.stream
    assert FAKE_KEY not in json.dumps(request.body)


TRAILING_COMMA = "a trailing comma after the last item; JSON allows none there, so remove it"
SINGLE_QUOTES = """single quotes; JSON needs double quotes around names and strings ("model", not 'model')"""
COMMENT = "a comment; JSON has no comments, so remove it"
MISSING_COMMA = "a missing comma before this item; separate items with commas"


@pytest.mark.parametrize(
    ("content", "where", "cause"),
    [
        ('[\n  {"model": "a", "api_key": "k"},\n]\n', "line 2, column 33", TRAILING_COMMA),
        ('[{"model": "a", "api_key": "k",}]', "line 1, column 31", TRAILING_COMMA),
        ('[{"model": "a", "tags": ["coder",\n\n  ]}]', "line 1, column 33", TRAILING_COMMA),
        ("[{'model': 'a'}]", "line 1, column 3", SINGLE_QUOTES),
        ("[{\"model\": 'a'}]", "line 1, column 12", SINGLE_QUOTES),
        ('// my models\n[{"model": "a", "api_key": "k"}]', "line 1, column 1", COMMENT),
        ('[\n  # the cheap one\n  {"model": "a"}\n]', "line 2, column 3", COMMENT),
        ('[{"model": "a", /* local */ "base_url": "http://x"}]', "line 1, column 17", COMMENT),
        ('[{"model": "a"} {"model": "b"}]', "line 1, column 17", MISSING_COMMA),
        ('[{"model": "a"\n  "api_key": "k"}]', "line 2, column 3", MISSING_COMMA),
        ('[{model: "a"}]', "line 1, column 3", 'a name without quotes; write it in double quotes ("model")'),
        (
            '\ufeff[{"model": "a"}]',
            "line 1, column 1",
            "a byte-order mark at the start; save the file as UTF-8 without one",
        ),
    ],
)
def test_a_json_error_names_its_likely_cause_and_the_fix(
    tmp_path: Path, content: str, where: str, cause: str
) -> None:
    """The whole sentence, so it is the same on every Python (3.13's json words and places errors
    differently): the position is the mistake's own, the cause comes from the text."""
    path = tmp_path / "OAI_CONFIG_LIST"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path)
    assert str(caught.value) == f"{path}: not valid JSON at {where}. Likely cause: {cause}."


@pytest.mark.parametrize("text", ['[{"model": "a"},\n]', '{"model": "a",  }'])
def test_a_trailing_comma_is_found_where_any_python_stops(text: str) -> None:
    """3.13's json stops at the comma, 3.10 to 3.12 at the bracket after it: the same mistake, found
    from the text, whichever Python runs this test."""
    comma, bracket = text.rindex(","), len(text) - 1
    assert likely_mistake(text, comma) == likely_mistake(text, bracket)
    assert likely_mistake(text, comma) == JsonMistake(1, comma + 1, TRAILING_COMMA)


def test_the_json_in_the_environment_variable_gets_the_same_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path, {"OAI_CONFIG_LIST": '[{"model": "a", "api_key": "k"},]'})
    assert str(caught.value) == (
        "the OAI_CONFIG_LIST environment variable: not valid JSON at line 1, column 32. "
        f"Likely cause: {TRAILING_COMMA}."
    )
