"""The master's operator API (``POST /api/v1``), JSON and protobuf.

`handle()` parses and validates a ``mesos.v1.master.Call`` as Mesos does
and `operator_call()` answers it: ``SUBSCRIBE`` (an event stream:
``Master.operator_subscribe``), ``GET_HEALTH``, ``GET_VERSION``,
``GET_MASTER``, ``GET_FLAGS``, ``GET_METRICS``, ``GET_LOGGING_LEVEL``,
``SET_LOGGING_LEVEL``, ``LIST_FILES``, ``READ_FILE``, ``GET_STATE``,
``GET_FRAMEWORKS``, ``GET_AGENTS``, ``GET_TASKS``, ``GET_EXECUTORS``,
``GET_OPERATIONS``, ``GET_ROLES``, ``GET_WEIGHTS``, ``UPDATE_WEIGHTS``,
the quota calls (`_quota`), the maintenance calls (`_maintenance`),
``DEACTIVATE_AGENT``, ``REACTIVATE_AGENT``, ``DRAIN_AGENT`` (`_drain`),
``MARK_AGENT_GONE``, ``TEARDOWN`` and the reservation and volume calls
(``RESERVE_RESOURCES`` ... ``SHRINK_VOLUME``: `_operations.operator_apply`).
"""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any, Protocol

from mesos_framework.local import _codec, _drain, _maintenance, _operations, _quota
from mesos_framework.local._files import Files, FilesError
from mesos_framework.local.config import VERSION
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import master_pb2, mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import AgentEntry, Framework, Master, MasterTask

__all__ = ["handle", "operator_call"]

Call = master_pb2.Call


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


def endpoint_resources(res: Resources) -> list[dict[str, Any]]:
    """Resources in Mesos's ``ENDPOINT`` format (``convertResourceFormat``): the refinement
    format's ``reservations`` and, for at most one reservation, ``role`` and ``reservation`` too."""
    out = []
    for r in res.to_protos(refinement=True):
        if not r.reservations:
            r.role = "*"
        elif len(r.reservations) == 1:
            source = r.reservations[0]
            if source.type == mesos_pb2.Resource.ReservationInfo.DYNAMIC:
                r.reservation.SetInParent()
                if source.HasField("principal"):
                    r.reservation.principal = source.principal
                if source.HasField("labels"):
                    r.reservation.labels.CopyFrom(source.labels)
            r.role = source.role
        out.append(_codec.to_dict(r))
    return out


def agent_entry(master: Master, entry: AgentEntry) -> dict[str, Any]:
    """A ``GetAgents.Agent`` as JSON."""
    offered = Resources()
    for oid in entry.offers:
        offered += master.offers[oid].resources.unallocated()
    info = entry.agent.agent_info()
    info.id.value = entry.id  # AGENT_ADDED goes out before the agent learns its id
    out: dict[str, Any] = {
        "agent_info": _codec.to_dict(info),
        "active": entry.active,
        "deactivated": entry.id in operator_state(master).deactivated,
        "version": "1.11.0",
        "pid": entry.agent.pid,
        "registered_time": _time(entry.registered_time),
        "total_resources": endpoint_resources(entry.total),
        "allocated_resources": endpoint_resources(entry.used_total()),
        "offered_resources": endpoint_resources(offered),
        "capabilities": [{"type": c} for c in entry.agent.CAPABILITIES],
    }
    drain = _drain.state(master)
    if entry.id in drain.draining:
        out["drain_info"] = _codec.to_dict(drain.draining[entry.id])
    if entry.id in drain.started:
        out["estimated_drain_start_time"] = _time(drain.started[entry.id])
    return out


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


def get_operations(master: Master) -> dict[str, Any]:
    """``get_operations`` payload: as Mesos 1.11, the operations the master still tracks.

    Mesos tracks an operation from when it is applied until its terminal status is acknowledged;
    only frameworks' operations with an ``id`` wait for an acknowledgement (those of the operator
    API and those without an ``id`` go at once when they finish, which on the local cluster is
    when they are applied)."""
    operations = []
    for record in master.operations.records.values():
        if record.acknowledged or record.info is None:
            continue
        op = mesos_pb2.Operation()
        op.framework_id.value = record.framework_id
        op.agent_id.value = record.agent_id
        op.info.CopyFrom(record.info)
        op.latest_status.CopyFrom(record.status)
        op.statuses.extend(record.statuses)
        op.uuid.value = record.uuid
        operations.append(_codec.to_dict(op))
    return {"operations": operations} if operations else {}


