"""The ZooKeeper store's own behaviour (layout, seed records, restarts); what every
store does is in test_stores.py."""

from __future__ import annotations

import asyncio

import pytest
from kazoo.client import KazooClient

from mesos_framework.errors import StateStoreError
from mesos_framework.persistence import ZooKeeperStore
from mesos_framework.tasks import TaskRecord, TaskState
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [
    pytest.mark.zookeeper,
]


async def test_zookeeper_layout_matches_the_seed_and_reads_seed_records(
    zookeeper_server: ZooKeeperServer,
) -> None:
    client = KazooClient(hosts=zookeeper_server.hosts)
    client.start(timeout=15)
    try:
        base = "/dcos-service-seedfw"
        client.create(f"{base}/framework-id", b"fw-seed", makepath=True)
        seed_task = (
            b'{"name":"web-3","taskId":"seedfw.web-3.1234","runtimeInfo":{"agentId":"S1",'
            b'"state":"TASK_RUNNING","network":{"hostname":"h","ip":"10.0.0.1","ports":[31005]}}}'
        )
        client.create(f"{base}/tasks/seedfw.web-3.1234", seed_task, makepath=True)
        client.create(f"{base}/tasks/garbage", b"{not json", makepath=True)
        store = ZooKeeperStore(zookeeper_server.hosts, base)
        await store.open()
        try:
            assert await store.load_framework_id() == "fw-seed"
            (rec,) = await store.load_tasks()
            assert (rec.type_name, rec.serial, rec.state, rec.agent_id, rec.ports) == (
                "web",
                3,
                TaskState.TASK_RUNNING,
                "S1",
                (31005,),
            )
            assert client.exists(f"{base}/tasks/garbage") is None  # unreadable nodes are cleaned up
            await store.save_task(TaskRecord("seedfw.web-1.x", "web", 1))
            assert client.exists(f"{base}/tasks/seedfw.web-1.x") is not None
        finally:
            await store.close()
    finally:
        client.stop()
        client.close()


async def test_writes_apply_in_order(zookeeper_server: ZooKeeperServer) -> None:
    store = ZooKeeperStore(zookeeper_server.hosts, "/order-test")
    await store.open()
    try:
        rec = TaskRecord("t.web-1.x", "web", 1)
        # Fire a save and a delete without awaiting in between: the delete must win.
        await asyncio.gather(store.save_task(rec), store.delete_task(rec.task_id))
        assert await store.load_tasks() == []
    finally:
        await store.close()


async def test_survives_a_zookeeper_restart(zookeeper_fresh: ZooKeeperServer) -> None:
    store = ZooKeeperStore(zookeeper_fresh.hosts, "/restart-test")
    await store.open()
    try:
        await store.save_framework_id("fw-1")
        zookeeper_fresh.stop()
        pending = asyncio.ensure_future(store.save_task(TaskRecord("t.web-1.x", "web", 1)))
        await asyncio.sleep(0.5)
        assert not pending.done()
        await asyncio.to_thread(zookeeper_fresh.start)
        await pending
        assert [r.task_id for r in await store.load_tasks()] == ["t.web-1.x"]
        assert await store.load_framework_id() == "fw-1"
    finally:
        await store.close()


async def test_bad_path_and_closed_store() -> None:
    with pytest.raises(StateStoreError, match="must start with /"):
        ZooKeeperStore("127.0.0.1:1", "no-slash")
    with pytest.raises(StateStoreError, match="not open"):
        await ZooKeeperStore("127.0.0.1:1", "/x").load_tasks()
