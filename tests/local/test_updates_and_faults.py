"""Status update reliability and faults on demand."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.integration.scheduler_helpers import until
from tests.local.conftest import Factory, until_running


async def test_unacked_update_is_retried(scheduler: Factory) -> None:
    s = await scheduler("retry")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "exit 0"})
    first = await s.update(task_id)
    again = await s.update(task_id)  # retried after status_update_retry (0.3 s)
    assert first["state"] == again["state"] == "TASK_STARTING"
    assert first["uuid"] == again["uuid"]
    await s.ack(again)
    assert (await s.update(task_id))["state"] == "TASK_RUNNING"


async def test_ack_of_other_uuid_is_ignored(scheduler: Factory) -> None:
    s = await scheduler("wrongack")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "exit 0"})
    first = await s.update(task_id)
    await s.ack({**first, "uuid": "Wx48TZ8qTI631horPE1ebw=="})
    assert (await s.update(task_id))["state"] == "TASK_STARTING"


async def test_pending_updates_resent_on_resubscribe(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    cluster.config.status_update_retry = 3600.0  # only the resubscription can resend
    s = RawScheduler(cluster.url, http)
    await s.subscribe(framework_info("resend", failover_timeout=60.0))
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "exit 0"})
    first = await s.update(task_id)
    assert cluster.drop_framework_stream(s.framework_id or "")
    await asyncio.wait_for(s.closed.wait(), 10)
    again = RawScheduler(cluster.url, http)
    try:
        await again.subscribe(framework_info("resend", failover_timeout=60.0, id={"value": s.framework_id}))
        resent = await again.update(task_id)
        assert resent["uuid"] == first["uuid"]
        await again.ack(resent)
        assert (await again.update(task_id))["state"] == "TASK_RUNNING"
    finally:
        await again.teardown()


async def test_terminal_ack_removes_task(scheduler: Factory, cluster: LocalCluster) -> None:
    s = await scheduler("remove")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "exit 0"})
    while (st := await s.update(task_id))["state"] != "TASK_FINISHED":
        await s.ack(st)
    fw = cluster.master.frameworks[s.framework_id or ""]
    assert task_id in fw.tasks
    await s.ack(st)
    for _ in range(50):
        if task_id not in fw.tasks:
            break
        await asyncio.sleep(0.05)
    assert task_id not in fw.tasks
    assert any(t.id == task_id for t in fw.completed_tasks)


async def test_unreachable_agent(scheduler: Factory, cluster: LocalCluster) -> None:
    aware = await scheduler("pa", "PARTITION_AWARE")
    plain = await scheduler("plain")
    tasks = {}
    for s in (aware, plain):
        offer = (await s.offers())[0]
        tasks[s.framework_id] = await s.launch(offer, {"value": "sleep 600"}, refuse=0)
        await until_running(s, tasks[s.framework_id])
    cluster.make_agent_unreachable(1)
    for s, state in ((aware, "TASK_UNREACHABLE"), (plain, "TASK_LOST")):
        st = await s.update(tasks[s.framework_id])
        assert st["state"] == state
        assert st["source"] == "SOURCE_MASTER"
        assert "uuid" not in st
        failure = await s.wait_for(lambda e: e["type"] == "FAILURE")
        assert set(failure["failure"]) == {"agent_id"}
    # explicit reconciliation of a task on the unreachable agent
    agent_id = {"value": cluster.agents[0].id}
    await aware.call(
        "RECONCILE", reconcile={"tasks": [{"task_id": {"value": "other"}, "agent_id": agent_id}]}
    )
    st = await aware.update("other")
    assert st["state"] == "TASK_UNREACHABLE"
    assert st["message"] == "Reconciliation: Task is unreachable"
    assert "unreachable_time" in st


async def test_unreachable_agent_comes_back(scheduler: Factory, cluster: LocalCluster) -> None:
    s = await scheduler("back", "PARTITION_AWARE")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    cluster.make_agent_unreachable(1)
    assert (await s.update(task_id))["state"] == "TASK_UNREACHABLE"
    cluster.reconnect_agent(1)
    await s.call("RECONCILE", reconcile={"tasks": [{"task_id": {"value": task_id}}]})
    st = await s.update(task_id)
    assert st["state"] == "TASK_RUNNING"
    assert st["message"] == "Reconciliation: Latest task state"
    assert await s.offers()  # the agent is offered again


async def test_removed_agent(scheduler: Factory, cluster: LocalCluster) -> None:
    s = await scheduler("gone", "PARTITION_AWARE")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    cluster.remove_agent(1)
    st = await s.update(task_id)
    assert st["state"] == "TASK_GONE_BY_OPERATOR"


async def test_offers_rescinded_when_agent_goes(scheduler: Factory, cluster: LocalCluster) -> None:
    s = await scheduler("rescind")
    offer = (await s.offers())[0]
    cluster.make_agent_unreachable(1)
    ev = await s.wait_for(lambda e: e["type"] == "RESCIND")
    assert ev["rescind"]["offer_id"] == offer["id"]


async def test_offer_timeout_rescinds(http: aiohttp.ClientSession) -> None:
    async with LocalCluster(offer_timeout=0.5, allocation_interval=0.2) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("offertimeout"))
        offer = (await s.offers())[0]
        ev = await s.wait_for(lambda e: e["type"] == "RESCIND")
        assert ev["rescind"]["offer_id"] == offer["id"]
        assert await s.offers()  # re-offered afterwards
        await s.teardown()


async def test_drop_stream_without_failover_timeout_tears_down(
    scheduler: Factory, cluster: LocalCluster
) -> None:
    s = await scheduler("drop")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    assert cluster.drop_framework_stream(s.framework_id or "")
    await asyncio.wait_for(s.closed.wait(), 10)
    for _ in range(100):
        if not cluster.agents[0].containers_json():
            break
        await asyncio.sleep(0.1)
    assert cluster.agents[0].containers_json() == []
    assert any(f.id == s.framework_id for f in cluster.master.completed_frameworks)


async def test_master_restart(cluster: LocalCluster, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(cluster.url, http)
    await s.subscribe(framework_info("restart", "PARTITION_AWARE", failover_timeout=300.0))
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    old_id = cluster.master.id
    await cluster.restart_master()
    await asyncio.wait_for(s.closed.wait(), 10)
    assert cluster.master.id != old_id
    again = RawScheduler(cluster.url, http)
    try:
        first = await again.subscribe(
            framework_info("restart", "PARTITION_AWARE", failover_timeout=300.0, id={"value": s.framework_id})
        )
        assert first["subscribed"]["master_info"]["id"] == cluster.master.id
        await again.call("RECONCILE", reconcile={"tasks": [{"task_id": {"value": task_id}}]})
        st = await again.update(task_id)
        assert st["state"] == "TASK_RUNNING"
        assert st["agent_id"] == offer["agent_id"]
    finally:
        await again.teardown()


async def test_heartbeats_keep_coming(http: aiohttp.ClientSession) -> None:
    async with LocalCluster(heartbeat_interval=0.2, agents=0) as cluster:
        s = RawScheduler(cluster.url, http)
        first = await s.subscribe(framework_info("heartbeat"))
        assert first["subscribed"]["heartbeat_interval_seconds"] == 0.2
        beats = await s.quiet(1.5, lambda e: e["type"] == "HEARTBEAT")
        assert len(beats) >= 3
        await s.teardown()


async def test_a_stream_that_cannot_be_written_ends_quietly(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler whose connection is reset while the master writes to its stream: the stream
    ends, as Mesos's does, without a handler error (which aiohttp would log with a traceback)."""
    write = web.StreamResponse.write
    writes = 0

    async def failing(self: web.StreamResponse, data: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes > 2:  # SUBSCRIBED and one HEARTBEAT, then the connection is gone
            raise ConnectionResetError("Cannot write to closing transport")
        await write(self, data)

    async with LocalCluster(heartbeat_interval=0.05, agents=0) as cluster:
        monkeypatch.setattr(web.StreamResponse, "write", failing)
        s = RawScheduler(cluster.url, http)
        with caplog.at_level(logging.INFO):
            await s.subscribe(framework_info("gone"))
            await until(lambda: "disconnected" in caplog.text, what="the framework disconnected")
        monkeypatch.undo()
        again = RawScheduler(cluster.url, http)  # the master carries on
        assert "subscribed" in await again.subscribe(framework_info("after"))
        await again.teardown()
    assert "the subscriber went away" in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
