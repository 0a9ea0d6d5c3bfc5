"""A realistic program of a chosen length, one-function fixes to it, and Coder replies that send a fix
as the whole file or as SEARCH/REPLACE blocks, shaped the way models write them (a sentence, a file
name line, a fenced block per edit, a closing sentence). Used by the edit-format tests and by
bench/edits.py.

The expected script after a fix is made here by plain string replacement, never by the tool's own
edit-block code, so a test compares the tool against an independent answer.
"""

from __future__ import annotations

from dataclasses import dataclass

ENTITIES = (
    "book", "author", "loan", "member", "shelf", "review", "branch", "fine", "event", "room",
    "device", "course", "ticket", "supplier", "invoice", "order", "parcel", "route", "driver", "permit",
)  # fmt: skip

HEADER = '''"""Library records: read, check and report the records of a small lending library.

Usage: python script.py FILE [--report]
"""

import csv
import json
import sys
from pathlib import Path

LIMIT = 10_000
'''

# The functions a kind of record brings, in the order a program of a given length takes them.
PARTS = (
    '''

def validate_{name}(record):
    """The problems of a {name} record, as sentences (empty when it is fine)."""
    problems = []
    if not record.get("title"):
        problems.append("{name} has no title")
    if record.get("count", 0) < 0:
        problems.append("{name} count is negative")
    return problems
''',
    '''

def parse_{name}(line):
    """Split one CSV line into a {name} record; None for a comment or a blank line."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    fields = next(csv.reader([text]))
    if len(fields) != 3:
        raise ValueError(f"{name}: expected 3 fields, got {{len(fields)}}")
    return {{"id": fields[0], "title": fields[1], "count": int(fields[2])}}
''',
    '''

def format_{name}(record):
    """One line of the report for a {name} record."""
    return f"{name:<10} {{record['id']:>6}}  {{record['title'][:40]:<40}} {{record['count']:>5}}"
''',
)

MAIN = '''

def load(path):
    """Every record in the file at path, parsed by its kind (the first field)."""
    records = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        kind, _, rest = line.partition(",")
        parser = PARSERS.get(kind.strip())
        if parser is None:
            continue
        record = parser(rest)
        if record is not None:
            records.append((kind.strip(), number, record))
    return records


PARSERS = {{{parsers}}}


def main(argv=None):
    """Check every record of the file named in argv; print a report with --report."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: script.py FILE [--report]", file=sys.stderr)
        return 2
    records = load(args[0])
    print(json.dumps({{"records": len(records)}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def program(lines: int) -> str:
    """A program of about ``lines`` lines: a header, functions for some kinds of record, and a main."""
    parts: list[tuple[str, int]] = []
    every = [(name, part) for name in ENTITIES for part in range(len(PARTS))]
    for more in every:
        if abs(_size([*parts, more]) - lines) > abs(_size(parts) - lines):
            break
        parts.append(more)
    return _assemble(parts)


def _assemble(parts: list[tuple[str, int]]) -> str:
    parsers = ", ".join(f'"{name}": parse_{name}' for name, part in parts if part == 1)
    body = "".join(PARTS[part].format(name=name) for name, part in parts)
    return HEADER + body + MAIN.format(parsers=parsers)


def _size(parts: list[tuple[str, int]]) -> int:
    return len(_assemble(parts).splitlines())


@dataclass(frozen=True)
class Fix:
    """A change to a script: ``old`` lines become ``new`` lines (each ends with a newline)."""

    old: str
    new: str

    def on(self, script: str) -> str:
        """The script with the fix made (it must occur exactly once)."""
        assert script.count(self.old) == 1, self.old
        return script.replace(self.old, self.new)


def count_fix(name: str) -> Fix:
    """A one-function fix: a {name} count above LIMIT is a problem too."""
    old = f'    if record.get("count", 0) < 0:\n        problems.append("{name} count is negative")\n'
    new = (
        old
        + f'    if record.get("count", 0) > LIMIT:\n        problems.append("{name} count is too large")\n'
    )
    return Fix(old, new)


def function_fix(name: str) -> Fix:
    """The fix of :func:`count_fix` sent the way many models send a one-function fix: the whole
    function in SEARCH, and the whole new function in REPLACE."""
    old = PARTS[0].format(name=name).lstrip("\n")
    return Fix(old, count_fix(name).on(old))


def title_fix(name: str) -> Fix:
    """A one-function fix: a title of white space only is no title."""
    old = f'    if not record.get("title"):\n        problems.append("{name} has no title")\n'
    new = f'    if not record.get("title", "").strip():\n        problems.append("{name} has no title")\n'
    return Fix(old, new)


def main_fix() -> Fix:
    """A fix to main: print every problem and exit 1 when there is any."""
    old = '    records = load(args[0])\n    print(json.dumps({"records": len(records)}))\n    return 0\n'
    new = (
        "    records = load(args[0])\n"
        "    problems = [\n"
        '        f"line {number}: {problem}"\n'
        "        for kind, number, record in records\n"
        "        for problem in CHECKS[kind](record)\n"
        "    ]\n"
        "    for problem in problems:\n"
        "        print(problem)\n"
        '    print(json.dumps({"records": len(records), "problems": len(problems)}))\n'
        "    return 1 if problems else 0\n"
    )
    return Fix(old, new)


def checks_fix(script: str) -> Fix:
    """A new table after PARSERS, for main_fix: the check of every kind the program parses."""
    names = [name for name in ENTITIES if f"def parse_{name}(" in script]
    parsers = ", ".join(f'"{name}": parse_{name}' for name in names)
    checks = ", ".join(f'"{name}": validate_{name}' for name in names)
    old = f"PARSERS = {{{parsers}}}\n"
    return Fix(old, old + f"CHECKS = {{{checks}}}\n")


def block(search: str, replace: str, file_line: str = "script.py\n") -> str:
    """One SEARCH/REPLACE block as Aider's examples write it: the file name, then a fence."""
    return f"{file_line}```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def edits_reply(*fixes: Fix, before: str = "", after: str = "") -> str:
    """A reply sending ``fixes`` as SEARCH/REPLACE blocks, with the usual sentences around them."""
    before = before or "Here are the changes the review asks for.\n\n"
    after = after or "\nThe checks now cover what the review pointed out."
    return before + "\n".join(block(fix.old, fix.new) for fix in fixes) + after


def whole_reply(script: str) -> str:
    """A reply sending the whole script, with the usual sentences around it."""
    return f"Here is the whole updated script.\n\n```python\n{script}```\n\nIt now does what the review asks."


def indented(text: str, spaces: int) -> str:
    """Every non-blank line of ``text`` moved left (negative) or right by ``spaces``."""
    lines = text.splitlines(keepends=True)
    if spaces >= 0:
        return "".join(" " * spaces + line if line.strip() else line for line in lines)
    return "".join(line[-spaces:] if line.strip() else line for line in lines)
