"""A runtime scale survives a scheduler restart with the SQLite state store (local cluster).

Scaled up from 2 to 4 and then down to 3: a new scheduler on the same store adopts the 3
running tasks, kills none and launches none (before the fix it started from the declared 2 and
killed web-3 as "no longer wanted").
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mesos_framework.local import LocalCluster
from mesos_framework.scheduler import Scheduler
from tests.integration.scheduler_helpers import Recorder, master_tasks, running, until


def scheduler(url: str, store: str) -> Scheduler:
    spec: dict[str, Any] = {
        "instances": 2,
        "allowScaling": True,
        "command": {"value": "exec sleep 300", "shell": True},
        "resources": {"cpus": 0.1, "mem": 16},
    }
    return Scheduler(
        master=url,
        framework_name="scalekept",
        tasks={"web": spec},
        state_store=store,
        framework_failover_timeout=300,
    )


async def test_a_runtime_scale_survives_a_restart_with_sqlite(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    store = f"sqlite://{tmp_path / 'state.db'}"  # sqlite:///abs/path.db
    first = scheduler(local_cluster.url, store)
    async with first:
        await until(lambda: running(first) == ["web-1", "web-2"], timeout=60, what="2 running")
        await first.scale("web", 4)
        await until(lambda: len(running(first)) == 4, timeout=60, what="4 running after scaling up")
        await first.scale("web", 3)
        await until(
            lambda: running(first) == ["web-1", "web-2", "web-3"], timeout=60, what="scaled down to 3"
        )
        await until(lambda: len(first.tasks) == 3, timeout=60, what="web-4 gone")
        kept = {r.name: r.task_id for r in first.tasks}
        framework_id = first.framework_id
    second = scheduler(local_cluster.url, store)
    rec = Recorder(second)
    async with second:
        assert second.instances("web") == 3
        await until(lambda: running(second) == ["web-1", "web-2", "web-3"], timeout=60, what="3 adopted")
        await asyncio.sleep(2.0)  # offers come and go: nothing launched, nothing killed
        assert {r.name: r.task_id for r in second.tasks} == kept
        assert rec.launched_ids == []
        assert rec.counts["sent_kill"] == 0
        assert rec.errors == []
        on_master = await master_tasks(local_cluster.url, framework_id)
        assert sorted(t for t, st in on_master.items() if st == "TASK_RUNNING") == sorted(kept.values())
        await second.teardown()
