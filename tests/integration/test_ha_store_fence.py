"""A fenced ZooKeeper store (issue 16): writes are transactions that check the leader's znode."""

from __future__ import annotations

import uuid

import pytest
from kazoo.client import KazooClient

from mesos_framework.errors import ConfigurationError, NotLeader, StateConflict
from mesos_framework.persistence import ZooKeeperStore
from mesos_framework.scheduler import HighAvailability
from mesos_framework.scheduler._ha import Elector, FencedStore
from mesos_framework.tasks import TaskRecord
from tests.support.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.zookeeper


async def test_writes_land_only_while_the_leader_znode_exists(zookeeper_server: ZooKeeperServer) -> None:
    base = f"/fence-{uuid.uuid4().hex[:8]}"
    leader = f"{base}-leader/node-0000000001"
    zk = KazooClient(hosts=zookeeper_server.hosts)
    zk.start(timeout=15)
    store = ZooKeeperStore(zookeeper_server.hosts, base, operation_timeout=10)
    await store.open()
    try:
        with pytest.raises(ConfigurationError):
            store.fence("relative")
        zk.create(leader, b"", makepath=True)
        store.fence(leader)
        await store.save_framework_id("fw-1")
        await store.save_task(TaskRecord("web.1", "web", 1))
        await store.save_task(TaskRecord("web.1", "web", 1, agent_id="a1"))  # an update: set, not create
        await store.delete_task("missing")  # deleting what is not there is fine, fenced or not
        assert [r.agent_id for r in await store.load_tasks()] == ["a1"]

        zk.delete(leader)  # the leader's session is gone: ZooKeeper refuses the writes
        with pytest.raises(StateConflict, match="leader znode"):
            await store.save_task(TaskRecord("web.2", "web", 2))
        with pytest.raises(StateConflict):
            await store.delete_task("web.1")
        with pytest.raises(StateConflict):
            await store.save_framework_id("fw-2")
        assert await store.load_framework_id() == "fw-1"
        assert [r.task_id for r in await store.load_tasks()] == ["web.1"]

        store.fence(None)  # unfenced again
        await store.save_task(TaskRecord("web.2", "web", 2))
        assert sorted(r.task_id for r in await store.load_tasks()) == ["web.1", "web.2"]
    finally:
        await store.close()
        zk.delete(base, recursive=True)
        zk.delete(f"{base}-leader", recursive=True)
        zk.stop()
        zk.close()


async def test_a_standby_store_refuses_writes_but_reads() -> None:
    elector = Elector(HighAvailability("127.0.0.1:1", "/x/leader"))

    class Store:
        writes: list[str] = []

        async def load_framework_id(self) -> str | None:
            return "fw"

        async def save_task(self, record: TaskRecord) -> None:
            self.writes.append(record.task_id)

    inner = Store()
    fenced = FencedStore(inner, elector)  # type: ignore[arg-type]
    assert await fenced.load_framework_id() == "fw"
    with pytest.raises(NotLeader):
        await fenced.save_task(TaskRecord("web.1", "web", 1))
    elector.leading = True
    await fenced.save_task(TaskRecord("web.1", "web", 1))
    assert inner.writes == ["web.1"]
