"""Parse and format durations such as "1h30m" or "2d 4h"."""

import re
import sys

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
PART_RE = re.compile(r"\s*(\d+)([a-zA-Z])")


def parse_duration(text):
    """Return the total number of seconds in a duration string."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty duration")
    total = 0
    seen = set()
    pos = 0
    while pos < len(stripped):
        match = PART_RE.match(stripped, pos)
        if not match:
            raise ValueError(f"invalid duration near {stripped[pos:]!r}")
        number, unit = match.groups()
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}")
        if unit in seen:
            raise ValueError(f"unit {unit!r} given twice")
        seen.add(unit)
        total += int(number) * UNITS[unit]
        pos = match.end()
    return total


def format_duration(seconds):
    """Format seconds as e.g. "1h1m40s" (largest unit first, zero parts omitted)."""
    if seconds < 0:
        raise ValueError("negative duration")
    if seconds == 0:
        return "0s"
    parts = []
    remaining = seconds
    for unit, size in UNITS.items():
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        seconds = parse_duration(" ".join(argv))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{seconds} seconds ({format_duration(seconds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
