"""What model calls cost, and budgets that stop a session before it spends too much.

Prices come from an entry's ``price`` in OAI_CONFIG_LIST (AutoGen's convention: USD per 1,000
prompt tokens and per 1,000 completion tokens, and here an optional third number: per 1,000 prompt
tokens the provider served from its prompt cache), else from the small table below, else the cost is
unknown: it is never invented. Cached prompt tokens without a cached price cost the prompt price.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .records.calls import CallRecord

Price = tuple[float, ...]  # USD per 1,000 tokens: (prompt, completion) or (prompt, completion, cached prompt)

# OpenAI's published list prices for these models: prompt, completion, cached prompt.
KNOWN_PRICES: dict[str, Price] = {
    "gpt-4o-mini": (0.00015, 0.0006, 0.000075),
    "gpt-4o": (0.0025, 0.01, 0.00125),
    "gpt-4.1": (0.002, 0.008, 0.0005),
    "gpt-4.1-mini": (0.0004, 0.0016, 0.0001),
    "gpt-4.1-nano": (0.0001, 0.0004, 0.000025),
    "o3-mini": (0.0011, 0.0044, 0.00055),
    "o4-mini": (0.0011, 0.0044, 0.000275),
    "gpt-3.5-turbo": (0.0005, 0.0015),
}
CHARS_PER_TOKEN = 4  # a rough size for a prompt before it is sent
DEFAULT_COMPLETION_ESTIMATE = 1000


def price_of(model: str, entry_price: Price | None) -> Price | None:
    """The price per 1,000 tokens, or None when unknown."""
    if entry_price is not None:
        return entry_price
    return KNOWN_PRICES.get(model)


def cost_of(
    prompt_tokens: int, completion_tokens: int, price: Price | None, cached_tokens: int = 0
) -> float | None:
    """USD for a call, or None when the price is unknown; ``cached_tokens`` of the prompt tokens
    came from the provider's prompt cache and cost its cached rate (the prompt rate when none is known)."""
    if price is None:
        return None
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cached_rate = price[2] if len(price) > 2 else price[0]
    return (
        (prompt_tokens - cached) / 1000 * price[0]
        + cached / 1000 * cached_rate
        + completion_tokens / 1000 * price[1]
    )


@dataclass(frozen=True)
class Totals:
    """Tokens and cost over some calls; ``cost`` is None when any call's price was unknown."""

    tokens: int = 0
    cost: float | None = 0.0
    calls: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0  # of ``prompt_tokens``, served from the provider's prompt cache

    def describe(self) -> str:
        """``1,234 tokens · $0.0012`` (``cost unknown`` when a price was missing), with the cached
        prompt tokens when there were any."""
        cost = f"${self.cost:.4f}" if self.cost is not None else "cost unknown"
        cached = f" ({self.cached_tokens:,} cached prompt tokens)" if self.cached_tokens else ""
        return f"{self.tokens:,} tokens{cached} · {cost}"


def totals(calls: Iterable[CallRecord]) -> Totals:
    """Add up recorded calls (calls answered by the reply cache cost nothing)."""
    tokens = prompt = cached = count = 0
    cost, seconds, known = 0.0, 0.0, True
    for call in calls:
        count += 1
        seconds += call.seconds
        if call.cached:
            continue
        tokens += call.tokens
        prompt += call.prompt_tokens
        cached += call.cached_tokens
        if call.cost_usd is None:
            known = False
        else:
            cost += call.cost_usd
    return Totals(
        tokens=tokens,
        cost=cost if known else None,
        calls=count,
        seconds=seconds,
        prompt_tokens=prompt,
        cached_tokens=cached,
    )


class BudgetReached(Exception):
    """The next call would take the session over its budget; the message says which and how far, and
    ``raise_to`` is the option that gets past it (``--budget-tokens 20000``), or "" when a larger
    budget would not help (a price is unknown)."""

    def __init__(self, message: str, raise_to: str = "") -> None:
        super().__init__(message)
        self.raise_to = raise_to


HEADROOM_CALLS = 3  # a raised budget allows about this many more calls the size of the next one


def raised_budget(limit: float, spent: float, next_call: float, step: float) -> float:
    """A budget that gets past this stop: twice the old one, or room for :data:`HEADROOM_CALLS` more
    calls like the next, whichever is more, rounded up to a whole ``step``."""
    wanted = max(2 * limit, spent + HEADROOM_CALLS * next_call)
    return math.ceil(wanted / step) * step


@dataclass(frozen=True)
class Budget:
    """Limits on what a session may spend, over all its runs (``None``: no limit)."""

    tokens: int | None = None
    usd: float | None = None

    def check(
        self,
        calls: Sequence[CallRecord],
        *,
        role: str,
        prompt_chars: int,
        price: Price | None,
    ) -> None:
        """Raise :class:`BudgetReached` when the next call, by estimate, would exceed a limit.

        The estimate is the prompt's size (characters / 4) plus the largest reply this role has
        given so far (1,000 tokens before its first).
        """
        if self.tokens is None and self.usd is None:
            return
        spent = totals(calls)
        earlier = [call.completion_tokens for call in calls if call.role == role]
        completion = max(earlier, default=DEFAULT_COMPLETION_ESTIMATE)
        prompt = prompt_chars // CHARS_PER_TOKEN
        if self.tokens is not None and spent.tokens + prompt + completion > self.tokens:
            raised = raised_budget(self.tokens, spent.tokens, prompt + completion, 1000)
            raise BudgetReached(
                f"Token budget reached: {spent.tokens:,} of {self.tokens:,} tokens spent, and the next "
                f"{role} call would need about {prompt + completion:,}.",
                f"--budget-tokens {int(raised)}",
            )
        if self.usd is not None:
            if spent.cost is None or price is None:
                raise BudgetReached(
                    'The USD budget cannot be kept: the price of a model in use is unknown. Add a "price" '
                    "to its OAI_CONFIG_LIST entry, or use --budget-tokens."
                )
            estimate = cost_of(prompt, completion, price) or 0.0
            if spent.cost + estimate > self.usd:
                raised = raised_budget(self.usd, spent.cost, estimate, 0.01)
                raise BudgetReached(
                    f"USD budget reached: ${spent.cost:.4f} of ${self.usd:.4f} spent, and the next {role} "
                    f"call would cost about ${estimate:.4f}.",
                    f"--budget-usd {raised:.2f}",
                )
