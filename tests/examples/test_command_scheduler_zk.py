"""The ZooKeeper command scheduler survives a restart: same framework, same tasks."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from kazoo.client import KazooClient

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner, active_tasks, master_state
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [pytest.mark.zookeeper]


async def test_restart_recovers_framework_and_tasks(
    zookeeper_server: ZooKeeperServer, run_example: Runner
) -> None:
    # Two masters electing a leader in ZooKeeper; the example finds it through zk://.
    zk_master = f"zk://{zookeeper_server.hosts}/mesos-examples-{uuid.uuid4().hex[:8]}"
    async with LocalCluster(masters=2, zk=zk_master) as cluster:
        await _restart_recovers(cluster, zk_master, zookeeper_server, run_example)


async def _restart_recovers(
    local_cluster: LocalCluster, zk_master: str, zookeeper_server: ZooKeeperServer, run_example: Runner
) -> None:
    name = f"zk-example-{uuid.uuid4().hex[:8]}"
    common = (
        "command_scheduler_zk.py",
        "--master",
        zk_master,
        "--zk-url",
        zookeeper_server.hosts,
        "--zk-prefix",
        "/examples-",
        "--framework-name",
        name,
    )
    first = await run_example(*common, "--run-for", "0", timeout=120)
    assert first.returncode == 0, first.explain()
    assert first.lines("no state in ZooKeeper /examples-zk-example-"), first.explain()
    framework_id = re.search(r"subscribed as framework (\S+)", first.stdout)
    assert framework_id, first.explain()
    launched = set(re.findall(r"(sleep-\d)\s+RUNNING", first.stdout))
    assert launched == {"sleep-1", "sleep-2"}, first.explain()
    state = await master_state(_leader_url(local_cluster))
    task_ids = {t["id"] for t in active_tasks(state, framework_id.group(1)) if t["state"] == "TASK_RUNNING"}
    assert len(task_ids) == 2

    second = await run_example(*common, "--teardown", timeout=120)
    why = second.explain()
    assert second.returncode == 0, why
    assert second.lines(f"recovered framework {framework_id.group(1)} with 2 task(s)"), why
    assert second.lines(f"subscribed as framework {framework_id.group(1)}"), why
    recovered = set(re.findall(r"recovered sleep-\d (\S+)", second.stdout))
    assert recovered == task_ids, why
    # Adopted, not relaunched: no task started in the second run.
    assert not second.lines("STARTING"), why
    assert second.lines("== teardown"), why

    # The teardown cleared the framework's state in ZooKeeper: a next run starts afresh.
    zk = KazooClient(hosts=zookeeper_server.hosts)
    await asyncio.to_thread(zk.start, 10)
    try:
        base = f"/examples-{name}"
        assert await asyncio.to_thread(zk.exists, base + "/framework-id") is None
        assert await asyncio.to_thread(zk.get_children, base + "/tasks") == []
    finally:
        await asyncio.to_thread(zk.stop)
        await asyncio.to_thread(zk.close)
    # The torn-down framework's tasks are gone.
    state = await master_state(_leader_url(local_cluster))
    assert not active_tasks(state, framework_id.group(1))


def _leader_url(cluster: LocalCluster) -> str:
    return cluster.urls[cluster.masters.index(cluster.master)]
