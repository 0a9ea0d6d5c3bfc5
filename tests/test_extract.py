"""Unit tests for iterative_coder.extract."""

import ast

import pytest

from iterative_coder.extract import (
    ExtractedCode,
    extract_code,
    fences,
    unparsed_lines,
    without_thinking,
    words_after_code,
    words_line,
)

F = "```"


def fenced(body: str, info: str = "python") -> str:
    return f"{F}{info}\n{body}\n{F}"


def test_prose_before_and_after_fence() -> None:
    reply = "Here is the script:\n\n" + fenced("x = 1\nprint(x)") + "\n\nRun it with `python main.py`."
    result = extract_code(reply)
    assert result == ExtractedCode("x = 1\nprint(x)\n", 1, None, None)


@pytest.mark.parametrize("info", ["python", "py", "python3", "", "Python", "PY  ", "python   "])
def test_accepted_fence_info_strings(info: str) -> None:
    result = extract_code("Text\n" + fenced("print('hi')", info) + "\nmore text")
    assert result.code == "print('hi')\n"
    assert result.blocks == 1
    assert result.syntax_error is None


def test_tilde_fence() -> None:
    result = extract_code("~~~python\nprint(1)\n~~~\n")
    assert result.code == "print(1)\n"


def test_longest_parsing_block_wins() -> None:
    short = "a = 1"
    long = "def f():\n    return 2\n\n\nprint(f())"
    result = extract_code(f"First:\n{fenced(short)}\nThen:\n{fenced(long, 'py')}\nDone.")
    assert result.code == long + "\n"
    assert result.blocks == 2
    assert result.syntax_error is None
    assert result.note == "The reply had 2 code blocks; took block 2 (3 lines), the longest that parses."


def test_longer_non_parsing_block_is_skipped() -> None:
    broken = "def f(:\n    pass\n    pass\n    pass\n    pass"
    good = "def g():\n    return 1"
    result = extract_code(fenced("x = 1") + "\n" + fenced(broken) + "\n" + fenced(good))
    assert result.code == good + "\n"
    assert result.blocks == 3
    assert result.syntax_error is None
    assert "took block 3 (2 lines), the longest that parses" in result.note
    assert "skipped the longer block 2, which does not parse" in result.note


def test_no_block_parses_takes_longest_with_error() -> None:
    result = extract_code(fenced("x = (") + "\n" + fenced("a = 1\nb = 2\nc = = 3"))
    assert result.code == "a = 1\nb = 2\nc = = 3\n"
    assert result.syntax_error is not None and result.syntax_error.startswith("line 3: ")
    assert "none parses" in result.note and "does not parse (line 3: " in result.note


def test_bash_block_next_to_python_block_is_ignored() -> None:
    bash = "pip install requests && python main.py --with-many-options --and-more\necho done\nls\nexit 0"
    reply = f"Install:\n{fenced(bash, 'bash')}\nCode:\n{fenced('import sys', 'python')}\n"
    reply += fenced('{"a": 1}', "json") + "\n" + fenced("hello", "output")
    result = extract_code(reply)
    assert result == ExtractedCode("import sys\n", 1, None, None)


def test_backticks_mid_line_do_not_close_block() -> None:
    code = 's = "```"\nlang = "py"\nmd = f"```{lang}"\nprint(s, md)'
    result = extract_code(fenced(code))
    assert result.code == code + "\n"
    assert result.syntax_error is None


def test_backticks_inside_triple_quoted_string_line() -> None:
    code = 'HELP = """\nWrap code like ```python and close with ``` please.\nEnd ```\n"""\nprint(HELP)'
    result = extract_code("Sure:\n" + fenced(code) + "\nThat's it.")
    assert result.code == code + "\n"
    assert result.syntax_error is None
    assert result.blocks == 1


def test_no_fence_but_valid_code() -> None:
    result = extract_code("\n\nimport os\n\nprint(os.getcwd())\n\n\n")
    assert result.code == "import os\n\nprint(os.getcwd())\n"
    assert result.blocks == 0
    assert result.note == "The reply had no code fence; used the whole reply, which is valid Python."


@pytest.mark.parametrize("reply", ["Sure! I will do that.", "Done", "42", "", "   \n", "Here: ```x = 1```"])
def test_no_fence_and_prose_is_no_code(reply: str) -> None:
    assert extract_code(reply) == ExtractedCode(None, 0, None, "The reply held no Python code.")


