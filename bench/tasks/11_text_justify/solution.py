"""Full text justification to a fixed width."""

import sys


def _justify_line(words, width):
    if len(words) == 1:
        return words[0].ljust(width)
    gaps = len(words) - 1
    spaces = width - sum(len(word) for word in words)
    base, extra = divmod(spaces, gaps)
    parts = []
    for i, word in enumerate(words[:-1]):
        parts.append(word)
        parts.append(" " * (base + (1 if i < extra else 0)))
    parts.append(words[-1])
    return "".join(parts)


def justify(text, width):
    """Return the words of text as fully justified lines of exactly width characters."""
    if width < 1:
        raise ValueError("width must be at least 1")
    words = text.split()
    for word in words:
        if len(word) > width:
            raise ValueError(f"word {word!r} is longer than width {width}")
    lines = []
    current = []
    length = 0  # length of current words joined by single spaces
    for word in words:
        needed = len(word) if not current else length + 1 + len(word)
        if needed <= width:
            current.append(word)
            length = needed
        else:
            lines.append(_justify_line(current, width))
            current, length = [word], len(word)
    if current:
        lines.append(" ".join(current).ljust(width))
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    width = int(argv[0]) if argv else 40
    for line in justify(sys.stdin.read(), width):
        print(f"|{line}|")
    return 0


if __name__ == "__main__":
    sys.exit(main())
