"""The master's operator API (``POST /api/v1``), JSON only.

Answers ``SUBSCRIBE`` (an event stream: ``Master.operator_subscribe``),
``GET_HEALTH``, ``GET_VERSION``, ``GET_MASTER``, ``GET_FLAGS``, ``GET_STATE``,
``GET_FRAMEWORKS``, ``GET_AGENTS``, ``GET_TASKS``, ``GET_EXECUTORS``,
``GET_ROLES`` and ``TEARDOWN`` in the ``mesos.v1.master`` JSON shapes.
Other calls get ``501``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mesos_framework.local import _codec
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import AgentEntry, Framework, Master, MasterTask

__all__ = ["operator_call"]


def _time(seconds: float) -> dict[str, int]:
    return {"nanoseconds": int(seconds * 1e9)}


def task_entry(task: MasterTask) -> dict[str, Any]:
    """A ``mesos.v1.Task`` as JSON."""
    t = mesos_pb2.Task(name=task.info.name, state=task.state)
    t.task_id.CopyFrom(task.info.task_id)
    t.framework_id.value = task.framework_id
    t.agent_id.value = task.agent_id
    if task.executor_id:
        t.executor_id.value = task.executor_id
    t.resources.extend(task.info.resources)
    t.statuses.extend(task.statuses)
    if task.status_update_state is not None:
        t.status_update_state = task.status_update_state
    if task.status_update_uuid:
        t.status_update_uuid = task.status_update_uuid
    if task.info.HasField("labels"):
        t.labels.CopyFrom(task.info.labels)
    if task.info.HasField("container"):
        t.container.CopyFrom(task.info.container)
    if task.info.HasField("kill_policy"):
        t.kill_policy.CopyFrom(task.info.kill_policy)
    return _codec.to_dict(t)


def framework_entry(master: Master, fw: Framework, active: bool) -> dict[str, Any]:
    """A ``GetFrameworks.Framework`` as JSON."""
    used = Resources()
    for entry in master.agents.values():
        if fw.id in entry.used:
            used += entry.used[fw.id]
    out: dict[str, Any] = {
        "framework_info": _codec.to_dict(fw.info),
        "active": active and fw.connected,
        "connected": active and fw.connected,
        "recovered": False,
        "registered_time": _time(fw.registered_time),
        "allocated_resources": [_codec.to_dict(r) for r in used.to_protos()],
        "offered_resources": [
            _codec.to_dict(r) for oid in fw.offers for r in master.offers[oid].resources.to_protos()
        ],
    }
    if fw.unregistered_time:
        out["unregistered_time"] = _time(fw.unregistered_time)
    if fw.reregistered_time:
        out["reregistered_time"] = _time(fw.reregistered_time)
    return out


def get_frameworks(master: Master) -> dict[str, Any]:
    """``get_frameworks`` payload."""
    return {
        "frameworks": [framework_entry(master, f, True) for f in master.frameworks.values()],
        "completed_frameworks": [framework_entry(master, f, False) for f in master.completed_frameworks],
    }


def agent_entry(master: Master, entry: AgentEntry) -> dict[str, Any]:
    """A ``GetAgents.Agent`` as JSON."""
    offered = Resources()
    for oid in entry.offers:
        offered += master.offers[oid].resources.unallocated()
    return {
        "agent_info": _codec.to_dict(entry.agent.agent_info()),
        "active": entry.active,
        "deactivated": False,
        "version": "1.11.0",
        "pid": entry.agent.pid,
        "registered_time": _time(entry.registered_time),
        "total_resources": [_codec.to_dict(r) for r in entry.total.to_protos()],
        "allocated_resources": [_codec.to_dict(r) for r in entry.used_total().to_protos()],
        "offered_resources": [_codec.to_dict(r) for r in offered.to_protos()],
        "capabilities": [{"type": c} for c in entry.agent.CAPABILITIES],
    }


def get_agents(master: Master) -> dict[str, Any]:
    """``get_agents`` payload."""
    return {"agents": [agent_entry(master, e) for e in master.agents.values()], "recovered_agents": []}


def get_tasks(master: Master) -> dict[str, Any]:
    """``get_tasks`` payload."""
    frameworks = [*master.frameworks.values(), *master.completed_frameworks]
    out: dict[str, Any] = {
        "tasks": [task_entry(t) for f in master.frameworks.values() for t in f.tasks.values()],
        "unreachable_tasks": [task_entry(t) for f in frameworks for t in f.unreachable_tasks.values()],
        "completed_tasks": [task_entry(t) for f in frameworks for t in f.completed_tasks],
    }
    return {k: v for k, v in out.items() if v}


def get_executors(master: Master) -> dict[str, Any]:
    """``get_executors`` payload."""
    executors = [
        {"executor_info": _codec.to_dict(ex), "agent_id": {"value": aid}}
        for fw in master.frameworks.values()
        for aid, exs in fw.executors.items()
        for ex in exs.values()
    ]
    return {"executors": executors} if executors else {}


def get_state(master: Master) -> dict[str, Any]:
    """``get_state`` payload."""
    return {
        "get_tasks": get_tasks(master),
        "get_executors": get_executors(master),
        "get_frameworks": get_frameworks(master),
        "get_agents": get_agents(master),
    }


def operator_call(master: Master, body: bytes) -> tuple[int, dict[str, Any] | str]:
    """Answer one operator call given as JSON bytes."""
    try:
        call = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return 400, f"Failed to parse body into JSON: {exc}"
    if not isinstance(call, dict):
        return 400, "Failed to convert JSON into Call protobuf: Expecting a JSON object"
    kind = call.get("type")
    if not isinstance(kind, str) or not kind:
        return 400, "Failed to validate master::Call: Expecting 'type' to be present"
    if kind == "GET_HEALTH":
        return 200, {"type": kind, "get_health": {"healthy": True}}
    if kind == "GET_VERSION":
        info = {"version": "1.11.0", "build_user": "mesos-framework local", "git_tag": "1.11.0"}
        return 200, {"type": kind, "get_version": {"version_info": info}}
    if kind == "GET_MASTER":
        payload: dict[str, Any] = {
            "master_info": _codec.to_dict(master.info()),
            "start_time": master.start_time,
        }
        if master.elected_time is not None:
            payload["elected_time"] = master.elected_time
        return 200, {"type": kind, "get_master": payload}
    if kind == "GET_FLAGS":
        flags = [
            {"name": "port", "value": str(master.port)},
            {"name": "hostname", "value": master.config.hostname},
        ]
        return 200, {"type": kind, "get_flags": {"flags": flags}}
    if kind == "GET_FRAMEWORKS":
        return 200, {"type": kind, "get_frameworks": get_frameworks(master)}
    if kind == "GET_AGENTS":
        return 200, {"type": kind, "get_agents": get_agents(master)}
    if kind == "GET_TASKS":
        return 200, {"type": kind, "get_tasks": get_tasks(master)}
    if kind == "GET_EXECUTORS":
        return 200, {"type": kind, "get_executors": get_executors(master)}
    if kind == "GET_ROLES":
        roles = sorted({r for f in master.frameworks.values() for r in f.roles} | {"*"})
        return 200, {"type": kind, "get_roles": {"roles": [{"name": r, "weight": 1.0} for r in roles]}}
    if kind == "GET_STATE":
        return 200, {"type": kind, "get_state": get_state(master)}
    if kind == "TEARDOWN":
        fid = call.get("teardown", {}).get("framework_id", {}).get("value")
        if not fid:
            return 400, "Failed to validate master::Call: Expecting 'teardown' to be present"
        fw = master.frameworks.get(fid)
        if fw is None:
            return 400, "No framework found with specified ID"
        master.remove_framework(fw)
        return 200, ""
    return 501, f"The local cluster does not implement the operator call {kind}"
