"""Fixtures for executor tests: a scriptable agent and executors running against it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mesos_framework.executor import Executor, ExecutorEnvironment
from tests.unit.executor.agent import Agent


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    server = Agent(capabilities=("TASK_KILLING_STATE",))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Running:
    """Executors started by a test, each with its run() task; stopped at teardown."""

    def __init__(self, agent: Agent, sandbox: Path) -> None:
        self.agent = agent
        self.sandbox = sandbox
        self.runs: list[tuple[Executor, asyncio.Task[None]]] = []

    def env(self, **extra: str) -> ExecutorEnvironment:
        return ExecutorEnvironment.from_environ(self.agent.environ(str(self.sandbox), **extra))

    async def start(self, executor: Executor, *, subscribed: bool = True) -> asyncio.Task[None]:
        task = asyncio.create_task(executor.run())
        self.runs.append((executor, task))
        if subscribed:
            await self.agent.wait_for(lambda: executor.subscribed or task.done())
            if task.done():
                task.result()
        return task

    async def close(self) -> None:
        for executor, task in self.runs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(executor.stop(), 10)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)


@pytest.fixture
async def running(agent: Agent, tmp_path: Path) -> AsyncIterator[Running]:
    runs = Running(agent, tmp_path)
    try:
        yield runs
    finally:
        await runs.close()


def recorder(target: list[Any]) -> Callable[[Any], None]:
    def record(payload: Any) -> None:
        target.append(payload)

    return record
