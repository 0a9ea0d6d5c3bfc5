import pytest
import script


def test_put_and_get():
    cache = script.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    assert cache.get("b") == 2


def test_missing_key_returns_default():
    cache = script.LRUCache(2)
    assert cache.get("nope") is None
    assert cache.get("nope", 42) == 42


def test_evicts_least_recently_used():
    cache = script.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert "a" not in cache
    assert cache.get("a") is None
    assert cache.get("b") == 2
    assert cache.get("c") == 3


def test_get_refreshes_recency():
    cache = script.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert "a" in cache
    assert "b" not in cache
    assert cache.keys() == ["a", "c"]


def test_put_existing_updates_without_eviction():
    cache = script.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    assert len(cache) == 2
    assert cache.keys() == ["b", "a"]
    cache.put("c", 3)
    assert cache.get("a") == 10
    assert "b" not in cache


def test_contains_does_not_refresh():
    cache = script.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert "a" in cache
    cache.put("c", 3)
    assert "a" not in cache
    assert cache.keys() == ["b", "c"]


def test_len_and_keys_order():
    cache = script.LRUCache(3)
    assert len(cache) == 0
    assert cache.keys() == []
    for i, key in enumerate("xyzw"):
        cache.put(key, i)
    assert len(cache) == 3
    assert cache.keys() == ["y", "z", "w"]
    cache.get("y")
    assert cache.keys() == ["z", "w", "y"]


def test_capacity_one():
    cache = script.LRUCache(1)
    cache.put(1, "one")
    cache.put(2, "two")
    assert cache.keys() == [2]
    assert cache.get(1) is None
    assert cache.get(2) == "two"


def test_invalid_capacity():
    with pytest.raises(ValueError):
        script.LRUCache(0)
    with pytest.raises(ValueError):
        script.LRUCache(-3)


def test_missing_get_does_not_change_order():
    cache = script.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("zzz")
    assert cache.keys() == ["a", "b"]
