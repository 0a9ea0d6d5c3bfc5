import re

import pytest
import script


def test_basic_sections():
    text = "[server]\nhost = example.org\nport = 8080\n\n[client]\nretries = 3\n"
    assert script.parse_config(text) == {
        "server": {"host": "example.org", "port": "8080"},
        "client": {"retries": "3"},
    }


def test_comments_and_blank_lines_ignored():
    text = "# top comment\n\n[a]\n  ; indented comment\nx = 1\n   \n# x = 2\n"
    assert script.parse_config(text) == {"a": {"x": "1"}}


def test_whitespace_stripped():
    text = "  [  my section ]  \n   key   =   some value with spaces   \n"
    assert script.parse_config(text) == {"my section": {"key": "some value with spaces"}}


def test_value_may_contain_equals_and_be_empty():
    text = "[db]\nurl = postgres://u:p@h/db?opt=1\nempty =\n"
    assert script.parse_config(text) == {"db": {"url": "postgres://u:p@h/db?opt=1", "empty": ""}}


def test_repeated_section_and_key():
    text = "[a]\nx = 1\ny = 2\n[b]\nz = 3\n[a]\nx = 10\n"
    assert script.parse_config(text) == {"a": {"x": "10", "y": "2"}, "b": {"z": "3"}}


def test_empty_section_and_empty_text():
    assert script.parse_config("[lonely]\n") == {"lonely": {}}
    assert script.parse_config("") == {}
    assert script.parse_config("# only a comment\n\n") == {}


def test_key_before_section_raises():
    with pytest.raises(ValueError):
        script.parse_config("x = 1\n[a]\n")


def test_empty_key_or_section_name_raises():
    with pytest.raises(ValueError):
        script.parse_config("[a]\n = value\n")
    with pytest.raises(ValueError):
        script.parse_config("[]\nx = 1\n")


def test_garbage_line_reports_line_number():
    text = "[a]\nx = 1\n\n# fine\ny = 2\n\nthis line is not valid\n"
    with pytest.raises(ValueError) as info:
        script.parse_config(text)
    assert re.search(r"\b7\b", str(info.value))


def test_error_line_number_for_key_outside_section():
    text = "\n\n# header\nname = value\n"
    with pytest.raises(ValueError) as info:
        script.parse_config(text)
    assert re.search(r"\b4\b", str(info.value))
