"""A tiny wc: count lines, words and characters of a file."""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(description="Count lines, words and characters.")
    parser.add_argument("path", help="file to count")
    parser.add_argument("-l", "--lines", action="store_true", help="show line count")
    parser.add_argument("-w", "--words", action="store_true", help="show word count")
    parser.add_argument("-c", "--chars", action="store_true", help="show character count")
    return parser


def count(text):
    """Return (lines, words, characters) for a text."""
    return len(text.splitlines()), len(text.split()), len(text)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        with open(args.path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        print(f"wc: {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    lines, words, chars = count(text)
    show_all = not (args.lines or args.words or args.chars)
    parts = []
    if show_all or args.lines:
        parts.append(str(lines))
    if show_all or args.words:
        parts.append(str(words))
    if show_all or args.chars:
        parts.append(str(chars))
    parts.append(args.path)
    print(" ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
