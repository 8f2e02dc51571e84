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
    check_one_actor_at_a_time,
    expire_session,
    kills,
    launches,
    leaders,
)
from tests.integration.scheduler_helpers import master_tasks, until
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.zookeeper,
    pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2),
]

INSTANCES = 3
FAILOVERS = 20


def _describe(replicas: list[Replica]) -> str:
    return "\n".join(f"{r.pid}: {line}" for r in replicas for line in r.lines[-15:])


async def _one_leader_running(replicas: list[Replica], expected: set[str], since: float) -> Replica:
    """Wait until exactly one replica leads and reports the expected tasks running (after `since`)."""

    def ok() -> bool:
        found = leaders(replicas)
        if len(found) != 1:
            return False
        leader = found[0]
        reports = [e for e in leader.events("running") if e["t"] >= since]
        elected = leader.events("elected")[-1]["t"]
        return bool(reports) and elected >= since and {t for _, t in leader.running()} == expected

    await until(ok, timeout=90, what=lambda: "one leader with every task running:\n" + _describe(replicas))
    (leader,) = leaders(replicas)
    return leader


async def test_failovers_keep_one_leader_and_every_task(
    local_cluster: LocalCluster, zookeeper_fresh: ZooKeeperServer
) -> None:
    url, zk = local_cluster.url, zookeeper_fresh.hosts
    replicas = [await Replica.spawn(url, zk, "hatest", INSTANCES) for _ in range(3)]
    try:
        # One leads and launches the instances; the others stand by.
        await until(
            lambda: len(leaders(replicas)) == 1 and len(leaders(replicas)[0].running()) == INSTANCES,
            timeout=90,
            what=lambda: "a leader running every instance:\n" + _describe(replicas),
        )
        leader = leaders(replicas)[0]
        framework_id = leader.events("subscribed")[0]["framework_id"]
        tasks = {t for _, t in leader.running()}
        await until(lambda: all(r.events("standby") for r in replicas), what="every replica stood by")

        # 1. SIGKILL the leader: a standby takes over the same framework and adopts the tasks.
        since = time.time()
        await leader.sigkill()
        leader = await _one_leader_running(replicas, tasks, since)
        assert leader.events("subscribed")[-1]["framework_id"] == framework_id
        replicas.append(await Replica.spawn(url, zk, "hatest", INSTANCES))

        # 2. Expire the leader's ZooKeeper session: it fences itself and another replica leads.
        since = time.time()
        old = leader
        await asyncio.to_thread(expire_session, zk, old)
        await until(lambda: bool(old.events("lost")), what="the expired leader reported leadership_lost")
        leader = await _one_leader_running(replicas, tasks, since)

        # 3. ZooKeeper down for a while: the leader fences itself; once back, one replica leads.
        since = time.time()
        old = leader
        await asyncio.to_thread(zookeeper_fresh.stop)
        await until(lambda: not old.leading, timeout=30, what="the leader fenced itself without ZooKeeper")
        assert leaders(replicas) == []
        await asyncio.sleep(1.0)
        await asyncio.to_thread(zookeeper_fresh.start)
        leader = await _one_leader_running(replicas, tasks, since)

        # 4. Many failovers: session expiry, and every fourth a SIGKILL (replaced by a new replica).
        for i in range(FAILOVERS - 3):
            since = time.time()
            if i % 4 == 3:
                await leader.sigkill()
                replicas.append(await Replica.spawn(url, zk, "hatest", INSTANCES))
            else:
                await asyncio.to_thread(expire_session, zk, leader)
            leader = await _one_leader_running(replicas, tasks, since)
            assert leader.events("subscribed")[-1]["framework_id"] == framework_id

        # Nothing was lost, killed or launched twice; the master runs exactly the first tasks.
        assert launches(replicas) == {f"web-{n}": 1 for n in range(1, INSTANCES + 1)}, _describe(replicas)
        assert kills(replicas) == []
        on_master = await master_tasks(url, framework_id)
        assert {t for t, state in on_master.items() if state == "TASK_RUNNING"} == tasks
        assert len(on_master) == INSTANCES
        check_one_actor_at_a_time(replicas)
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
        await until(
            lambda: len(leaders(replicas)) == 1 and len(leaders(replicas)[0].running()) == 2,
            timeout=90,
            what=lambda: "a leader running 2 instances:\n" + _describe(replicas),
        )
        await until(lambda: all(r.events("standby") for r in replicas), what="every replica stood by")
        leader = leaders(replicas)[0]
        leader.proc.send_signal(signal.SIGUSR1)  # ha_proc: scale web to 4
        await until(
            lambda: len(leader.running()) == 4,
            timeout=90,
            what=lambda: "4 running after scaling:\n" + _describe(replicas),
        )
        assert [e["instances"] for e in leader.events("scaled")] == [4]
        tasks = {t for _, t in leader.running()}
        # The leader's background writer has stored the 4 task records (and the scale, queued first).
        await until(lambda: _stored(zk, "hascale") >= 4, timeout=30, what="4 task records stored")
        since = time.time()
        await leader.sigkill()
        new = await _one_leader_running(replicas, tasks, since)
        await asyncio.sleep(2.0)  # offers come and go: nothing launched, nothing killed
        assert {t for _, t in new.running()} == tasks
        assert kills(replicas) == [], _describe(replicas)
        assert launches(replicas) == {f"web-{n}": 1 for n in range(1, 5)}, _describe(replicas)
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
