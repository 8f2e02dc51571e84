"""Key scheduler paths against a real Mesos 1.11 master and agent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import (
    Recorder,
    active_framework_ids,
    master_tasks,
    running,
    until,
)
from tests.support.real_mesos import RealMesos

pytestmark = pytest.mark.real_mesos


def sleeper(instances: int, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "instances": instances,
        "command": {"value": "exec /bin/sleep 300", "shell": True},
        "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
    }
    spec.update(extra)
    return spec


@pytest.mark.parametrize("content_type", ["protobuf", "json"])
async def test_lifecycle_against_real_mesos(real_mesos_cluster: RealMesos, content_type: str) -> None:
    url = real_mesos_cluster.url
    s = Scheduler(
        master=url,
        framework_name=f"real-{content_type}",
        content_type=content_type,
        restart_backoff_minimum=0.1,
        tasks={"web": sleeper(3, allow_scaling=True)},
    )
    rec = Recorder(s)
    await s.start()
    try:
        # Subscribe and launch N instances; every update with a uuid is acknowledged once.
        await until(lambda: running(s) == ["web-1", "web-2", "web-3"], timeout=60, what="3 running")
        framework_id = s.framework_id
        assert framework_id is not None and framework_id in await active_framework_ids(url)
        await until(rec.all_acked, timeout=30, what="acks")
        assert rec.acks
        states = {u.status.state for u in rec.updates}
        assert TaskState.TASK_RUNNING in states
        ids = {r.task_id for r in s.tasks}
        on_master = await master_tasks(url, framework_id)
        assert {t for t, st in on_master.items() if st == "TASK_RUNNING"} == ids
        env = {r.name: r.ports for r in s.tasks}
        assert all(len(p) == 1 for p in env.values())

        # Kill (not relaunched) and restart (relaunched with a new ID).
        await s.kill_task("web-3")
        await until(lambda: running(s) == ["web-1", "web-2"], timeout=30, what="web-3 killed")
        old = s.task_records("web")[0].task_id
        await s.restart_task("web-1")
        await until(
            lambda: running(s) == ["web-1", "web-2"] and s.task_records("web")[0].task_id != old,
            timeout=60,
            what="web-1 restarted",
        )

        # Explicit reconciliation: the master answers with the latest state, no uuid.
        task = s.task_records("web")[1]
        answers: list[scheduler_pb2.Event.Update] = []
        s.on("update", lambda u: answers.append(u) if u.status.task_id.value == task.task_id else None)
        await s.reconcile([(task.task_id, task.agent_id)])
        await until(lambda: bool(answers), timeout=30, what="reconcile answer")
        assert answers[0].status.state == TaskState.TASK_RUNNING and not answers[0].status.uuid

        # Teardown: the master forgets the framework and kills its tasks.
        await s.teardown()
        await asyncio.wait_for(s.wait_closed(), 30)
        assert framework_id not in await active_framework_ids(url)
        for _ in range(100):
            if not any(st == "TASK_RUNNING" for st in (await master_tasks(url, framework_id)).values()):
                break
            await asyncio.sleep(0.2)
        assert not any(st == "TASK_RUNNING" for st in (await master_tasks(url, framework_id)).values())
        assert rec.errors == []
    finally:
        await s.stop()


async def test_failed_task_is_restarted_on_real_mesos(real_mesos_cluster: RealMesos) -> None:
    s = Scheduler(
        master=real_mesos_cluster.url,
        framework_name="real-crash",
        restart_backoff_minimum=0.1,
        max_restarts=2,
        framework_failover_timeout=0,
        tasks={
            "crash": {"command": {"value": "exit 2", "shell": True}, "resources": {"cpus": 0.1, "mem": 16}}
        },
    )
    rec = Recorder(s)
    gave_up = asyncio.Event()
    s.on("error", lambda exc: gave_up.set() if "gave up on crash-1" in str(exc) else None)
    async with s:
        await asyncio.wait_for(gave_up.wait(), 90)
        assert len(rec.launched_ids) == 3
        failed = [u for u in rec.updates if u.status.state == TaskState.TASK_FAILED]
        assert len({u.status.task_id.value for u in failed}) == 3
        await until(rec.all_acked, timeout=30, what="acks")
        await s.teardown()


async def test_idle_framework_subscribes_suppressed_on_real_mesos(real_mesos_cluster: RealMesos) -> None:
    s = Scheduler(master=real_mesos_cluster.url, framework_name="real-idle", framework_failover_timeout=0)
    # No `offers` listener: on a task-less scheduler one would make the framework want offers.
    # The scheduler's own DECLINE of an idle offer shows that offers arrive.
    rec = Recorder(s, skip=("offers",))
    subscribes: list[Any] = []
    s.on("sent_subscribe", subscribes.append)
    async with s:
        await s.subscribe(timeout=30)
        assert list(subscribes[0].subscribe.suppressed_roles) == ["*"]
        await asyncio.sleep(2.0)  # suppressed: no offers arrive
        assert rec.counts["sent_decline"] == 0
        await s.revive()
        await until(lambda: rec.counts["sent_decline"] >= 1, timeout=30, what="offers after REVIVE")
        assert rec.errors == []
        await s.teardown()
