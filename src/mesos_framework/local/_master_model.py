"""The master's records: frameworks, their tasks, registered agents."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field

from mesos_framework.local import _codec
from mesos_framework.local._links import AgentLink
from mesos_framework.local._model import Filter
from mesos_framework.local._stream import EventStream
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

__all__ = [
    "TERMINAL",
    "AgentEntry",
    "Cap",
    "Framework",
    "MasterTask",
    "framework_roles",
    "has_cap",
    "packed_ip",
    "state_name",
]

Cap = mesos_pb2.FrameworkInfo.Capability
TERMINAL = _codec.TERMINAL_STATES
has_cap = _codec.has_cap


def state_name(state: int) -> str:
    """``TASK_RUNNING`` for 1."""
    return mesos_pb2.TaskState.Name(state)


def framework_roles(info: mesos_pb2.FrameworkInfo) -> list[str]:
    """The roles a framework subscribes to (``role`` or ``roles``)."""
    if has_cap(info, Cap.MULTI_ROLE):
        return list(info.roles)
    return [info.role]


def packed_ip(address: str) -> int:
    """The MasterInfo ``ip``: IPv4 bytes in network order read as a little-endian int."""
    return int(struct.unpack("<I", socket.inet_aton(address))[0])


@dataclass
class MasterTask:
    """The master's record of a task."""

    info: mesos_pb2.TaskInfo
    framework_id: str
    agent_id: str
    role: str
    resources: Resources
    state: int = mesos_pb2.TASK_STAGING
    status_update_state: int | None = None
    status_update_uuid: bytes | None = None
    statuses: list[mesos_pb2.TaskStatus] = field(default_factory=list)
    executor_id: str = ""

    @property
    def id(self) -> str:
        return str(self.info.task_id.value)


@dataclass
class Framework:
    """The master's record of a framework."""

    id: str
    info: mesos_pb2.FrameworkInfo
    stream: EventStream | None = None
    suppressed: set[str] = field(default_factory=set)
    filters: list[Filter] = field(default_factory=list)
    tasks: dict[str, MasterTask] = field(default_factory=dict)
    completed_tasks: deque[MasterTask] = field(default_factory=lambda: deque(maxlen=1000))
    unreachable_tasks: dict[str, MasterTask] = field(default_factory=dict)
    executors: dict[str, dict[str, mesos_pb2.ExecutorInfo]] = field(default_factory=dict)
    offers: set[str] = field(default_factory=set)
    failover_timer: asyncio.TimerHandle | None = None
    registered_time: float = field(default_factory=time.time)
    unregistered_time: float | None = None
    reregistered_time: float | None = None
    order: int = 0

    @property
    def connected(self) -> bool:
        return self.stream is not None and not self.stream.closed

    @property
    def roles(self) -> list[str]:
        return framework_roles(self.info)

    @property
    def partition_aware(self) -> bool:
        return has_cap(self.info, Cap.PARTITION_AWARE)

    @property
    def multi_role(self) -> bool:
        return has_cap(self.info, Cap.MULTI_ROLE)

    def send(self, event: scheduler_pb2.Event) -> None:
        if self.stream is not None:
            self.stream.send(event)


@dataclass
class AgentEntry:
    """The master's record of a registered agent."""

    agent: AgentLink
    id: str
    total: Resources
    used: dict[str, Resources] = field(default_factory=dict)
    offers: set[str] = field(default_factory=set)
    registered_time: float = field(default_factory=time.time)
    active: bool = True
    connected: bool = True

    def used_total(self) -> Resources:
        res = Resources()
        for r in self.used.values():
            res += r
        return res
