"""ZooKeeper persistence: the scheduler process is SIGKILLed and started again."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager

import pytest
from kazoo.client import KazooClient

from mesos_framework.local import LocalCluster
from tests.integration.scheduler_helpers import master_tasks, until
from tests.support.json_procs import JsonLinesProcess, json_lines_process
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [
    pytest.mark.zookeeper,
    pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2),
]

Proc = JsonLinesProcess


def scheduler_process(master: str, zk: str, instances: int) -> AbstractAsyncContextManager[Proc]:
    return json_lines_process("tests.integration.scheduler_proc", master, zk, str(instances))


async def test_sigkill_and_restart_adopts_kills_and_relaunches(
    local_cluster: LocalCluster, zookeeper_fresh: ZooKeeperServer
) -> None:
    url, zk = local_cluster.url, zookeeper_fresh.hosts

    # Run 1: three instances.
    async with scheduler_process(url, zk, 3) as first:
        await until(lambda: len(first.running()) == 3, timeout=60, what="3 running in run 1")
        framework_id = first.events("subscribed")[0]["framework_id"]
        original = dict(first.running())
        await first.sigkill()
    assert len(first.events("launch")) == 3, "\n".join(map(str, first.lines))

    # Run 2: four instances: the three are adopted (same task IDs), web-4 is launched.
    async with scheduler_process(url, zk, 4) as second:
        await until(lambda: len(second.running()) == 4, timeout=60, what="4 running in run 2")
        assert second.events("subscribed")[0]["framework_id"] == framework_id
        running = dict(second.running())
        assert {k: running[k] for k in original} == original
        assert [e["name"] for e in second.events("launch")] == ["web-4"]
        await second.sigkill()

    # Run 3: two instances: web-3 and web-4 are killed, web-1 and web-2 kept.
    async with scheduler_process(url, zk, 2) as third:
        await until(
            lambda: len(third.running()) == 2,
            timeout=60,
            what=lambda: "2 running in run 3:\n" + "\n".join(map(str, third.lines)),
        )
        assert dict(third.running()) == {k: original[k] for k in ("web-1", "web-2")}
        assert third.events("launch") == []

        unwanted = {t for name, t in dict(second.running()).items() if name in ("web-3", "web-4")}
        assert len(unwanted) == 2
        await until(
            lambda: {e["task_id"] for e in third.events("update") if e["state"] == "TASK_KILLED"} >= unwanted,
            timeout=60,
            what=lambda: "web-3 and web-4 killed:\n" + "\n".join(map(str, third.lines)),
        )
        on_master = await master_tasks(url, framework_id)
        assert sorted(t for t, st in on_master.items() if st == "TASK_RUNNING") == sorted(
            original[k] for k in ("web-1", "web-2")
        )
        assert third.events("error") == []
        # run() returns cleanly on SIGTERM (the framework fails over; its tasks keep running).
        third.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(third.proc.wait(), 30) == 0

    # The persisted state matches: framework id and exactly the two task nodes.
    client = KazooClient(hosts=zk)
    client.start(timeout=15)
    try:
        data, _ = client.get("/it-recovery-test/framework-id")
        assert data.decode() == framework_id
        assert sorted(client.get_children("/it-recovery-test/tasks")) == sorted(
            original[k] for k in ("web-1", "web-2")
        )
    finally:
        client.stop()
        client.close()
