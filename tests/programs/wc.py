"""Count the lines, words and characters of a text file, like wc."""

import sys


def counts(text):
    """(lines, words, characters) of a text."""
    return len(text.splitlines()), len(text.split()), len(text)


def main():
    if len(sys.argv) != 2:
        print("usage: python script.py FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as handle:
        lines, words, chars = counts(handle.read())
    print(f"{lines} {words} {chars} {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
