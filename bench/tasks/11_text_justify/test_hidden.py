import pytest
import script


def test_classic_example():
    text = "This is an example of text justification."
    assert script.justify(text, 16) == [
        "This    is    an",
        "example  of text",
        "justification.  ",
    ]


def test_every_line_has_exact_width():
    text = "the quick brown fox jumps over the lazy dog " * 5
    for width in (10, 15, 23, 44):
        lines = script.justify(text, width)
        assert lines
        assert all(len(line) == width for line in lines)
        assert " ".join(" ".join(lines).split()) == " ".join(text.split())


def test_leftover_spaces_go_left():
    # first line "a bb cc": 5 spaces over 2 gaps -> 3 then 2
    lines = script.justify("a bb cc ddd", 10)
    assert lines[0] == "a   bb  cc"
    assert lines[1] == "ddd       "


def test_single_word_line_left_aligned():
    lines = script.justify("lengthy a b", 8)
    assert lines == ["lengthy ", "a b     "]


def test_last_line_single_spaces():
    lines = script.justify("aa bb cc dd ee", 8)
    assert lines == ["aa bb cc", "dd ee   "]


def test_greedy_exact_fit():
    assert script.justify("abc def", 7) == ["abc def"]
    assert script.justify("abc def", 6) == ["abc   ", "def   "]


def test_any_whitespace_splits_words():
    assert script.justify("  one\ttwo\n\nthree  ", 13) == ["one two three"]


def test_no_words():
    assert script.justify("", 10) == []
    assert script.justify("   \n\t ", 10) == []


def test_invalid_width_or_long_word():
    with pytest.raises(ValueError):
        script.justify("hello", 0)
    with pytest.raises(ValueError):
        script.justify("hello world", -5)
    with pytest.raises(ValueError):
        script.justify("tiny enormousword", 8)
