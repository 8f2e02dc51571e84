"""Fixtures for the local cluster's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest_asyncio

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info

Factory = Callable[..., Awaitable[RawScheduler]]


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[LocalCluster]:
    """A fast-ticking local cluster with one agent."""
    async with LocalCluster(status_update_retry=0.3, allocation_interval=0.2) as c:
        yield c


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest_asyncio.fixture
async def scheduler(cluster: LocalCluster, http: aiohttp.ClientSession) -> AsyncIterator[Factory]:
    """Subscribes frameworks to ``cluster``; tears them down afterwards."""
    made: list[RawScheduler] = []

    async def make(name: str, *caps: str, **extra: Any) -> RawScheduler:
        s = RawScheduler(cluster.url, http)
        made.append(s)
        await s.subscribe(framework_info(name, *caps, **extra))
        return s

    yield make
    for s in made:
        await s.teardown()


async def until_running(s: RawScheduler, task_id: str) -> dict[str, Any]:
    """Ack updates until TASK_RUNNING; returns it (acked)."""
    while True:
        st = await s.update(task_id)
        if "uuid" in st:
            await s.ack(st)
        if st["state"] == "TASK_RUNNING":
            return st
        assert st["state"] in ("TASK_STARTING", "TASK_STAGING"), st
