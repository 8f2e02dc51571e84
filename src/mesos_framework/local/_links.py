"""What the master and an agent ask of each other: two small Protocols.

The master knows an agent only as an `AgentLink` (the messages Mesos's master
sends an agent, and what it reads of the agent's registration); an agent knows
its master only as a `MasterLink` (the messages an agent sends). Neither module
imports the other, so an agent can also be a stand-in for one running in
another process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from mesos_framework.local._agent_model import AgentTask
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["AgentLink", "AgentSnapshot", "MasterLink"]

AgentSnapshot = list[tuple[mesos_pb2.FrameworkInfo, list[mesos_pb2.ExecutorInfo], list[AgentTask]]]
"""What a (re-)registering agent tells the master: per framework, its custom executors and tasks."""


class AgentLink(Protocol):
    """An agent as the master sees it."""

    @property
    def CAPABILITIES(self) -> Sequence[str]: ...

    @property
    def hostname(self) -> str: ...

    @property
    def address(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def domain(self) -> mesos_pb2.DomainInfo | None: ...

    @property
    def attributes(self) -> Sequence[mesos_pb2.Attribute]: ...

    @property
    def total(self) -> Resources: ...

    @property
    def work_dir(self) -> Path: ...

    @property
    def pid(self) -> str: ...

    def attributes_json(self) -> dict[str, Any]: ...

    def agent_info(self) -> mesos_pb2.AgentInfo: ...

    def snapshot(self) -> AgentSnapshot: ...

    def run_task(self, fw_info: mesos_pb2.FrameworkInfo, task: mesos_pb2.TaskInfo) -> None: ...

    def run_task_group(
        self,
        fw_info: mesos_pb2.FrameworkInfo,
        executor: mesos_pb2.ExecutorInfo,
        tasks: list[mesos_pb2.TaskInfo],
    ) -> None: ...

    def kill_task(self, fid: str, task_id: str, policy: mesos_pb2.KillPolicy | None) -> None: ...

    def drain(self, config: mesos_pb2.DrainConfig) -> None: ...

    def shutdown_executor(self, fid: str, executor_id: str) -> None: ...

    def shutdown_framework(self, fid: str) -> None: ...

    def framework_message(self, fid: str, executor_id: str, data: bytes) -> None: ...

    def acknowledge(self, fid: str, task_id: str, uuid_bytes: bytes) -> None: ...

    def update_framework(self, info: mesos_pb2.FrameworkInfo) -> None: ...

    def apply_conversion(self, consumed: Resources, converted: Resources) -> None: ...

    def shut_down_by_master(self) -> None: ...

    def allow_reregistration(self) -> None: ...


class MasterLink(Protocol):
    """A master as an agent sees it."""

    def register_agent(self, agent: AgentLink, agent_id: str | None = None) -> str | None: ...

    def status_update(
        self, agent_id: str, framework_id: str, status: mesos_pb2.TaskStatus, latest_state: int
    ) -> None: ...

    def executor_exited(
        self, agent_id: str, framework_id: str, executor_id: str, wait_status: int
    ) -> None: ...

    def executor_message(self, agent_id: str, framework_id: str, executor_id: str, data: bytes) -> None: ...

    def agent_disconnected(self, agent_id: str) -> None: ...
