import pytest
import script

approx = pytest.approx


def test_metric_lengths():
    assert script.convert(1, "km", "m") == approx(1000)
    assert script.convert(250, "cm", "m") == approx(2.5)
    assert script.convert(3, "m", "mm") == approx(3000)


def test_imperial_lengths():
    assert script.convert(1, "ft", "in") == approx(12)
    assert script.convert(1, "yd", "ft") == approx(3)
    assert script.convert(1, "mi", "yd") == approx(1760)


def test_mixed_lengths():
    assert script.convert(1, "in", "cm") == approx(2.54)
    assert script.convert(1, "mi", "km") == approx(1.609344)
    assert script.convert(100, "m", "ft") == approx(328.0839895, rel=1e-9)


def test_masses():
    assert script.convert(1, "lb", "oz") == approx(16)
    assert script.convert(1, "kg", "g") == approx(1000)
    assert script.convert(1, "kg", "lb") == approx(2.2046226218, rel=1e-9)
    assert script.convert(8, "oz", "g") == approx(226.796185, rel=1e-9)


def test_temperatures():
    assert script.convert(100, "C", "F") == approx(212)
    assert script.convert(32, "F", "C") == approx(0, abs=1e-9)
    assert script.convert(0, "K", "C") == approx(-273.15)
    assert script.convert(-40, "F", "C") == approx(-40)
    assert script.convert(300, "K", "F") == approx(80.33, rel=1e-9)


def test_same_unit_and_float_result():
    result = script.convert(5, "kg", "kg")
    assert result == approx(5)
    assert isinstance(result, float)
    assert isinstance(script.convert(10, "C", "K"), float)


def test_round_trip():
    for value, a, b in [(12.5, "mi", "cm"), (3.3, "oz", "kg"), (-17.2, "F", "K")]:
        assert script.convert(script.convert(value, a, b), b, a) == approx(value)


def test_unknown_unit():
    for a, b in [("m", "parsec"), ("stone", "kg"), ("M", "km"), ("c", "F")]:
        with pytest.raises(ValueError):
            script.convert(1, a, b)


def test_incompatible_kinds():
    for a, b in [("m", "kg"), ("lb", "ft"), ("C", "m"), ("g", "K")]:
        with pytest.raises(ValueError):
            script.convert(1, a, b)
