"""Hot-standby HA (issue 16, item 1): three replicas as real processes, a real ZooKeeper, the local cluster.

The leader is SIGKILLed, its ZooKeeper session expired, ZooKeeper stopped for a while; then
twenty failovers in a row. Each time exactly one replica leads afterwards, it runs the same
framework, and across all of it no task is lost, killed or launched twice; the replicas' calls
never interleave (one actor at a time).
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from kazoo.client import KazooClient

from mesos_framework.local import LocalCluster
from tests.integration.ha_helpers import (
    Replica,
    check_nothing_lost,
    describe,
    expire_leader,
    failovers,
    first_leader,
    kills,
    launches,
    one_leader_running,
    stop_zookeeper_briefly,
)
from tests.integration.scheduler_helpers import until
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.zookeeper,
    pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2),
]

INSTANCES = 3
FAILOVERS = 20


async def test_failovers_keep_one_leader_and_every_task(
    local_cluster: LocalCluster, zookeeper_fresh: ZooKeeperServer
) -> None:
    url, zk = local_cluster.url, zookeeper_fresh.hosts

    async def spawn() -> Replica:
        return await Replica.spawn(url, zk, "hatest", INSTANCES)

    replicas = [await spawn() for _ in range(3)]
    try:
        # One leads and launches the instances; the others stand by.
        leader = await first_leader(replicas, INSTANCES)
        framework_id = leader.events("subscribed")[0]["framework_id"]
        tasks = {t for _, t in leader.running()}

        # 1. SIGKILL the leader: a standby takes over the same framework and adopts the tasks.
        since = time.time()
        await leader.sigkill()
        leader = await one_leader_running(replicas, tasks, since)
        assert leader.events("subscribed")[-1]["framework_id"] == framework_id
        replicas.append(await spawn())

        # 2. Expire the leader's ZooKeeper session: it fences itself and another replica leads.
        leader = await expire_leader(zk, replicas, leader, tasks)

        # 3. ZooKeeper down for a while: the leader fences itself; once back, one replica leads.
        leader = await stop_zookeeper_briefly(zookeeper_fresh, replicas, leader, tasks)

        # 4. Many failovers: session expiry, and every fourth a SIGKILL (replaced by a new replica).
        leader = await failovers(FAILOVERS - 3, replicas, leader, tasks, framework_id, zk=zk, respawn=spawn)

        # Nothing was lost, killed or launched twice; the master runs exactly the first tasks.
        await check_nothing_lost(url, replicas, framework_id, tasks)
        assert sum(r.elections for r in replicas) >= FAILOVERS + 1
    finally:
        for r in replicas:
            await r.sigkill()


async def test_a_runtime_scale_survives_a_failover(
    local_cluster: LocalCluster, zookeeper_server: ZooKeeperServer
) -> None:
    """Scaled from 2 to 4 on the leader, which is then SIGKILLed: the new leader keeps 4, kills none."""
    url, zk = local_cluster.url, zookeeper_server.hosts
    replicas = [await Replica.spawn(url, zk, "hascale", 2) for _ in range(2)]
    try:
        leader = await first_leader(replicas, 2)
        leader.proc.send_signal(signal.SIGUSR1)  # ha_proc: scale web to 4
        await until(
            lambda: len(leader.running()) == 4,
            timeout=90,
            what=lambda: "4 running after scaling:\n" + describe(replicas),
        )
        assert [e["instances"] for e in leader.events("scaled")] == [4]
        tasks = {t for _, t in leader.running()}
        # The leader's background writer has stored the 4 task records (and the scale, queued first).
        await until(lambda: _stored(zk, "hascale") >= 4, timeout=30, what="4 task records stored")
        since = time.time()
        await leader.sigkill()
        new = await one_leader_running(replicas, tasks, since)
        await asyncio.sleep(2.0)  # offers come and go: nothing launched, nothing killed
        assert {t for _, t in new.running()} == tasks
        assert kills(replicas) == [], describe(replicas)
        assert launches(replicas) == {f"web-{n}": 1 for n in range(1, 5)}, describe(replicas)
        assert new.events("error") == []
    finally:
        for r in replicas:
            await r.sigkill()


def _stored(zk: str, name: str) -> int:
    """How many records the replicas' ZooKeeper store holds for framework `name`."""
    client = KazooClient(hosts=zk)
    client.start(timeout=10)
    try:
        return len(client.get_children(f"/ha-{name}/tasks"))
    finally:
        client.stop()
        client.close()
