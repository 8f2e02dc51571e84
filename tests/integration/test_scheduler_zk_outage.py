"""A ZooKeeper outage under a running scheduler (issue 15, item 1): a real ZooKeeper, the local cluster.

While ZooKeeper is down the scheduler keeps handling events: killed tasks are
relaunched, updates acknowledged, and the failing writes are reported as
`StateStoreError` through `error`. Once ZooKeeper is back the store catches
up, and a restarted scheduler adopts exactly the tasks that run. `stop()`
returns promptly during an outage. A new framework launches nothing until its ID is
stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from mesos_framework.errors import StateStoreError
from mesos_framework.local import LocalCluster
from mesos_framework.persistence import MemoryStore, ZooKeeperStore
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import Recorder, cmd, master_tasks, until
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2),
]


def _kill_all(pid_file: Path) -> int:
    killed = 0
    for line in pid_file.read_text().split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line), signal.SIGKILL)
            killed += 1
    return killed


def _running_ids(s: Scheduler) -> set[str]:
    return {r.task_id for r in s.tasks if r.state == TaskState.TASK_RUNNING and not r.restarting}


def _scheduler(url: str, zk: ZooKeeperServer, pid_file: Path, *, timeout: float) -> Scheduler:
    return Scheduler(
        master=url,
        framework_name="zkoutage",
        framework_failover_timeout=300,
        state_store=ZooKeeperStore(zk.hosts, "/zkoutage", operation_timeout=timeout),
        restart_backoff_minimum=0.1,
        restart_backoff_maximum=0.5,
        tasks={"web": {**cmd(f"echo $$ >> {pid_file}; exec sleep 300"), "instances": 3}},
    )


def _stored(zk: ZooKeeperServer) -> dict[str, bytes]:
    client = KazooClient(hosts=zk.hosts)
    client.start(timeout=15)
    try:
        return {
            child: client.get(f"/zkoutage/tasks/{child}")[0]
            for child in client.get_children("/zkoutage/tasks")
        }
    finally:
        client.stop()
        client.close()


@pytest.mark.zookeeper
async def test_zookeeper_outage_keeps_the_fleet_going_and_the_store_catches_up(
    local_cluster: LocalCluster, zookeeper_fresh: ZooKeeperServer, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    # 15 s per write: handled on the event path, the outage's writes would hold up events for minutes.
    s = _scheduler(local_cluster.url, zookeeper_fresh, pid_file, timeout=15)
    rec = Recorder(s)
    async with s:
        await until(lambda: len(_running_ids(s)) == 3, what="3 running")
        first = _running_ids(s)
        await until(lambda: set(_stored(zookeeper_fresh)) == first, what="the first tasks stored")

        await asyncio.to_thread(zookeeper_fresh.stop)
        assert _kill_all(pid_file) == 3
        # Relaunches and acknowledgements go on while nothing can be written.
        await until(
            lambda: len(_running_ids(s)) == 3 and not _running_ids(s) & first,
            timeout=90,
            what="3 relaunched tasks running during the outage",
        )
        await until(rec.all_acked, timeout=60, what="every update acknowledged during the outage")
        await until(
            lambda: any(isinstance(e, StateStoreError) for e in rec.errors),
            timeout=60,
            what="an error event with StateStoreError",
        )
        relaunched = _running_ids(s)
        assert set(await master_tasks(local_cluster.url, s.framework_id)) == relaunched

        await asyncio.to_thread(zookeeper_fresh.start)

        def caught_up() -> bool:
            try:
                stored = _stored(zookeeper_fresh)
            except Exception:
                return False
            return set(stored) == relaunched and all(b"TASK_RUNNING" in v for v in stored.values())

        await until(caught_up, timeout=90, what="the store caught up with the relaunched tasks")
        framework_id = s.framework_id

    # A scheduler started again adopts the tasks that run and launches nothing.
    again = _scheduler(local_cluster.url, zookeeper_fresh, pid_file, timeout=3)
    rec2 = Recorder(again)
    async with again:
        await until(lambda: _running_ids(again) == relaunched, timeout=60, what="relaunched adopted")
        await asyncio.sleep(2.0)  # a duplicate launch would show by now (offers come every 0.2 s)
        assert again.framework_id == framework_id
        assert rec2.launched_ids == []
        assert _running_ids(again) == relaunched
        assert set(await master_tasks(local_cluster.url, framework_id)) == relaunched


@pytest.mark.zookeeper
async def test_stop_returns_promptly_while_zookeeper_is_down(
    local_cluster: LocalCluster, zookeeper_fresh: ZooKeeperServer, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    # The store's own timeout is long (a minute): stop() must not wait for it.
    s = _scheduler(local_cluster.url, zookeeper_fresh, pid_file, timeout=60)
    store = s.options.state_store
    assert isinstance(store, ZooKeeperStore)
    await s.start()
    try:
        await until(lambda: len(_running_ids(s)) == 3, what="3 running")
        first = _running_ids(s)
        await asyncio.to_thread(zookeeper_fresh.stop)
        _kill_all(pid_file)  # the writes of what follows wait on ZooKeeper
        await until(lambda: bool(_running_ids(s) - first), timeout=90, what="a relaunched task running")
    finally:
        # Generous for a loaded machine, far below the 60 s the store would wait.
        await asyncio.wait_for(s.stop(), 30)
    # The store finishes closing in the background once ZooKeeper answers again (its kazoo
    # client must not outlive the test: its reconnection attempts would disturb later tests).
    await asyncio.to_thread(zookeeper_fresh.start)
    await until(lambda: store._client is None, timeout=90, what="the store closed in the background")


class GatedStore(MemoryStore):
    """A store whose framework ID write waits for ``gate`` (fault injection: a slow or down store)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def save_framework_id(self, framework_id: str) -> None:
        await self.gate.wait()
        await super().save_framework_id(framework_id)


async def test_a_new_framework_launches_once_its_id_is_stored(local_cluster: LocalCluster) -> None:
    # Launched before, its tasks would be orphaned by a scheduler restarted without the ID
    # (it would register another framework and launch every instance again).
    store = GatedStore()
    s = Scheduler(
        master=local_cluster.url,
        framework_name="fidfirst",
        state_store=store,
        tasks={"web": {**cmd(), "instances": 2}},
    )
    rec = Recorder(s)
    async with s:
        await until(
            lambda: (
                s.framework_id is not None and (rec.counts["sent_decline"] >= 2 or bool(rec.launched_ids))
            ),
            what="offers held (or used)",
        )
        assert rec.launched_ids == []
        store.gate.set()
        await until(lambda: len(_running_ids(s)) == 2, what="2 running once the ID is stored")
        assert store.framework_id == s.framework_id
