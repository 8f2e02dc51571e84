"""Hot-standby HA (issue 16, item 1): three replicas as real processes, a real ZooKeeper, the local cluster.

The leader is SIGKILLed, its ZooKeeper session expired, ZooKeeper stopped for a while; then
twenty failovers in a row. Each time exactly one replica leads afterwards, it runs the same
framework, and across all of it no task is lost, killed or launched twice; the replicas' calls
never interleave (one actor at a time).
"""

from __future__ import annotations

import asyncio
import time

import pytest

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
