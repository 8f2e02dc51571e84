"""The master's JSON state views: ``/master/state``, ``/master/slaves``, ``/master/frameworks``,
``/master/tasks`` (Mesos 1.11's field names)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesos_framework.local import _codec
from mesos_framework.local._master_model import AgentEntry, Cap, Framework, MasterTask, state_name
from mesos_framework.local._model import Offer
from mesos_framework.local._topology import domain_json
from mesos_framework.local.config import VERSION
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import Master

__all__ = ["agent_json", "framework_json", "offer_json", "state_json", "task_json"]


def framework_json(master: Master, fw: Framework, *, active: bool) -> dict[str, Any]:
    """One framework as in ``/master/frameworks``."""
    used = Resources()
    for entry in master.agents.values():
        if fw.id in entry.used:
            used += entry.used[fw.id]
    offered = Resources()
    for oid in fw.offers:
        offered += master.offers[oid].resources.unallocated()
    info = fw.info
    out: dict[str, Any] = {
        "id": fw.id,
        "name": info.name,
        "used_resources": used.summary(),
        "offered_resources": offered.summary(),
        "capabilities": [Cap.Type.Name(c.type) for c in info.capabilities],
        "hostname": info.hostname,
        "webui_url": info.webui_url,
        "offer_constraints": {},
        "active": active and fw.connected,
        "connected": active and fw.connected,
        "recovered": False,
        "user": info.user,
        "failover_timeout": info.failover_timeout,
        "checkpoint": info.checkpoint,
        "registered_time": fw.registered_time,
        "unregistered_time": fw.unregistered_time or 0.0,
        "resources": (used + offered).summary(),
        "tasks": [task_json(t) for t in fw.tasks.values()],
        "unreachable_tasks": [task_json(t) for t in fw.unreachable_tasks.values()],
        "completed_tasks": [task_json(t) for t in fw.completed_tasks],
        "offers": [offer_json(master.offers[o]) for o in fw.offers],
        "executors": [
            {**_codec.to_dict(ex), "agent_id": aid, "slave_id": aid}
            for aid, exs in fw.executors.items()
            for ex in exs.values()
        ],
    }
    if info.HasField("principal"):
        out["principal"] = info.principal
    if fw.multi_role:
        out["roles"] = list(info.roles)
    else:
        out["role"] = info.role
    if fw.reregistered_time:
        out["reregistered_time"] = fw.reregistered_time
    return out


def offer_json(offer: Offer) -> dict[str, Any]:
    """One offer as in ``/master/frameworks``."""
    return {
        "id": offer.id,
        "framework_id": offer.framework_id,
        "slave_id": offer.agent_id,
        "resources": offer.resources.unallocated().summary(),
        "allocation_info": {"role": offer.role},
    }


def task_json(task: MasterTask) -> dict[str, Any]:
    """One task as in ``/master/state``."""
    out: dict[str, Any] = {
        "id": task.id,
        "name": task.info.name,
        "framework_id": task.framework_id,
        "executor_id": task.executor_id,
        "slave_id": task.agent_id,
        "state": state_name(task.state),
        "resources": task.resources.unallocated().summary(),
        "role": task.role,
        "statuses": [status_json(s) for s in task.statuses],
    }
    return out


def agent_json(master: Master, entry: AgentEntry) -> dict[str, Any]:
    """One agent as in ``/master/slaves``."""
    agent = entry.agent
    offered = Resources()
    for oid in entry.offers:
        offered += master.offers[oid].resources.unallocated()
    used = entry.used_total()
    total = entry.total
    return {
        "id": entry.id,
        "hostname": agent.hostname,
        **({"domain": domain_json(agent.domain)} if agent.domain is not None else {}),
        "port": agent.port,
        "attributes": agent.attributes_json(),
        "pid": agent.pid,
        "registered_time": entry.registered_time,
        "resources": total.summary(),
        "used_resources": used.summary(),
        "offered_resources": offered.summary(),
        "reserved_resources": {},
        "unreserved_resources": total.summary(),
        "active": entry.active,
        "deactivated": False,
        "version": VERSION,
        "capabilities": list(agent.CAPABILITIES),
        "reserved_resources_full": {},
        "unreserved_resources_full": [_codec.to_dict(r) for r in total.to_protos()],
        "used_resources_full": [_codec.to_dict(r) for r in used.to_protos()],
        "offered_resources_full": [_codec.to_dict(r) for r in offered.to_protos()],
    }


def state_json(master: Master) -> dict[str, Any]:
    """``/master/state``."""
    leader = master.info() if master.leader else master.leader_info
    out: dict[str, Any] = {
        "version": VERSION,
        "git_sha": "",
        "git_tag": VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": master.start_time,
        "id": master.id,
        "pid": master.pid,
        "hostname": master.config.hostname,
        "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        "activated_slaves": len(master.agents),
        "deactivated_slaves": 0,
        "unreachable_slaves": len(master.unreachable_agents),
        "slaves": [agent_json(master, e) for e in master.agents.values()],
        "recovered_slaves": [],
        "frameworks": [framework_json(master, f, active=True) for f in master.frameworks.values()],
        "completed_frameworks": [
            framework_json(master, f, active=False) for f in master.completed_frameworks
        ],
        "orphan_tasks": [],
        "unregistered_frameworks": [],
        "flags": {"port": str(master.port), "hostname": master.config.hostname},
    }
    if master.domain is not None:
        out["domain"] = domain_json(master.domain)
    if master.elected_time is not None:
        out["elected_time"] = master.elected_time
    if leader is not None:
        out["leader"] = leader.pid
        out["leader_info"] = _codec.to_dict(leader)
    return out


def status_json(status: mesos_pb2.TaskStatus) -> dict[str, Any]:
    """A task status as in the state endpoints."""
    out: dict[str, Any] = {"state": state_name(status.state), "timestamp": status.timestamp}
    if status.HasField("container_status"):
        out["container_status"] = _codec.to_dict(status.container_status)
    return out
