import pytest
import script


def test_overlapping_merge():
    assert script.merge_intervals([(1, 3), (2, 6), (8, 10), (15, 18)]) == [(1, 6), (8, 10), (15, 18)]


def test_unsorted_input_is_sorted():
    assert script.merge_intervals([(15, 18), (8, 10), (2, 6), (1, 3)]) == [(1, 6), (8, 10), (15, 18)]


def test_touching_intervals_merge():
    assert script.merge_intervals([(1, 3), (3, 5), (6, 7)]) == [(1, 5), (6, 7)]


def test_contained_interval():
    assert script.merge_intervals([(1, 10), (2, 3), (4, 8)]) == [(1, 10)]


def test_lists_accepted_and_tuples_returned():
    result = script.merge_intervals([[5, 6], [1, 2]])
    assert result == [(1, 2), (5, 6)]
    assert all(isinstance(item, tuple) for item in result)


def test_empty_and_zero_length():
    assert script.merge_intervals([]) == []
    assert script.merge_intervals([(4, 4)]) == [(4, 4)]
    assert script.merge_intervals([(1, 4), (4, 4)]) == [(1, 4)]


def test_input_not_modified():
    data = [(5, 8), (1, 2), (2, 4)]
    copy = list(data)
    script.merge_intervals(data)
    assert data == copy


def test_invalid_interval_raises():
    with pytest.raises(ValueError):
        script.merge_intervals([(1, 2), (5, 3)])


def test_total_covered():
    assert script.total_covered([(1, 3), (2, 6), (8, 10)]) == 7
    assert script.total_covered([]) == 0
    assert script.total_covered([(0, 5), (0, 5), (1, 2)]) == 5
    assert script.total_covered([(0.5, 1.5), (1.0, 2.0)]) == pytest.approx(1.5)
