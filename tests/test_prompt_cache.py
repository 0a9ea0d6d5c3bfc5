"""Prompts laid out for the providers' prompt caches, and the cached tokens they report counted at
their price: the stable part of every Coder and Reviewer prompt (instructions, plan, acceptance
tests) comes first, byte for byte the same from version to version."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from drive import run_loop
from fake_openai import FakeOpenAIServer
from scripted import PLAN_1, review, script

from iterative_coder.accounting import KNOWN_PRICES, cost_of
from iterative_coder.config import ConfigError, resolve_model_entries
from iterative_coder.names import ACCEPTANCE, PLAN, TASK
from iterative_coder.prompt_cache import cached_tokens_of
from iterative_coder.status import history
from iterative_coder.workspace import Workspace

TESTS_FILE = (
    "import script\n\n\ndef test_req1_counts_words():\n    assert script.count_words('a b  c') == 3\n"
)
VERSIONS = 4


def _four_versions(server: FakeOpenAIServer, root: Path, stream: bool) -> None:
    workspace = Workspace(root)
    workspace.write(TASK, "count words\n")
    workspace.write(PLAN, PLAN_1.rsplit("\n\n", 1)[0] + "\n")
    workspace.write(ACCEPTANCE, TESTS_FILE)
    for version in range(1, VERSIONS + 1):
        server.enqueue("coder", script(version, extra=f"\n\ndef helper_{version}():\n    return {version}"))
        server.enqueue("reviewer", review(version, "REVISE"))
    outcome, version, _ui = run_loop(
        server, root, [], max_iterations=VERSIONS, interactive=False, stream=stream
    )
    assert version == VERSIONS, outcome


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "not streaming"])
def test_every_version_shares_a_prefix_holding_plan_and_tests_and_its_cached_tokens_are_priced(
    fake_server: FakeOpenAIServer, tmp_path: Path, stream: bool
) -> None:
    fake_server.prompt_cache = True
    _four_versions(fake_server, tmp_path, stream)
    plan, tests = (tmp_path / PLAN).read_text().strip(), TESTS_FILE.rstrip()
    for role in ("coder", "reviewer"):
        prompts = [request.text for request in fake_server.requests_for(role)]
        assert len(prompts) == VERSIONS
        shared = os.path.commonprefix(prompts)
        assert plan in shared and tests in shared, f"the {role}'s prompts diverge before plan and tests"
        assert "version 1" not in shared.lower(), "a version number sits inside the stable part"

    calls = json.loads((tmp_path / "session.json").read_text())["calls"]
    coder_calls = [call for call in calls if call["role"] == "coder"]
    assert coder_calls[0]["cached_tokens"] == 0  # nothing came before the first Coder prompt
    for call in coder_calls[1:]:
        assert call["cached_tokens"] > 0.5 * call["prompt_tokens"]
        prompt, completion, cached = call["prompt_tokens"], call["completion_tokens"], call["cached_tokens"]
        expected = cost_of(prompt, completion, KNOWN_PRICES["gpt-4o-mini"], cached)
        assert call["cost_usd"] == pytest.approx(expected, rel=1e-6)
        assert call["cost_usd"] < cost_of(prompt, completion, KNOWN_PRICES["gpt-4o-mini"])

    total = history(Workspace(tmp_path)).to_json()["total"]
    assert total["cached_tokens"] == sum(call["cached_tokens"] for call in calls) > 0
    assert total["prompt_tokens"] == sum(call["prompt_tokens"] for call in calls)


def test_a_server_that_reports_no_cached_tokens_records_none(fake_server, tmp_path: Path) -> None:
    _four_versions(fake_server, tmp_path, stream=True)
    calls = json.loads((tmp_path / "session.json").read_text())["calls"]
    assert {call["cached_tokens"] for call in calls} == {0}


def test_an_entry_may_give_the_price_of_cached_prompt_tokens_as_a_third_number(tmp_path: Path) -> None:
    def price(numbers: list[float]) -> object:
        listed = tmp_path / "OAI_CONFIG_LIST"
        listed.write_text(json.dumps([{"model": "m", "api_key": "k", "price": numbers}]))
        return resolve_model_entries(config_list_path=str(listed), model=None, env={}, cwd=tmp_path)[0].price

    assert price([0.002, 0.008, 0.0005]) == (0.002, 0.008, 0.0005)
    with pytest.raises(ConfigError, match="cached prompt tokens"):
        price([0.002, 0.008, 0.0005, 1])


def test_the_cached_figure_is_read_as_openai_vllm_and_deepseek_send_it() -> None:
    from openai.types import CompletionUsage

    openai_style = CompletionUsage.model_validate(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
        }
    )
    deepseek = CompletionUsage.model_validate(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_cache_hit_tokens": 1792,
        }
    )
    silent = CompletionUsage.model_validate({"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13})
    assert [cached_tokens_of(usage) for usage in (openai_style, deepseek, silent, None)] == [
        1920,
        1792,
        None,
        None,
    ]


FUNCTIONS = 16


def _program(changed: int) -> str:
    """A program of 16 small functions (about 100 lines); functions 1..``changed`` are revised."""
    parts = ['"""Unit conversions for a kitchen: each function converts one quantity."""\nimport sys\n']
    for n in range(1, FUNCTIONS + 1):
        body = f"    return round(value * {n}.5, 2)" if n <= changed else f"    return value * {n}.5"
        parts.append(
            f'def convert_{n}(value):\n    """Convert a quantity by factor {n}.5, for recipe {n}."""\n'
            f"    if value is None:\n        raise ValueError('convert_{n} needs a value')\n{body}\n"
        )
    parts.append("def main():\n    print(convert_1(float(sys.argv[1])))\n")
    parts.append('if __name__ == "__main__":\n    main()\n')
    return "\n\n".join(parts)


def _edit(version: int) -> str:
    """The Coder's reply for ``version``: version 1 whole, then one SEARCH/REPLACE block."""
    if version == 1:
        return f"```python\n{_program(0)}```\n\nSixteen small converters and main()."
    n = version - 1
    search, replace = f"    return value * {n}.5\n", f"    return round(value * {n}.5, 2)\n"
    block = f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"
    return f"```python\n{block}```\n\nconvert_{n} now rounds."


