"""Status updates through the master: agents' updates forwarded to schedulers, and the updates
the master makes itself (agent loss, operation errors), as Mesos's master does.

Master-generated updates carry no ``uuid`` (Mesos's ``createStatusUpdate`` from the master).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mesos_framework.local import _drain
from mesos_framework.local._master_model import TERMINAL, Framework
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import Master

__all__ = [
    "agent_disconnected",
    "executor_exited",
    "executor_message",
    "make_status",
    "operation_error",
    "remove_agent",
    "send_update",
    "status_update",
]

Event = scheduler_pb2.Event


def make_status(
    task_id: str,
    state: int,
    message: str,
    reason: int,
    agent_id: str | None = None,
) -> mesos_pb2.TaskStatus:
    """A status update from the master (``SOURCE_MASTER``, no uuid)."""
    status = mesos_pb2.TaskStatus(
        state=state,
        source=mesos_pb2.TaskStatus.SOURCE_MASTER,
        message=message,
        reason=reason,
        timestamp=time.time(),
    )
    status.task_id.value = task_id
    if agent_id:
        status.agent_id.value = agent_id
    return status


def send_update(fw: Framework, status: mesos_pb2.TaskStatus) -> None:
    """An UPDATE event to the framework (if it is connected)."""
    fw.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))


def operation_error(fw: Framework, op: mesos_pb2.Offer.Operation, message: str) -> None:
    """``OPERATION_ERROR`` (no uuid) for an offer operation with an ``id``; nothing without one."""
    if not op.HasField("id"):
        return
    ev = Event(type=Event.UPDATE_OPERATION_STATUS)
    st = ev.update_operation_status.status
    st.operation_id.CopyFrom(op.id)
    st.state = mesos_pb2.OPERATION_ERROR
    st.message = message
    fw.send(ev)


def status_update(
    master: Master, agent_id: str, framework_id: str, status: mesos_pb2.TaskStatus, latest_state: int
) -> None:
    """An agent forwards the head of a task's update stream."""
    fw = master.frameworks.get(framework_id)
    if fw is None:
        return
    latest_state = _drain.drain_status(master, agent_id, fw.partition_aware, status, latest_state)
    task = fw.tasks.get(status.task_id.value)
    if task is not None:
        was_terminal = task.state in TERMINAL
        task.state = latest_state
        task.status_update_state = status.state
        task.status_update_uuid = status.uuid
        task.statuses.append(status)
        master.publish_task_updated(fw.id, status, latest_state)
        if latest_state in TERMINAL and not was_terminal:
            entry = master.agents.get(agent_id)
            if entry is not None:
                master.unuse(entry, fw.id, task.resources.unallocated())
            _drain.drained_check(master, agent_id)
    send_update(fw, status)


def executor_exited(
    master: Master, agent_id: str, framework_id: str, executor_id: str, wait_status: int
) -> None:
    """A custom executor terminated: FAILURE to the framework, free its resources."""
    fw = master.frameworks.get(framework_id)
    if fw is None:
        return
    info = fw.executors.get(agent_id, {}).pop(executor_id, None)
    entry = master.agents.get(agent_id)
    if info is not None and entry is not None:
        master.unuse(entry, framework_id, Resources.from_protos(info.resources).unallocated())
        master.allocate_soon()
    ev = Event(type=Event.FAILURE)
    ev.failure.agent_id.value = agent_id
    ev.failure.executor_id.value = executor_id
    ev.failure.status = wait_status
    fw.send(ev)


def executor_message(master: Master, agent_id: str, framework_id: str, executor_id: str, data: bytes) -> None:
    """Relay an executor's MESSAGE to its scheduler."""
    fw = master.frameworks.get(framework_id)
    if fw is None:
        return
    ev = Event(type=Event.MESSAGE)
    ev.message.agent_id.value = agent_id
    ev.message.executor_id.value = executor_id
    ev.message.data = data
    fw.send(ev)


