"""SIGKILL + restart with a pod and a volume on the local cluster: the restarted scheduler adopts
the running pod and the task on its volume, and launches, reserves and kills nothing."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from mesos_framework.local import LocalCluster
from tests.integration.scheduler_helpers import until
from tests.support.json_procs import JsonLinesProcess as Proc
from tests.support.json_procs import json_lines_process

pytestmark = pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)


def claims_process(master: str, store: str) -> AbstractAsyncContextManager[Proc]:
    return json_lines_process("tests.integration.claims_proc", master, store)


def running(p: Proc) -> list[list[Any]]:
    """``[name, task ID, claim, [[container, state], ...]]`` of the running tasks last printed."""
    found = p.events("running")
    return list(found[-1]["tasks"]) if found else []


def settled(p: Proc) -> bool:
    tasks = {t[0]: t for t in running(p)}
    app, db = tasks.get("app-1"), tasks.get("db-1")
    return (
        app is not None
        and app[3] == [["main", "TASK_RUNNING"], ["side", "TASK_RUNNING"]]
        and db is not None
        and bool(db[2])
    )


async def test_sigkill_and_restart_adopts_the_pod_and_the_claimed_task(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    store = f"sqlite://{tmp_path / 'state.db'}"
    async with claims_process(local_cluster.url, store) as first:
        await until(lambda: settled(first), timeout=90, what="the pod and the db running in run 1")
        framework_id = first.events("subscribed")[0]["framework_id"]
        original = running(first)
        await first.sigkill()
    async with claims_process(local_cluster.url, store) as second:
        await until(
            lambda: settled(second), timeout=60, what=lambda: f"the pod and the db adopted: {second.lines}"
        )
        assert second.events("subscribed")[0]["framework_id"] == framework_id
        assert running(second) == original  # same task IDs, same claim, same containers
        await asyncio.sleep(2.0)  # offers come and go: nothing launched, reserved or killed
        assert second.events("accept") == []
        assert second.events("kill") == []
        assert second.events("error") == []
