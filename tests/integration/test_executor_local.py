"""Executors built on this library on the local cluster: custom executors and the command executor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import mesos_framework.executor
from mesos_framework.local import LocalCluster
from mesos_framework.protocol._schema import mesos_pb2
from tests.unit.executor.raw_scheduler import RawScheduler
from tests.unit.executor.scenarios import (
    command_executor_scenario,
    custom_executor_scenario,
    shutdown_scenario,
)


@pytest.fixture
async def scheduler(local_cluster: LocalCluster) -> AsyncIterator[RawScheduler]:
    sched = RawScheduler(local_cluster.url)
    await sched.subscribe("executor-tests")
    try:
        yield sched
    finally:
        await sched.close()


async def test_custom_executor_on_the_executor_class(scheduler: RawScheduler, tmp_path: Path) -> None:
    await custom_executor_scenario(scheduler, tmp_path)


async def test_command_executor_through_executor_info(scheduler: RawScheduler) -> None:
    await command_executor_scenario(scheduler)


def _running_with_argument(argument: str) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in args:
            return True
    return False


async def test_serves_as_the_local_clusters_command_executor(
    scheduler: RawScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local agent runs `python -P <COMMAND_EXECUTOR>` for command tasks: swap in the library's.
    library_executor = Path(mesos_framework.executor.__file__).with_name("__main__.py")
    monkeypatch.setattr("mesos_framework.local._agent_containers.COMMAND_EXECUTOR", str(library_executor))
    finished, _ = await scheduler.launch_command(
        "hello", mesos_pb2.CommandInfo(value="echo hello > hello.txt")
    )
    sleeper, agent_id = await scheduler.launch_command("sleeper", mesos_pb2.CommandInfo(value="sleep 600"))
    assert await scheduler.until_state(finished, "TASK_FINISHED") == [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_FINISHED",
    ]
    assert (await scheduler.until_state(sleeper, "TASK_RUNNING"))[-1] == "TASK_RUNNING"
    assert _running_with_argument(str(library_executor)), "the library's executor is not the one running"
    await scheduler.kill(sleeper, agent_id)
    assert await scheduler.until_state(sleeper, "TASK_KILLED") == [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_KILLED",
    ]
    every = [s for s in scheduler.updates if s.task_id.value in (finished, sleeper)]
    assert all(s.uuid in scheduler.acknowledged for s in every)


async def test_shutdown_terminates_tasks_gracefully(scheduler: RawScheduler, tmp_path: Path) -> None:
    await shutdown_scenario(scheduler, tmp_path)
