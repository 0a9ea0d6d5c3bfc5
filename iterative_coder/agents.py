"""The Planner, Coder and Reviewer (AgentChat ``AssistantAgent``s), the Manager
(``UserProxyAgent``), and their prompts, which live as text files in ``prompts/``."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from autogen_agentchat.agents import AssistantAgent, UserProxyAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, TextMessage
from autogen_core import CancellationToken

from .accounting import CHARS_PER_TOKEN, Budget, cost_of, price_of
from .config import ROLES
from .resilience import ResilientClient

if TYPE_CHECKING:
    from collections.abc import Mapping

    from autogen_core.models import ChatCompletionClient

    from .models import RoleClient
    from .ui import UI, StreamView
    from .workspace import SessionLog

PROMPTS_DIR = Path(__file__).parent / "prompts"


@functools.cache
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md``."""
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8")


def render_prompt(name: str, **values: object) -> str:
    """``prompts/<name>.md`` with ``${key}`` placeholders filled in."""
    return Template(load_prompt(name)).substitute({k: str(v) for k, v in values.items()})


@dataclass(frozen=True)
class AgentReply:
    """What one agent call produced."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cut_off: bool = False  # the model stopped at its token limit (finish_reason "length")


class AgentFactory:
    """Builds the agents: each role over its own model client (or one client for all)."""

    def __init__(
        self,
        client: ChatCompletionClient | None = None,
        *,
        stream: bool,
        model_name: str = "",
        role_clients: Mapping[str, RoleClient] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.client = client
        self.model_name = model_name
        self.stream = stream
        self.role_clients = dict(role_clients or {})
        self.budget = budget or Budget()
        self.cancellation = CancellationToken()  # cancelled on Ctrl-C: stops the call under way

    def client_for(self, role: str) -> ChatCompletionClient:
        """The model client an agent of ``role`` talks to."""
        if role in self.role_clients:
            return self.role_clients[role].client
        if self.client is None:
            raise ValueError(f"no model client for {role}")
        return self.client

    def resilient_for(self, role: str) -> ResilientClient | None:
        """The resilient client behind ``role``, which knows the model that answers now."""
        if role in self.role_clients:
            return self.role_clients[role].resilient
        return self.client if isinstance(self.client, ResilientClient) else None

    def model_for(self, role: str) -> str:
        """The model that answers for ``role`` now (after a failover, the next entry's)."""
        resilient = self.resilient_for(role)
        return resilient.model if resilient is not None else self.model_name

    def create(self, role: str) -> AssistantAgent:
        """A fresh agent for ``role`` with an empty context and its system prompt."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return AssistantAgent(
            name=role,
            model_client=self.client_for(role),
            system_message=load_prompt(role),
            model_client_stream=self.stream,
            description=f"The {role} of iterative_coder.",
        )


async def run_agent(
    agent: AssistantAgent,
    task: str,
    view: StreamView,
    cancellation_token: CancellationToken | None = None,
) -> AgentReply:
    """Send ``task`` to ``agent`` (which keeps its own context), streaming into ``view``."""
    started = time.monotonic()
    result: TaskResult | None = None
    async for event in agent.run_stream(task=task, cancellation_token=cancellation_token):
        if isinstance(event, ModelClientStreamingChunkEvent):
            view.chunk(event.content)
        elif isinstance(event, TaskResult):
            result = event
    seconds = time.monotonic() - started
    final = _last_text_from(result, agent.name)
    usage = final.models_usage if final is not None else None
    return AgentReply(
        text=final.content if final is not None else "",
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        seconds=seconds,
    )


async def call_and_record(
    agent: AssistantAgent,
    message: str,
    *,
    ui: UI,
    session: SessionLog,
    agents: AgentFactory,
    version: int,
    activity: str,
) -> AgentReply:
    """Run ``agent`` on ``message`` with a working view on screen, and record the call's usage.

    The budget is checked first: :class:`BudgetReached` is raised instead of a call that would
    exceed it.
    """
    role = agent.name
    resilient = agents.resilient_for(role)
    entry_price = resilient.entry.price if resilient is not None else None
    agents.budget.check(
        session.calls,
        role=role,
        prompt_chars=len(message) + len(load_prompt(role)),
        price=price_of(agents.model_for(role), entry_price),
    )
    calls_before = resilient.calls if resilient is not None else 0
    if resilient is not None:
        resilient.last_finish_reason = None
    with ui.working(role.capitalize(), activity) as view:
        reply = await run_agent(agent, message, view, agents.cancellation)
    # A reply cache in front of the resilient client answered when no call reached it.
    cached = resilient is not None and resilient.calls == calls_before
    if resilient is not None and resilient.last_finish_reason == "length":
        reply = replace(reply, cut_off=True)
    model = agents.model_for(role)
    price = price_of(model, resilient.entry.price if resilient is not None else None)
    estimated = not cached and reply.prompt_tokens == 0 and reply.completion_tokens == 0
    if estimated:  # the server reported no usage: count by size, so budgets still hold
        prompt_chars = len(message) + len(load_prompt(role))
        reply = replace(
            reply,
            prompt_tokens=prompt_chars // CHARS_PER_TOKEN,
            completion_tokens=len(reply.text) // CHARS_PER_TOKEN,
        )
    session.keep_reply(role=role, version=version, text=reply.text)
    session.record_call(
        role=role,
        version=version,
        model=model,
        prompt_tokens=0 if cached else reply.prompt_tokens,
        completion_tokens=0 if cached else reply.completion_tokens,
        seconds=reply.seconds,
        cost_usd=0.0 if cached else cost_of(reply.prompt_tokens, reply.completion_tokens, price),
        cached=cached,
    )
    return reply


def _last_text_from(result: TaskResult | None, source: str) -> TextMessage | None:
    if result is None:
        return None
    for message in reversed(result.messages):
        if isinstance(message, TextMessage) and message.source == source:
            return message
    return None


class Manager:
    """The person, as an AgentChat ``UserProxyAgent`` whose input is our terminal prompt."""

    END_OF_INPUT = "\x04"

    def __init__(self, ui: UI) -> None:
        self._ui = ui
        self._question = ""
        self.agent = UserProxyAgent("manager", input_func=self._input, description="The person.")

    async def _input(self, _default_prompt: str, _token: CancellationToken | None) -> str:
        # Runs on the event loop's (main) thread, so Ctrl-C raises KeyboardInterrupt right here
        # and readline line editing works.
        answer = self._ui.ask(self._question)
        return self.END_OF_INPUT if answer is None else answer

    async def ask(self, question: str) -> str | None:
        """Ask the person; their answer stripped, or None when input has ended."""
        self._question = question
        response = await self.agent.on_messages(
            [TextMessage(content=question, source="iterative_coder")], CancellationToken()
        )
        content = str(getattr(response.chat_message, "content", ""))
        return None if content == self.END_OF_INPUT else content.strip()