def _compact_review(version: int) -> str:
    """A compact review naming the next converter to round."""
    point = {
        "category": "robustness",
        "where": f"convert_{version}",
        "issue": f"convert_{version} must round.",
    }
    return json.dumps({"verdict": "REVISE", "points": [point]}, indent=2)


def test_the_coder_finds_most_of_its_prompt_in_what_the_reviewer_of_the_version_before_sent(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path)
    workspace.write(TASK, "kitchen unit conversions\n")
    requirements = "".join(f"{n}. `convert_{n}(value)` multiplies by {n}.5, to cents.\n" for n in range(1, 9))
    workspace.write(
        PLAN, f"# Kitchen units\n\n## Request\nConvert recipe quantities.\n\n## Requirements\n{requirements}"
    )
    tests = "".join(
        f"\n\ndef test_req{n}_convert_{n}():\n    assert script.convert_{n}(2) == {2 * (n + 0.5)}\n"
        for n in range(1, 9)
    )
    workspace.write(ACCEPTANCE, "import script" + tests)
    for version in range(1, 6):
        fake_server.enqueue("coder", _edit(version))
        fake_server.enqueue("reviewer", _compact_review(version))
    outcome, version, _ui = run_loop(
        fake_server, tmp_path, [], max_iterations=5, interactive=False, edit_format="diff"
    )
    assert version == 5, outcome
    requests = fake_server.requests
    coders = [index for index, request in enumerate(requests) if request.role == "coder"][1:]
    assert len(coders) == 4
    for index in coders:
        text = requests[index].text
        shared = max(len(os.path.commonprefix([text, earlier.text])) for earlier in requests[:index])
        assert shared >= 0.6 * len(text), (
            f"coder call {index}: {shared / len(text):.0%} found in an earlier request"
        )
        reviewer = requests[index - 1]
        assert reviewer.role == "reviewer"
        common = os.path.commonprefix([text, reviewer.text])
        script_before = (tmp_path / f"script_v{coders.index(index) + 1}.py").read_text().rstrip()
        assert script_before in common and "The script was not run" in common  # the script and its run
