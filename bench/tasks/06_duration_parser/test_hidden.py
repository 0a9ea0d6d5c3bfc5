import pytest
import script


def test_single_units():
    assert script.parse_duration("45s") == 45
    assert script.parse_duration("2m") == 120
    assert script.parse_duration("3h") == 10800
    assert script.parse_duration("1d") == 86400


def test_combined_parts():
    assert script.parse_duration("1h30m") == 5400
    assert script.parse_duration("1d2h3m4s") == 93784


def test_spaces_and_any_order():
    assert script.parse_duration("2d 4h") == 187200
    assert script.parse_duration("  10s 1m  ") == 70
    assert script.parse_duration("5m 1h") == 3900


def test_zero_values_and_result_type():
    result = script.parse_duration("0h0m")
    assert result == 0
    assert isinstance(result, int)


def test_malformed_input_raises():
    for text in ["", "   ", "10", "h", "5x", "1h30", "1.5h", "-5s", "abc"]:
        with pytest.raises(ValueError):
            script.parse_duration(text)


def test_repeated_unit_raises():
    for text in ["1h1h", "2m 3m", "1s2m3s"]:
        with pytest.raises(ValueError):
            script.parse_duration(text)


def test_format_basic():
    assert script.format_duration(59) == "59s"
    assert script.format_duration(60) == "1m"
    assert script.format_duration(5400) == "1h30m"
    assert script.format_duration(93784) == "1d2h3m4s"


def test_format_omits_zero_parts():
    assert script.format_duration(86400 + 5) == "1d5s"
    assert script.format_duration(7200) == "2h"


def test_format_zero_and_negative():
    assert script.format_duration(0) == "0s"
    with pytest.raises(ValueError):
        script.format_duration(-1)


def test_round_trip():
    for seconds in (1, 61, 3599, 3600, 90061, 1000000):
        assert script.parse_duration(script.format_duration(seconds)) == seconds
