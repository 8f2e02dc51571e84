"""Placement constraints end to end: a scheduler on a multi-agent local cluster with attributes."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from mesos_framework.local import AgentSpec, LocalCluster
from mesos_framework.scheduler import Scheduler
from tests.integration.scheduler_helpers import Recorder, cmd, running, until

RACKS = {"a1.test": "r1", "a2.test": "r1", "a3.test": "r2"}


def cluster() -> LocalCluster:
    specs = [AgentSpec(hostname=host, attributes={"rack": rack}) for host, rack in RACKS.items()]
    return LocalCluster(agents=3, agent_specs=specs, allocation_interval=0.2, status_update_retry=0.5)


def make(url: str, tasks: dict[str, Any]) -> Scheduler:
    return Scheduler(
        master=url,
        framework_name="constrained",
        refuse_seconds=0.2,
        tasks=tasks,
    )


def hosts(s: Scheduler, type_name: str) -> Counter[str]:
    return Counter(r.hostname or "" for r in s.task_records(type_name) if r.name in running(s, type_name))


async def test_unique_group_by_and_like_on_agents_with_attributes() -> None:
    tasks = {
        # One per host: three hosts, three instances.
        "web": {**cmd(), "instances": 3, "constraints": [["hostname", "UNIQUE"]]},
        # Two racks at least, then evenly: 2 + 2.
        "cache": {**cmd(), "instances": 4, "constraints": [["rack", "GROUP_BY", "2"]]},
        # Only rack r1 (two hosts), one per host: the third instance must wait.
        "db": {
            **cmd(),
            "instances": 3,
            "constraints": [{"field": "rack", "operator": "LIKE", "value": "r1"}, ["hostname", "UNIQUE"]],
        },
    }
    async with cluster() as c:
        s = make(c.url, tasks)
        rec = Recorder(s)
        async with s:
            await until(lambda: len(running(s)) == 3 + 4 + 2, timeout=90, what="9 running tasks")
            assert hosts(s, "web") == {"a1.test": 1, "a2.test": 1, "a3.test": 1}
            racks = Counter(RACKS[h] for h in hosts(s, "cache").elements())
            assert racks == {"r1": 2, "r2": 2}
            assert hosts(s, "db") == {"a1.test": 1, "a2.test": 1}
            # db-3 has nowhere to go: it stays pending however many offers come.
            await asyncio.sleep(1.5)
            assert [r.name for r in s.task_records("db")] == ["db-1", "db-2"]
            assert s.pending == [("db", 3)]
            assert rec.errors == []
