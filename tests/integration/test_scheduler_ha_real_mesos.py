"""Hot-standby HA against a real Mesos 1.11 master: replica processes and a real ZooKeeper.

The leader is SIGKILLed, the next leader's ZooKeeper session expired, ZooKeeper stopped for a
while, then a few more failovers (session expiry and SIGKILL): each time exactly one replica
takes the same framework over (the master fails the old subscription over), reconciles and
adopts the running tasks: none lost, killed or launched twice, and the replicas' calls never
interleave. The twenty-failover run is on the local cluster (``test_scheduler_ha_local.py``).
"""

from __future__ import annotations

import time

import aiohttp
import pytest

from tests.integration.ha_helpers import (
    Replica,
    check_nothing_lost,
    expire_leader,
    failovers,
    first_leader,
    one_leader_running,
    stop_zookeeper_briefly,
)
from tests.support.real_mesos import RealMesos
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [pytest.mark.real_mesos, pytest.mark.zookeeper, pytest.mark.slow]

INSTANCES = 2
#: After the SIGKILL, the session expiry and the ZooKeeper outage: six expiries and two SIGKILLs.
MORE_FAILOVERS = 8


async def test_failovers_on_real_mesos(
    real_mesos_cluster: RealMesos, zookeeper_fresh: ZooKeeperServer
) -> None:
    url, zk = real_mesos_cluster.url, zookeeper_fresh.hosts
    name = f"ha-real-{int(time.time())}"

    async def spawn() -> Replica:
        return await Replica.spawn(url, zk, name, INSTANCES)

    replicas = [await spawn() for _ in range(2)]
    framework_id = None
    try:
        leader = await first_leader(replicas, INSTANCES)
        framework_id = leader.events("subscribed")[0]["framework_id"]
        tasks = {t for _, t in leader.running()}

        # 1. SIGKILL the leader: the standby takes the framework over; a new replica stands by.
        since = time.time()
        await leader.sigkill()
        leader = await one_leader_running(replicas, tasks, since)
        assert leader.events("subscribed")[-1]["framework_id"] == framework_id
        replicas.append(await spawn())

        # 2. Expire the leader's ZooKeeper session.
        leader = await expire_leader(zk, replicas, leader, tasks)

        # 3. ZooKeeper down for a while: nobody leads; once back, exactly one replica does.
        leader = await stop_zookeeper_briefly(zookeeper_fresh, replicas, leader, tasks)

        # 4. A few more: session expiries and a SIGKILL.
        leader = await failovers(MORE_FAILOVERS, replicas, leader, tasks, framework_id, zk=zk, respawn=spawn)

        await check_nothing_lost(url, replicas, framework_id, tasks)
        assert sum(r.elections for r in replicas) >= 3 + MORE_FAILOVERS + 1
    finally:
        for r in replicas:
            await r.sigkill()
        if framework_id is not None:  # leave the shared agent free for the other tests
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{url}/master/teardown", data={"frameworkId": framework_id}),
            ):
                pass
