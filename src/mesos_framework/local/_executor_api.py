"""The agent's v1 executor API: SUBSCRIBE, UPDATE, MESSAGE, HEARTBEAT.

As ``Slave::Http::executor`` and ``Slave::subscribe``: the call's
validation and messages, the stream of events (SUBSCRIBED, replayed
acknowledgements, queued launches), executor updates into the status update
manager with ACKNOWLEDGED back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from mesos_framework.local import _codec
from mesos_framework.local._agent_model import AgentFramework, AgentTask, Executor
from mesos_framework.local._launcher import ForkedProcess
from mesos_framework.local._links import MasterLink
from mesos_framework.local._stream import EventStream
from mesos_framework.local._updates import StatusUpdateManager
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2

__all__ = ["RECOVERING_MESSAGE", "ExecutorHost", "executor_call", "executor_update", "valid_uuid"]

log = logging.getLogger(__name__)

ExCall = executor_pb2.Call
ExEvent = executor_pb2.Event
RECOVERING_MESSAGE = "Agent has not finished recovery"


class ExecutorHost(Protocol):
    """What the executor API needs of its agent."""

    @property
    def id(self) -> str | None: ...

    @property
    def address(self) -> str: ...

    @property
    def phase(self) -> str: ...

    @property
    def reachable(self) -> bool: ...

    @property
    def master(self) -> MasterLink | None: ...

    @property
    def frameworks(self) -> dict[str, AgentFramework]: ...

    @property
    def updates(self) -> StatusUpdateManager: ...

    @property
    def recovery_progress(self) -> asyncio.Event: ...

    def agent_info(self) -> mesos_pb2.AgentInfo: ...

    def agent_update(  # noqa: PLR0917 - as the agent's
        self, fid: str, task_id: str, state: int, message: str, reason: int, executor_id: str | None
    ) -> None: ...

    def record(self, fid: str, status: mesos_pb2.TaskStatus) -> None: ...

    def deliver(self, executor: Executor, tasks: list[mesos_pb2.TaskInfo], group: bool) -> None: ...


def valid_uuid(data: bytes) -> bool:
    """stout's ``UUID::fromBytes``: 16 bytes with a known version nibble."""
    return len(data) == 16 and 1 <= (data[6] >> 4) <= 5


def executor_call(
    agent: ExecutorHost, call: executor_pb2.Call, accept: str | None, content_type: str
) -> tuple[int, str] | EventStream:
    """Handle a parsed executor call (after content checks)."""
    if agent.phase == "DOWN":
        # Mesos refuses the connection, then answers 503 until the reconnect stage of recovery.
        return 503, RECOVERING_MESSAGE
    error = _validate_executor_call(call)
    if error is not None:
        return 400, f"Failed to validate Executor::Call: {error}"
    if call.type == ExCall.SUBSCRIBE:
        negotiated = _codec.negotiate(accept)
        if negotiated is None:
            return 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
    if call.type == ExCall.HEARTBEAT:
        return 202, ""
    if call.type != ExCall.SUBSCRIBE and agent.phase == "RECOVERING":
        return 503, RECOVERING_MESSAGE
    fw = agent.frameworks.get(call.framework_id.value)
    if fw is None:
        return 400, "Framework cannot be found"
    ex = fw.executors.get(call.executor_id.value)
    if ex is None:
        return 400, "Executor cannot be found"
    if call.type == ExCall.SUBSCRIBE:
        return _subscribe(agent, fw, ex, call.subscribe, _codec.negotiate(accept) or _codec.JSON)
    if ex.state == "REGISTERING":
        return 403, "Executor is not subscribed"
    if call.type == ExCall.UPDATE:
        executor_update(agent, ex, call.update.status)
        return 202, ""
    if call.type == ExCall.MESSAGE:
        if agent.master is not None and agent.id and agent.reachable:
            agent.master.executor_message(agent.id, ex.framework_id, ex.id, call.message.data)
        return 202, ""
    return 501, ""


