"""The agent's JSON views: ``/slave(N)/state`` and ``/slave(N)/containers``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from mesos_framework.local import _codec
from mesos_framework.local._agent_model import AgentFramework, AgentTask, Executor
from mesos_framework.local._topology import domain_json
from mesos_framework.local.config import VERSION, ClusterConfig
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["AgentView", "containers_json", "state_json"]

TERMINAL = _codec.TERMINAL_STATES


class AgentView(Protocol):
    """What the views read of an agent."""

    @property
    def CAPABILITIES(self) -> Sequence[str]: ...

    @property
    def id(self) -> str | None: ...

    @property
    def pid(self) -> str: ...

    @property
    def hostname(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def domain(self) -> mesos_pb2.DomainInfo | None: ...

    @property
    def start_time(self) -> float: ...

    @property
    def drain_config(self) -> mesos_pb2.DrainConfig | None: ...

    @property
    def drain_started(self) -> float | None: ...

    @property
    def total(self) -> Resources: ...

    @property
    def config(self) -> ClusterConfig: ...

    @property
    def work_dir(self) -> Path: ...

    @property
    def frameworks(self) -> dict[str, AgentFramework]: ...

    @property
    def completed_frameworks(self) -> Iterable[AgentFramework]: ...

    def attributes_json(self) -> dict[str, Any]: ...


def containers_json(agent: AgentView) -> list[dict[str, Any]]:
    """``/slave(N)/containers``: the live containers."""
    out = []
    for fid, fw in agent.frameworks.items():
        for ex in fw.executors.values():
            if ex.state == "TERMINATED":
                continue
            out.append(
                {
                    "container_id": ex.container_id,
                    "executor_id": ex.id,
                    "executor_name": ex.info.name,
                    "framework_id": fid,
                    "source": ex.info.source,
                    "status": {"executor_pid": ex.pid} if ex.pid else {},
                }
            )
    return out


def _task_json(agent: AgentView, fid: str, task: AgentTask, executor: Executor) -> dict[str, Any]:
    res = Resources.from_protos(task.info.resources).unallocated()
    return {
        "id": task.info.task_id.value,
        "name": task.info.name,
        "framework_id": fid,
        "executor_id": executor.id if executor.kind != "command" else "",
        "slave_id": agent.id,
        "state": mesos_pb2.TaskState.Name(task.state),
        "resources": res.summary(),
        "statuses": [
            {"state": mesos_pb2.TaskState.Name(s.state), "timestamp": s.timestamp} for s in task.statuses
        ],
    }


def _executor_json(agent: AgentView, fid: str, ex: Executor) -> dict[str, Any]:
    res = Resources.from_protos(ex.info.resources).unallocated()
    tasks = [_task_json(agent, fid, t, ex) for t in ex.tasks.values() if t.state not in TERMINAL]
    done = [_task_json(agent, fid, t, ex) for t in ex.tasks.values() if t.state in TERMINAL]
    done += [_task_json(agent, fid, t, ex) for t in ex.completed_tasks]
    return {
        "id": ex.id,
        "name": ex.info.name,
        "source": ex.info.source,
        "container": ex.container_id,
        "directory": str(ex.directory),
        "resources": res.summary(),
        "tasks": tasks,
        "queued_tasks": [{"id": t.task_id.value, "name": t.name} for g in ex.queued for t in g],
        "completed_tasks": done,
    }


def _framework_json(agent: AgentView, fid: str, fw: AgentFramework) -> dict[str, Any]:
    info = fw.info
    return {
        "id": fid,
        "name": info.name,
        "user": info.user,
        "failover_timeout": info.failover_timeout,
        "checkpoint": info.checkpoint,
        "hostname": info.hostname,
        "role": info.role,
        "executors": [_executor_json(agent, fid, e) for e in fw.executors.values()],
        "completed_executors": [_executor_json(agent, fid, e) for e in fw.completed_executors],
    }


def _drain_json(agent: AgentView) -> dict[str, Any]:
    """While the agent drains: its ``drain_config`` and when it began (whole seconds)."""
    if agent.drain_config is None:
        return {}
    out: dict[str, Any] = {"drain_config": _codec.to_dict(agent.drain_config)}
    if agent.drain_started is not None:
        out["estimated_drain_start_time_seconds"] = int(agent.drain_started)
    return out


def state_json(agent: AgentView) -> dict[str, Any]:
    """``/slave(N)/state``."""
    return {
        "version": VERSION,
        "git_tag": VERSION,
        "start_time": agent.start_time,
        "id": agent.id,
        "pid": agent.pid,
        "hostname": agent.hostname,
        **({"domain": domain_json(agent.domain)} if agent.domain is not None else {}),
        "capabilities": list(agent.CAPABILITIES),
        **_drain_json(agent),
        "resources": agent.total.summary(),
        "attributes": agent.attributes_json(),
        "master_hostname": agent.config.hostname,
        "flags": {"work_dir": str(agent.work_dir), "port": str(agent.port)},
        "frameworks": [_framework_json(agent, fid, fw) for fid, fw in agent.frameworks.items()],
        "completed_frameworks": [
            _framework_json(agent, fw.info.id.value, fw) for fw in agent.completed_frameworks
        ],
    }
