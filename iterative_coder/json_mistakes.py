"""What a hand-written JSON text most likely got wrong, told from the text and where parsing stopped.

Python's ``json`` words its errors differently from version to version, and stops at different places:
3.13 says "Illegal trailing comma before end of array" at the comma, 3.10 to 3.12 say "Expecting value"
at the bracket after it. Nothing here reads that message, so every Python gives the same sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

_WHITESPACE = " \t\n\r"
_PUNCTUATION = "{}[],:"
_STRING = '"'
_LITERAL = "literal"  # a number, true, false or null
_VALUE_ENDS = (_STRING, _LITERAL, "}", "]")
_COMMENT_STARTS = ("//", "/*", "#")
_BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class JsonMistake:
    """A mistake JSON forbids but people often write: where it is, what it is and how to fix it."""

    line: int
    column: int
    cause: str  # what it is and what to do, e.g. "a comment; JSON has no comments, so remove it"

    def sentence(self) -> str:
        """``at line 2, column 33. Likely cause: ...``, to follow "not valid JSON"."""
        return f"at line {self.line}, column {self.column}. Likely cause: {self.cause}."


# What each mistake is and how to fix it.
BYTE_ORDER_MARK = "a byte-order mark at the start; save the file as UTF-8 without one"
COMMENT = "a comment; JSON has no comments, so remove it"
TRAILING_COMMA = "a trailing comma after the last item; JSON allows none there, so remove it"
SINGLE_QUOTES = """single quotes; JSON needs double quotes around names and strings ("model", not 'model')"""
UNQUOTED_NAME = 'a name without quotes; write it in double quotes ("model")'
MISSING_COMMA = "a missing comma before this item; separate items with commas"


def likely_mistake(text: str, stopped_at: int) -> JsonMistake | None:
    """The mistake that made parsing ``text`` stop at index ``stopped_at``; None when unclear."""
    at = text[stopped_at:]
    tokens = _tokens(text, stopped_at)
    comma = _trailing_comma(text, stopped_at, tokens)
    if at.startswith(_BYTE_ORDER_MARK):
        return _mistake(text, stopped_at, BYTE_ORDER_MARK)
    if at.startswith(_COMMENT_STARTS):
        return _mistake(text, stopped_at, COMMENT)
    if comma is not None:
        return _mistake(text, comma, TRAILING_COMMA)
    if at.startswith("'"):
        return _mistake(text, stopped_at, SINGLE_QUOTES)
    if _expects_name(tokens) and (at[:1].isalpha() or at[:1] == "_"):
        return _mistake(text, stopped_at, UNQUOTED_NAME)
    if _after_value(tokens) and (at[:1] in ('"', "{", "[", "-") or at[:1].isalnum()):
        return _mistake(text, stopped_at, MISSING_COMMA)
    return None


def _mistake(text: str, index: int, cause: str) -> JsonMistake:
    line_start = text.rfind("\n", 0, index) + 1
    return JsonMistake(line=text.count("\n", 0, index) + 1, column=index - line_start + 1, cause=cause)


def _tokens(text: str, end: int) -> list[tuple[int, str]]:
    """The JSON tokens that start before ``end``, as (index, kind): kind is the punctuation character
    itself, ``"`` for a string or "literal". Parsing got to ``end``, so the text before it is JSON."""
    tokens: list[tuple[int, str]] = []
    index = 0
    while index < end:
        char = text[index]
        if char in _WHITESPACE:
            index += 1
            continue
        kind = char if char in _PUNCTUATION + _STRING else _LITERAL
        tokens.append((index, kind))
        if kind == _STRING:
            index = _after_string(text, index)
        elif kind == _LITERAL:
            while index < end and text[index] not in _WHITESPACE + _PUNCTUATION + _STRING:
                index += 1
        else:
            index += 1
    return tokens


def _after_string(text: str, start: int) -> int:
    index = start + 1
    while index < len(text) and text[index] != _STRING:
        index += 2 if text[index] == "\\" else 1
    return index + 1


def _trailing_comma(text: str, stopped_at: int, tokens: list[tuple[int, str]]) -> int | None:
    """Where a comma just before a closing bracket is: parsing stops at it (3.13) or after it (3.10-3.12)."""
    if text.startswith(",", stopped_at):
        comma = stopped_at
    elif tokens and tokens[-1][1] == ",":
        comma = tokens[-1][0]
    else:
        return None
    return comma if text[comma + 1 :].lstrip(_WHITESPACE)[:1] in ("]", "}") else None


def _open_container(tokens: list[tuple[int, str]]) -> str:
    """The innermost bracket still open after the tokens: "{", "[" or "" (none)."""
    open_brackets: list[str] = []
    for _, kind in tokens:
        if kind in ("{", "["):
            open_brackets.append(kind)
        elif kind in ("}", "]") and open_brackets:
            open_brackets.pop()
    return open_brackets[-1] if open_brackets else ""


def _expects_name(tokens: list[tuple[int, str]]) -> bool:
    """An object's member name comes next: after its "{" or after a comma inside it."""
    return bool(tokens) and tokens[-1][1] in ("{", ",") and _open_container(tokens) == "{"


def _after_value(tokens: list[tuple[int, str]]) -> bool:
    """The tokens end with a whole value (not a member's name, which a colon must follow)."""
    if not tokens or tokens[-1][1] not in _VALUE_ENDS:
        return False
    is_name = tokens[-1][1] == _STRING and _expects_name(tokens[:-1])
    return not is_name
