"""Pull the Python script out of a Coder reply (markdown with fenced code blocks, or bare code)."""

from __future__ import annotations

import ast
import functools
import re
import warnings
from dataclasses import dataclass

PY_INFOS = frozenset({"", "python", "py", "python3"})
_OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
WORDS_LIMIT = 200  # characters of an agent's words shown on the screen


@dataclass(frozen=True)
class ExtractedCode:
    """What `extract_code` found in a reply."""

    code: str | None  # the script to write; None when the reply holds no code at all
    blocks: int  # how many non-empty python/py/bare fenced blocks were found
    syntax_error: str | None  # e.g. "line 3: invalid syntax" when the chosen code does not parse
    note: str | None  # one human sentence for the screen when something notable happened


@dataclass(frozen=True)
class _Block:
    code: str
    size: int  # non-blank lines
    closed: bool
    error: str | None


def _normalise(lines: list[str], indent: int = 0) -> str | None:
    """Drop surrounding blank lines, undo a uniform fence indent, end with one newline."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return None
    pad = " " * indent
    if indent and all(line.startswith(pad) for line in lines if line.strip()):
        lines = [line[indent:] for line in lines]
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=16)
def parse_python(code: str) -> tuple[ast.Module | None, str | None]:
    """Parse code quietly; return (tree, None) or (None, "line N: message").

    Cached: a version's script is parsed by several steps. The tree must not be changed.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes
            return ast.parse(code), None
    except SyntaxError as e:
        return None, f"line {e.lineno}: {e.msg}" if e.lineno else str(e.msg)
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        return None, str(e) or type(e).__name__


@dataclass(frozen=True)
class Fence:
    """One fenced block of a reply, whatever its language."""

    info: str  # the first word after the opening fence, lower-cased ("" when untagged)
    code: str | None  # the body, normalised; None when it is blank
    closed: bool
    start: int  # the index of the opening fence's line
    end: int  # the index of the line after the block


def reply_lines(reply: str) -> list[str]:
    """The lines of a reply, whatever its line endings."""
    return reply.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def fences(reply: str) -> list[Fence]:
    """Every fenced block of a reply (``` or ~~~, CommonMark style), in order."""
    lines = reply_lines(reply)
    found: list[Fence] = []
    i = 0
    while i < len(lines):
        m = _OPEN.fullmatch(lines[i])
        start = i
        i += 1
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).split()
        body: list[str] = []
        closed = False
        while i < len(lines):
            c = _CLOSE.fullmatch(lines[i])
            i += 1
            if c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence):
                closed = True
                break
            body.append(lines[i - 1])
        found.append(Fence(info[0].lower() if info else "", _normalise(body, indent), closed, start, i))
    return found


def without_thinking(reply: str) -> str:
    """The reply without any ``<think>...</think>`` block a reasoning model left in it."""
    return _THINK.sub("", reply)


def unparsed_lines(reply: str, every_fence: bool = False) -> list[str]:
    """The reply's lines, less those of fenced blocks that parse as Python (a whole script may quote
    anything in a string), or less every fenced block; the lines of a block are blanked, not removed."""
    lines = reply_lines(reply)
    for fence in fences(reply):
        if every_fence or (fence.code is not None and parse_python(fence.code)[1] is None):
            lines[fence.start : fence.end] = [""] * (fence.end - fence.start)
    return lines


def _blocks(reply: str) -> list[_Block]:
    """The non-empty python/py/python3/bare fenced blocks."""
    found: list[_Block] = []
    for fence in fences(reply):
        if fence.code is not None and fence.info in PY_INFOS:
            size = sum(1 for line in fence.code.splitlines() if line.strip())
            found.append(_Block(fence.code, size, fence.closed, parse_python(fence.code)[1]))
    return found


def words_after_code(reply: str) -> str | None:
    """The text after the last closed code fence of a reply, stripped; None when there is none."""
    closed = [fence for fence in fences(reply) if fence.closed]
    if not closed:
        return None
    words = "\n".join(reply_lines(reply)[closed[-1].end :]).strip()
    return words or None


