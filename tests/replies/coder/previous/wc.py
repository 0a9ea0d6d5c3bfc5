"""pywc: count lines, words and characters, like a small wc."""

import argparse
import sys


def count_text(text):
    """Return (lines, words, chars) for a string."""
    lines = text.count("\n")
    words = len(text.split())
    chars = len(text)
    return lines, words, chars


def count_file(path):
    """Return (lines, words, chars) for the file at path, read as UTF-8."""
    with open(path, encoding="utf-8") as handle:
        return count_text(handle.read())


def format_row(counts, name, width=7):
    """One output row: the counts right-aligned, then the name."""
    cells = "".join(f"{value:>{width}}" for value in counts)
    return f"{cells} {name}".rstrip()


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="wc", description="Count lines, words and characters.")
    parser.add_argument("-l", "--lines", action="store_true", help="print only the line count")
    parser.add_argument("-w", "--words", action="store_true", help="print only the word count")
    parser.add_argument("-c", "--chars", action="store_true", help="print only the character count")
    parser.add_argument("files", nargs="*", help="files to count (default: standard input)")
    return parser.parse_args(argv)


def select(counts, args):
    """Keep only the counts asked for with -l/-w/-c (all three when none is given)."""
    wanted = [args.lines, args.words, args.chars]
    if not any(wanted):
        return counts
    return tuple(value for value, keep in zip(counts, wanted) if keep)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.files:
        print(format_row(select(count_text(sys.stdin.read()), args), ""))
        return 0
    status = 0
    totals = [0, 0, 0]
    for name in args.files:
        try:
            counts = count_file(name)
        except FileNotFoundError:
            print(f"wc: {name}: No such file or directory", file=sys.stderr)
            status = 1
            continue
        totals = [t + c for t, c in zip(totals, counts)]
        print(format_row(select(counts, args), name))
    if len(args.files) > 1:
        print(format_row(select(tuple(totals), args), "total"))
    return status


if __name__ == "__main__":
    sys.exit(main())
