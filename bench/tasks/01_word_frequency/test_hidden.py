import pytest
import script


def test_basic_counts_and_order():
    text = "apple banana apple cherry banana apple"
    assert script.top_words(text, 3) == [("apple", 3), ("banana", 2), ("cherry", 1)]


def test_limits_to_n():
    text = "a a a b b c"
    assert script.top_words(text, 2) == [("a", 3), ("b", 2)]


def test_case_insensitive_and_lowercased():
    text = "The the THE cat Cat"
    assert script.top_words(text, 5) == [("the", 3), ("cat", 2)]


def test_ties_broken_alphabetically():
    text = "pear fig kiwi fig pear kiwi"
    assert script.top_words(text, 3) == [("fig", 2), ("kiwi", 2), ("pear", 2)]


def test_punctuation_and_digits_separate_words():
    text = "hello,world! hello...abc123def; (world)"
    result = dict(script.top_words(text, 10))
    assert result == {"hello": 2, "world": 2, "abc": 1, "def": 1}


def test_apostrophe_inside_word():
    text = "Don't stop, don't! 'quoted'"
    result = dict(script.top_words(text, 10))
    assert result["don't"] == 2
    assert result["quoted"] == 1
    assert "'quoted'" not in result
    assert "don" not in result


def test_fewer_words_than_n():
    assert script.top_words("one two", 10) == [("one", 1), ("two", 1)]


def test_zero_and_empty():
    assert script.top_words("some words here", 0) == []
    assert script.top_words("", 5) == []
    assert script.top_words("123 ... !!!", 5) == []


def test_negative_n_raises():
    with pytest.raises(ValueError):
        script.top_words("a b c", -1)
