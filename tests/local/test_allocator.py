"""The allocator takes an rng (the order of agents) and a clock (decline filters)."""

from __future__ import annotations

import random

import aiohttp

from mesos_framework.local import LocalCluster
from mesos_framework.local._allocator import Allocator
from tests.conformance.rawclient import RawScheduler, framework_info


def is_offers(event: dict[str, object]) -> bool:
    return event["type"] == "OFFERS"


async def test_decline_filters_expire_by_the_allocator_clock(http: aiohttp.ClientSession) -> None:
    now = [1000.0]
    async with LocalCluster(allocation_interval=0.2) as cluster:
        cluster.master.allocator = Allocator(rng=random.Random(1), clock=lambda: now[0])
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("clock"))
        await s.decline(await s.offers(), refuse=3600.0)
        assert await s.quiet(1.0, is_offers) == []  # filtered for an hour of the fake clock
        now[0] += 3601.0
        cluster.master.allocate_soon()
        assert await s.offers(within=30)
        await s.teardown()


async def first_offer_order(http: aiohttp.ClientSession, seed: int) -> list[int]:
    """Agent indexes in the order of the first OFFERS event."""
    async with LocalCluster(agents=4, allocation_interval=0.2) as cluster:
        cluster.master.allocator = Allocator(rng=random.Random(seed))
        index = {a.id: a.index for a in cluster.agents}
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("rng"))
        offers = await s.offers()
        while len(offers) < 4:  # agents may still be registering: collect a whole round
            await s.decline(offers, refuse=0.0)
            offers = await s.offers()
        await s.teardown()
        return [index[o["agent_id"]["value"]] for o in offers]


async def test_the_agent_order_comes_from_the_rng(http: aiohttp.ClientSession) -> None:
    assert await first_offer_order(http, 5) == await first_offer_order(http, 5)
