"""The Planner, Tester, Coder and Reviewer as AgentChat ``AssistantAgent``s, and every call to one
recorded: the reply word for word in ``log.jsonl``, its usage and cost in ``session.json``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, MultiModalMessage, TextMessage
from autogen_core import CancellationToken

from .accounting import CHARS_PER_TOKEN, Budget, Price, cost_of, price_of
from .layout import system_message
from .records.calls import CallRecord
from .roles import ROLES
from .textsafe import plain_text

if TYPE_CHECKING:
    from .context import SessionContext
    from .models import RoleClient
    from .ui import StreamView


Task = str | MultiModalMessage  # what an agent is asked: text, or text with images


def text_of(message: Task) -> str:
    """The text of a message (its images aside)."""
    if isinstance(message, str):
        return message
    return "\n".join(part for part in message.content if isinstance(part, str))


def sees_images(role_client: RoleClient) -> bool:
    """Whether the model that answers for a role accepts images (``model_info["vision"]``)."""
    try:
        return bool(role_client.client.model_info.get("vision"))
    except (AttributeError, KeyError, ValueError):
        return False


@dataclass(frozen=True)
class AgentReply:
    """What one agent call produced, read from the model's own result."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None = None
    cached: bool = False  # answered from the reply cache: no tokens spent
    cached_tokens: int = 0  # prompt tokens the provider served from its prompt cache

    @property
    def cut_off(self) -> bool:
        """The model stopped at its token limit."""
        return self.finish_reason == "length"


class AgentFactory:
    """Builds the agents, each role over its own model client."""

    def __init__(
        self, role_clients: Mapping[str, RoleClient], *, stream: bool, budget: Budget | None = None
    ) -> None:
        self.role_clients = dict(role_clients)
        self.stream = stream
        self.budget = budget or Budget()
        self.cancellation = CancellationToken()  # cancelled on Ctrl-C: stops the call under way

    def model_for(self, role: str) -> str:
        """The model that answers for ``role`` now (after a failover, the next entry's)."""
        return self.role_clients[role].resilient.model

    def price_for(self, role: str) -> Price | None:
        """The price per 1,000 tokens of the model that answers for ``role`` now, if known."""
        resilient = self.role_clients[role].resilient
        return price_of(resilient.model, resilient.entry.price)

    def create(self, role: str) -> AssistantAgent:
        """A fresh agent for ``role`` with an empty context and the system message common to all roles
        (its own instructions come in its task: :mod:`layout`)."""
        return AssistantAgent(
            name=role,
            model_client=self.role_clients[role].client,
            system_message=system_message(),
            model_client_stream=self.stream,
            description=f"The {role} of iterative_coder.",
        )

    async def close(self) -> None:
        """Close every model client."""
        for role_client in self.role_clients.values():
            await role_client.client.close()


async def run_agent(agent: AssistantAgent, task: Task, view: StreamView, token: CancellationToken) -> str:
    """Send ``task`` to ``agent`` (which keeps its own context), streaming into ``view``; its reply."""
    result: TaskResult | None = None
    async for event in agent.run_stream(task=task, cancellation_token=token):
        if isinstance(event, ModelClientStreamingChunkEvent):
            view.chunk(event.content)
        elif isinstance(event, TaskResult):
            result = event
    for message in reversed(result.messages if result else []):
        if isinstance(message, TextMessage) and message.source == agent.name:
            return plain_text(message.content)  # a lone surrogate could be written nowhere
    return ""


async def call_and_record(
    ctx: SessionContext, agent: AssistantAgent, message: Task, version: int, activity: str
) -> AgentReply:
    """Run ``agent`` on ``message`` with a working view on screen, and record the call.

    The budget is checked first: :class:`BudgetReached` is raised instead of a call that would
    exceed it.
    """
    role = agent.name
    prompt_chars = len(text_of(message)) + len(system_message())
    ctx.agents.budget.check(
        ctx.session.calls, role=role, prompt_chars=prompt_chars, price=ctx.agents.price_for(role)
    )
    recording = ctx.agents.role_clients[role].client
    started = time.monotonic()
    with ctx.ui.working(ROLES[role].title, activity) as view:
        text = await run_agent(agent, message, view, ctx.agents.cancellation)
    reply = _reply_from(recording.last_result, text, time.monotonic() - started, prompt_chars)
    reply = replace(reply, cached_tokens=0 if reply.cached else recording.tap.cached_tokens)
    ctx.session.keep_reply(role=role, version=version, text=reply.text)
    price = ctx.agents.price_for(role)
    ctx.session.record_call(
        CallRecord(
            role=role,
            version=version,
            model=ctx.agents.model_for(role),
            prompt_tokens=0 if reply.cached else reply.prompt_tokens,
            completion_tokens=0 if reply.cached else reply.completion_tokens,
            seconds=round(reply.seconds, 3),
            cost_usd=0.0
            if reply.cached
            else _rounded(cost_of(reply.prompt_tokens, reply.completion_tokens, price, reply.cached_tokens)),
            cached=reply.cached,
            finish_reason=reply.finish_reason,
            cached_tokens=reply.cached_tokens,
        )
    )
    return reply


def _rounded(cost: float | None) -> float | None:
    # 12 decimals: a cached token of gpt-4o-mini costs 7.5e-8 USD, so 8 decimals could be off by 7%
    # of a token's price and session.json's figure would not match its own usage.
    return None if cost is None else round(cost, 12)


def _reply_from(result: object, text: str, seconds: float, prompt_chars: int) -> AgentReply:
    """The reply as the model's ``CreateResult`` describes it; usage estimated when none came."""
    usage = getattr(result, "usage", None)
    prompt = usage.prompt_tokens if usage else 0
    completion = usage.completion_tokens if usage else 0
    cached = bool(getattr(result, "cached", False))
    if not cached and prompt == 0 and completion == 0:  # no usage reported: count by size, for budgets
        prompt, completion = prompt_chars // CHARS_PER_TOKEN, len(text) // CHARS_PER_TOKEN
    return AgentReply(
        text=text,
        prompt_tokens=prompt,
        completion_tokens=completion,
        seconds=seconds,
        finish_reason=getattr(result, "finish_reason", None),
        cached=cached,
    )
