"""The Scheduler against the local Mesos-compatible cluster."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from mesos_framework.errors import CallWhileDisconnected, FrameworkRemoved
from mesos_framework.local import LocalCluster
from mesos_framework.persistence import MemoryStore
from mesos_framework.scheduler import FrameworkFailedOver, ScalingNotAllowed, Scheduler, UnknownTask
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import (
    Recorder,
    active_framework_ids,
    cmd,
    master_tasks,
    running,
    until,
)
from tests.support.ports import free_port

FAST = {"status_update_retry": 0.5, "allocation_interval": 0.2}
pytestmark = pytest.mark.local_cluster(**FAST)


def make(cluster: LocalCluster, tasks: dict[str, Any], **options: Any) -> Scheduler:
    base: dict[str, Any] = {
        "master": cluster.url,
        "framework_name": "it",
        "restart_backoff_minimum": 0.1,
        "restart_backoff_maximum": 0.5,
        "exponential_backoff_minimum": 0.1,
        "exponential_backoff_maximum": 0.5,
        "tasks": tasks,
    }
    base.update(options)
    return Scheduler(**base)


async def test_launches_instances_acks_updates_and_suppresses(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(ports=2), "instances": 4}, "db": {**cmd(), "priority": -1}})
    rec = Recorder(s)
    order: list[str] = []
    s.on("ready", lambda: order.append("ready"))
    s.on("subscribed", lambda _: order.append("subscribed"))
    async with s:
        await until(lambda: len(order) >= 2)
        assert order[:2] == ["ready", "subscribed"]
        await until(lambda: len(running(s)) == 5, what="5 running tasks")
        assert running(s) == ["db-1", "web-1", "web-2", "web-3", "web-4"]
        await until(lambda: rec.counts["sent_suppress"] >= 1, what="SUPPRESS once all launched")
        assert not s.pending
        assert rec.counts["task_launched"] == 5
        # Each delivery with a uuid is acknowledged once (a redelivered update is acknowledged again).
        await until(rec.all_acked, what="every update acked")
        assert len(rec.launched_ids) == 5  # nothing launched twice
        ports = [p for r in s.tasks for p in r.ports]
        assert len(ports) == 8 and len(set(ports)) == 8
        assert rec.errors == []


async def test_kill_restart_and_scale(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(), "instances": 2, "allow_scaling": True}, "fixed": cmd()})
    rec = Recorder(s)
    async with s:
        await until(lambda: len(running(s)) == 3)
        old = s.task_records("web")[0]
        await s.restart_task("web-1")
        await until(
            lambda: (
                running(s, "web") == ["web-1", "web-2"] and s.task_records("web")[0].task_id != old.task_id
            )
        )
        await s.kill_task("web-2")
        await until(lambda: running(s, "web") == ["web-1"], what="web-2 killed and not relaunched")
        await asyncio.sleep(0.5)
        assert running(s, "web") == ["web-1"]
        await until(lambda: rec.counts["sent_suppress"] >= 1, what="SUPPRESS while idle")
        revives = rec.counts["sent_revive"]
        await s.scale("web", 4)
        assert rec.counts["sent_revive"] == revives + 1  # work appeared: REVIVE
        await until(lambda: running(s, "web") == ["web-1", "web-2", "web-3", "web-4"], what="scaled to 4")
        await s.scale("web", 1)
        await until(lambda: running(s, "web") == ["web-1"], what="scaled to 1")
        with pytest.raises(ScalingNotAllowed):
            await s.scale("fixed", 2)
        with pytest.raises(UnknownTask):
            await s.kill_task("nope-1")
        assert rec.errors == []


async def test_crash_looping_task_backs_off_and_gives_up(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"crash": cmd("exit 3")}, max_restarts=3, restart_states=["TASK_FAILED"])
    rec = Recorder(s)
    gave_up = asyncio.Event()
    s.on("error", lambda exc: gave_up.set() if "gave up on crash-1" in str(exc) else None)
    async with s:
        await asyncio.wait_for(gave_up.wait(), 30)
        assert len(rec.launched_ids) == 4  # the first launch and three restarts
        await asyncio.sleep(0.5)
        assert len(rec.launched_ids) == 4
        assert s.tasks == [] and s.pending == []


async def test_finished_tasks_are_not_restarted_by_default(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"job": {**cmd("true"), "instances": 2}})
    rec = Recorder(s)
    async with s:
        await until(lambda: rec.counts["removed_task"] == 2, what="both jobs finished")
        await asyncio.sleep(0.3)
        assert len(rec.launched_ids) == 2
        assert {u.status.state for u in rec.updates} >= {TaskState.TASK_FINISHED}


async def test_explicit_and_implicit_reconcile(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": cmd()})
    rec = Recorder(s)
    async with s:
        await until(lambda: len(running(s)) == 1)
        (task,) = s.tasks
        before = len(rec.updates)
        await s.reconcile([(task.task_id, task.agent_id)])
        await until(lambda: len(rec.updates) > before, what="explicit reconcile answer")
        answer = rec.updates[-1].status
        assert answer.task_id.value == task.task_id and answer.state == TaskState.TASK_RUNNING
        assert not answer.uuid  # reconciliation answers are not acknowledged
        before = len(rec.updates)
        await s.reconcile()
        await until(lambda: len(rec.updates) > before, what="implicit reconcile answer")


async def test_teardown_ends_the_framework(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(), "instances": 2}})
    rec = Recorder(s)
    await s.start()
    try:
        await until(lambda: len(running(s)) == 2)
        framework_id = s.framework_id
        await s.teardown()
        await asyncio.wait_for(s.wait_closed(), 10)
        assert rec.counts["sent_teardown"] == 1
        # The stream the master closes after TEARDOWN is no disconnection: no resubscribe.
        assert rec.counts["disconnected"] == 0
        assert rec.counts["subscribed"] == 1
        assert framework_id not in await active_framework_ids(local_cluster.url)
        assert await master_tasks(local_cluster.url, framework_id) == {}
    finally:
        await s.stop()


@pytest.mark.local_cluster(heartbeat_interval=0.2, **FAST)
async def test_listener_errors_are_reported_and_custom_handlers_replace_defaults(
    local_cluster: LocalCluster,
) -> None:
    seen: list[Any] = []

    async def on_heartbeat(scheduler: Scheduler, payload: Any) -> None:
        seen.append(scheduler)

    s = make(local_cluster, {"web": cmd()}, handlers={"heartbeat": on_heartbeat})
    errors: list[BaseException] = []
    heartbeats: list[float] = []
    s.on("error", errors.append)
    s.on("heartbeat", heartbeats.append)

    def bad(*_: Any) -> None:
        raise RuntimeError("listener bug")

    async def bad_async(*_: Any) -> None:
        raise ValueError("async listener bug")

    s.on("subscribed", bad)
    s.on("task_launched", bad_async)
    async with s:
        await until(lambda: len(running(s)) == 1, what="the task runs despite broken listeners")
        await until(lambda: len(errors) >= 2)
        assert {type(e) for e in errors} >= {RuntimeError, ValueError}
        await until(lambda: len(seen) >= 2 and len(heartbeats) >= 2, what="heartbeats")
        assert seen[0] is s  # handlers get the scheduler and the payload, like the seed's `this`
        assert s.last_heartbeat is not None


@pytest.mark.local_cluster(heartbeat_interval=0.3, **FAST)
async def test_multi_role_and_periodic_reconciliation(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(), "instances": 2}}, roles=["a", "b"], reconcile_interval=0.3)
    rec = Recorder(s)
    async with s:
        await until(lambda: len(running(s)) == 2)
        await until(lambda: rec.counts["sent_reconcile"] >= 4, what="periodic implicit reconciliation")
        assert rec.errors == []


async def test_master_local_starts_a_cluster_in_process() -> None:
    s = Scheduler(master="local", framework_name="inproc", tasks={"web": cmd()})
    async with s:
        await until(lambda: len(running(s)) == 1, what="a task on the in-process cluster")
        assert s.leader is not None and s.leader.startswith("http://127.0.0.1:")


async def test_calls_while_disconnected_fail_loudly(local_cluster: LocalCluster) -> None:
    dead = Scheduler(master=f"127.0.0.1:{free_port()}", framework_name="dead", call_timeout=0.3)
    with pytest.raises(CallWhileDisconnected):
        await dead.revive()  # not started
    sent: list[Any] = []
    dead.on("sent_revive", sent.append)
    async with dead:
        with pytest.raises(CallWhileDisconnected, match=r"REVIVE not sent: no subscription within 0\.3s"):
            await dead.revive()
    assert sent == []
    patient = make(
        local_cluster, {}, call_timeout=20, exponential_backoff_minimum=1.0, exponential_backoff_maximum=1.0
    )
    patient.on("sent_revive", sent.append)
    async with patient:
        await patient.subscribe(timeout=10)
        local_cluster.drop_framework_stream(patient.framework_id or "")
        await until(lambda: not patient.connected, what="disconnect noticed")
        await patient.revive()  # waits for the resubscription instead of being dropped
        assert patient.connected and len(sent) == 1


async def test_stream_dropped_mid_launch_resubscribes_without_duplicates(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(), "instances": 6}})
    rec = Recorder(s)

    def drop_once(*_: Any) -> None:
        if rec.counts["sent_accept"] == 1:
            local_cluster.drop_framework_stream(s.framework_id or "")

    s.on("sent_accept", drop_once)
    async with s:
        framework_id = None
        await until(lambda: len(running(s)) == 6, what="6 running after the drop")
        framework_id = s.framework_id
        assert rec.counts["subscribed"] >= 2
        assert s.framework_id == framework_id
        assert len(rec.launched_ids) == len(set(rec.launched_ids))
        names = [r.name for r in s.tasks]
        assert sorted(names) == sorted(set(names))
        await until(rec.all_acked, what="every update acked")


async def test_master_restart_keeps_tasks(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(), "instances": 2}})
    rec = Recorder(s)
    async with s:
        await until(lambda: len(running(s)) == 2)
        ids = {r.task_id for r in s.tasks}
        await local_cluster.restart_master()
        await until(lambda: rec.counts["subscribed"] >= 2, what="resubscribed to the new master")
        await asyncio.sleep(1.0)
        assert {r.task_id for r in s.tasks} == ids
        assert len(rec.launched_ids) == 2


async def test_agent_lost_relaunches_elsewhere(local_cluster: LocalCluster) -> None:
    await local_cluster.add_agent()
    s = make(local_cluster, {"web": {**cmd(cpus=3), "instances": 1}})
    async with s:
        await until(lambda: len(running(s)) == 1)
        (task,) = s.tasks
        index = next(a.index for a in local_cluster.agents if a.id == task.agent_id)
        local_cluster.remove_agent(index)
        await until(
            lambda: len(running(s)) == 1 and s.tasks[0].task_id != task.task_id,
            what="relaunched on the other agent",
        )
        assert s.tasks[0].agent_id != task.agent_id


async def test_rolling_restart_replaces_each_instance(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": {**cmd(), "instances": 2}})
    async with s:
        await until(lambda: len(running(s)) == 2)
        before = {r.task_id for r in s.tasks}
        await asyncio.wait_for(s.rolling_restart("web", timeout=20), 40)
        await until(
            lambda: len(s.tasks) == 2 and not ({r.task_id for r in s.tasks} & before), what="all replaced"
        )
        assert running(s) == ["web-1", "web-2"]


async def test_framework_removed_is_reported(local_cluster: LocalCluster) -> None:
    first = make(local_cluster, {"web": cmd()}, framework_failover_timeout=0)
    async with first:
        await first.subscribe(timeout=10)
        framework_id = first.framework_id
        await first.teardown()
        await first.wait_closed()
    again = make(local_cluster, {}, framework_id=framework_id)
    removed: list[BaseException] = []
    again.on("framework_removed", removed.append)
    await again.start()
    try:
        await asyncio.wait_for(again.wait_closed(), 20)
        assert removed and isinstance(removed[0], FrameworkRemoved)
        assert "Framework has been removed" in str(removed[0])
        # Told to, it registers anew as a new framework.
        await again.register_new_framework()
        await again.subscribe(timeout=20)
        assert again.framework_id not in (None, framework_id)
    finally:
        await again.stop()


async def test_stop_from_a_listener(local_cluster: LocalCluster) -> None:
    s = make(local_cluster, {"web": cmd()})
    closed: list[bool] = []
    s.on("closed", lambda: closed.append(True))

    async def stop_on_launch(_: Any) -> None:
        await s.stop()

    s.on("task_launched", stop_on_launch)
    await s.start()
    await asyncio.wait_for(s.wait_closed(), 30)
    assert closed == [True]
    assert not s.connected


async def test_unfit_offers_are_declined_with_a_filter_and_idle_frameworks_suppress(
    local_cluster: LocalCluster,
) -> None:
    s = make(local_cluster, {"big": cmd(cpus=64)}, refuse_seconds=2.5)
    declines: list[Any] = []
    s.on("sent_decline", declines.append)
    async with s:
        await until(lambda: bool(declines), what="a DECLINE")
        assert declines[0].decline.filters.refuse_seconds == 2.5
        assert s.pending == [("big", 1)]
    idle = make(local_cluster, {}, framework_name="idle")
    subscribes: list[Any] = []
    idle.on("sent_subscribe", subscribes.append)
    async with idle:
        await idle.subscribe(timeout=10)
        # Nothing to run: subscribe already suppressed, so no offers churn.
        assert list(subscribes[0].subscribe.suppressed_roles) == ["*"]


async def test_a_second_scheduler_taking_over_stops_the_first(local_cluster: LocalCluster) -> None:
    first = make(local_cluster, {"web": cmd()}, reregister_when_removed=True)
    removed: list[BaseException] = []
    first.on("framework_removed", removed.append)
    async with first:
        await until(lambda: len(running(first)) == 1)
        second = make(local_cluster, {"web": cmd()}, framework_id=first.framework_id)
        async with second:
            await second.subscribe(timeout=10)
            await asyncio.wait_for(first.wait_closed(), 20)
            assert isinstance(removed[0], FrameworkFailedOver)
            assert first.framework_id == second.framework_id  # never registered anew
            await until(lambda: len(running(second)) == 1, what="the new scheduler adopts the task")
            assert running(second) == ["web-1"]


async def test_task_health_helper_works_on_the_scheduler(local_cluster: LocalCluster) -> None:
    from mesos_framework.health import TaskHealthHelper

    server = f"exec {sys.executable} -m http.server $PORT0 --bind 127.0.0.1"
    s = make(
        local_cluster,
        {"web": cmd(server, ports=1), "mute": cmd(ports=1)},
    )
    unhealthy: list[Any] = []
    s.on("task_unhealthy", unhealthy.append)
    async with s:
        await until(lambda: len(running(s)) == 2)
        helper = TaskHealthHelper(s, url="/", interval=0.2, grace_count=2, address="ip", timeout=1.0)
        async with helper:
            web = s.task_records("web")[0]
            await until(lambda: web.properties.get("healthy") is True, what="web healthy")
            await until(lambda: bool(unhealthy), what="mute reported unhealthy")
            assert unhealthy[0].name == "mute-1"
            assert s.task_records("mute")[0].properties.get("healthy") is False


async def test_completed_instances_stay_completed_after_a_restart(local_cluster: LocalCluster) -> None:
    store = MemoryStore()
    tasks = {"job": {**cmd("true"), "instances": 2}, "web": {**cmd(), "instances": 2, "allow_scaling": True}}
    first = make(local_cluster, tasks, state_store=store)
    rec = Recorder(first)
    async with first:
        await until(lambda: rec.counts["removed_task"] == 2 and len(running(first, "web")) == 2)
        await first.kill_task("web-2")
        await until(lambda: running(first, "web") == ["web-1"] and rec.counts["removed_task"] == 3)
        web1 = first.task_records("web")[0].task_id
    # A new scheduler on the same store: the finished jobs and the killed web-2 are not relaunched.
    second = make(local_cluster, tasks, state_store=store)
    rec2 = Recorder(second)
    async with second:
        await second.subscribe(timeout=10)
        await until(lambda: running(second, "web") == ["web-1"])
        await asyncio.sleep(1.0)
        assert rec2.launched_ids == []
        assert second.pending == []
        assert second.task_records("web")[0].task_id == web1
        await second.scale("web", 2)  # scaling brings web-2 back
        await until(lambda: running(second, "web") == ["web-1", "web-2"])
        assert [i.split(".")[1] for i in rec2.launched_ids] == ["web-2"]
