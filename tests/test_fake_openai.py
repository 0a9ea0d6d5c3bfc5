"""The fake OpenAI server works through real clients over HTTP (openai, autogen-ext)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest
from fake_openai import FakeOpenAIServer, RecordedRequest
from openai import OpenAI

API_KEY = "sk-fake-test"


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def _client(server: FakeOpenAIServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)


def test_openai_non_streaming(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue("default", "hello from the fake")
    resp = _client(fake_server).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "say something nice"}]
    )
    assert resp.choices[0].message.content == "hello from the fake"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gpt-4o-mini"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (3, 4, 7)
    [req] = fake_server.requests
    assert req.role == "default" and not req.stream
    assert req.body["model"] == "gpt-4o-mini"
    assert fake_server.remaining() == {"default": 0}


def test_openai_streaming_with_usage(fake_server: FakeOpenAIServer) -> None:
    reply = "a fairly long reply that is split into several chunks, as a model streams it. " * 16
    fake_server.enqueue("coder", reply)
    stream = _client(fake_server).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "You are the Coder."}, {"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 5
    assert chunks[-1].usage.completion_tokens == len(reply.split())
    [req] = fake_server.requests_for("coder")
    assert req.stream and req.system == "You are the Coder."


def test_callable_reply_and_list_content(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue("default", lambda r: f"echo: {r.messages[-1]['content'][0]['text']}")
    resp = _client(fake_server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": [{"type": "text", "text": "ping"}]}]
    )
    assert resp.choices[0].message.content == "echo: ping"
    assert fake_server.requests[0].text == "ping"


def test_models_and_unknown_route(fake_server: FakeOpenAIServer) -> None:
    client = _client(fake_server)
    assert [m.id for m in client.models.list()] == ["fake-model"]
    with pytest.raises(openai.NotFoundError):
        client.post("/nope", cast_to=object, body={})


# autogen-ext echoes a warning when the response model is not its dated alias (gpt-4o-mini-2024-07-18).
@pytest.mark.filterwarnings("ignore:Resolved model mismatch:UserWarning")
@pytest.mark.parametrize("include_usage", [False, True])
def test_autogen_assistant_agent_streaming(fake_server: FakeOpenAIServer, include_usage: bool) -> None:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    reply = "def main():\n    print('hello world')\n"
    fake_server.enqueue("coder", reply)
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}

    async def run() -> object:
        client = OpenAIChatCompletionClient(
            model="gpt-4o-mini", base_url=fake_server.base_url, api_key=API_KEY, **extra
        )
        try:
            agent = AssistantAgent(
                name="coder",
                model_client=client,
                system_message="You are the Coder. Write Python.",
                model_client_stream=True,
            )
            return await agent.run(task="hi")
        finally:
            await client.close()

    result = asyncio.run(run())
    last = result.messages[-1]
    assert last.content == reply
    assert last.models_usage is not None
    [req] = fake_server.requests
    assert req.role == "coder" and req.stream
    assert req.messages[-1] == {"role": "user", "name": "user", "content": "hi"}
    assert fake_server.remaining() == {"coder": 0}
    if include_usage:
        assert req.body["stream_options"] == {"include_usage": True}
        assert last.models_usage.prompt_tokens == 7  # 6 system words + "hi"
        assert last.models_usage.completion_tokens == len(reply.split())
    else:
        # autogen-ext does not ask for usage by default when streaming, so it reports zeros.
        assert "stream_options" not in req.body
        assert (last.models_usage.prompt_tokens, last.models_usage.completion_tokens) == (0, 0)


def test_per_role_queues_and_empty_queue_error(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue("planner", "plan 1", "plan 2")
    fake_server.enqueue("reviewer", "LGTM")
    client = _client(fake_server)

    def ask(system: str) -> str | None:
        resp = client.chat.completions.create(
            model="m", messages=[{"role": "system", "content": system}, {"role": "user", "content": "x"}]
        )
        return resp.choices[0].message.content

    assert ask("You are the Reviewer.") == "LGTM"
    assert ask("you are the planner of things") == "plan 1"
    assert ask("You are the Planner.") == "plan 2"
    assert [r.role for r in fake_server.requests] == ["reviewer", "planner", "planner"]
    assert len(fake_server.requests_for("planner")) == 2
    assert fake_server.remaining() == {"planner": 0, "reviewer": 0}

    with pytest.raises(openai.APIError) as excinfo:
        ask("You are the Reviewer.")
    assert "no scripted reply left for role reviewer" in str(excinfo.value)
    assert isinstance(excinfo.value, openai.InternalServerError)
    assert len(fake_server.requests) == 4  # recorded even when unanswered
    assert isinstance(fake_server.requests[-1], RecordedRequest)


def test_default_queue_is_fallback(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue("default", "fallback")
    resp = _client(fake_server).chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": "You are the Coder."}, {"role": "user", "content": "x"}],
    )
    assert resp.choices[0].message.content == "fallback"
    assert fake_server.requests[0].role == "coder"
