"""Re-attaching never disturbs running tasks; custom frameworks get offers; stopped instances come back.

Each scenario runs on the local cluster and on real Mesos 1.11.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from mesos_framework.local import LocalCluster
from mesos_framework.persistence import MemoryStore
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import Scheduler
from tests.integration.scheduler_helpers import (
    Recorder,
    completed_tasks,
    master_tasks,
    running,
    until,
)
from tests.support.real_mesos import RealMesos


@pytest.fixture(params=["local", pytest.param("real", marks=pytest.mark.real_mesos)])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def master_url(flavour: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if flavour == "real":
        real: RealMesos = request.getfixturevalue("real_mesos_cluster")
        yield real.url
        return
    async with LocalCluster() as cluster:
        yield cluster.url


def sleeper(instances: int) -> dict[str, Any]:
    return {
        "instances": instances,
        "command": {"value": "exec sleep 300", "shell": True},
        "resources": {"cpus": 0.1, "mem": 32},
    }


async def test_reattach_by_framework_id_without_a_store_keeps_running_tasks(master_url: str) -> None:
    first = Scheduler(
        master=master_url,
        framework_name="reattach",
        tasks={"web": sleeper(2)},
        framework_failover_timeout=300,
    )
    async with first:
        await until(lambda: running(first) == ["web-1", "web-2"], timeout=60, what="2 running")
        framework_id = first.framework_id
        ids = {r.task_id for r in first.tasks}
    assert framework_id is not None
    # The first scheduler is gone (its framework fails over); a new one re-attaches by ID alone.
    second = Scheduler(
        master=master_url,
        framework_name="reattach",
        tasks={"web": sleeper(2)},
        framework_id=framework_id,
        framework_failover_timeout=300,
    )
    rec = Recorder(second)
    try:
        async with second:
            await until(lambda: running(second) == ["web-1", "web-2"], timeout=60, what="2 adopted")
            assert {r.task_id for r in second.tasks} == ids
            await asyncio.sleep(3.0)  # offers come and go: nothing is launched nor killed
            assert rec.launched_ids == []
            assert rec.counts["sent_kill"] == 0
            on_master = await master_tasks(master_url, framework_id)
            assert {t for t, st in on_master.items() if st == "TASK_RUNNING"} == ids
            assert await completed_tasks(master_url, framework_id) == []
            assert rec.errors == []
            await second.teardown()
    finally:
        await second.stop()


async def test_a_task_less_scheduler_with_an_offers_handler_gets_offers(master_url: str) -> None:
    offers: list[scheduler_pb2.Event.Offers] = []
    subscribes: list[scheduler_pb2.Call] = []

    async def on_offers(scheduler: Scheduler, payload: scheduler_pb2.Event.Offers) -> None:
        offers.append(payload)
        await scheduler.decline([o.id for o in payload.offers], refuse_seconds=1)

    s = Scheduler(
        master=master_url,
        framework_name="custom",
        handlers={"OFFERS": on_offers},
        framework_failover_timeout=0,
    )
    s.on("sent_subscribe", subscribes.append)
    async with s:
        await until(lambda: bool(offers), timeout=60, what="an offer")
        assert list(subscribes[0].subscribe.suppressed_roles) == []
        await s.teardown()


async def test_a_task_less_scheduler_with_an_offers_listener_gets_offers(master_url: str) -> None:
    s = Scheduler(master=master_url, framework_name="listener", framework_failover_timeout=0)
    declined: list[str] = []

    @s.on("offers")
    async def on_offers(payload: scheduler_pb2.Event.Offers) -> None:
        # The listener owns the offers: the scheduler neither declines nor suppresses them.
        await s.decline([o.id for o in payload.offers], refuse_seconds=1)
        declined.extend(o.id.value for o in payload.offers)

    sent_declines: list[scheduler_pb2.Call] = []
    s.on("sent_decline", sent_declines.append)
    async with s:
        await until(lambda: len(declined) >= 2, timeout=60, what="two offers")
        # Only the listener's DECLINEs (refuse 1 s), none of the scheduler's own idle ones.
        assert sent_declines
        assert {c.decline.filters.refuse_seconds for c in sent_declines} == {1.0}
        await s.teardown()


async def test_stopped_instance_starts_again(master_url: str) -> None:
    s = Scheduler(
        master=master_url,
        framework_name="stopstart",
        tasks={"web": sleeper(2)},
        framework_failover_timeout=0,
    )
    async with s:
        await until(lambda: running(s) == ["web-1", "web-2"], timeout=60, what="2 running")
        await s.kill_task("web-2")
        await until(lambda: running(s) == ["web-1"], timeout=60, what="web-2 stopped")
        assert s.stopped == [("web", 2)]
        await s.start_instance("web-2")
        await until(lambda: running(s) == ["web-1", "web-2"], timeout=60, what="web-2 started again")
        assert s.stopped == []
        await s.stop_instance("web-1")
        await until(lambda: running(s) == ["web-2"], timeout=60, what="web-1 stopped")
        # A stopped instance: started again, whether its task has ended or is still ending
        # (TASK_KILLING: real Mesos reports it first, and under load the end may come much later).
        await s.restart_task("web-1")
        await until(lambda: running(s) == ["web-1", "web-2"], timeout=60, what="web-1 back")
        await s.teardown()


async def test_a_stopped_instance_stays_stopped_across_a_restart(local_cluster: LocalCluster) -> None:
    store = MemoryStore()

    def make() -> Scheduler:
        return Scheduler(
            master=local_cluster.url,
            framework_name="stopped",
            tasks={"web": sleeper(3)},
            state_store=store,
            framework_failover_timeout=300,
        )

    first = make()
    async with first:
        await until(lambda: running(first) == ["web-1", "web-2", "web-3"], timeout=60, what="3 running")
        await first.stop_instance("web-3")
        await until(lambda: running(first) == ["web-1", "web-2"], timeout=60, what="web-3 stopped")
    second = make()
    rec = Recorder(second)
    async with second:
        await until(lambda: running(second) == ["web-1", "web-2"], timeout=60, what="2 adopted")
        await asyncio.sleep(2.0)
        assert second.stopped == [("web", 3)]
        assert rec.launched_ids == []
        await second.start_instance("web-3")
        await until(lambda: running(second) == ["web-1", "web-2", "web-3"], timeout=60, what="web-3 back")
        await second.teardown()


async def test_tasks_back_from_a_healed_partition_are_not_kept_twice() -> None:
    async with LocalCluster(agents=2) as cluster:
        s = Scheduler(
            master=cluster.url,
            framework_name="partition",
            tasks={"web": sleeper(2)},
            restart_backoff_minimum=0.1,
            restart_backoff_maximum=0.2,
            framework_failover_timeout=0,
        )
        async with s:
            await until(lambda: running(s) == ["web-1", "web-2"], timeout=60, what="2 running")
            framework_id = s.framework_id
            assert framework_id is not None
            agent_ids = {r.agent_id for r in s.tasks}
            index = 1 if any(a.id in agent_ids for a in cluster.agents if a.index == 1) else 2
            cluster.make_agent_unreachable(index)
            await until(
                lambda: running(s) == ["web-1", "web-2"] and not (agent_ids & {r.agent_id for r in s.tasks}),
                timeout=60,
                what="the lost instances relaunched on the other agent",
            )
            kept = {r.task_id for r in s.tasks}
            cluster.reconnect_agent(index)

            async def running_on_master() -> set[str]:
                tasks = await master_tasks(cluster.url, framework_id)
                return {t for t, st in tasks.items() if st == "TASK_RUNNING"}

            # The agent came back with its old tasks: they are found and killed; each instance
            # keeps one task, the one the scheduler tracks.
            for _ in range(600):
                if await running_on_master() == kept:
                    break
                await asyncio.sleep(0.1)
            assert await running_on_master() == kept
            assert {r.task_id for r in s.tasks} == kept
            await s.teardown()
