"""Stout durations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5secs", 5.0),
        ("2secs", 2.0),
        ("15mins", 900.0),
        ("1.5hrs", 5400.0),
        ("100ms", 0.1),
        ("250us", 0.00025),
        ("10ns", 1e-8),
        ("3days", 259200.0),
        ("1weeks", 604800.0),
        ("0secs", 0.0),
        ("0.5secs", 0.5),
        (".5secs", 0.5),
        ("1e3ms", 1.0),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["5", "5 secs", "secs", "", "5sec", "5s", "5SECS", "five secs", "5secs ", "1.2.3secs"]
)
def test_parse_rejects_and_names_the_value(text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ConfigurationError, match="5"):
        parse_duration(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5.0, "5secs"),
        (900.0, "15mins"),
        (5400.0, "1.5hrs"),
        (0.25, "250ms"),
        (0.0, "0ns"),
        (604800.0, "1weeks"),
        (86400.0 * 2, "2days"),
        (1e-6, "1us"),
        (-5.0, "-5secs"),
    ],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_rejects_non_finite() -> None:
    with pytest.raises(ConfigurationError, match="inf"):
        format_duration(float("inf"))


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_format_parse_round_trip(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-8, abs=1e-15)
