"""Parse a small INI-like configuration format into nested dicts."""

import sys


def parse_config(text):
    """Return {section: {key: value}} parsed from text; ValueError with line number on errors."""
    config = {}
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip()
            if not name:
                raise ValueError(f"line {number}: empty section name")
            current = config.setdefault(name, {})
            continue
        if "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            if not key:
                raise ValueError(f"line {number}: empty key")
            if current is None:
                raise ValueError(f"line {number}: key {key!r} outside any section")
            current[key] = value
            continue
        raise ValueError(f"line {number}: cannot parse {raw!r}")
    return config


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = open(argv[0], encoding="utf-8").read() if argv else sys.stdin.read()
    try:
        config = parse_config(text)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for section, values in config.items():
        print(f"[{section}]")
        for key, value in values.items():
            print(f"  {key} = {value!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
