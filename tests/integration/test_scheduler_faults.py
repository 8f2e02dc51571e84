"""Fault injection: a silent master, a removed framework, ZooKeeper restarting under a running scheduler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mesos_framework.errors import SubscriptionLost
from mesos_framework.local import LocalCluster
from mesos_framework.protocol import ContentType, decode, encode, recordio_encode
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import Scheduler
from tests.integration.scheduler_helpers import FakeMasterServer, Recorder, cmd, master_tasks, running, until
from tests.support.zookeeper import ZooKeeperServer

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


class SilentMaster(FakeMasterServer):
    """Answers SUBSCRIBE with SUBSCRIBED (heartbeat 0.2 s) and then never sends anything again."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribes: list[scheduler_pb2.Call] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        call = decode(Call, await request.read(), ContentType.JSON)
        if call.type != Call.SUBSCRIBE:
            return web.Response(status=202)
        self.subscribes.append(call)
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/json", "Mesos-Stream-Id": f"s{len(self.subscribes)}"},
        )
        await resp.prepare(request)
        ev = Event(type=Event.SUBSCRIBED)
        ev.subscribed.framework_id.value = "fw-silent"
        ev.subscribed.heartbeat_interval_seconds = 0.2
        await resp.write(recordio_encode(encode(ev, ContentType.JSON)))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        return resp


@pytest.fixture
async def silent_master() -> AsyncIterator[SilentMaster]:
    async with SilentMaster() as master:
        yield master


async def test_heartbeat_watchdog_resubscribes_with_the_framework_id(silent_master: SilentMaster) -> None:
    s = Scheduler(
        master=silent_master.url,
        framework_name="silent",
        content_type="json",
        heartbeat_misses=1,
        exponential_backoff_minimum=0.05,
        exponential_backoff_maximum=0.1,
    )
    errors: list[BaseException] = []
    disconnected: list[Any] = []
    s.on("error", errors.append)
    s.on("disconnected", lambda: disconnected.append(True))
    async with s:
        await until(lambda: len(silent_master.subscribes) >= 3, timeout=20, what="three subscriptions")
    assert len(disconnected) >= 2
    first, second = silent_master.subscribes[0], silent_master.subscribes[1]
    assert not first.HasField("framework_id")
    assert second.framework_id.value == "fw-silent"
    assert second.subscribe.framework_info.id.value == "fw-silent"
    assert not any(isinstance(e, SubscriptionLost) for e in errors)  # routine reconnects are not errors


@pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)
async def test_removed_framework_registers_anew_when_told_to(local_cluster: LocalCluster) -> None:
    s = Scheduler(
        master=local_cluster.url,
        framework_name="phoenix",
        reregister_when_removed=True,
        exponential_backoff_minimum=0.05,
        exponential_backoff_maximum=0.1,
        tasks={"web": {**cmd(), "instances": 2}},
    )
    removed: list[BaseException] = []
    s.on("framework_removed", removed.append)
    async with s:
        await until(lambda: len(running(s)) == 2)
        old_id = s.framework_id
        async with (
            aiohttp.ClientSession() as session,
            session.post(local_cluster.url + "/master/teardown", data={"frameworkId": old_id}) as resp,
        ):
            assert resp.status == 200
        await until(lambda: bool(removed), what="framework_removed")
        await until(lambda: s.framework_id != old_id and len(running(s)) == 2, what="new framework, 2 tasks")
        assert "removed" in str(removed[0]).lower()
        assert len(await master_tasks(local_cluster.url, s.framework_id)) == 2


@pytest.mark.zookeeper
@pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)
async def test_zookeeper_restart_under_a_running_scheduler(
    local_cluster: LocalCluster, zookeeper_fresh: ZooKeeperServer
) -> None:
    s = Scheduler(
        master=local_cluster.url,
        framework_name="zkrestart",
        use_zk=True,
        zk_url=zookeeper_fresh.hosts,
        tasks={"web": {**cmd(), "instances": 3, "allow_scaling": True}},
    )
    rec = Recorder(s)
    async with s:
        await until(lambda: len(running(s)) == 3)
        zookeeper_fresh.stop()
        await s.scale("web", 4)  # the launch waits for its record to be written
        await asyncio.sleep(1.0)
        await asyncio.to_thread(zookeeper_fresh.start)
        await until(lambda: len(running(s)) == 4, timeout=60, what="4 running after ZooKeeper came back")
        assert rec.errors == []
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zookeeper_fresh.hosts)
    client.start(timeout=15)
    try:
        children = client.get_children("/dcos-service-zkrestart/tasks")
        # Four task records, and the runtime scale's own record (web: 4 instances).
        assert sorted(c for c in children if c.endswith(".scale")) == ["zkrestart.web.scale"]
        assert len([c for c in children if not c.endswith(".scale")]) == 4
    finally:
        client.stop()
        client.close()


@pytest.mark.zookeeper
async def test_leader_change_through_zookeeper_detection(zookeeper_fresh: ZooKeeperServer) -> None:
    zk = f"zk://{zookeeper_fresh.hosts}/mesos"
    async with LocalCluster(masters=2, zk=zk, status_update_retry=0.5, allocation_interval=0.2) as cluster:
        s = Scheduler(
            master=zk,
            framework_name="ha",
            exponential_backoff_minimum=0.1,
            exponential_backoff_maximum=0.5,
            tasks={"web": {**cmd(), "instances": 2}},
        )
        rec = Recorder(s)
        async with s:
            await until(lambda: len(running(s)) == 2, timeout=60)
            framework_id, first_leader = s.framework_id, s.leader
            ids = {r.task_id for r in s.tasks}
            await cluster.fail_over_master()
            await until(
                lambda: s.connected and s.leader != first_leader,
                timeout=60,
                what="subscribed to the new leader",
            )
            assert s.framework_id == framework_id
            await asyncio.sleep(1.0)
            assert {r.task_id for r in s.tasks} == ids
            assert len(rec.launched_ids) == 2
