"""Missing prerequisites: a skip that says why, or with ``MESOS_FRAMEWORK_REQUIRE_ALL=1`` a failure.

``.ci/run`` sets ``MESOS_FRAMEWORK_REQUIRE_ALL=1``, so that CI never passes by skipping a test
whose ZooKeeper, real Mesos harness, tool, built extension or data file is missing. Skips about
something legitimately absent (an optional test plugin, IPv6 on the machine) do not use this.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ALL = os.environ.get("MESOS_FRAMEWORK_REQUIRE_ALL") == "1"


def unavailable(why: str) -> NoReturn:
    """Skip the test saying `why`; fail it instead when every prerequisite is required."""
    if REQUIRE_ALL:
        pytest.fail(f"required prerequisite missing: {why}")
    pytest.skip(why)
