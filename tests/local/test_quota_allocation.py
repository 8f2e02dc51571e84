"""Quota guarantees in the local allocator: roles without quota are not offered the unreserved
resources an unmet guarantee still needs, and the guaranteed role gets them."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from mesos_framework.errors import BadRequest
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


async def test_a_limit_below_consumption_needs_force_and_then_holds() -> None:
    async with (
        LocalCluster(allocation_interval=0.5, resources="cpus:4;mem:4096") as cluster,
        aiohttp.ClientSession() as http,
        MasterOperator(cluster.url) as op,
    ):
        s = RawScheduler(cluster.url, http)
        try:
            await s.subscribe(framework_info("over-limit", "MULTI_ROLE", roles=["busy"]))
            offer = (await s.offers(within=60))[0]
            task_id = await s.launch(offer, {"value": "sleep 60"}, cpus=1.0, mem=32.0)
            while (st := await s.update(task_id, within=60))["state"] != "TASK_RUNNING":
                await s.ack(st)
            await s.ack(st)
            limits = {"cpus": {"value": 0.5}}
            with pytest.raises(
                BadRequest,
                match=r"Role 'busy' is already consuming 'cpus:1; mem:32'; this is more than the requested "
                r"limits 'cpus:0.5' \(use 'force' flag to bypass this check\)",
            ):
                await op.update_quota([{"role": "busy", "limits": limits}])
            await op.update_quota([{"role": "busy", "limits": limits}], force=True)
            # from now on its offers carry no cpus (the limit is used up by the task)
            rescind = await s.wait_for(lambda e: e["type"] == "RESCIND", within=60)
            gone = rescind["rescind"]["offer_id"]["value"]
            offers = [o for o in await s.offers(within=60) if o["id"]["value"] != gone]
            while not offers:  # (the rescinded offer's event may still be queued)
                offers = [o for o in await s.offers(within=60) if o["id"]["value"] != gone]
            assert cpus(offers) == 0.0
        finally:
            await s.teardown()
