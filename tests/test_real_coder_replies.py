"""Coder replies shaped the way real models write them (tests/replies/coder/): each one is saved as the
whole script or refused with the expected reason, and the words after its code are found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drive import run_main
from fake_openai import FakeOpenAIServer
from scripted import DIFF, LAZY, PLAN_1, TESTS, good_script, review, script

from iterative_coder.extract import parse_python, words_after_code
from iterative_coder.fragments import Context, judge_reply, placeholder_in

CASES = sorted((Path(__file__).parent / "replies" / "coder").glob("*.json"))


def case(path: Path) -> tuple[str, dict, str | None]:
    """The reply, what it should give, and the script it revises (``"previous"``: a file in previous/)."""
    expected = json.loads(path.read_text())
    text = path.with_suffix(".txt").read_text(encoding="utf-8")
    previous = path.parent / "previous" / expected["previous"] if expected.get("previous") else None
    return text, expected, previous.read_text() if previous else None


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_each_real_reply_is_saved_whole_or_refused_for_its_reason(path: Path) -> None:
    reply, expected, previous = case(path)
    extracted, refusal = judge_reply(reply, Context(previous))
    assert (refusal.reason if refusal else None) == expected["reason"]
    assert (refusal is None) == expected["accept"]
    if expected["accept"]:
        assert extracted.code is not None and parse_python(extracted.code)[1] is None
    else:
        assert refusal is not None and refusal.why.startswith(("it ", "ClockApp."))
    assert words_after_code(reply) == expected.get("note_after_code")


def test_the_corpus_holds_every_kind_of_refusal() -> None:
    reasons = {json.loads(path.read_text())["reason"] for path in CASES}
    assert reasons == {None, "placeholder", "diff", "edit_blocks", "dropped_definitions", "no_code"}


def test_the_reasons_name_what_was_wrong() -> None:
    lazy, _, previous = case(CASES[1])
    assert judge_reply(lazy, Context(previous))[1].why == (  # type: ignore[union-attr]
        'it has the placeholder comment "# ... rest of the code unchanged ..." where code should be'
    )
    body, _, previous = case(CASES[3])
    assert judge_reply(body, Context(previous))[1].why == (  # type: ignore[union-attr]
        "ClockApp.draw_face has only a placeholder body where the previous version had code"
    )
    dropped, _, previous = case(CASES[9])
    assert judge_reply(dropped, Context(previous))[1].why == (  # type: ignore[union-attr]
        "it leaves out add_task, list_tasks and remove_task, which the previous version had and the plan, "
        "the tests or the script itself still use"
    )


PREVIOUS = """from abc import ABC, abstractmethod
from typing import Protocol


class Shape(Protocol):
    def area(self) -> float: ...


class Base:
    def describe(self):
        return "a shape"


class Square:
    def area(self) -> float:
        return 4.0


def total(shapes):
    return sum(shape.area() for shape in shapes)
