"""The conformance suite runs every scenario against the local cluster and
against real Mesos 1.11 (``real_mesos`` marker)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info

#: ``scheduler(name, *capabilities, suppressed_roles=None, **framework_info_fields)``.
Factory = Callable[..., Awaitable[RawScheduler]]


@pytest.fixture(
    params=[
        pytest.param("local", id="local"),
        pytest.param("real", id="real", marks=pytest.mark.real_mesos),
    ]
)
def flavour(request: pytest.FixtureRequest) -> str:
    """Which master a scenario runs against."""
    return str(request.param)


@pytest_asyncio.fixture
async def master_url(flavour: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Base URL of the master under test."""
    if flavour == "real":
        real = request.getfixturevalue("real_mesos_cluster")
        yield real.url
        return
    async with LocalCluster(allocation_interval=1.0, status_update_retry=10.0) as cluster:
        yield cluster.url


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session (no gzip negotiation)."""
    async with aiohttp.ClientSession(
        auto_decompress=True, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        yield session


@pytest_asyncio.fixture
async def scheduler(master_url: str, http: aiohttp.ClientSession) -> AsyncIterator[Factory]:
    """Subscribes frameworks on the master under test; tears every one down afterwards."""
    made: list[RawScheduler] = []

    async def make(
        name: str, *caps: str, suppressed_roles: list[str] | None = None, **extra: Any
    ) -> RawScheduler:
        s = RawScheduler(master_url, http)
        made.append(s)
        await s.subscribe(framework_info(name, *caps, **extra), suppressed_roles=suppressed_roles)
        return s

    yield make
    for s in made:
        await s.teardown()