def get_state(master: Master) -> dict[str, Any]:
    """``get_state`` payload."""
    return {
        "get_tasks": get_tasks(master),
        "get_executors": get_executors(master),
        "get_frameworks": get_frameworks(master),
        "get_agents": get_agents(master),
    }


def master_files(master: Master) -> Files:
    """The files of the master's agents (sandboxes by real and virtual path)."""
    return Files(entry.agent.work_dir for entry in master.agents.values())


class _OperatorState:
    """What the operator API changes on a master beyond its tasks and agents."""

    def __init__(self, weights: dict[str, float], deactivated: set[str]) -> None:
        self.weights = weights
        """The registry's weights (they survive a master fail-over)."""
        self.logging_level = 0
        self.logging_reset: asyncio.TimerHandle | None = None
        self.deactivated = deactivated
        """The registry's agents an operator deactivated (``DEACTIVATE_AGENT``)."""


def operator_state(master: Master) -> _OperatorState:
    state: _OperatorState | None = getattr(master, "_operator_state", None)
    if state is None:
        state = _OperatorState(master.registry.weights, master.registry.deactivated)
        setattr(master, "_operator_state", state)  # noqa: B010 - kept beside the master
    return state


class _HasLevel(Protocol):
    logging_level: int
    logging_reset: asyncio.TimerHandle | None


def set_logging_level(holder: _HasLevel, request: Any) -> None:
    """Like ``SET_LOGGING_LEVEL``: the level for ``request.duration``, then back to 0."""
    if holder.logging_reset is not None:
        holder.logging_reset.cancel()
    holder.logging_level = request.level

    def reset() -> None:
        holder.logging_level = 0
        holder.logging_reset = None

    holder.logging_reset = asyncio.get_running_loop().call_later(request.duration.nanoseconds / 1e9, reset)


def missing_part(call: Any) -> str | None:
    """What Mesos checks first of a master or agent ``Call``: its ``type``, and the field named
    after the type when the ``Call`` has one (``get_metrics`` for ``GET_METRICS``)."""
    if not call.HasField("type"):
        return "Expecting 'type' to be present"
    field = type(call).Type.Name(call.type).lower()
    if field in call.DESCRIPTOR.fields_by_name and not call.HasField(field):
        return f"Expecting '{field}' to be present"
    return None


def validate(call: master_pb2.Call) -> str | None:
    """Mesos's ``validation::master::call::validate``: None or the reason."""
    problem = missing_part(call)
    if problem is not None:
        return problem
    if call.type == Call.GROW_VOLUME and not call.grow_volume.HasField("agent_id"):
        return "Expecting 'agent_id' to be present; only agent default resources are supported right now"
    if call.type == Call.SHRINK_VOLUME and not call.shrink_volume.HasField("agent_id"):
        return "Expecting 'agent_id' to be present; only agent default resources are supported right now"
    return None


def handle(master: Master, body: bytes, content_type: str) -> tuple[int, str] | master_pb2.Call:
    """Parse and validate a request body: the call, or the status and text of the error."""
    try:
        call = _codec.parse_body(master_pb2.Call, body, content_type)
    except _codec.BodyError as exc:
        return 400, exc.text
    problem = validate(call)
    if problem is not None:
        return 400, f"Failed to validate master::Call: {problem}"
    return call


def encode_response(payload: dict[str, Any], content_type: str) -> bytes:
    """A ``Response`` given as a dict, in either encoding (checked against the schema)."""
    return _codec.encode(_codec.from_dict(master_pb2.Response, payload), content_type)


def _metrics(master: Master) -> list[dict[str, Any]]:
    tasks = [t for f in master.frameworks.values() for t in f.tasks.values()]
    counts = {
        "master/uptime_secs": _now() - master.start_time,
        "master/elected": 1.0 if master.leader else 0.0,
        "master/frameworks_active": float(sum(1 for f in master.frameworks.values() if f.connected)),
        "master/frameworks_connected": float(sum(1 for f in master.frameworks.values() if f.connected)),
        "master/frameworks_inactive": float(sum(1 for f in master.frameworks.values() if not f.connected)),
        "master/slaves_active": float(sum(1 for e in master.agents.values() if e.active)),
        "master/slaves_connected": float(sum(1 for e in master.agents.values() if e.connected)),
        "master/slaves_unreachable": float(len(master.unreachable_agents)),
        "master/outstanding_offers": float(len(master.offers)),
    }
    for state in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"):
        counts[f"master/tasks_{state[5:].lower()}"] = float(
            sum(1 for t in tasks if t.state == mesos_pb2.TaskState.Value(state))
        )
    return [{"name": k, "value": v} for k, v in sorted(counts.items())]


