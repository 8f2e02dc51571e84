"""The agent's records: frameworks, executors (with their containers) and tasks."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from mesos_framework.local._launcher import ExecutorProcess
from mesos_framework.local._stream import EventStream
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["AgentFramework", "AgentTask", "Executor"]


@dataclass
class AgentTask:
    """The agent's record of a task."""

    info: mesos_pb2.TaskInfo
    state: int = mesos_pb2.TASK_STAGING
    statuses: list[mesos_pb2.TaskStatus] = field(default_factory=list)
    kill_requested: bool = False


@dataclass
class Executor:
    """A running (or starting) executor and its container."""

    info: mesos_pb2.ExecutorInfo
    framework_id: str
    container_id: str
    directory: Path
    kind: str  # "command", "default" or "custom"
    state: str = "REGISTERING"
    stream: EventStream | None = None
    queued: list[list[mesos_pb2.TaskInfo]] = field(default_factory=list)
    tasks: dict[str, AgentTask] = field(default_factory=dict)
    completed_tasks: deque[AgentTask] = field(default_factory=lambda: deque(maxlen=200))
    process: ExecutorProcess | None = None
    waiter: asyncio.Task[None] | None = None
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    shutdown_requested: bool = False
    framework_removed: bool = False
    pid: int | None = None
    pending_termination: tuple[int, int, str] | None = None  # state, reason, message

    @property
    def id(self) -> str:
        return str(self.info.executor_id.value)

    def all_tasks(self) -> dict[str, AgentTask]:
        return self.tasks


@dataclass
class AgentFramework:
    """The agent's record of a framework."""

    info: mesos_pb2.FrameworkInfo
    executors: dict[str, Executor] = field(default_factory=dict)
    completed_executors: deque[Executor] = field(default_factory=lambda: deque(maxlen=150))
