"""Word frequency: the n most common words of a text."""

import re
import sys
from collections import Counter

WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")


def top_words(text, n):
    """Return the n most frequent words as (word, count), count desc then word asc."""
    if n < 0:
        raise ValueError("n must not be negative")
    counts = Counter(WORD_RE.findall(text.lower()))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 10
    for word, count in top_words(sys.stdin.read(), n):
        print(f"{count}\t{word}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
