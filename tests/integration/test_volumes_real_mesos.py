"""Reservations and persistent volumes on a real Mesos 1.11 master and agent, which perform them.

The task counts its runs in its volume and stays up only from the third: it gets there only if
each relaunch found the volume (and the data) the first run created.
"""

from __future__ import annotations

from typing import Any

import pytest

from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.integration.scheduler_helpers import Recorder, until
from tests.support.real_mesos import RealMesos

pytestmark = pytest.mark.real_mesos

ROLE = "volumes-real"
FINISHED = 2  # mesos.v1.OperationState.OPERATION_FINISHED
COUNTER = (
    "n=$(/bin/cat data/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > data/runs; "
    'if [ "$n" -ge 3 ]; then exec /bin/sleep 300; fi; exit 1'
)


async def test_a_volume_keeps_its_data_across_relaunches_and_is_given_back(
    real_mesos_cluster: RealMesos,
) -> None:
    options: dict[str, Any] = {
        "master": real_mesos_cluster.url,
        "framework_name": "volumes-real",
        "roles": [ROLE],
        "principal": "volumes-real",
        "capabilities": ["RESERVATION_REFINEMENT"],
        "refuse_seconds": 0.5,
        "restart_backoff_minimum": 0.2,
        "restart_backoff_maximum": 0.5,
        "tasks": {
            "db": {
                "instances": 1,
                "allow_scaling": True,
                "command": {"value": COUNTER},
                "resources": {"cpus": 0.1, "mem": 32},
                "volumes": [{"container_path": "data", "size_mb": 4}],
            }
        },
    }
    s = Scheduler(**options)
    rec = Recorder(s)
    operations: dict[str, int] = {}
    s.on(
        "update_operation_status", lambda u: operations.update({u.status.operation_id.value: u.status.state})
    )
    launches: list[tuple[str, str]] = []
    s.on(
        "sent_accept",
        lambda call: launches.extend(
            (t.task_id.value, t.agent_id.value) for op in call.accept.operations for t in op.launch.task_infos
        ),
    )

    def third_runs() -> bool:
        return len(launches) >= 3 and any(
            r.task_id == launches[2][0] and r.state == TaskState.TASK_RUNNING for r in s.task_records("db")
        )

    async with s:
        await until(third_runs, timeout=90, what="the third run to stay up")
        (task,) = s.task_records("db")
        claim = task.claim
        assert claim is not None
        assert len(launches) == 3 and {agent for _, agent in launches} == {task.agent_id}
        await until(lambda: f"{claim}.create" in operations, timeout=30, what="the CREATE's feedback")
        assert operations == {f"{claim}.reserve": FINISHED, f"{claim}.create": FINISHED}

        await s.scale("db", 0)
        await until(lambda: f"{claim}.unreserve" in operations, timeout=60, what="the UNRESERVE's feedback")
        assert operations[f"{claim}.destroy"] == operations[f"{claim}.unreserve"] == FINISHED
        assert not s.pending
        await s.teardown()
    assert rec.errors == []
