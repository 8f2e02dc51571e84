"""Stout durations: ``"5secs"``, ``"15mins"``, ``"1.5hrs"``, ``"100ms"``.

Mesos passes durations to executors in this format (for example
``MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs``, ``MESOS_RECOVERY_TIMEOUT=15mins``).
A duration is a decimal number immediately followed by one unit:
``ns``, ``us``, ``ms``, ``secs``, ``mins``, ``hrs``, ``days`` or ``weeks``.
"""

from __future__ import annotations

import math
import re

from mesos_framework.errors import ConfigurationError

__all__ = ["format_duration", "parse_duration"]

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "secs": 1.0,
    "mins": 60.0,
    "hrs": 3600.0,
    "days": 86400.0,
    "weeks": 604800.0,
}
_RE = re.compile(r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(ns|us|ms|secs|mins|hrs|days|weeks)")
# Units from the largest down, for formatting (stout's Duration output order).
_FORMAT_UNITS = (
    ("weeks", 604800.0),
    ("days", 86400.0),
    ("hrs", 3600.0),
    ("mins", 60.0),
    ("secs", 1.0),
    ("ms", 1e-3),
    ("us", 1e-6),
    ("ns", 1e-9),
)


def parse_duration(text: str) -> float:
    """Parse a stout duration and return seconds as a float.

    ``parse_duration("5secs") == 5.0``; ``parse_duration("1.5hrs") == 5400.0``.
    Raises `ConfigurationError` naming the bad
    value for anything else (no unit, unknown unit, spaces, empty string).
    """
    if not isinstance(text, str):
        raise ConfigurationError(f"expected a duration string such as '5secs', got {text!r}")
    m = _RE.fullmatch(text)
    if m is None:
        units = ", ".join(_UNITS)
        raise ConfigurationError(
            f"invalid duration {text!r}: expected a number followed by one of {units} (e.g. '5secs')"
        )
    value = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(value):
        raise ConfigurationError(f"invalid duration {text!r}: not a finite number")
    return value


def format_duration(seconds: float) -> str:
    """Format seconds the way stout prints a Duration: the largest unit that
    gives a value of at least 1, e.g. ``5.0 -> "5secs"``, ``900 -> "15mins"``,
    ``5400 -> "1.5hrs"``, ``0.25 -> "250ms"``, ``0 -> "0ns"``.

    The result always parses back with `parse_duration()` (to within
    float precision).
    """
    if not math.isfinite(seconds):
        raise ConfigurationError(f"cannot format non-finite duration {seconds!r}")
    if seconds == 0:
        return "0ns"
    magnitude = abs(seconds)
    for unit, factor in _FORMAT_UNITS:
        if magnitude >= factor or unit == "ns":
            value = seconds / factor
            # Up to 9 significant decimals, then trim, like stout's stream output.
            text = f"{value:.9g}"
            if "e" in text:
                text = repr(value)
            return f"{text}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover
