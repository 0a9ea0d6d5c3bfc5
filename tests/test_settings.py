"""The settings of a session, resolved by one pure function from the command line, what the session
saved in session.json, and whether a person is at a terminal; and the bounds of the numbers."""

from __future__ import annotations

from typing import Any

import pytest

from iterative_coder.cli import build_parser, main
from iterative_coder.session import SETTING_CHECKS
from iterative_coder.settings import KEPT, Settings, UsageError, resolve_settings


def settings(*argv: str, saved: dict[str, Any] | None = None, terminal: bool = True) -> Settings:
    return resolve_settings(build_parser().parse_args(list(argv)), saved or {}, person_at_terminal=terminal)


def test_execute_is_kept_in_session_json_and_read_back_on_resume() -> None:
    first = settings("--task", "count words", "--execute", "always")
    kept = first.kept({"coder": "gpt-4o-mini"})
    assert kept["execute"] == "always"
    assert settings("--resume", "ws", saved=kept).execute == "always"
    assert settings("--resume", "ws", saved=kept, terminal=False).execute == "always"


def test_an_execute_option_given_now_wins_over_the_saved_one() -> None:
    assert settings("--resume", "ws", "--execute", "never", saved={"execute": "always"}).execute == "never"
    assert settings("--resume", "ws", "--execute", "ask", saved={"execute": "never"}).execute == "ask"


@pytest.mark.parametrize(
    ("argv", "terminal", "expected"),
    [
        ((), True, "ask"),
        ((), False, "never"),
        (("--yes",), True, "never"),
    ],
    ids=["at a terminal", "no terminal", "--yes"],
)
def test_a_saved_ask_needs_a_person_or_becomes_never(
    argv: tuple[str, ...], terminal: bool, expected: str
) -> None:
    assert settings("--resume", "ws", *argv, saved={"execute": "ask"}, terminal=terminal).execute == expected


def test_without_a_saved_execute_the_default_depends_on_the_person() -> None:
    assert settings("--resume", "ws").execute == "ask"
    assert settings("--resume", "ws", terminal=False).execute == "never"
    assert settings("--task", "x", "--yes").execute == "never"


def test_a_default_execute_is_not_kept_and_a_kept_ask_outlives_a_run_without_a_person() -> None:
    assert settings("--task", "x", terminal=False).kept({})["execute"] is None
    resumed = settings("--resume", "ws", saved={"execute": "ask"}, terminal=False)
    assert resumed.execute == "never" and resumed.kept({})["execute"] == "ask"


def test_every_kept_setting_is_checked_when_session_json_is_read() -> None:
    assert set(SETTING_CHECKS) == set(KEPT)


@pytest.mark.parametrize("flag", ["--run-timeout", "--request-timeout", "--call-deadline"])
def test_seconds_are_bounded_to_a_day(flag: str) -> None:
    assert getattr(settings(flag, "86400"), flag[2:].replace("-", "_")) == 86400.0
    for text, says in (("1e300", "at most 86,400 (a day), not 1e300"), ("86400.5", "at most 86,400")):
        with pytest.raises(UsageError, match=r"^argument " + flag) as raised:
            settings(flag, text)
        assert says in str(raised.value)
    with pytest.raises(UsageError, match="must be more than 0"):
        settings(flag, "0")


def test_a_huge_run_timeout_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--run-timeout", "1e300"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "iterative_coder: error: argument --run-timeout: must be at most 86,400 (a day), not 1e300 "
        "(see --help)\n"
    )


def test_the_call_deadline_and_the_reply_cap_have_defaults_and_the_deadline_an_option() -> None:
    assert (Settings().call_deadline, Settings().max_reply_chars) == (300.0, 400_000)
    assert settings("--task", "x").call_deadline == 300.0
    assert settings("--task", "x", "--call-deadline", "0.5").call_deadline == 0.5


def test_a_task_that_is_not_utf8_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as raised:
        settings("--task", b"caf\xe9 counter".decode("utf-8", "surrogateescape"))
    assert str(raised.value) == (
        "--task is not valid UTF-8 text (byte 3); give it as UTF-8, or leave it out and type the request "
        "when asked."
    )
    assert settings("--task", "café counter").task == "café counter"
