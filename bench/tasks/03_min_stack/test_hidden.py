import pytest
import script


def test_lifo_order():
    s = script.MinStack()
    for x in (1, 2, 3):
        s.push(x)
    assert s.pop() == 3
    assert s.pop() == 2
    assert s.pop() == 1


def test_peek_does_not_remove():
    s = script.MinStack()
    s.push(10)
    s.push(20)
    assert s.peek() == 20
    assert s.peek() == 20
    assert len(s) == 2


def test_min_tracks_pushes_and_pops():
    s = script.MinStack()
    s.push(5)
    assert s.get_min() == 5
    s.push(7)
    assert s.get_min() == 5
    s.push(2)
    assert s.get_min() == 2
    s.push(9)
    assert s.get_min() == 2
    s.pop()
    assert s.get_min() == 2
    s.pop()
    assert s.get_min() == 5


def test_duplicate_minimums():
    s = script.MinStack()
    for x in (3, 1, 4, 1):
        s.push(x)
    assert s.get_min() == 1
    s.pop()
    assert s.get_min() == 1
    s.pop()
    assert s.get_min() == 1
    s.pop()
    assert s.get_min() == 3


def test_len_and_is_empty():
    s = script.MinStack()
    assert len(s) == 0
    assert s.is_empty()
    s.push(1)
    s.push(1)
    assert len(s) == 2
    assert not s.is_empty()
    s.pop()
    s.pop()
    assert s.is_empty()


@pytest.mark.parametrize("method", ["pop", "peek", "get_min"])
def test_empty_raises_index_error(method):
    s = script.MinStack()
    with pytest.raises(IndexError):
        getattr(s, method)()


def test_empty_again_after_use_raises():
    s = script.MinStack()
    s.push(4)
    s.pop()
    with pytest.raises(IndexError):
        s.get_min()
    with pytest.raises(IndexError):
        s.pop()


def test_many_items():
    s = script.MinStack()
    values = [(i * 7919) % 1009 - i // 2 for i in range(1, 2001)]
    for v in values:
        s.push(v)
    prefix_mins = []
    for v in values:
        prefix_mins.append(v if not prefix_mins else min(v, prefix_mins[-1]))
    for i in range(len(values), 0, -1):
        assert s.get_min() == prefix_mins[i - 1]
        assert s.pop() == values[i - 1]