def _now() -> float:
    import time  # noqa: PLC0415

    return time.time()


def operator_call(master: Master, call: master_pb2.Call) -> tuple[int, dict[str, Any] | str]:
    """Answer one validated operator call (not ``SUBSCRIBE``): status and a ``Response`` dict or text."""
    kind = Call.Type.Name(call.type)
    key = kind.lower()
    t = call.type
    if t == Call.GET_HEALTH:
        return 200, {"type": kind, key: {"healthy": True}}
    if t == Call.GET_VERSION:
        info = {"version": VERSION, "build_user": "mesos-framework local", "git_tag": VERSION}
        return 200, {"type": kind, key: {"version_info": info}}
    if t == Call.GET_MASTER:
        payload: dict[str, Any] = {
            "master_info": _codec.to_dict(master.info()),
            "start_time": master.start_time,
        }
        if master.elected_time is not None:
            payload["elected_time"] = master.elected_time
        return 200, {"type": kind, key: payload}
    if t == Call.GET_FLAGS:
        flags = {
            "port": str(master.port),
            "hostname": master.config.hostname,
            "allocation_interval": f"{master.config.allocation_interval:g}secs",
            "version": VERSION,
        }
        return 200, {
            "type": kind,
            key: {"flags": [{"name": k, "value": v} for k, v in sorted(flags.items())]},
        }
    if t == Call.GET_METRICS:
        return 200, {"type": kind, key: {"metrics": _metrics(master)}}
    if t == Call.GET_LOGGING_LEVEL:
        return 200, {"type": kind, key: {"level": operator_state(master).logging_level}}
    if t == Call.SET_LOGGING_LEVEL:
        set_logging_level(operator_state(master), call.set_logging_level)
        return 200, ""
    if t in (Call.LIST_FILES, Call.READ_FILE):
        return _files_call(master, call, kind)
    if t == Call.GET_FRAMEWORKS:
        return 200, {"type": kind, key: get_frameworks(master)}
    if t == Call.GET_AGENTS:
        return 200, {"type": kind, key: get_agents(master)}
    if t == Call.GET_TASKS:
        return 200, {"type": kind, key: get_tasks(master)}
    if t == Call.GET_EXECUTORS:
        return 200, {"type": kind, key: get_executors(master)}
    if t == Call.GET_OPERATIONS:
        return 200, {"type": kind, key: get_operations(master)}
    if t == Call.GET_ROLES:
        weights = operator_state(master).weights
        roles = sorted({r for f in master.frameworks.values() for r in f.roles} | {"*"} | set(weights))
        entries = [{"name": r, "weight": weights.get(r, 1.0)} for r in roles]
        return 200, {"type": kind, key: {"roles": entries}}
    if t == Call.GET_WEIGHTS:
        infos = [{"role": r, "weight": w} for r, w in sorted(operator_state(master).weights.items())]
        return 200, {"type": kind, key: {"weight_infos": infos}}
    if t == Call.UPDATE_WEIGHTS:
        for w in call.update_weights.weight_infos:
            if w.weight <= 0:
                return 400, f"Invalid weight: '{w.weight:g}'. Weights must be positive"
        for w in call.update_weights.weight_infos:
            operator_state(master).weights[w.role] = w.weight
        return 200, ""
    if t in _quota.CALLS:
        return _quota.operator_call(master, call)
    if t == Call.GET_STATE:
        return 200, {"type": kind, key: get_state(master)}
    if t in _maintenance.CALLS:
        return _maintenance.operator_call(master, call)
    if t in (Call.DEACTIVATE_AGENT, Call.REACTIVATE_AGENT):
        return _activation(master, call)
    if t in _OFFER_OPERATIONS:
        return _offer_operation(master, call)
    if t == Call.DRAIN_AGENT:
        return _drain.drain_agent(master, call.drain_agent, operator_state(master).deactivated)
    if t == Call.MARK_AGENT_GONE:
        aid = call.mark_agent_gone.agent_id.value
        if aid in master.gone_agents:
            return 200, ""
        if aid not in master.agents and aid not in master.unreachable_agents:
            return 404, f"Agent '{aid}' not found"
        master.unreachable_agents.pop(aid, None)
        master.remove_agent(aid, unreachable=False)
        master.gone_agents.add(aid)
        return 200, ""
    if t == Call.TEARDOWN:
        fw = master.frameworks.get(call.teardown.framework_id.value)
        if fw is None:
            return 400, "No framework found with specified ID"
        master.remove_framework(fw)
        return 200, ""
    return 501, ""


