"""Agent draining on the local master (``DRAIN_AGENT``), as in Mesos 1.11.

``Master::Http::_drainAgent`` records a ``DrainInfo`` (``DRAINING`` with the call's
``DrainConfig``) and deactivates the agent: its outstanding offers are rescinded and no
new ones are made. The agent kills every task (``Slave::drain``), with the task's kill
policy capped at ``max_grace_period``; the ``TASK_KILLING``/``TASK_KILLED`` updates
carry ``REASON_AGENT_DRAINING`` and, when the drain marks the agent gone, become
``TASK_GONE_BY_OPERATOR`` for partition-aware frameworks. Once the agent has no
non-terminal tasks it is ``DRAINED`` (``Master::checkAndTransitionDrainingAgent``), and
with ``mark_gone`` it is then marked gone. ``REACTIVATE_AGENT`` is refused while the
agent is ``DRAINING`` and clears the drain once it is ``DRAINED``.

The drain records live in the cluster's registry (`_registry`), as in Mesos's: a new
master that an agent re-registers with tells it to drain again (`agent_reregistered`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from mesos_framework.local import _codec, _maintenance
from mesos_framework.protocol._schema import master_pb2, mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local._master_model import AgentEntry
    from mesos_framework.local.master import Master

__all__ = ["agent_reregistered", "drain_agent", "drain_status", "drained_check"]

log = logging.getLogger(__name__)


class _State:
    def __init__(self, draining: dict[str, mesos_pb2.DrainInfo]) -> None:
        self.draining = draining
        """Each draining agent's ``DrainInfo``: the registry's (it survives a master fail-over)."""
        self.started: dict[str, float] = {}
        """When the master began draining each agent (its memory only, as in Mesos)."""


def state(master: Master) -> _State:
    """The drain records kept beside a master."""
    found: _State | None = getattr(master, "_drain", None)
    if found is None:
        found = _State(master.registry.draining)
        setattr(master, "_drain", found)  # noqa: B010 - kept beside the master
    return found


def _kill_policy(
    config: mesos_pb2.DrainConfig, policy: mesos_pb2.KillPolicy | None
) -> mesos_pb2.KillPolicy | None:
    """``Slave::drain``'s ``calculateKillPolicy``: the task's policy capped at the grace period."""
    if not config.HasField("max_grace_period"):
        return None
    cap = config.max_grace_period.nanoseconds
    if policy is not None and policy.HasField("grace_period") and policy.grace_period.nanoseconds <= cap:
        return None
    override = mesos_pb2.KillPolicy()
    override.grace_period.nanoseconds = cap
    return override


def drain_agent(master: Master, call: master_pb2.Call.DrainAgent, deactivated: set[str]) -> tuple[int, str]:
    """``DRAIN_AGENT``: 200, or Mesos's 400 for an unknown or scheduled agent."""
    aid = call.agent_id.value
    entry = master.agents.get(aid)
    if entry is not None:
        schedule = _maintenance._state(master).schedule
        if schedule.windows:
            machine = _maintenance.agent_machine(entry)
            for mid in schedule.windows[0].machine_ids:
                if _maintenance._key(mid) == machine:
                    shown = _maintenance._show(mid)
                    return 400, f"Agent {aid} is part of a maintenance schedule under Machine {shown}"
    elif aid not in master.unreachable_agents:
        return 400, "Unknown agent"
    info = mesos_pb2.DrainInfo(state=mesos_pb2.DRAINING)
    info.config.mark_gone = call.mark_gone
    if call.HasField("max_grace_period"):
        grace = call.max_grace_period  # a google.protobuf.Duration here, a DurationInfo there
        info.config.max_grace_period.nanoseconds = grace.seconds * 1_000_000_000 + grace.nanos
    state(master).draining[aid] = info
    deactivated.add(aid)
    if entry is None:
        return 200, ""
    entry.active = False
    for oid in list(entry.offers):
        master.rescind(oid)
    state(master).started[aid] = time.time()
    log.info("draining agent %s", aid)
    _drain_tasks(master, entry, info.config)
    return 200, ""


def _drain_tasks(master: Master, entry: AgentEntry, config: mesos_pb2.DrainConfig) -> None:
    """The agent drains (``Slave::drain``: it drops launches until nothing is left on it) and
    its tasks are killed; then the master checks whether it is drained.

    The master's ``DRAINED`` counts only the tasks it knows of: an agent may still drain
    (what removed frameworks left on it) after the master calls it drained, as in Mesos."""
    entry.agent.drain(config)
    for fw in list(master.frameworks.values()):
        for task in list(fw.tasks.values()):
            if task.agent_id == entry.id and task.state not in _codec.TERMINAL_STATES:
                own = task.info.kill_policy if task.info.HasField("kill_policy") else None
                entry.agent.kill_task(fw.id, task.id, _kill_policy(config, own))
    drained_check(master, entry.id)


def agent_reregistered(master: Master, entry: AgentEntry) -> None:
    """An agent (re-)registered: as Mesos's ``Master::__reregisterSlave``, an agent the
    registry holds deactivated stays so, and a draining (or drained) one is told to drain
    again (its tasks are killed once it is registered)."""
    if entry.id in master.registry.deactivated:
        entry.active = False
    info = master.registry.draining.get(entry.id)
    if info is None:
        return
    config = mesos_pb2.DrainConfig()
    config.CopyFrom(info.config)

    def drain() -> None:
        if master.agents.get(entry.id) is entry:
            _drain_tasks(master, entry, config)

    asyncio.get_running_loop().call_soon(drain)


def drain_status(
    master: Master, agent_id: str, partition_aware: bool, status: mesos_pb2.TaskStatus, latest_state: int
) -> int:
    """A task update from a draining agent, as ``Slave::statusUpdate`` rewrites it; the
    latest state to record."""
    info = state(master).draining.get(agent_id)
    if info is None:
        return latest_state
    killed = (mesos_pb2.TASK_KILLING, mesos_pb2.TASK_KILLED)
    gone = info.config.mark_gone and partition_aware
    if status.state in killed:
        status.reason = mesos_pb2.TaskStatus.REASON_AGENT_DRAINING
        if gone:
            status.state = mesos_pb2.TASK_GONE_BY_OPERATOR
    if gone and latest_state in killed:
        return mesos_pb2.TASK_GONE_BY_OPERATOR
    return latest_state


def drained_check(master: Master, agent_id: str) -> None:
    """``checkAndTransitionDrainingAgent``: DRAINED once no task is left; gone if asked."""
    info = state(master).draining.get(agent_id)
    if info is None or info.state == mesos_pb2.DRAINED or agent_id not in master.agents:
        return
    for fw in master.frameworks.values():
        for task in fw.tasks.values():
            if task.agent_id == agent_id and task.state not in _codec.TERMINAL_STATES:
                return
    info.state = mesos_pb2.DRAINED
    log.info("agent %s is drained", agent_id)
    if info.config.mark_gone:
        asyncio.get_running_loop().call_soon(_mark_gone, master, agent_id)


def _mark_gone(master: Master, agent_id: str) -> None:
    if agent_id in master.agents and agent_id not in master.gone_agents:
        master.remove_agent(agent_id, unreachable=False)
        master.gone_agents.add(agent_id)
