"""Campaign: faults around the fleet on the local cluster, every launch and every end counted.

Several frameworks at once, a crash loop, TEARDOWN while launches are in
flight, an agent stopped for good, the master restarted. For each: no
instance lost, none launched more often than the fault explains, and the
master agrees with the scheduler at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from mesos_framework.errors import RestartsExhausted
from mesos_framework.local import LocalCluster
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.campaign.counts import Counts, figure, kill_pids, pid_command, running_ids, running_instances
from tests.integration.scheduler_helpers import Recorder, active_framework_ids, cmd, master_tasks, until
from tests.support.cluster_death import alive

pytestmark = pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)

FAST = {
    "exponential_backoff_minimum": 0.05,
    "exponential_backoff_maximum": 0.5,
    "restart_backoff_minimum": 0.1,
    "restart_backoff_maximum": 0.5,
}


async def test_several_frameworks_at_once_finish_each_task_exactly_once(local_cluster: LocalCluster) -> None:
    frameworks, per_framework = 4, 5
    schedulers = [
        Scheduler(
            master=local_cluster.url,
            framework_name=f"many-{n}",
            **FAST,  # type: ignore[arg-type]
            tasks={"job": {**cmd("sleep 0.5"), "instances": per_framework}},
        )
        for n in range(frameworks)
    ]
    counts = [Counts(s) for s in schedulers]
    started = time.monotonic()
    await asyncio.gather(*(s.start() for s in schedulers))
    try:
        await until(
            lambda: all(sum(c.ends.values()) == per_framework for c in counts),
            what=lambda: f"every task ended: {[dict(c.ends) for c in counts]}",
        )
        figure(
            f"{frameworks} frameworks x {per_framework} tasks: all finished in", time.monotonic() - started
        )
        await asyncio.sleep(1.0)  # a second launch of a finished instance would show by now
    finally:
        await asyncio.gather(*(s.stop() for s in schedulers))
    for c in counts:
        instances = [f"job-{i}" for i in range(1, per_framework + 1)]
        assert dict(c.launches) == dict.fromkeys(instances, 1)  # launched twice = 0
        assert dict(c.ends) == {(name, "TASK_FINISHED"): 1 for name in instances}  # lost = 0
        assert c.errors == []


async def test_a_crash_loop_backs_off_and_gives_up_after_max_restarts(local_cluster: LocalCluster) -> None:
    minimum, max_restarts = 0.2, 3
    s = Scheduler(
        master=local_cluster.url,
        framework_name="crashloop",
        restart_backoff_minimum=minimum,
        restart_backoff_maximum=5,
        restart_backoff_factor=2,
        max_restarts=max_restarts,
        tasks={"bad": {**cmd("exit 1"), "instances": 1}},
    )
    counts = Counts(s)
    exhausted: list[BaseException] = []
    s.on("error", lambda e: exhausted.append(e) if isinstance(e, RestartsExhausted) else None)
    async with s:
        await until(lambda: bool(exhausted), what="RestartsExhausted")
        await asyncio.sleep(2.0)  # no further launch after giving up (offers every 0.2 s)
        assert s.stopped == [("bad", 1)]
    assert counts.launches == {"bad-1": 1 + max_restarts}
    assert counts.ends == {("bad-1", "TASK_FAILED"): 1 + max_restarts}
    assert len(exhausted) == 1 and "max_restarts" in str(exhausted[0])
    # The backoff applies: restart k waits at least minimum * 2**(k-1) (lower bounds only).
    times = counts.launch_times["bad-1"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for k, gap in enumerate(gaps, start=1):
        assert gap >= minimum * 2 ** (k - 1), gaps
    figure("crash loop: launches", len(times), "")


async def test_teardown_while_launches_are_in_flight_leaves_nothing_running(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    s = Scheduler(
        master=local_cluster.url,
        framework_name="teardown",
        **FAST,  # type: ignore[arg-type]
        tasks={"web": {**cmd(pid_command(pid_file)), "instances": 6}},
    )
    counts = Counts(s)
    accepts: list[scheduler_pb2.Call] = []
    in_flight: list[str] = []

    async def tear_down(call: scheduler_pb2.Call) -> None:
        accepts.append(call)
        if len(accepts) == 1:
            in_flight.extend(r.name for r in s.tasks if r.state != TaskState.TASK_RUNNING)
            await s.teardown()  # the tasks just accepted are still staging

    s.on("sent_accept", tear_down)
    await s.start()
    await asyncio.wait_for(s.wait_closed(), 60)
    framework_id = s.framework_id
    assert counts.total_launches >= 1 and in_flight  # torn down with launches in flight
    await until(lambda: framework_id not in local_cluster.master.frameworks, what="the framework gone")
    assert framework_id not in await active_framework_ids(local_cluster.url)
    assert await master_tasks(local_cluster.url, framework_id) == {}
    # Every task process that started is gone (the agent killed them), none left behind.
    await until(
        lambda: not any(alive(int(p)) for p in pid_file.read_text().split()),
        what=lambda: f"task processes ended: {pid_file.read_text().split()}",
    )


@pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2, agents=2)
async def test_an_agent_stopped_for_good_has_its_tasks_relaunched_elsewhere_exactly_once(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    instances = 4
    s = Scheduler(
        master=local_cluster.url,
        framework_name="agentgone",
        **FAST,  # type: ignore[arg-type]
        tasks={"web": {**cmd(), "instances": instances}},
    )
    counts, rec = Counts(s), Recorder(s)
    async with s:
        await until(lambda: len(running_ids(s)) == instances)
        by_agent: dict[str | None, list[str]] = {}
        for r in s.tasks:
            by_agent.setdefault(r.agent_id, []).append(r.name)
        doomed_id = max(by_agent, key=lambda a: len(by_agent[a]))
        doomed = next(a for a in local_cluster.agents if a.id == doomed_id)
        moved = sorted(by_agent[doomed_id])
        local_cluster.stop_agent(doomed.index)  # the process stops ...
        local_cluster.remove_agent(doomed.index)  # ... and the master removes it (never coming back)
        started = time.monotonic()
        await until(
            lambda: len(running_ids(s)) == instances and all(r.agent_id != doomed_id for r in s.tasks),
            what=lambda: f"{instances} running elsewhere: {s.tasks}",
        )
        figure(f"agent removed: {len(moved)} task(s) relaunched elsewhere in", time.monotonic() - started)
        await asyncio.sleep(1.0)
        await until(rec.all_acked, what="every update acknowledged")
        assert running_instances(s) == [f"web-{i}" for i in range(1, instances + 1)]
        assert set(await master_tasks(local_cluster.url, s.framework_id)) == running_ids(s)
    expected = {name: 2 if name in moved else 1 for name in counts.launches}
    assert dict(counts.launches) == expected  # relaunched once each, the others not at all
    assert counts.launched_twice(expected) == {}


async def test_master_restart_with_a_task_dying_meanwhile(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    instances = 3
    s = Scheduler(
        master=local_cluster.url,
        framework_name="masterrestart",
        **FAST,  # type: ignore[arg-type]
        tasks={"web": {**cmd(pid_command(pid_file)), "instances": instances}},
    )
    counts, rec = Counts(s), Recorder(s)
    async with s:
        await until(lambda: len(running_ids(s)) == instances)
        framework_id, first = s.framework_id, running_ids(s)

        # A plain restart: resubscribed with the same ID, the tasks adopted, nothing launched.
        subscribed = counts.subscribed
        started = time.monotonic()
        await local_cluster.restart_master()
        await until(lambda: counts.subscribed > subscribed, what="resubscribed to the new master")
        figure("master restart: resubscribed after", time.monotonic() - started)
        await asyncio.sleep(1.0)  # a relaunch would show by now (offers every 0.2 s)
        assert set(await master_tasks(local_cluster.url, framework_id)) == first
        assert s.framework_id == framework_id and running_ids(s) == first
        assert counts.total_launches == instances

        # A task dies just before a second restart: relaunched exactly once.
        assert kill_pids(pid_file, 1) == 1
        await local_cluster.restart_master()
        started = time.monotonic()
        await until(lambda: len(running_ids(s)) == instances and len(running_ids(s) & first) == instances - 1)
        figure("master restart + task killed: relaunched after", time.monotonic() - started)
        await until(rec.all_acked, what="every update acknowledged")
        assert set(await master_tasks(local_cluster.url, framework_id)) == running_ids(s)
    assert counts.total_launches == instances + 1
    assert len(counts.launched_twice()) == 1
    assert counts.errors == []