"""


def test_a_real_ellipsis_in_a_protocol_or_abstract_method_is_code() -> None:
    revised = PREVIOUS.replace(
        "class Base:", "class Base(ABC):\n    @abstractmethod\n    def size(self): ...\n"
    )
    revised = revised.replace(
        'def describe(self):\n        return "a shape"',
        "@abstractmethod\n    def describe(self):\n        ...",
    )
    assert placeholder_in(PREVIOUS, PREVIOUS) is None
    assert placeholder_in(revised, PREVIOUS) is None
    lazy = PREVIOUS.replace("return 4.0", "...")
    assert placeholder_in(lazy, PREVIOUS).why == (  # type: ignore[union-attr]
        "Square.area has only a placeholder body where the previous version had code"
    )


@pytest.mark.parametrize(
    "comment",
    ["# rest of the code", "# ... existing code ...", "# (unchanged)", "# other methods stay the same"],
)
def test_placeholder_comments_are_refused(comment: str) -> None:
    assert placeholder_in(f"import sys\n{comment}\n\ndef main():\n    pass\n", None) is not None


@pytest.mark.parametrize(
    "comment",
    ["# the file is left unchanged on error", "# same as above, for stderr", "# read the rest of the file"],
)
def test_ordinary_comments_are_not_placeholders(comment: str) -> None:
    assert placeholder_in(f"import sys\n{comment}\n\ndef main():\n    pass\n", None) is None


def test_a_placeholder_comment_the_previous_version_had_too_is_not_held_against_this_one() -> None:
    code = "# same as before\nx = 1\n"
    assert placeholder_in(code, None) is not None
    assert placeholder_in(code, "# same as before\nx = 0\n") is None


def test_dropped_definitions_count_only_when_the_plan_or_the_tests_use_them() -> None:
    previous = "def helper():\n    return 1\n\n\ndef count_words(text):\n    return len(text.split())\n"
    revised = "def count_words(text):\n    return len(text.split())\n"
    assert judge_reply(f"```python\n{revised}```", Context(previous))[1] is None
    plan = Context(previous, plan="1. `helper()` returns one.")
    assert judge_reply(f"```python\n{revised}```", plan)[1].reason == "dropped_definitions"  # type: ignore[union-attr]
    tests = Context(previous, tests="import script\n\ndef test_x():\n    assert script.helper() == 1\n")
    assert judge_reply(f"```python\n{revised}```", tests)[1].reason == "dropped_definitions"  # type: ignore[union-attr]
    moved = revised + "\nfrom functools import partial as helper\n"
    assert judge_reply(f"```python\n{moved}```", tests)[1] is None  # still bound at the top level


def test_a_whole_script_that_quotes_a_diff_or_edit_markers_in_a_string_is_whole() -> None:
    markers = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE\n"
    code = f'HELP = """\n{markers}"""\nprint(HELP)\n'
    extracted, refusal = judge_reply(f"```python\n{code}```", Context())
    assert refusal is None and extracted.code == code


def test_fragments_never_become_a_version_and_the_same_script_approved_is_accepted(
    fake_server: FakeOpenAIServer, tmp_path: Path, model_env: dict[str, str]
) -> None:
    fake_server.enqueue("planner", PLAN_1)
    fake_server.enqueue("tester", TESTS)
    # v1; v2 lazy, then a diff, then whole; v3 the same as v2 twice.
    fake_server.enqueue("coder", script(1), LAZY, DIFF, good_script(2), good_script(2), good_script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"), review(3, "APPROVE"))
    args = ["--task", "count words", "--yes", "--execute", "always", "--workspace", "ws"]
    result = run_main(args, tmp_path, model_env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = result.stdout
    assert "The Coder's reply is not the whole script: it has the placeholder comment" in shown
    assert (
        "The Coder's reply is not the whole script: it is a diff, not the whole file; asking again (3/3)."
        in (shown)
    )
    assert "The Coder's script_v3.py is the same as script_v2.py apart from white space and comments" in shown
    assert "Coder: I kept it simple." in shown  # the Coder's words after its code

    ws = tmp_path / "ws"
    whole = good_script(2).split("```python\n")[1].split("```")[0]
    assert (ws / "script_v2.py").read_text() == whole == (ws / "script_v3.py").read_text()
    assert "tests 2/2 passed" in (ws / "run_v2.md").read_text()
    assert not (ws / "script_v4.py").exists()
    assert json.loads((ws / "session.json").read_text())["finished"] == {"version": 3, "reason": "accepted"}
    reviewer = fake_server.requests_for("reviewer")
    assert len(reviewer) == 3 and "# This version is unchanged" in reviewer[2].text
    assert len(fake_server.requests_for("coder")) == 6
    log = [json.loads(line) for line in (ws / "log.jsonl").read_text().splitlines()]
    assert [entry["reply"] for entry in log if entry["role"] == "coder"][1:3] == [LAZY, DIFF]
