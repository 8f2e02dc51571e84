"""Hot-standby HA against a real Mesos 1.11 master: two replica processes and a real ZooKeeper.

The leader is SIGKILLed, then the next leader's ZooKeeper session is expired: each time the
other replica takes the same framework over (the master fails the old subscription over),
reconciles and adopts the running tasks: none lost, killed or launched twice.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.integration.ha_helpers import (
    Replica,
    check_one_actor_at_a_time,
    expire_session,
    kills,
    launches,
    leaders,
)
from tests.integration.scheduler_helpers import master_tasks, until
from tests.support.real_mesos import RealMesos
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [pytest.mark.real_mesos, pytest.mark.zookeeper, pytest.mark.slow]

INSTANCES = 2


async def test_failovers_on_real_mesos(
    real_mesos_cluster: RealMesos, zookeeper_server: ZooKeeperServer
) -> None:
    url, zk = real_mesos_cluster.url, zookeeper_server.hosts
    name = f"ha-real-{int(time.time())}"
    replicas = [await Replica.spawn(url, zk, name, INSTANCES) for _ in range(2)]
    framework_id = None
    try:

        def describe() -> str:
            return "\n".join(f"{r.pid}: {line}" for r in replicas for line in r.lines[-12:])

        async def one_leader_running(since: float) -> Replica:
            def ok() -> bool:
                found = leaders(replicas)
                return (
                    len(found) == 1
                    and found[0].events("elected")[-1]["t"] >= since
                    and len(found[0].running()) == INSTANCES
                    and any(e["t"] >= since for e in found[0].events("running"))
                )

            await until(ok, timeout=120, what=lambda: "one leader running every task:\n" + describe())
            return leaders(replicas)[0]

        leader = await one_leader_running(0.0)
        framework_id = leader.events("subscribed")[0]["framework_id"]
        tasks = {t for _, t in leader.running()}

        since = time.time()
        await leader.sigkill()
        leader = await one_leader_running(since)
        replicas.append(await Replica.spawn(url, zk, name, INSTANCES))

        since = time.time()
        await asyncio.to_thread(expire_session, zk, leader)
        leader = await one_leader_running(since)

        assert {t for _, t in leader.running()} == tasks
        assert leader.events("subscribed")[-1]["framework_id"] == framework_id
        assert launches(replicas) == {f"web-{n}": 1 for n in range(1, INSTANCES + 1)}, describe()
        assert kills(replicas) == []
        on_master = await master_tasks(url, framework_id)
        assert {t for t, st in on_master.items() if st == "TASK_RUNNING"} == tasks
        check_one_actor_at_a_time(replicas)
    finally:
        for r in replicas:
            await r.sigkill()
        if framework_id is not None:  # leave the shared agent free for the other tests
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{url}/master/teardown", data={"frameworkId": framework_id}),
            ):
                pass
