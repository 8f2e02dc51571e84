"""The hot-standby pair example: the standby takes the framework over with the same tasks."""

from __future__ import annotations

import re

import pytest

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner, active_tasks, master_state
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [pytest.mark.zookeeper]


async def test_ha_pair(
    local_cluster: LocalCluster, zookeeper_server: ZooKeeperServer, run_example: Runner
) -> None:
    run = await run_example(
        "ha_pair.py",
        *("--master", local_cluster.url, "--zk-url", zookeeper_server.hosts, "--session-timeout", "2"),
        timeout=120,
    )
    why = run.explain()
    assert run.returncode == 0, why
    leads = re.findall(r"(replica-[ab]) leads framework (\S+)", run.stdout)
    assert len(leads) == 2 and leads[0][0] != leads[1][0], why
    assert leads[0][1] == leads[1][1], why  # the same framework
    assert run.lines("(same: True), same task IDs: True"), why
    assert len(run.lines("standing by")) >= 2, why
    assert run.stdout.splitlines()[-1].endswith("done (exit status 0)"), why
    assert not active_tasks(await master_state(local_cluster.url), leads[0][1]), why
