"""Executors built on this library, launched through ExecutorInfo by a real Mesos 1.11 agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.real_mesos import RealMesos
from tests.unit.executor.raw_scheduler import RawScheduler
from tests.unit.executor.scenarios import (
    command_executor_scenario,
    custom_executor_scenario,
    shutdown_scenario,
)

pytestmark = pytest.mark.real_mesos


@pytest.fixture
async def scheduler(real_mesos_cluster: RealMesos) -> AsyncIterator[RawScheduler]:
    sched = RawScheduler(real_mesos_cluster.url)
    await sched.subscribe("executor-tests")
    try:
        yield sched
    finally:
        await sched.close()


async def test_custom_executor_on_the_executor_class(scheduler: RawScheduler, tmp_path: Path) -> None:
    await custom_executor_scenario(scheduler, tmp_path)


async def test_command_executor_runs_tasks_and_reports_truthfully(scheduler: RawScheduler) -> None:
    await command_executor_scenario(scheduler)


async def test_shutdown_terminates_tasks_gracefully(scheduler: RawScheduler, tmp_path: Path) -> None:
    await shutdown_scenario(scheduler, tmp_path)
