"""What model calls cost, the session totals, the budgets, and the call record read from session.json."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from iterative_coder.accounting import (
    KNOWN_PRICES,
    Budget,
    BudgetReached,
    Totals,
    cost_of,
    price_of,
    totals,
)
from iterative_coder.records.calls import CallRecord

UNKNOWN_PRICE = "the price of a model in use is unknown"


def call(
    role: str = "coder",
    *,
    version: int = 1,
    model: str = "gpt-4o-mini",
    prompt: int = 0,
    completion: int = 0,
    seconds: float = 0.0,
    cost: float | None = 0.0,
    cached: bool = False,
    finish_reason: str | None = None,
) -> CallRecord:
    """A call record with only the fields a test cares about."""
    return CallRecord(
        role=role,
        version=version,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        seconds=seconds,
        cost_usd=cost,
        cached=cached,
        finish_reason=finish_reason,
    )


# --- prices and costs ------------------------------------------------------------------------------


def test_the_entry_price_wins_over_the_table() -> None:
    assert price_of("gpt-4o-mini", (1.0, 2.0)) == (1.0, 2.0)
    assert price_of("some-local-model", (0.0, 0.0)) == (0.0, 0.0)  # a free local model is a known price


def test_a_listed_model_without_an_entry_price_uses_the_table() -> None:
    assert price_of("gpt-4o-mini", None) == KNOWN_PRICES["gpt-4o-mini"] == (0.00015, 0.0006, 0.000075)


def test_an_unknown_model_has_no_price() -> None:
    assert price_of("qwen2.5-coder:7b", None) is None


def test_cost_is_unknown_without_a_price() -> None:
    assert cost_of(1000, 1000, None) is None


def test_cost_is_priced_per_thousand_tokens() -> None:
    assert cost_of(1000, 0, (0.5, 2.0)) == 0.5
    assert cost_of(0, 1000, (0.5, 2.0)) == 2.0
    assert cost_of(2000, 500, (0.5, 2.0)) == 2.0  # 2 x 0.5 + 0.5 x 2.0
    assert cost_of(0, 0, (0.5, 2.0)) == 0.0
    assert cost_of(1_000_000, 1_000_000, KNOWN_PRICES["gpt-4o-mini"]) == pytest.approx(0.15 + 0.6)


# --- totals ----------------------------------------------------------------------------------------


def test_totals_of_no_calls() -> None:
    assert totals([]) == Totals(tokens=0, cost=0.0, calls=0, seconds=0.0)
    assert totals([]).describe() == "0 tokens · $0.0000"


def test_totals_sum_tokens_cost_calls_and_seconds() -> None:
    result = totals(
        [
            call(prompt=100, completion=20, cost=0.25, seconds=1.5),
            call("reviewer", prompt=1000, completion=114, cost=0.5, seconds=2.25),
        ]
    )
    assert result == Totals(tokens=1234, cost=0.75, calls=2, seconds=3.75, prompt_tokens=1100)


def test_a_cached_call_counts_as_a_call_and_its_seconds_but_costs_nothing() -> None:
    result = totals(
        [
            call(prompt=100, completion=20, cost=0.25, seconds=1.0),
            call(prompt=5000, completion=5000, cost=9.0, seconds=0.5, cached=True),
        ]
    )
    assert result == Totals(tokens=120, cost=0.25, calls=2, seconds=1.5, prompt_tokens=100)


def test_a_cached_call_with_unknown_cost_leaves_the_cost_known() -> None:
    result = totals([call(prompt=10, completion=10, cost=0.25), call(prompt=9, cost=None, cached=True)])
    assert result.cost == 0.25
    assert result.tokens == 20


def test_one_call_of_unknown_cost_makes_the_total_cost_unknown() -> None:
    result = totals(
        [
            call(prompt=100, completion=20, cost=0.25),
            call("tester", model="local", prompt=1000, completion=114, cost=None),
            call(prompt=1, completion=1, cost=0.5),
        ]
    )
    assert result.cost is None
    assert result.tokens == 1236  # the tokens are still counted
    assert result.calls == 3
    assert result.describe() == "1,236 tokens · cost unknown"


def test_describe_formats_tokens_with_commas_and_cost_with_four_decimals() -> None:
    assert Totals(tokens=1234, cost=0.0012).describe() == "1,234 tokens · $0.0012"
    assert Totals(tokens=1_234_567, cost=12.5).describe() == "1,234,567 tokens · $12.5000"
    assert Totals(tokens=7, cost=None).describe() == "7 tokens · cost unknown"


def test_totals_describe_what_a_session_spent() -> None:
    calls = [call(prompt=1000, completion=234, cost=0.0012)]
    assert totals(calls).describe() == "1,234 tokens · $0.0012"


# --- Budget.check ----------------------------------------------------------------------------------


def test_no_limits_never_raise() -> None:
    spent = [call(prompt=10**9, completion=10**9, cost=None)]
    Budget().check(spent, role="coder", prompt_chars=10**9, price=None)
    Budget(tokens=None, usd=None).check([], role="coder", prompt_chars=0, price=None)


def test_token_budget_before_a_roles_first_call_estimates_a_thousand_token_reply() -> None:
    spent = [call(prompt=400, completion=100)]  # 500 tokens spent
    # The prompt is 403 // 4 = 100 tokens; the planner has not replied yet, so 1,000 more.
    Budget(tokens=1600).check(spent, role="planner", prompt_chars=403, price=None)
    with pytest.raises(BudgetReached) as caught:
        Budget(tokens=1599).check(spent, role="planner", prompt_chars=403, price=None)
    message = str(caught.value)
    assert "Token budget reached" in message
    assert "500 of 1,599 tokens spent" in message
    assert "next planner call would need about 1,100" in message


def test_token_budget_estimates_the_largest_reply_this_role_gave() -> None:
    spent = [
        call("coder", prompt=1000, completion=300),
        call("coder", version=2, prompt=1000, completion=700),
        call("coder", version=3, prompt=1000, completion=200),
    ]  # 4,200 tokens spent; the coder's largest reply was 700
    Budget(tokens=4200 + 250 + 700).check(spent, role="coder", prompt_chars=1000, price=None)
    with pytest.raises(BudgetReached) as caught:
        Budget(tokens=4200 + 250 + 700 - 1).check(spent, role="coder", prompt_chars=1000, price=None)
    message = str(caught.value)
    assert "4,200 of 5,149 tokens spent" in message
    assert "next coder call would need about 950" in message


def test_another_roles_large_replies_do_not_count_in_the_estimate() -> None:
    spent = [
        call("reviewer", prompt=200, completion=5000),
        call("coder", prompt=100, completion=300),
    ]  # 5,600 tokens spent
    # The coder's estimate is 100 (prompt) + 300 (its own largest reply), not 5,000 or 1,000.
    Budget(tokens=6000).check(spent, role="coder", prompt_chars=400, price=None)
    with pytest.raises(BudgetReached, match=r"5,600 of 5,999 tokens spent.*next coder call.*about 400\."):
        Budget(tokens=5999).check(spent, role="coder", prompt_chars=400, price=None)


def test_cached_calls_do_not_count_toward_the_tokens_spent() -> None:
    spent = [
        call("coder", prompt=100, completion=100),
        call("reviewer", prompt=50_000, completion=50_000, cached=True),
    ]
    # 200 tokens spent (the cached call adds none) + 0 prompt + the coder's largest reply, 100.
    Budget(tokens=300).check(spent, role="coder", prompt_chars=0, price=None)
    with pytest.raises(BudgetReached, match=r"200 of 299 tokens spent.*about 100\."):
        Budget(tokens=299).check(spent, role="coder", prompt_chars=0, price=None)


def test_usd_budget_cannot_be_kept_without_the_models_price() -> None:
    with pytest.raises(BudgetReached) as caught:
        Budget(usd=100.0).check([], role="coder", prompt_chars=0, price=None)
    message = str(caught.value)
    assert UNKNOWN_PRICE in message
    assert '"price"' in message and "OAI_CONFIG_LIST" in message and "--budget-tokens" in message


def test_usd_budget_cannot_be_kept_when_a_spent_call_has_unknown_cost() -> None:
    spent = [call(prompt=1, completion=1, cost=0.0), call("tester", model="local", cost=None)]
    with pytest.raises(BudgetReached, match=UNKNOWN_PRICE):
        Budget(usd=100.0).check(spent, role="coder", prompt_chars=0, price=(0.5, 1.0))


def test_a_cached_call_of_unknown_cost_does_not_stop_a_usd_budget() -> None:
    spent = [call(prompt=10, completion=10, cost=None, cached=True)]
    Budget(usd=100.0).check(spent, role="coder", prompt_chars=0, price=(0.5, 1.0))


def test_usd_budget_boundary_with_a_known_price() -> None:
    price = (0.5, 1.0)  # USD per 1,000 prompt / completion tokens
    spent = [call("planner", prompt=100, completion=100, cost=0.25)]
    # Next coder call: 4,000 chars = 1,000 prompt tokens ($0.50) + 1,000 completion ($1.00) = $1.50.
    Budget(usd=1.75).check(spent, role="coder", prompt_chars=4000, price=price)
    with pytest.raises(BudgetReached) as caught:
        Budget(usd=1.7499).check(spent, role="coder", prompt_chars=4000, price=price)
    message = str(caught.value)
    assert "USD budget reached" in message
    assert "$0.2500 of $1.7499 spent" in message
    assert "next coder call would cost about $1.5000" in message


def test_cached_calls_do_not_count_toward_the_usd_spent() -> None:
    price = (0.5, 2.5)
    spent = [
        call("coder", prompt=100, completion=100, cost=0.25),
        call("reviewer", prompt=9, completion=9, cost=50.0, cached=True),
    ]
    # $0.25 spent; the next coder call: an empty prompt + its largest reply, 100 tokens ($0.25).
    Budget(usd=0.5).check(spent, role="coder", prompt_chars=0, price=price)
    with pytest.raises(BudgetReached, match=r"\$0\.2500 of \$0\.4999 spent.*about \$0\.2500"):
        Budget(usd=0.4999).check(spent, role="coder", prompt_chars=0, price=price)


def test_token_and_usd_limits_together_each_apply() -> None:
    spent = [call(prompt=500, completion=500, cost=0.5)]
    price = (0.5, 1.0)
    Budget(tokens=2000, usd=1.0).check(spent, role="coder", prompt_chars=0, price=price)
    with pytest.raises(BudgetReached, match="Token budget"):
        Budget(tokens=1499, usd=100.0).check(spent, role="coder", prompt_chars=0, price=price)
    with pytest.raises(BudgetReached, match="USD budget reached"):
        Budget(tokens=10_000, usd=0.99).check(spent, role="coder", prompt_chars=0, price=price)


# --- CallRecord.from_json ----------------------------------------------------------------------------


def test_a_call_record_round_trips_through_json() -> None:
    record = call(
        "reviewer", version=3, prompt=1234, completion=56, seconds=2.5, cost=0.0012, finish_reason="stop"
    )
    assert CallRecord.from_json(record.to_json()) == record
    assert CallRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    cached = call(cost=None, cached=True)
    assert CallRecord.from_json(json.loads(json.dumps(cached.to_json()))) == cached


def test_the_record_holds_no_more_than_its_fields() -> None:
    assert set(call().to_json()) == {
        "role",
        "version",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "seconds",
        "cost_usd",
        "cached",
        "finish_reason",
        "cached_tokens",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "1"),
        ("version", -1),
        ("version", 1.5),
        ("prompt_tokens", -5),
        ("completion_tokens", True),
        ("prompt_tokens", False),
        ("prompt_tokens", "100"),
        ("role", ["coder"]),
        ("role", 7),
        ("model", {"name": "gpt-4o"}),
        ("seconds", "fast"),
        ("seconds", -0.5),
        ("seconds", True),
        ("cost_usd", "0.01"),
        ("cost_usd", -1.0),
        ("finish_reason", 3),
        ("cached_tokens", -1),
        ("cached_tokens", "12"),
        # Hostile values of an edited session.json (Python's JSON reader takes NaN and Infinity).
        ("seconds", float("nan")),
        ("cost_usd", float("inf")),
        ("prompt_tokens", 10**30),
        ("model", "m" * 1_000_000),
        ("role", "cod\0er"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused(field: str, value: Any) -> None:
    data = call(prompt=10, completion=5, seconds=1.0, cost=0.1).to_json()
    data[field] = value
    with pytest.raises(ValueError):
        CallRecord.from_json(data)


@pytest.mark.parametrize("data", [None, [], "a call", 3])
def test_a_record_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(ValueError, match="must be an object"):
        CallRecord.from_json(data)


def test_a_lone_surrogate_in_a_record_is_replaced() -> None:
    data = {**call(prompt=10, completion=5).to_json(), "model": "gpt\ud800"}
    assert CallRecord.from_json(data).model == "gpt\ufffd"


def test_missing_optional_fields_get_their_defaults() -> None:
    data = {
        "role": "coder",
        "version": 2,
        "model": "gpt-4o",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "seconds": 1,
    }
    record = CallRecord.from_json(data)
    assert record == call(version=2, model="gpt-4o", prompt=10, completion=5, seconds=1.0, cost=None)
    assert record.cost_usd is None
    assert record.cached is False
    assert record.finish_reason is None
    assert isinstance(record.seconds, float)


def test_only_a_true_cached_flag_counts() -> None:
    data = call(prompt=10, completion=5).to_json()
    data["cached"] = "yes"
    assert CallRecord.from_json(data).cached is False
    data["cached"] = True
    assert CallRecord.from_json(data).cached is True


def test_a_cached_record_has_no_tokens() -> None:
    assert call(prompt=10, completion=5).tokens == 15
    assert call(prompt=10, completion=5, cached=True).tokens == 0


def test_cached_prompt_tokens_cost_the_cached_rate_and_the_prompt_rate_without_one() -> None:
    with_rate = cost_of(2000, 100, (0.002, 0.008, 0.0005), cached_tokens=1024)
    assert with_rate == pytest.approx(976 / 1000 * 0.002 + 1024 / 1000 * 0.0005 + 100 / 1000 * 0.008)
    assert cost_of(2000, 100, (0.002, 0.008), cached_tokens=1024) == cost_of(2000, 100, (0.002, 0.008))
    assert cost_of(10, 0, (0.002, 0.008, 0.0005), cached_tokens=50) == pytest.approx(10 / 1000 * 0.0005)


def test_totals_and_the_summary_line_count_cached_prompt_tokens() -> None:
    records = [
        replace(call(prompt=2000, completion=100, cost=0.001), cached_tokens=1536),
        call(prompt=500, completion=50, cost=0.002),
    ]
    spent = totals(records)
    assert (spent.prompt_tokens, spent.cached_tokens) == (2500, 1536)
    assert spent.describe() == "2,650 tokens (1,536 cached prompt tokens) · $0.0030"