def words_line(reply: str, who: str, limit: int = WORDS_LIMIT) -> str | None:
    """``"Coder: <its words after the code>"`` on one line, at most about ``limit`` characters; None
    when the reply has no words after its code."""
    words = words_after_code(reply)
    if words is None:
        return None
    flat = " ".join(words.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"{who}: {flat}"


def _looks_like_code(tree: ast.Module) -> bool:
    """True when some statement is more than a bare constant or name (so "Done" or "42" is not code)."""
    return any(
        not (isinstance(s, ast.Expr) and isinstance(s.value, (ast.Constant, ast.Name))) for s in tree.body
    )


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def _and(items: list[int]) -> str:
    words = [str(x) for x in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def extract_code(reply: str) -> ExtractedCode:
    """Choose the Python script in a Coder reply.

    Fenced blocks tagged python/py/python3 or untagged (``` or ~~~) are candidates; other languages are
    ignored. The longest candidate (by non-blank lines; the later one on a tie) that parses wins, else the
    longest one, with its syntax error. Without any candidate, the whole reply is used when it is Python
    that does something. ``code`` is None when the reply holds no code.
    """
    text = reply.replace("\r\n", "\n").replace("\r", "\n")
    cands = _blocks(text)
    if not cands:
        stripped = text.strip()
        tree = parse_python(stripped)[0] if stripped else None
        if tree is not None and _looks_like_code(tree):
            note = "The reply had no code fence; used the whole reply, which is valid Python."
            return ExtractedCode(stripped + "\n", 0, None, note)
        return ExtractedCode(None, 0, None, "The reply held no Python code.")

    n = len(cands)
    parsing = [i for i, b in enumerate(cands) if b.error is None]
    best = max(parsing or range(n), key=lambda i: (cands[i].size, i))
    chosen = cands[best]
    label = f"block {best + 1} ({_lines(chosen.size)})"
    if n == 1:
        note = f"The code block does not parse ({chosen.error})" if chosen.error else None
    elif chosen.error:
        note = f"The reply had {n} code blocks and none parses; took the longest, {label}"
        note += f", which does not parse ({chosen.error})"
    else:
        note = f"The reply had {n} code blocks; took {label}, the longest that parses"
        skipped = [j + 1 for j, b in enumerate(cands) if b.error and b.size > chosen.size]
        if skipped:
            which = "does" if len(skipped) == 1 else "do"
            plural = "block" if len(skipped) == 1 else "blocks"
            note += f"; skipped the longer {plural} {_and(skipped)}, which {which} not parse"
    if not chosen.closed:
        cut = "its closing fence is missing, so the reply may have been cut off"
        note = f"{note}; {cut}" if note else f"The code block's {cut[4:]}"
    return ExtractedCode(chosen.code, n, chosen.error, note + "." if note else None)


_DEFINES_TESTS = re.compile(r"^\s*(?:async\s+)?def\s+test|^class\s+Test", re.MULTILINE)


def extract_tests(reply: str) -> ExtractedCode:
    """Choose the test file in a Tester reply: of several code blocks, the block that defines tests
    (the longest such block that parses), not a longer reference implementation beside it; else as
    :func:`extract_code` chooses."""
    text = reply.replace("\r\n", "\n").replace("\r", "\n")
    cands = _blocks(text)
    tests = [(i, b) for i, b in enumerate(cands) if _DEFINES_TESTS.search(b.code)]
    if len(cands) < 2 or not tests or len(tests) == len(cands):
        return extract_code(reply)
    index, chosen = max(tests, key=lambda item: (item[1].error is None, item[1].size, item[0]))
    note = f"The reply had {len(cands)} code blocks; took block {index + 1}, the one that defines tests."
    return ExtractedCode(chosen.code, len(cands), chosen.error, note)
