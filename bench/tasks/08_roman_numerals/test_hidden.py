import pytest
import script


def test_to_roman_simple():
    assert script.to_roman(1) == "I"
    assert script.to_roman(3) == "III"
    assert script.to_roman(8) == "VIII"
    assert script.to_roman(27) == "XXVII"


def test_to_roman_subtractive():
    assert script.to_roman(4) == "IV"
    assert script.to_roman(9) == "IX"
    assert script.to_roman(40) == "XL"
    assert script.to_roman(90) == "XC"
    assert script.to_roman(400) == "CD"
    assert script.to_roman(900) == "CM"


def test_to_roman_larger_values():
    assert script.to_roman(1994) == "MCMXCIV"
    assert script.to_roman(2024) == "MMXXIV"
    assert script.to_roman(3999) == "MMMCMXCIX"


def test_to_roman_out_of_range():
    for n in (0, -1, 4000, 10000):
        with pytest.raises(ValueError):
            script.to_roman(n)


def test_from_roman_values():
    assert script.from_roman("XIV") == 14
    assert script.from_roman("MCMXCIV") == 1994
    assert script.from_roman("MMMCMXCIX") == 3999
    assert script.from_roman("I") == 1


def test_round_trip_all_values():
    for n in range(1, 4000):
        assert script.from_roman(script.to_roman(n)) == n


def test_from_roman_rejects_non_canonical():
    for s in ("IIII", "VV", "IC", "IL", "XM", "VX", "IIV", "MMMM", "CCCC", "XXL"):
        with pytest.raises(ValueError):
            script.from_roman(s)


def test_from_roman_rejects_garbage():
    for s in ("", "xiv", "ABC", "X I", "12", "MCMXCIV "):
        with pytest.raises(ValueError):
            script.from_roman(s)
