"""Shared fixtures: a real ZooKeeper server and the real Mesos 1.11 harness.

Tests that need them skip, saying why, where they cannot run. With
``MESOS_FRAMEWORK_REQUIRE_ALL=1`` (set by ``.ci/run``) a missing
prerequisite is a failure instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import real_mesos, zookeeper

REQUIRE_ALL = os.environ.get("MESOS_FRAMEWORK_REQUIRE_ALL") == "1"


def _unavailable(why: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"required prerequisite missing: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def zookeeper_server() -> Iterator[zookeeper.ZooKeeperServer]:
    """A real ZooKeeper on a free loopback port, shared by the session."""
    why = zookeeper.available()
    if why:
        _unavailable(why)
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
        _unavailable(why)
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
        _unavailable(why)
    real_mesos.build()
    cluster = real_mesos.RealMesos(agents=1)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