_OFFER_OPERATIONS = {
    Call.RESERVE_RESOURCES: "reserve_resources",
    Call.UNRESERVE_RESOURCES: "unreserve_resources",
    Call.CREATE_VOLUMES: "create_volumes",
    Call.DESTROY_VOLUMES: "destroy_volumes",
    Call.GROW_VOLUME: "grow_volume",
    Call.SHRINK_VOLUME: "shrink_volume",
}
"""Operations on an agent's resources (`_operations.operator_apply`)."""


def _offer_operation(master: Master, call: master_pb2.Call) -> tuple[int, str]:
    """``RESERVE_RESOURCES`` ... ``SHRINK_VOLUME`` as the offer operation they make."""
    message = getattr(call, _OFFER_OPERATIONS[call.type])
    entry = master.agents.get(message.agent_id.value)
    if entry is None:
        return 400, "No agent found with specified ID"
    op = mesos_pb2.Offer.Operation()
    Op = mesos_pb2.Offer.Operation
    if call.type == Call.RESERVE_RESOURCES:
        op.type = Op.RESERVE
        op.reserve.source.extend(message.source)
        op.reserve.resources.extend(message.resources)
    elif call.type == Call.UNRESERVE_RESOURCES:
        op.type = Op.UNRESERVE
        op.unreserve.resources.extend(message.resources)
    elif call.type == Call.CREATE_VOLUMES:
        op.type = Op.CREATE
        op.create.volumes.extend(message.volumes)
    elif call.type == Call.DESTROY_VOLUMES:
        op.type = Op.DESTROY
        op.destroy.volumes.extend(message.volumes)
    elif call.type == Call.GROW_VOLUME:
        op.type = Op.GROW_VOLUME
        op.grow_volume.volume.CopyFrom(message.volume)
        op.grow_volume.addition.CopyFrom(message.addition)
    else:
        op.type = Op.SHRINK_VOLUME
        op.shrink_volume.volume.CopyFrom(message.volume)
        op.shrink_volume.subtract.CopyFrom(message.subtract)
    return _operations.operator_apply(master, entry, op)


def _activation(master: Master, call: master_pb2.Call) -> tuple[int, str]:
    """``DEACTIVATE_AGENT`` (no more offers of the agent) and ``REACTIVATE_AGENT``."""
    deactivated = operator_state(master).deactivated
    if call.type == Call.DEACTIVATE_AGENT:
        aid = call.deactivate_agent.agent_id.value
        if aid not in master.agents and aid not in master.unreachable_agents:
            return 400, "Unknown agent"
        deactivated.add(aid)
        entry = master.agents.get(aid)
        if entry is not None:
            entry.active = False
            for oid in list(entry.offers):
                master.rescind(oid)
        return 200, ""
    aid = call.reactivate_agent.agent_id.value
    if aid not in deactivated:
        return 400, "Agent is not deactivated"
    draining = _drain.state(master).draining
    if aid in draining and draining[aid].state == mesos_pb2.DRAINING:
        return 400, "Agent is still in the DRAINING state"
    draining.pop(aid, None)
    deactivated.discard(aid)
    entry = master.agents.get(aid)
    if entry is not None and entry.connected:
        entry.active = True
        master.allocate_soon()
    return 200, ""


def _files_call(master: Master, call: master_pb2.Call, kind: str) -> tuple[int, dict[str, Any] | str]:
    files = master_files(master)
    try:
        if call.type == Call.LIST_FILES:
            return 200, {"type": kind, "list_files": {"file_infos": files.browse(call.list_files.path)}}
        read = call.read_file
        size, data = files.read(read.path, read.offset, read.length if read.HasField("length") else None)
    except FilesError as exc:
        return exc.status, exc.text
    return 200, {"type": kind, "read_file": {"size": size, "data": base64.b64encode(data).decode()}}
