"""SIGKILL + restart with the SQLite state store on real Mesos: the restarted scheduler adopts its tasks.

The master shows the same tasks running, none completed, none launched again.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.integration.scheduler_helpers import completed_tasks, master_tasks, until
from tests.support.json_procs import JsonLinesProcess as Proc
from tests.support.json_procs import json_lines_process
from tests.support.real_mesos import RealMesos

pytestmark = pytest.mark.real_mesos


def scheduler_process(master: str, store: str, instances: int) -> AbstractAsyncContextManager[Proc]:
    return json_lines_process("tests.integration.scheduler_proc", master, store, str(instances))


async def test_sigkill_and_restart_with_sqlite_adopts_every_task(
    real_mesos_cluster: RealMesos, tmp_path: Path
) -> None:
    url = real_mesos_cluster.url
    store = f"sqlite://{tmp_path / 'state.db'}"  # sqlite:///abs/path.db
    async with scheduler_process(url, store, 2) as first:
        await until(lambda: len(first.running()) == 2, timeout=90, what="2 running in run 1")
        framework_id = first.events("subscribed")[0]["framework_id"]
        original = dict(first.running())
        await first.sigkill()
    async with scheduler_process(url, store, 2) as second:
        await until(lambda: len(second.running()) == 2, timeout=90, what="2 adopted in run 2")
        assert second.events("subscribed")[0]["framework_id"] == framework_id
        assert dict(second.running()) == original
        await asyncio.sleep(3.0)  # offers come and go: nothing launched, nothing killed
        assert second.events("launch") == []
        assert second.events("kill") == []
        assert second.events("error") == []
        on_master = await master_tasks(url, framework_id)
        assert sorted(t for t, st in on_master.items() if st == "TASK_RUNNING") == sorted(original.values())
        assert await completed_tasks(url, framework_id) == []
