"""Text from a model or a generated program, made safe to print on a terminal.

A model's reply or a program's output can hold terminal control sequences: ``ESC[2J`` clears the
screen, ``ESC]0;...BEL`` retitles the window, ``ESC]52;c;...BEL`` writes the clipboard (OSC 52),
DCS/APC strings talk to the terminal itself, ``\\r`` and backspace overwrite what was shown. Rich's
``Text.from_ansi`` is no defence: it interprets some of them and passes others on.

:func:`clean_terminal_text` removes every one of them and keeps the text: printable Unicode (emoji and
all), newlines and tabs. It is three passes of regular expressions whose repeated parts are followed
by disjoint character classes, so the time is linear in the length of the text whatever it holds.

No maintained library does this whole job: ``strip-ansi`` (last release 2020) and the ``strip_ansi``
helpers of CLI libraries remove SGR/CSI only and leave OSC 52, DCS and C1 controls in place.
"""

from __future__ import annotations

import re

# Each sequence follows the ECMA-48 / VT500 parser, 7-bit (ESC x) and 8-bit (C1) forms alike.
_SEQUENCE = re.compile(
    # ESC or a C1 control followed by another: the later one cancels it (a fast path for long runs).
    r"[\x1b\x80-\x9f]+(?=[\x1b\x80-\x9f])|"
    # OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \ or U+009C). CAN, SUB, ESC and the other
    # C1 controls end it early, as in a terminal; with no end at all it runs to the end of the text.
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x18\x1a\x1b\x80-\x9f]*(?:\x07|\x9c|\x1b\\)?"
    # CSI: parameter and intermediate bytes, then a final byte (if the text has one).
    r"|(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"
    # Any other escape sequence: intermediate bytes, then a final byte; or a lone ESC.
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# Bidirectional controls and zero-width characters: invisible, they make code read otherwise than it
# runs ("Trojan Source", CVE-2021-42574). Shown as ``<U+202E>``. The zero-width joiner U+200D is left:
# emoji sequences are made of it, and it cannot reorder text.
_INVISIBLE = re.compile("[\u061c\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every C0 control but tab and newline (so lone CR, backspace, BEL...), DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]+")


def clean_terminal_text(text: str) -> str:
    """``text`` without any terminal control sequence or control character, ready to print.

    Escape sequences (CSI, OSC, DCS, SOS, PM, APC, two-byte ESC sequences) and their 8-bit C1 forms
    are removed whole, an unterminated string sequence up to the end of the text. ``\\r\\n`` becomes
    ``\\n``; every other control character (lone ``\\r``, backspace, BEL, DEL, U+0080-U+009F) is
    dropped. Bidirectional controls and zero-width characters are shown as ``<U+202E>``, a lone
    surrogate (not text at all) as U+FFFD. Newlines, tabs and all printable Unicode are kept.
    """
    if text.isprintable():  # the common case: nothing to do (tab and newline are not "printable")
        return text
    text = _SEQUENCE.sub("", text)
    text = _INVISIBLE.sub(lambda match: f"<U+{ord(match.group()):04X}>", text)
    return _CONTROL.sub("", plain_text(text).replace("\r\n", "\n"))


def plain_text(text: str) -> str:
    """``text`` with each lone surrogate (``"\\ud800"`` from a JSON escape: no character, and no file
    or terminal can take it) replaced by U+FFFD; a string that can always be encoded as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)
