# Not checked automatically: none.
import script


def test_req1_counts_words():
    assert script.count_words("a b  c") == 3


def test_req2_counts_lines():
    assert script.count_lines("a\nb\n") == 2
