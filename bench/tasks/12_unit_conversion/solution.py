"""Convert lengths, masses and temperatures between units."""

import sys

LENGTH = {  # metres per unit
    "mm": 0.001,
    "cm": 0.01,
    "m": 1.0,
    "km": 1000.0,
    "in": 0.0254,
    "ft": 0.3048,
    "yd": 0.9144,
    "mi": 1609.344,
}
MASS = {  # kilograms per unit
    "g": 0.001,
    "kg": 1.0,
    "lb": 0.45359237,
    "oz": 0.45359237 / 16,
}
TEMPERATURE = {"C", "F", "K"}


def _to_kelvin(value, unit):
    if unit == "C":
        return value + 273.15
    if unit == "F":
        return (value - 32) * 5 / 9 + 273.15
    return value


def _from_kelvin(value, unit):
    if unit == "C":
        return value - 273.15
    if unit == "F":
        return (value - 273.15) * 9 / 5 + 32
    return value


def _kind(unit):
    if unit in LENGTH:
        return "length"
    if unit in MASS:
        return "mass"
    if unit in TEMPERATURE:
        return "temperature"
    raise ValueError(f"unknown unit {unit!r}")


def convert(value, from_unit, to_unit):
    """Convert value from from_unit to to_unit; ValueError for unknown or mismatched units."""
    kind_from, kind_to = _kind(from_unit), _kind(to_unit)
    if kind_from != kind_to:
        raise ValueError(f"cannot convert {kind_from} ({from_unit}) to {kind_to} ({to_unit})")
    if kind_from == "temperature":
        if from_unit == to_unit:
            return float(value)
        return float(_from_kelvin(_to_kelvin(value, from_unit), to_unit))
    table = LENGTH if kind_from == "length" else MASS
    return float(value * table[from_unit] / table[to_unit])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        print("usage: convert.py VALUE FROM_UNIT TO_UNIT", file=sys.stderr)
        return 2
    try:
        result = convert(float(argv[0]), argv[1], argv[2])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{result:g} {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
