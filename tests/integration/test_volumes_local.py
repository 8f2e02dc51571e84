"""Reservations and persistent volumes end to end on a two-agent local cluster.

An instance reserves its resources and creates its volume on the agent it first runs on, is
relaunched there on the same volume (its data kept), and gives both back when scaled away.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.persistence import MemoryStore
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import Recorder, until

pytestmark = pytest.mark.local_cluster(agents=2, status_update_retry=0.5, allocation_interval=0.2)

ROLE = "stateful"
FINISHED = 2  # mesos.v1.OperationState.OPERATION_FINISHED
#: Counts its runs in the volume; fails (to be relaunched) until the third run, which stays up.
COUNTER = (
    "n=$(cat data/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > data/runs; "
    'if [ "$n" -ge 3 ]; then exec sleep 300; fi; exit 1'
)


def make(url: str, store: MemoryStore, **over: Any) -> Scheduler:
    options: dict[str, Any] = {
        "master": url,
        "framework_name": "volumes",
        "roles": [ROLE],
        "principal": "volumes-test",
        "capabilities": ["RESERVATION_REFINEMENT"],
        "state_store": store,
        "refuse_seconds": 0.2,
        "restart_backoff_minimum": 0.1,
        "restart_backoff_maximum": 0.3,
        "tasks": {
            "db": {
                "instances": 1,
                "allow_scaling": True,
                "command": {"value": COUNTER},
                "resources": {"cpus": 0.1, "mem": 16},
                "volumes": [{"container_path": "data", "size_mb": 8}],
            }
        },
    }
    options.update(over)
    return Scheduler(**options)


async def stored_claims(store: MemoryStore) -> list[str]:
    return [r.task_id for r in await store.load_tasks() if r.is_claim]


async def test_data_survives_relaunches_and_restarts_on_one_agent_and_scale_down_gives_it_back(
    local_cluster: LocalCluster,
) -> None:
    store = MemoryStore()
    s = make(local_cluster.url, store)
    rec = Recorder(s)
    agents: set[str] = set()
    s.on("task_launched", lambda r: agents.add(r.agent_id or ""))
    operations: list[tuple[str, int]] = []
    s.on(
        "update_operation_status", lambda u: operations.append((u.status.operation_id.value, u.status.state))
    )
    async with s:
        await until(lambda: running(s), timeout=60, what="the third run to stay up")
        (first,) = s.task_records("db")
        claim = first.claim
        assert claim is not None
        agent = next(a for a in local_cluster.agents if a.id == first.agent_id)
        volume = agent.volume_path(ROLE, claim)
        # Three runs, each on the volume the first created: the count went on, on one agent.
        await until(lambda: runs(volume) == "3", timeout=30, what="the third run's count")
        assert agents == {first.agent_id}
        assert sorted(op for op, _ in operations) == [f"{claim}.create", f"{claim}.reserve"]
    assert claim in await stored_claims(store)

    # A restarted scheduler adopts the task and keeps the claim: relaunches go to the same volume.
    s2 = make(local_cluster.url, store)
    rec2 = Recorder(s2)
    s2.on("task_launched", lambda r: agents.add(r.agent_id or ""))
    s2.on(
        "update_operation_status", lambda u: operations.append((u.status.operation_id.value, u.status.state))
    )
    async with s2:
        await until(lambda: running(s2), timeout=60, what="the task adopted")
        # A rolling restart replaces it in place: its volume is the old task's until that ends.
        await s2.rolling_restart("db", timeout=60)
        await until(
            lambda: running(s2) and s2.task_records("db")[0].task_id != first.task_id,
            timeout=60,
            what="the relaunch",
        )
        (again,) = s2.task_records("db")
        assert (again.claim, again.agent_id) == (claim, first.agent_id)
        await until(lambda: runs(volume) == "4", timeout=30, what="the fourth run's count")
        assert agents == {first.agent_id}

        # Scaled away: the volume is destroyed, the reservation given back.
        await s2.scale("db", 0)
        await until(lambda: not volume.exists(), timeout=60, what="the volume destroyed")
        await until(
            lambda: f"{claim}.unreserve" in dict(operations), timeout=60, what="the UNRESERVE's feedback"
        )
        states = dict(operations)
        assert states[f"{claim}.destroy"] == states[f"{claim}.unreserve"] == FINISHED
        assert not s2.pending  # the claim is gone, nothing relaunched
        for _ in range(100):
            if not await stored_claims(store):
                break
            await asyncio.sleep(0.1)
        assert await stored_claims(store) == []
        await s2.teardown()
    assert rec.errors == [] and rec2.errors == []


def runs(volume: Path) -> str:
    try:
        return (volume / "runs").read_text().strip()
    except OSError:
        return ""


def running(s: Scheduler) -> bool:
    return any(r.state == TaskState.TASK_RUNNING and not r.killing for r in s.task_records("db"))
