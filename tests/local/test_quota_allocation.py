"""Quota guarantees in the local allocator: roles without quota are not offered the unreserved
resources an unmet guarantee still needs, and the guaranteed role gets them."""

from __future__ import annotations

from typing import Any

import aiohttp

from mesos_framework.local import LocalCluster
from mesos_framework.operator import MasterOperator
from tests.conformance.rawclient import RawScheduler, framework_info


def cpus(offers: list[dict[str, Any]]) -> float:
    return float(sum(r["scalar"]["value"] for o in offers for r in o["resources"] if r["name"] == "cpus"))


async def test_guarantees_are_held_back_from_other_roles() -> None:
    async with (
        LocalCluster(allocation_interval=0.5, resources="cpus:4;mem:4096") as cluster,
        aiohttp.ClientSession() as http,
        MasterOperator(cluster.url) as op,
    ):
        await op.update_quota([{"role": "guaranteed", "guarantees": {"cpus": {"value": 3}}}])
        other = RawScheduler(cluster.url, http)
        owner = RawScheduler(cluster.url, http)
        try:
            await other.subscribe(framework_info("no-quota", "MULTI_ROLE", roles=["other"]))
            assert cpus(await other.offers(within=60)) <= 1.0  # 4 cpus, 3 of them guaranteed
            await owner.subscribe(framework_info("quota-owner", "MULTI_ROLE", roles=["guaranteed"]))
            assert cpus(await owner.offers(within=60)) >= 3.0
        finally:
            await other.teardown()
            await owner.teardown()