def _subscribe(
    agent: ExecutorHost, fw: AgentFramework, ex: Executor, sub: executor_pb2.Call.Subscribe, content_type: str
) -> EventStream:
    stream = EventStream(content_type)
    if ex.stream is not None:
        ex.stream.on_lost = None
        ex.stream.close()
    if ex.state in ("TERMINATING", "TERMINATED"):
        stream.send(ExEvent(type=ExEvent.SHUTDOWN))
        stream.close()
        return stream
    ex.stream = stream
    stream.on_lost = lambda: _executor_stream_lost(agent, ex, stream)
    for timer in ex.timers:
        timer.cancel()
    ex.timers.clear()
    ex.state = "RUNNING"
    if isinstance(ex.process, ForkedProcess):
        ex.process.started()  # its launch slot goes to the next executor
    agent.recovery_progress.set()
    # Replayed updates go to the status update manager, which drops duplicates; each one
    # accepted is acknowledged to the executor (after SUBSCRIBED), as Slave::subscribe does.
    replayed = [
        upd.status for upd in sub.unacknowledged_updates if executor_update(agent, ex, upd.status, ack=False)
    ]
    unacked = {t.task_id.value for t in sub.unacknowledged_tasks}
    for task in ex.tasks.values():
        if task.state == mesos_pb2.TASK_STAGING and task.info.task_id.value not in unacked:
            pa = _codec.has_cap(fw.info, mesos_pb2.FrameworkInfo.Capability.PARTITION_AWARE)
            agent.agent_update(
                ex.framework_id,
                task.info.task_id.value,
                mesos_pb2.TASK_DROPPED if pa else mesos_pb2.TASK_LOST,
                "Task launched during agent restart",
                mesos_pb2.TaskStatus.REASON_AGENT_RESTARTED,
                ex.id,
            )
    ev = ExEvent(type=ExEvent.SUBSCRIBED)
    ev.subscribed.executor_info.CopyFrom(ex.info)
    ev.subscribed.framework_info.CopyFrom(fw.info)
    ev.subscribed.agent_info.CopyFrom(agent.agent_info())
    ev.subscribed.container_id.value = ex.container_id
    stream.send(ev)
    for status in replayed:
        ack = ExEvent(type=ExEvent.ACKNOWLEDGED)
        ack.acknowledged.task_id.CopyFrom(status.task_id)
        ack.acknowledged.uuid = status.uuid
        stream.send(ack)
    queued, ex.queued = ex.queued, []
    for group in queued:
        for t in group:
            ex.tasks[t.task_id.value] = AgentTask(info=t)
        agent.deliver(ex, group, group=ex.kind == "default" or len(group) > 1)
    return stream


def _executor_stream_lost(agent: ExecutorHost, ex: Executor, stream: EventStream) -> None:
    if ex.stream is stream:
        ex.stream = None


def executor_update(
    agent: ExecutorHost, ex: Executor, status: mesos_pb2.TaskStatus, *, ack: bool = True
) -> bool:
    """An executor's update into the status update manager; False if ignored (other agent)."""
    if status.HasField("agent_id") and status.agent_id.value != agent.id:
        return False
    fid = ex.framework_id
    if ex.framework_removed:
        # Slave::statusUpdate: a terminating framework cannot acknowledge; nor is the
        # executor told the update was taken.
        log.warning("ignoring an update of %s for terminating framework %s", status.task_id.value, fid)
        return False
    st = mesos_pb2.TaskStatus()
    st.CopyFrom(status)
    if agent.id:
        st.agent_id.value = agent.id
    # Like Slave::statusUpdate: executor_id only overwritten when the executor set one.
    if st.HasField("executor_id"):
        st.executor_id.value = ex.id
    st.source = mesos_pb2.TaskStatus.SOURCE_EXECUTOR
    if not st.HasField("timestamp"):
        st.timestamp = time.time()
    st.container_status.container_id.value = ex.container_id
    if not st.container_status.network_infos:
        st.container_status.network_infos.add().ip_addresses.add(
            protocol=mesos_pb2.NetworkInfo.IPv4, ip_address=agent.address
        )
    if ex.pid is not None:
        st.container_status.executor_pid = ex.pid
    if ex.tasks.get(st.task_id.value) is None and not agent.updates.streams.get((fid, st.task_id.value)):
        # an update for a task this executor does not run: still forwarded, as Mesos does
        pass
    agent.record(fid, st)
    agent.updates.update(fid, st)
    if ack and ex.stream is not None:
        ev = ExEvent(type=ExEvent.ACKNOWLEDGED)
        ev.acknowledged.task_id.CopyFrom(st.task_id)
        ev.acknowledged.uuid = st.uuid
        ex.stream.send(ev)
    return True


def _validate_executor_call(call: executor_pb2.Call) -> str | None:
    if not call.HasField("type"):
        return "Expecting 'type' to be present"
    if not call.HasField("executor_id"):
        return "Expecting 'executor_id' to be present"
    if not call.HasField("framework_id"):
        return "Expecting 'framework_id' to be present"
    if call.type == ExCall.SUBSCRIBE and not call.HasField("subscribe"):
        return "Expecting 'subscribe' to be present"
    if call.type == ExCall.UPDATE:
        if not call.HasField("update"):
            return "Expecting 'update' to be present"
        status = call.update.status
        if not status.HasField("uuid"):
            return "Expecting 'uuid' to be present"
        if not valid_uuid(status.uuid):
            return "Not a valid UUID"
        if status.HasField("executor_id") and status.executor_id.value != call.executor_id.value:
            return (
                f"ExecutorID in Call: {call.executor_id.value} does not match ExecutorID in TaskStatus: "
                f"{status.executor_id.value}"
            )
        if status.source != mesos_pb2.TaskStatus.SOURCE_EXECUTOR:
            return (
                f"Received Call from executor {call.executor_id.value} of framework "
                f"{call.framework_id.value} with invalid source, expecting 'SOURCE_EXECUTOR'"
            )
        if status.state == mesos_pb2.TASK_STAGING:
            return (
                f"Received TASK_STAGING from executor {call.executor_id.value} of framework "
                f"{call.framework_id.value} which is not allowed"
            )
    if call.type == ExCall.MESSAGE and not call.HasField("message"):
        return "Expecting 'message' to be present"
    return None
