"""Shared fixtures: a real ZooKeeper server and the real Mesos 1.11 harness.

Tests that need them skip, saying why, where they cannot run. With
``MESOS_FRAMEWORK_REQUIRE_ALL=1`` (set by ``.ci/run``) a missing
prerequisite is a failure instead, so CI never passes by skipping
(`tests.support.prereq.unavailable`; tests use it for their own
prerequisites too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import real_mesos, zookeeper
from tests.support.prereq import REQUIRE_ALL, unavailable

# Still importable from here, as before they moved to tests/support/prereq.py.
__all__ = ["REQUIRE_ALL", "_unavailable", "unavailable"]
_unavailable = unavailable


@pytest.fixture(scope="session")
def zookeeper_server() -> Iterator[zookeeper.ZooKeeperServer]:
    """A real ZooKeeper on a free loopback port, shared by the session."""
    why = zookeeper.available()
    if why:
        unavailable(why)
    server = zookeeper.ZooKeeperServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def zookeeper_fresh() -> Iterator[zookeeper.ZooKeeperServer]:
    """A ZooKeeper of the test's own, for tests that stop or restart it."""
    why = zookeeper.available()
    if why:
        unavailable(why)
    server = zookeeper.ZooKeeperServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def real_mesos_cluster() -> Iterator[real_mesos.RealMesos]:
    """A real Mesos 1.11 master and agent on loopback, shared by the session."""
    why = real_mesos.available()
    if why:
        unavailable(why)
    real_mesos.build()
    cluster = real_mesos.RealMesos(agents=1)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