def test_single_non_parsing_block_returned_with_error() -> None:
    result = extract_code(fenced("x = 1\ny = 2\nif x\n    print(y)"))
    assert result.code == "x = 1\ny = 2\nif x\n    print(y)\n"
    assert result.syntax_error is not None and result.syntax_error.startswith("line 3: ")
    assert result.note is not None and "does not parse" in result.note


def test_unclosed_fence_takes_text_to_end() -> None:
    result = extract_code("Here you go:\n```python\nimport math\nprint(math.pi)\n")
    assert result.code == "import math\nprint(math.pi)\n"
    assert result.syntax_error is None
    assert result.note is not None and "cut off" in result.note


@pytest.mark.parametrize("reply", [f"{F}python\n{F}", f"Nothing:\n{F}\n\n   \n{F}\nbye", f"{F}py\n"])
def test_empty_block_is_no_code(reply: str) -> None:
    result = extract_code(reply)
    assert result.code is None
    assert result.blocks == 0


def test_output_ends_with_exactly_one_newline_and_keeps_indentation() -> None:
    result = extract_code(f"{F}python\n\n\n    \nclass A:\n    x = 1\n\n\n\n{F}")
    assert result.code == "class A:\n    x = 1\n"
    assert result.code.endswith("\n") and not result.code.endswith("\n\n")


def test_indented_fence_dedents_only_when_uniform() -> None:
    uniform = extract_code("1. Step:\n  ```python\n  def f():\n      return 1\n  ```\n")
    assert uniform.code == "def f():\n    return 1\n"
    ragged = extract_code("  ```python\n  x = 1\nif x:\n    pass\n  ```\n")
    assert ragged.code == "  x = 1\nif x:\n    pass\n"


def test_crlf_line_endings() -> None:
    result = extract_code("Text\r\n```python\r\nx = 1\r\nprint(x)\r\n```\r\n")
    assert result.code == "x = 1\nprint(x)\n"
    ast.parse(result.code)


def test_words_after_code_are_the_text_after_the_last_closed_fence() -> None:
    reply = (
        "Before.\n"
        + fenced("x = 1")
        + "\nBetween.\n"
        + fenced("y = 2")
        + "\n\n  Note: test_x contradicts 3.\n"
    )
    assert words_after_code(reply) == "Note: test_x contradicts 3."
    assert words_after_code(fenced("x = 1")) is None  # nothing after the code
    assert words_after_code("No code at all.") is None
    assert words_after_code("```python\nx = 1\nstill code, cut off") is None  # no closing fence


def test_words_line_is_one_short_line_with_who_said_it() -> None:
    reply = fenced("x = 1") + "\nNote: `test_req4` feeds 150,\nwhich contradicts requirement 6."
    assert (
        words_line(reply, "Coder") == "Coder: Note: `test_req4` feeds 150, which contradicts requirement 6."
    )
    long = words_line(fenced("x = 1") + "\n" + "word " * 100, "Tester")
    assert long is not None and long.startswith("Tester: word word") and long.endswith("…")
    assert len(long) <= len("Tester: ") + 200
    assert words_line(fenced("x = 1"), "Coder") is None


def test_fences_of_every_language_are_found_with_their_lines() -> None:
    reply = "Intro\n```diff\n-a\n+b\n```\n~~~python\nx = 1\n~~~\n```\n\n```"
    found = fences(reply)
    assert [(f.info, f.code, f.closed, f.start, f.end) for f in found] == [
        ("diff", "-a\n+b\n", True, 1, 5),
        ("python", "x = 1\n", True, 5, 8),
        ("", None, True, 8, 11),
    ]


def test_the_text_outside_python_code_keeps_its_line_numbers() -> None:
    reply = "before\n" + fenced("x = 1") + "\n" + fenced("<<<<<<< SEARCH", "") + "\nafter"
    lines = unparsed_lines(reply)
    assert lines == [
        "before",
        "",
        "",
        "",
        "```",
        "<<<<<<< SEARCH",
        "```",
        "after",
    ]  # code that parses is blanked
    assert unparsed_lines(reply, every_fence=True) == ["before", *[""] * 6, "after"]
    assert without_thinking("<think>plan: x = 2</think>" + fenced("x = 1")) == fenced("x = 1")
