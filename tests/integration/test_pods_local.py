"""Pods end to end on the local cluster: LAUNCH_GROUP on the default executor, as one instance.

The real-Mesos harness's stand-in executor does not run task groups, so pods are tested here only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.persistence import MemoryStore
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import Recorder, master_tasks, running, until

pytestmark = pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)

S = TaskState


def pod_tasks(trigger: Path) -> dict[str, Any]:
    """Two containers; ``sidecar`` exits 3 once ``trigger`` exists (one of them takes it)."""
    fail_on_trigger = f"while ! rm {trigger} 2>/dev/null; do sleep 0.1; done; exit 3"
    return {
        "app": {
            "instances": 2,
            "allow_scaling": True,
            "pod": [
                {
                    "name": "main",
                    "command": {"value": "exec sleep 300"},
                    "resources": {"cpus": 0.1, "mem": 16, "ports": 1},
                },
                {
                    "name": "sidecar",
                    "command": {"value": fail_on_trigger},
                    "resources": {"cpus": 0.1, "mem": 16},
                },
            ],
        }
    }


def make(url: str, tasks: dict[str, Any], store: MemoryStore) -> Scheduler:
    return Scheduler(
        master=url,
        framework_name="pods",
        tasks=tasks,
        state_store=store,
        refuse_seconds=0.2,
        restart_backoff_minimum=0.1,
        restart_backoff_maximum=0.5,
    )


def pods_running(s: Scheduler, count: int) -> bool:
    return len(running(s, "app")) == count and all(
        r.containers == {"main": S.TASK_RUNNING, "sidecar": S.TASK_RUNNING} for r in s.task_records("app")
    )


async def test_a_pod_runs_restarts_as_a_whole_scales_and_is_adopted(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    trigger = tmp_path / "fail"
    store = MemoryStore()
    s = make(local_cluster.url, pod_tasks(trigger), store)
    rec = Recorder(s)
    await s.start()
    try:
        await until(lambda: pods_running(s, 2), timeout=60, what="two pods running")
        fw = s.framework_id
        ids = {r.serial: r.task_id for r in s.task_records("app")}
        on_master = await master_tasks(local_cluster.url, fw)
        assert sorted(on_master) == sorted(f"{tid}.{c}" for tid in ids.values() for c in ("main", "sidecar"))

        # One container fails: the executor kills the other, and the instance restarts as a whole.
        trigger.touch()
        await until(lambda: not trigger.exists(), timeout=30, what="a sidecar to take the trigger")
        await until(
            lambda: pods_running(s, 2) and {r.task_id for r in s.task_records("app")} != set(ids.values()),
            timeout=60,
            what="the failed pod relaunched",
        )
        new_ids = {r.serial: r.task_id for r in s.task_records("app")}
        (restarted,) = [serial for serial in ids if new_ids[serial] != ids[serial]]
        old = ids[restarted]
        states = {
            u.status.task_id.value: u.status.state
            for u in rec.updates
            if u.status.task_id.value.startswith(old) and u.status.state in (S.TASK_FAILED, S.TASK_KILLED)
        }
        assert states == {f"{old}.sidecar": S.TASK_FAILED, f"{old}.main": S.TASK_KILLED}

        # Scaling treats a pod as one instance.
        await s.scale("app", 1)
        await until(lambda: [r.serial for r in s.task_records("app")] == [1], timeout=30, what="pod 2 gone")
        on_master = await master_tasks(local_cluster.url, fw)
        assert {t for t, state in on_master.items() if state == "TASK_RUNNING"} == {
            f"{new_ids[1]}.main",
            f"{new_ids[1]}.sidecar",
        }
    finally:
        await s.stop()  # fails over: the pod keeps running

    # A new scheduler on the same store adopts the running pod, launching nothing.
    s2 = make(local_cluster.url, pod_tasks(trigger), store)
    rec2 = Recorder(s2)
    async with s2:
        await until(lambda: pods_running(s2, 1), timeout=60, what="the pod adopted")
        assert s2.framework_id == fw
        assert [r.task_id for r in s2.task_records("app")] == [new_ids[1]]
        assert rec2.counts["sent_accept"] == 0
        await s2.teardown()
    assert rec.errors == [] and rec2.errors == []