REASONS_REMOVED = {  # an agent removed by the operator, by partition awareness (Mesos's __removeSlave)
    True: mesos_pb2.TaskStatus.REASON_AGENT_REMOVED_BY_OPERATOR,
    False: mesos_pb2.TaskStatus.REASON_AGENT_REMOVED,
}


def remove_agent(master: Master, agent_id: str, *, unreachable: bool, why: str = "Agent removed") -> None:
    """An agent became unreachable or was removed: rescind, update tasks, FAILURE."""
    entry = master.agents.pop(agent_id, None)
    if entry is None:
        return
    when = time.time()
    if unreachable:
        master.unreachable_agents[agent_id] = when
    else:
        master.gone_agents.add(agent_id)
    for oid in list(entry.offers):
        master.rescind(oid)
    master.publish({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": agent_id}}})
    for fw in master.frameworks.values():
        fw.executors.pop(agent_id, None)
        for task in [t for t in fw.tasks.values() if t.agent_id == agent_id]:
            if unreachable:
                state = mesos_pb2.TASK_UNREACHABLE if fw.partition_aware else mesos_pb2.TASK_LOST
                reason = mesos_pb2.TaskStatus.REASON_AGENT_REMOVED
                message = "Agent became unreachable" if fw.partition_aware else "Agent removed"
            else:
                state = mesos_pb2.TASK_GONE_BY_OPERATOR if fw.partition_aware else mesos_pb2.TASK_LOST
                reason = REASONS_REMOVED[fw.partition_aware]
                message = why
            status = make_status(task.info.task_id.value, state, message, reason, agent_id)
            if unreachable:
                status.unreachable_time.nanoseconds = int(when * 1e9)
            task.state = state
            task.status_update_state = state
            task.statuses.append(status)
            del fw.tasks[task.id]
            if unreachable:
                fw.unreachable_tasks[task.id] = task
            else:
                fw.completed_tasks.append(task)
            fw.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))
            master.publish_task_updated(fw.id, status, state)
        if fw.connected:
            ev = Event(type=Event.FAILURE)
            ev.failure.agent_id.value = agent_id
            fw.send(ev)
    master.allocate_soon()


def agent_disconnected(master: Master, agent_id: str) -> None:
    """An agent's process went away (it restarts): like ``Master::exited`` for an agent.

    The agent is deactivated (its offers rescinded) and stays registered
    until it comes back; frameworks that do not checkpoint lose their
    tasks and executors there at once (``TASK_LOST``,
    ``REASON_AGENT_DISCONNECTED``, from the master).
    """
    entry = master.agents.get(agent_id)
    if entry is None or not entry.connected:
        return
    entry.connected = False
    entry.active = False
    for oid in list(entry.offers):
        master.rescind(oid)
    hostname = entry.agent.hostname
    for fw in master.frameworks.values():
        if fw.info.checkpoint:
            continue
        for info in fw.executors.pop(agent_id, {}).values():
            master.unuse(entry, fw.id, Resources.from_protos(info.resources).unallocated())
        for task in [t for t in fw.tasks.values() if t.agent_id == agent_id]:
            status = make_status(
                task.id,
                mesos_pb2.TASK_LOST,
                f"Agent {hostname} disconnected",
                mesos_pb2.TaskStatus.REASON_AGENT_DISCONNECTED,
                agent_id,
            )
            if task.executor_id:
                status.executor_id.value = task.executor_id
            if task.state not in TERMINAL:
                master.unuse(entry, fw.id, task.resources.unallocated())
            task.state = mesos_pb2.TASK_LOST
            task.status_update_state = mesos_pb2.TASK_LOST
            task.statuses.append(status)
            del fw.tasks[task.id]
            fw.completed_tasks.append(task)
            send_update(fw, status)
            master.publish_task_updated(fw.id, status, mesos_pb2.TASK_LOST)
    master.allocate_soon()
