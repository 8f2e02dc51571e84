"""The master of the local cluster: frameworks, offers, tasks, allocation.

It follows Mesos 1.11's master: the same call validation and messages, the
same offer/filter/suppression rules (a DRF allocator that offers one agent
x one role at a time), uuid-less master-generated status updates, and
reconciliation answers as in ``Master::reconcile``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import random
import socket
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesos_framework.local import _codec, _drain
from mesos_framework.local._allocator import Allocator
from mesos_framework.local._limits import resources_problem
from mesos_framework.local._model import Filter, Offer
from mesos_framework.local._operations import Operations
from mesos_framework.local._stream import EventStream
from mesos_framework.local._task_validation import validate_task_checks
from mesos_framework.local._topology import domain_info, domain_json
from mesos_framework.local.config import VERSION, ClusterConfig
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.agent import Agent

__all__ = ["VERSION", "Master", "validate_role"]

log = logging.getLogger(__name__)

TS = mesos_pb2.TaskState
Call = scheduler_pb2.Call
Event = scheduler_pb2.Event
Cap = mesos_pb2.FrameworkInfo.Capability

TERMINAL = _codec.TERMINAL_STATES
MAX_REFUSE = 365 * 86400.0


def state_name(state: int) -> str:
    """``TASK_RUNNING`` for 1."""
    return mesos_pb2.TaskState.Name(state)


def validate_id(value: str) -> str | None:
    """Mesos's ``validateID``: None if fine, else the error message."""
    if not value:
        return "ID must not be empty"
    if len(value) > 255:
        return "ID must not be greater than 255 characters"
    if value in (".", ".."):
        return f"'{value}' is disallowed"
    if any(ord(c) < 32 or ord(c) == 127 or c in "/\\" for c in value):
        return f"'{value}' contains invalid characters"
    return None


def validate_role(role: str) -> str | None:
    """Mesos's role name rules: None if valid, else the error message."""
    if role == "*":
        return None
    if role.startswith("/"):
        return f"Role '{role}' cannot start with a slash"
    if role.endswith("/"):
        return f"Role '{role}' cannot end with a slash"
    if "//" in role:
        return f"Role '{role}' cannot contain two adjacent slashes"
    parts = [p for p in role.split("/") if p]
    if not parts:
        return "Role names cannot be the empty string"
    for part in parts:
        if part in (".", "..", "*"):
            return f"Role '{role}' cannot include '{part}' as a component"
        if part.startswith("-"):
            return f"Role component '{part}' is invalid because it starts with a dash"
        if any(c in part for c in "\x08\x0b\x0c\t\n\r \x7f"):
            return f"Role component '{part}' is invalid because it contains backspace or whitespace"
    return None


def has_cap(info: mesos_pb2.FrameworkInfo, cap: int) -> bool:
    """Whether the framework declared a capability."""
    return any(c.type == cap for c in info.capabilities)


def framework_roles(info: mesos_pb2.FrameworkInfo) -> list[str]:
    """The roles a framework subscribes to (``role`` or ``roles``)."""
    if has_cap(info, Cap.MULTI_ROLE):
        return list(info.roles)
    return [info.role]


def validate_framework_info(info: mesos_pb2.FrameworkInfo) -> str | None:
    """FrameworkInfo checks done after the stream opened (ERROR event)."""
    multi = has_cap(info, Cap.MULTI_ROLE)
    if multi and info.HasField("role"):
        return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
    if not multi and info.roles:
        return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
    if multi:
        seen: set[str] = set()
        dups = [r for r in info.roles if r in seen or seen.add(r)]  # type: ignore[func-returns-value]
        if dups:
            return "'FrameworkInfo.roles' contains duplicate items: [ " + ", ".join(dups) + " ]"
        for role in info.roles:
            err = validate_role(role)
            if err:
                return f"'FrameworkInfo.roles' contains invalid role: {err}"
    else:
        err = validate_role(info.role)
        if err:
            return f"'FrameworkInfo.role' is not a valid role: {err}"
    if info.HasField("id"):
        err = validate_id(info.id.value)
        if err:
            return f"'FrameworkInfo.id' is invalid: {err}"
    timeout = info.failover_timeout
    if not math.isfinite(timeout) or abs(timeout) * 1e9 >= 2**63:
        return f"The framework failover_timeout ({_stringify_double(timeout)}) is invalid"
    return None


def _stringify_double(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if math.isnan(x):
        return "nan"
    return f"{x:g}"


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

    agent: Agent
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


REASONS_REMOVED = {  # an agent removed by the operator, by partition awareness (Mesos's __removeSlave)
    True: mesos_pb2.TaskStatus.REASON_AGENT_REMOVED_BY_OPERATOR,
    False: mesos_pb2.TaskStatus.REASON_AGENT_REMOVED,
}


def _now() -> float:
    return time.time()


class Master:
    """One master. Serves nothing itself: `server` routes HTTP to it."""

    def __init__(
        self,
        config: ClusterConfig,
        port: int,
        *,
        address: str = "127.0.0.1",
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.allocator = Allocator(rng=rng, clock=clock)
        """Offers free resources DRF-fairly; ``rng`` orders agents, ``clock`` times filters."""
        self.port = port
        self.address = address
        self.id = str(uuid.uuid4())
        self.start_time = _now()
        self.elected_time: float | None = None
        self.leader = True
        self.leader_info: mesos_pb2.MasterInfo | None = None
        """MasterInfo of the leader when this master is not it (None: none elected)."""
        self.frameworks: dict[str, Framework] = {}
        self.completed_frameworks: deque[Framework] = deque(maxlen=config.max_completed_frameworks)
        self.agents: dict[str, AgentEntry] = {}
        self.unreachable_agents: dict[str, float] = {}
        self.gone_agents: set[str] = set()
        self.offers: dict[str, Offer] = {}
        self._next_framework = 0
        self._next_offer = 0
        self._next_agent = 0
        self._allocate_handle: asyncio.Handle | None = None
        self._allocations: dict[str, int] = {}
        """Offers made per role and per framework id: the DRF sorters' tie-breaker."""
        self._ticker: asyncio.Task[None] | None = None
        self._stopped = False
        self.on_framework_removed: Callable[[str], None] | None = None
        self.operator_streams: set[EventStream] = set()
        self.domain = domain_info(config.domain) if config.domain else None
        """This master's fault domain (``ClusterConfig.domain``)."""
        self.operations = Operations(self)
        """RESERVE/UNRESERVE/CREATE/DESTROY and their status feedback."""

    # ------------------------------------------------------------------ info
    @property
    def pid(self) -> str:
        return f"master@{self.address}:{self.port}"

    def info(self) -> mesos_pb2.MasterInfo:
        """This master's ``MasterInfo``."""
        mi = mesos_pb2.MasterInfo(
            id=self.id,
            ip=packed_ip(self.address),
            port=self.port,
            pid=self.pid,
            hostname=self.config.hostname,
            version=VERSION,
        )
        mi.address.hostname = self.config.hostname
        mi.address.ip = self.address
        mi.address.port = self.port
        if self.domain is not None:
            mi.domain.CopyFrom(self.domain)
        for cap in ("AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"):
            mi.capabilities.add().type = mesos_pb2.MasterInfo.Capability.Type.Value(cap)
        return mi

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the periodic allocation."""
        if self.leader:
            self.elected_time = _now()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.config.allocation_interval)
            try:
                self.allocate()
            except Exception:
                log.exception("allocation failed")

    def stop(self) -> None:
        """Stop: close every stream abruptly (as a crashed master would)."""
        self._stopped = True
        self.operations.stop()
        if self._ticker is not None:
            self._ticker.cancel()
        if self._allocate_handle is not None:
            self._allocate_handle.cancel()
        for fw in self.frameworks.values():
            if fw.failover_timer is not None:
                fw.failover_timer.cancel()
            if fw.stream is not None:
                fw.stream.on_lost = None
                fw.stream.close()
        for offer in self.offers.values():
            if offer.timer is not None:
                offer.timer.cancel()
        for stream in list(self.operator_streams):
            stream.on_lost = None
            stream.close()
        self.operator_streams.clear()

    # ------------------------------------------------------------------ ids
    def _new_framework_id(self) -> str:
        fid = f"{self.id}-{self._next_framework:04d}"
        self._next_framework += 1
        return fid

    def _new_offer_id(self) -> str:
        oid = f"{self.id}-O{self._next_offer}"
        self._next_offer += 1
        return oid

    # --------------------------------------------------------------- agents
    def register_agent(self, agent: Agent, agent_id: str | None = None) -> str:
        """An agent (re-)registers; returns its id."""
        if agent_id is None:
            agent_id = f"{self.id}-S{self._next_agent}"
            self._next_agent += 1
        entry = AgentEntry(agent=agent, id=agent_id, total=agent.total.copy())
        self.agents[agent_id] = entry
        self.unreachable_agents.pop(agent_id, None)
        # Re-registration: learn the agent's frameworks, executors and tasks.
        for fw_info, executors, tasks in agent.snapshot():
            fid = fw_info.id.value
            fw = self.frameworks.get(fid)
            if fw is None and not any(c.id == fid for c in self.completed_frameworks):
                fw = Framework(id=fid, info=fw_info, order=len(self.frameworks))
                self.frameworks[fid] = fw
            if fw is None:
                continue
            for ex in executors:
                fw.executors.setdefault(agent_id, {})[ex.executor_id.value] = ex
                self._use(entry, fid, Resources.from_protos(ex.resources).unallocated())
            for agent_task in tasks:
                info, state = agent_task.info, agent_task.state
                role = next(
                    (r.allocation_info.role for r in info.resources if r.HasField("allocation_info")), "*"
                )
                res = Resources.from_protos(info.resources, role)
                task = MasterTask(
                    info=info,
                    framework_id=fid,
                    agent_id=agent_id,
                    role=role,
                    resources=res,
                    state=state,
                    statuses=list(agent_task.statuses),
                    executor_id=info.executor.executor_id.value if info.HasField("executor") else "",
                )
                fw.tasks[task.id] = task
                fw.unreachable_tasks.pop(task.id, None)
                if state not in TERMINAL:
                    self._use(entry, fid, res.unallocated())
        if self.operator_streams:
            from mesos_framework.local import operator_api  # noqa: PLC0415

            self._publish(
                {"type": "AGENT_ADDED", "agent_added": {"agent": operator_api.agent_entry(self, entry)}}
            )
        self.allocate_soon()
        return agent_id

    def _use(self, entry: AgentEntry, fid: str, res: Resources) -> None:
        entry.used[fid] = entry.used.get(fid, Resources()) + res

    def _unuse(self, entry: AgentEntry, fid: str, res: Resources) -> None:
        if fid in entry.used:
            entry.used[fid] -= res
            if not entry.used[fid]:
                del entry.used[fid]

    def remove_agent(self, agent_id: str, *, unreachable: bool, why: str = "Agent removed") -> None:
        """An agent became unreachable or was removed: rescind, update tasks, FAILURE."""
        entry = self.agents.pop(agent_id, None)
        if entry is None:
            return
        when = _now()
        if unreachable:
            self.unreachable_agents[agent_id] = when
        else:
            self.gone_agents.add(agent_id)
        for oid in list(entry.offers):
            self.rescind(oid)
        self._publish({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": agent_id}}})
        for fw in self.frameworks.values():
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
                status = self._status(fw, task.info.task_id.value, state, message, reason, agent_id)
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
                self._publish_task_updated(fw.id, status, state)
            if fw.connected:
                ev = Event(type=Event.FAILURE)
                ev.failure.agent_id.value = agent_id
                fw.send(ev)
        self.allocate_soon()

    def agent_disconnected(self, agent_id: str) -> None:
        """An agent's process went away (it restarts): like ``Master::exited`` for an agent.

        The agent is deactivated (its offers rescinded) and stays registered
        until it comes back; frameworks that do not checkpoint lose their
        tasks and executors there at once (``TASK_LOST``,
        ``REASON_AGENT_DISCONNECTED``, from the master).
        """
        entry = self.agents.get(agent_id)
        if entry is None or not entry.connected:
            return
        entry.connected = False
        entry.active = False
        for oid in list(entry.offers):
            self.rescind(oid)
        hostname = entry.agent.hostname
        for fw in self.frameworks.values():
            if fw.info.checkpoint:
                continue
            for info in fw.executors.pop(agent_id, {}).values():
                self._unuse(entry, fw.id, Resources.from_protos(info.resources).unallocated())
            for task in [t for t in fw.tasks.values() if t.agent_id == agent_id]:
                status = self._status(
                    fw,
                    task.id,
                    mesos_pb2.TASK_LOST,
                    f"Agent {hostname} disconnected",
                    mesos_pb2.TaskStatus.REASON_AGENT_DISCONNECTED,
                    agent_id,
                )
                if task.executor_id:
                    status.executor_id.value = task.executor_id
                if task.state not in TERMINAL:
                    self._unuse(entry, fw.id, task.resources.unallocated())
                task.state = mesos_pb2.TASK_LOST
                task.status_update_state = mesos_pb2.TASK_LOST
                task.statuses.append(status)
                del fw.tasks[task.id]
                fw.completed_tasks.append(task)
                self._send_update(fw, status)
                self._publish_task_updated(fw.id, status, mesos_pb2.TASK_LOST)
        self.allocate_soon()

    # ------------------------------------------------------------ operator
    def operator_subscribe(self, stream: EventStream) -> None:
        """An operator API SUBSCRIBE: SUBSCRIBED with the state, then events."""
        from mesos_framework.local import operator_api  # noqa: PLC0415 - operator_api imports us

        self.operator_streams.add(stream)
        stream.on_lost = lambda: self.operator_streams.discard(stream)
        stream.send_dict(
            {
                "type": "SUBSCRIBED",
                "subscribed": {
                    "get_state": operator_api.get_state(self),
                    "heartbeat_interval_seconds": self.config.heartbeat_interval,
                },
            }
        )

        async def beat() -> None:
            while not stream.closed:
                await asyncio.sleep(self.config.heartbeat_interval)
                stream.send_dict({"type": "HEARTBEAT"})

        stream.heartbeat = asyncio.get_running_loop().create_task(beat())

    def _publish(self, event: dict[str, Any]) -> None:
        for stream in list(self.operator_streams):
            if stream.closed:
                self.operator_streams.discard(stream)
            else:
                stream.send_dict(event)

    def _publish_framework(self, kind: str, fw: Framework) -> None:
        if not self.operator_streams:
            return
        from mesos_framework.local import operator_api  # noqa: PLC0415

        key = kind.lower()
        if kind == "FRAMEWORK_REMOVED":
            self._publish({"type": kind, key: {"framework_info": _codec.to_dict(fw.info)}})
        else:
            self._publish({"type": kind, key: {"framework": operator_api.framework_entry(self, fw, True)}})

    def _publish_task_added(self, task: MasterTask) -> None:
        if not self.operator_streams:
            return
        from mesos_framework.local import operator_api  # noqa: PLC0415

        self._publish({"type": "TASK_ADDED", "task_added": {"task": operator_api.task_entry(task)}})

    def _publish_task_updated(self, fid: str, status: mesos_pb2.TaskStatus, state: int) -> None:
        if self.operator_streams:
            self._publish(
                {
                    "type": "TASK_UPDATED",
                    "task_updated": {
                        "framework_id": {"value": fid},
                        "status": _codec.to_dict(status),
                        "state": state_name(state),
                    },
                }
            )

    # ----------------------------------------------------------- scheduler
    def subscribe(self, stream: EventStream, sub: scheduler_pb2.Call.Subscribe) -> None:
        """Handle an accepted SUBSCRIBE whose stream is open."""
        info = mesos_pb2.FrameworkInfo()
        info.CopyFrom(sub.framework_info)
        error = validate_framework_info(info)
        roles = set(framework_roles(info))
        if error is None and not set(sub.suppressed_roles) <= roles:
            error = (
                "Suppressed roles {"
                + ", ".join(sorted(set(sub.suppressed_roles) - roles))
                + "} are not contained in the set of roles"
            )
        fid = info.id.value if info.HasField("id") else None
        if error is None and fid is not None and any(c.id == fid for c in self.completed_frameworks):
            error = "Framework has been removed"
        existing = self.frameworks.get(fid) if fid else None
        if error is None and existing is not None:
            old = existing.info
            if old.HasField("principal") and info.principal != old.principal:
                error = "Changing framework's principal is not allowed."
        if error is not None:
            ev = Event(type=Event.ERROR)
            ev.error.message = error
            stream.send(ev)
            stream.close()
            return
        added = False
        if existing is None:
            if fid is None:
                fid = self._new_framework_id()
                info.id.value = fid
            fw = Framework(id=fid, info=info, order=self._next_framework + len(self.frameworks))
            self.frameworks[fid] = fw
            added = True
        else:
            fw = existing
            info.user = fw.info.user
            info.checkpoint = fw.info.checkpoint
            fw.info = info
            fw.reregistered_time = _now()
            if fw.failover_timer is not None:
                fw.failover_timer.cancel()
                fw.failover_timer = None
            if fw.stream is not None and not fw.stream.closed:
                old_stream = fw.stream
                old_stream.on_lost = None
                ev = Event(type=Event.ERROR)
                ev.error.message = "Framework failed over"
                old_stream.send(ev)
                old_stream.close()
            for oid in list(fw.offers):
                self._discard_offer(oid, filters=None)
        fw.stream = stream
        fw.unregistered_time = None
        fw.suppressed = set(sub.suppressed_roles)
        fw.filters = [f for f in fw.filters if f.role not in fw.suppressed]
        stream.on_lost = lambda: self._disconnected(fw, stream)
        ev = Event(type=Event.SUBSCRIBED)
        ev.subscribed.framework_id.value = fw.id
        ev.subscribed.heartbeat_interval_seconds = self.config.heartbeat_interval
        ev.subscribed.master_info.CopyFrom(self.info())
        stream.send(ev)
        stream.send(Event(type=Event.HEARTBEAT))
        stream.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(stream))
        for entry in self.agents.values():
            entry.agent.update_framework(fw.info)
        self.operations.resend(fw)
        self._publish_framework("FRAMEWORK_ADDED" if added else "FRAMEWORK_UPDATED", fw)
        self.allocate_soon()

    async def _heartbeat(self, stream: EventStream) -> None:
        while not stream.closed:
            await asyncio.sleep(self.config.heartbeat_interval)
            stream.send(Event(type=Event.HEARTBEAT))

    def _disconnected(self, fw: Framework, stream: EventStream) -> None:
        if fw.stream is not stream or self._stopped:
            return
        log.info("framework %s disconnected", fw.id)
        fw.unregistered_time = _now()
        for oid in list(fw.offers):
            self._discard_offer(oid, filters=None)
        timeout = max(0.0, fw.info.failover_timeout)
        loop = asyncio.get_running_loop()
        fw.failover_timer = loop.call_later(timeout, self._failover_expired, fw)

    def _failover_expired(self, fw: Framework) -> None:
        fw.failover_timer = None
        if not fw.connected and fw.id in self.frameworks:
            log.info("framework %s failover timeout expired", fw.id)
            self.remove_framework(fw)

    def drop_stream(self, framework_id: str) -> bool:
        """Fault: close a framework's stream as if the connection broke."""
        fw = self.frameworks.get(framework_id)
        if fw is None or fw.stream is None or fw.stream.closed:
            return False
        stream = fw.stream
        stream.on_lost = None
        stream.close()
        self._disconnected(fw, stream)
        return True

    def remove_framework(self, fw: Framework) -> None:
        """TEARDOWN / failover timeout: shut everything of the framework down."""
        self.operations.forget(fw.id)
        if fw.failover_timer is not None:
            fw.failover_timer.cancel()
            fw.failover_timer = None
        if fw.stream is not None:
            fw.stream.on_lost = None
            fw.stream.close()
        for oid in list(fw.offers):
            self._discard_offer(oid, filters=None)
        for entry in self.agents.values():
            entry.agent.shutdown_framework(fw.id)
            entry.used.pop(fw.id, None)
        for task in list(fw.tasks.values()):
            if task.state not in TERMINAL:
                task.state = mesos_pb2.TASK_KILLED
            fw.completed_tasks.append(task)
        fw.tasks.clear()
        fw.executors.clear()
        fw.unregistered_time = fw.unregistered_time or _now()
        self.frameworks.pop(fw.id, None)
        self.completed_frameworks.append(fw)
        self._publish_framework("FRAMEWORK_REMOVED", fw)
        if self.on_framework_removed is not None:
            self.on_framework_removed(fw.id)
        self.allocate_soon()

    def call(self, call: scheduler_pb2.Call, stream_id: str | None) -> tuple[int, str]:
        """A non-SUBSCRIBE call after HTTP validation: the (status, body) to answer."""
        fid = call.framework_id.value
        fw = self.frameworks.get(fid)
        if fw is None:
            return 400, "Framework cannot be found"
        if not fw.connected:
            return 403, "Framework is not subscribed"
        if stream_id is None:
            return 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
        assert fw.stream is not None
        if stream_id != fw.stream.id:
            return (
                400,
                f"The stream ID '{stream_id}' included in this request didn't match the stream ID "
                f"currently associated with framework ID {fid}",
            )
        t = call.type
        if t == Call.TEARDOWN:
            self.remove_framework(fw)
        elif t == Call.ACCEPT:
            self._accept(fw, call.accept)
        elif t == Call.DECLINE:
            for oid in call.decline.offer_ids:
                if oid.value in fw.offers:
                    self._discard_offer(oid.value, filters=call.decline.filters)
        elif t == Call.REVIVE:
            self._revive(fw, list(call.revive.roles))
        elif t == Call.SUPPRESS:
            self._suppress(fw, list(call.suppress.roles))
        elif t == Call.KILL:
            self._kill(fw, call.kill)
        elif t == Call.SHUTDOWN:
            entry = self.agents.get(call.shutdown.agent_id.value)
            if entry is not None:
                entry.agent.shutdown_executor(fid, call.shutdown.executor_id.value)
        elif t == Call.ACKNOWLEDGE:
            self._acknowledge(fw, call.acknowledge)
        elif t == Call.RECONCILE:
            self._reconcile(fw, call.reconcile)
        elif t == Call.MESSAGE:
            entry = self.agents.get(call.message.agent_id.value)
            if entry is not None:
                entry.agent.framework_message(fid, call.message.executor_id.value, call.message.data)
        elif t == Call.RECONCILE_OPERATIONS:
            self._reconcile_operations(fw, call.reconcile_operations)
        elif t == Call.UPDATE_FRAMEWORK:
            return self._update_framework(fw, call.update_framework)
        elif t == Call.ACKNOWLEDGE_OPERATION_STATUS:
            self.operations.acknowledge(fw, call.acknowledge_operation_status)
        elif t in (Call.ACCEPT_INVERSE_OFFERS, Call.DECLINE_INVERSE_OFFERS):
            from mesos_framework.local import _maintenance  # noqa: PLC0415

            _maintenance.inverse_offers_answered(self, fw.id, call)
        elif t == Call.UNKNOWN:
            return 501, ""
        # REQUEST: accepted, no effect.
        return 202, ""

    # ------------------------------------------------------------- updates
    def _status(  # noqa: PLR0917 - mirrors Mesos's createStatusUpdate
        self,
        fw: Framework,
        task_id: str,
        state: int,
        message: str,
        reason: int,
        agent_id: str | None = None,
    ) -> mesos_pb2.TaskStatus:
        status = mesos_pb2.TaskStatus(
            state=state,
            source=mesos_pb2.TaskStatus.SOURCE_MASTER,
            message=message,
            reason=reason,
            timestamp=_now(),
        )
        status.task_id.value = task_id
        if agent_id:
            status.agent_id.value = agent_id
        return status

    def _send_update(self, fw: Framework, status: mesos_pb2.TaskStatus) -> None:
        fw.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))

    def status_update(
        self, agent_id: str, framework_id: str, status: mesos_pb2.TaskStatus, latest_state: int
    ) -> None:
        """An agent forwards the head of a task's update stream."""
        fw = self.frameworks.get(framework_id)
        if fw is None:
            return
        latest_state = _drain.drain_status(self, agent_id, fw.partition_aware, status, latest_state)
        task = fw.tasks.get(status.task_id.value)
        if task is not None:
            was_terminal = task.state in TERMINAL
            task.state = latest_state
            task.status_update_state = status.state
            task.status_update_uuid = status.uuid
            task.statuses.append(status)
            self._publish_task_updated(fw.id, status, latest_state)
            if latest_state in TERMINAL and not was_terminal:
                entry = self.agents.get(agent_id)
                if entry is not None:
                    self._unuse(entry, fw.id, task.resources.unallocated())
                _drain.drained_check(self, agent_id)
        self._send_update(fw, status)

    def executor_exited(self, agent_id: str, framework_id: str, executor_id: str, wait_status: int) -> None:
        """A custom executor terminated: FAILURE to the framework, free its resources."""
        fw = self.frameworks.get(framework_id)
        if fw is None:
            return
        info = fw.executors.get(agent_id, {}).pop(executor_id, None)
        entry = self.agents.get(agent_id)
        if info is not None and entry is not None:
            self._unuse(entry, framework_id, Resources.from_protos(info.resources).unallocated())
            self.allocate_soon()
        ev = Event(type=Event.FAILURE)
        ev.failure.agent_id.value = agent_id
        ev.failure.executor_id.value = executor_id
        ev.failure.status = wait_status
        fw.send(ev)

    def executor_message(self, agent_id: str, framework_id: str, executor_id: str, data: bytes) -> None:
        """Relay an executor's MESSAGE to its scheduler."""
        fw = self.frameworks.get(framework_id)
        if fw is None:
            return
        ev = Event(type=Event.MESSAGE)
        ev.message.agent_id.value = agent_id
        ev.message.executor_id.value = executor_id
        ev.message.data = data
        fw.send(ev)

    def _acknowledge(self, fw: Framework, ack: scheduler_pb2.Call.Acknowledge) -> None:
        entry = self.agents.get(ack.agent_id.value)
        if entry is None or not entry.connected:
            return  # the agent resends the update once it is back
        task = fw.tasks.get(ack.task_id.value)
        if (
            task is not None
            and task.status_update_uuid == ack.uuid
            and task.status_update_state is not None
            and task.status_update_state in TERMINAL
        ):
            del fw.tasks[task.id]
            fw.completed_tasks.append(task)
        entry.agent.acknowledge(fw.id, ack.task_id.value, ack.uuid)

    def _reconcile(self, fw: Framework, rec: scheduler_pb2.Call.Reconcile) -> None:
        reason = mesos_pb2.TaskStatus.REASON_RECONCILIATION
        if not rec.tasks:
            for task in fw.tasks.values():
                self._send_update(fw, self._latest(fw, task))
            return
        for t in rec.tasks:
            tid = t.task_id.value
            aid = t.agent_id.value if t.HasField("agent_id") else None
            known = fw.tasks.get(tid)
            pa = fw.partition_aware
            if known is not None:
                status = self._latest(fw, known)
            elif aid is not None and aid in self.agents:
                state = mesos_pb2.TASK_GONE if pa else mesos_pb2.TASK_LOST
                status = self._status(
                    fw, tid, state, "Reconciliation: Task is unknown to the agent", reason, aid
                )
            elif aid is not None and aid in self.unreachable_agents:
                state = mesos_pb2.TASK_UNREACHABLE if pa else mesos_pb2.TASK_LOST
                status = self._status(fw, tid, state, "Reconciliation: Task is unreachable", reason, aid)
                status.unreachable_time.nanoseconds = int(self.unreachable_agents[aid] * 1e9)
            elif aid is not None and aid in self.gone_agents:
                state = mesos_pb2.TASK_GONE_BY_OPERATOR if pa else mesos_pb2.TASK_LOST
                status = self._status(fw, tid, state, "Reconciliation: Task is gone", reason, aid)
            else:
                state = mesos_pb2.TASK_UNKNOWN if pa else mesos_pb2.TASK_LOST
                status = self._status(fw, tid, state, "Reconciliation: Task is unknown", reason, aid)
            self._send_update(fw, status)

    def _latest(self, fw: Framework, task: MasterTask) -> mesos_pb2.TaskStatus:
        state = task.status_update_state if task.status_update_state is not None else task.state
        status = self._status(
            fw,
            task.id,
            state,
            "Reconciliation: Latest task state",
            mesos_pb2.TaskStatus.REASON_RECONCILIATION,
            task.agent_id,
        )
        if task.executor_id:
            status.executor_id.value = task.executor_id
        if task.statuses and task.statuses[-1].HasField("container_status"):
            status.container_status.CopyFrom(task.statuses[-1].container_status)
        return status

    def _reconcile_operations(self, fw: Framework, rec: scheduler_pb2.Call.ReconcileOperations) -> None:
        self.operations.reconcile(fw, rec)

    def _kill(self, fw: Framework, kill: scheduler_pb2.Call.Kill) -> None:
        task = fw.tasks.get(kill.task_id.value)
        if task is None:
            rec = scheduler_pb2.Call.Reconcile()
            t = rec.tasks.add()
            t.task_id.CopyFrom(kill.task_id)
            if kill.HasField("agent_id"):
                t.agent_id.CopyFrom(kill.agent_id)
            self._reconcile(fw, rec)
            return
        if kill.HasField("agent_id") and kill.agent_id.value != task.agent_id:
            return
        entry = self.agents.get(task.agent_id)
        if entry is None:
            return
        policy = kill.kill_policy if kill.HasField("kill_policy") else None
        entry.agent.kill_task(fw.id, task.id, policy)

    def _update_framework(self, fw: Framework, upd: scheduler_pb2.Call.UpdateFramework) -> tuple[int, str]:
        info = mesos_pb2.FrameworkInfo()
        info.CopyFrom(upd.framework_info)
        error = validate_framework_info(info)
        if error:
            return 400, f"Supplied FrameworkInfo is not valid: {error}"
        old = fw.info
        if old.HasField("principal") and info.principal != old.principal:
            return 400, "FrameworkInfo update is not valid: Changing framework's principal is not allowed."
        if info.user != old.user:
            return (
                400,
                "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; "
                f"attempted to update from '{old.user}' to '{info.user}'",
            )
        if info.checkpoint != old.checkpoint:
            return (
                400,
                "FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; "
                f"attempted to update from '{str(old.checkpoint).lower()}' "
                f"to '{str(info.checkpoint).lower()}'",
            )
        roles = set(framework_roles(info))
        if not set(upd.suppressed_roles) <= roles:
            return (
                400,
                "'UpdateFramework' call is not valid: Suppressed roles {"
                + ", ".join(sorted(set(upd.suppressed_roles) - roles))
                + "} are not contained in the set of roles",
            )
        removed = set(fw.roles) - roles
        fw.info = info
        for oid in [o for o in fw.offers if self.offers[o].role in removed]:
            self.rescind(oid)
        unsuppressed = fw.suppressed - set(upd.suppressed_roles)
        fw.suppressed = set(upd.suppressed_roles)
        fw.filters = [f for f in fw.filters if f.role not in unsuppressed and f.role in roles]
        for entry in self.agents.values():
            entry.agent.update_framework(info)
        self._publish_framework("FRAMEWORK_UPDATED", fw)
        self.allocate_soon()
        return 200, ""

    def _roles_valid(self, fw: Framework, roles: list[str]) -> bool:
        subscribed = set(fw.roles)
        return all(validate_role(r) is None and r in subscribed for r in roles)

    def _revive(self, fw: Framework, roles: list[str]) -> None:
        if not self._roles_valid(fw, roles):
            return
        targets = set(roles or fw.roles)
        fw.suppressed -= targets
        fw.filters = [f for f in fw.filters if f.role not in targets]
        self.allocate_soon()

    def _suppress(self, fw: Framework, roles: list[str]) -> None:
        if not self._roles_valid(fw, roles):
            return
        fw.suppressed |= set(roles or fw.roles)

    # ---------------------------------------------------------------- offers
    def _discard_offer(self, oid: str, filters: mesos_pb2.Filters | None) -> None:
        """Remove an offer and recover its resources, optionally with a filter."""
        offer = self.offers.pop(oid, None)
        if offer is None:
            return
        if offer.timer is not None:
            offer.timer.cancel()
        fw = self.frameworks.get(offer.framework_id)
        entry = self.agents.get(offer.agent_id)
        if entry is not None:
            entry.offers.discard(oid)
        if fw is not None:
            fw.offers.discard(oid)
            if filters is not None:
                self._add_filter(fw, offer.role, offer.agent_id, offer.resources.unallocated(), filters)

    def _add_filter(
        self, fw: Framework, role: str, agent_id: str, res: Resources, filters: mesos_pb2.Filters
    ) -> None:
        seconds = filters.refuse_seconds
        if not math.isfinite(seconds) or seconds < 0:
            seconds = 5.0
        seconds = min(seconds, MAX_REFUSE)
        if seconds <= 0 or not res:
            return
        expires = self.allocator.now() + max(seconds, min(1.0, self.config.allocation_interval))
        fw.filters.append(Filter(role=role, agent_id=agent_id, resources=res, expires=expires))

    def rescind(self, oid: str, filters: mesos_pb2.Filters | None = None) -> None:
        """Rescind an outstanding offer (RESCIND event; a filter for its resources if given)."""
        offer = self.offers.get(oid)
        if offer is None:
            return
        fw = self.frameworks.get(offer.framework_id)
        self._discard_offer(oid, filters=filters)
        if fw is not None:
            ev = Event(type=Event.RESCIND)
            ev.rescind.offer_id.value = oid
            fw.send(ev)
        self.allocate_soon()

    def allocate_soon(self) -> None:
        """Run an allocation round on the next loop iteration."""
        if self._stopped or self._allocate_handle is not None:
            return
        loop = asyncio.get_running_loop()
        self._allocate_handle = loop.call_soon(self._allocate_now)

    def _allocate_now(self) -> None:
        self._allocate_handle = None
        try:
            self.allocate()
        except Exception:
            log.exception("allocation failed")

    def allocate(self) -> None:
        """One allocation round (`Allocator`)."""
        self.allocator.allocate(self)

    def _offer_proto(self, fw: Framework, offer: Offer) -> mesos_pb2.Offer:
        entry = self.agents[offer.agent_id]
        agent = entry.agent
        o = mesos_pb2.Offer(hostname=agent.hostname)
        o.id.value = offer.id
        o.framework_id.value = fw.id
        o.agent_id.value = offer.agent_id
        o.url.scheme = "http"
        o.url.address.hostname = agent.hostname
        o.url.address.ip = agent.address
        o.url.address.port = agent.port
        o.url.path = f"/{agent.name}"
        refinement = has_cap(fw.info, Cap.RESERVATION_REFINEMENT)
        o.resources.extend(offer.resources.to_protos(refinement=refinement, allocation=fw.multi_role))
        o.attributes.extend(agent.attributes)
        if agent.domain is not None:
            o.domain.CopyFrom(agent.domain)
        if fw.multi_role:
            o.allocation_info.role = offer.role
        for eid in fw.executors.get(offer.agent_id, {}):
            o.executor_ids.add().value = eid
        if hasattr(self, "_maintenance"):  # a maintenance schedule was set (operator API)
            from mesos_framework.local import _maintenance  # noqa: PLC0415

            _maintenance.annotate_offer(self, entry, o)
        return o

    # ---------------------------------------------------------------- accept
    def _validate_offers(self, fw: Framework, ids: list[str]) -> str | None:
        if not ids:
            return "No offers specified"
        seen: set[str] = set()
        for oid in ids:
            if oid in seen:
                return f"Duplicate offer {oid} in offer list"
            seen.add(oid)
        for oid in ids:
            if oid not in self.offers:
                return f"Offer {oid} is no longer valid"
        for oid in ids:
            offer = self.offers[oid]
            if offer.framework_id != fw.id:
                return (
                    f"Offer {oid} has invalid framework {offer.framework_id} "
                    f"while framework {fw.id} is expected"
                )
        roles = {self.offers[o].role for o in ids}
        if len(roles) > 1:
            return (
                "Aggregated offers must be allocated to the same role. Offer "
                + ids[0]
                + " uses a different role"
            )
        agents = {self.offers[o].agent_id for o in ids}
        if len(agents) > 1:
            return (
                "Aggregated offers must belong to one single agent. Offer "
                + ids[0]
                + " uses a different agent"
            )
        return None

    def _accept(self, fw: Framework, accept: scheduler_pb2.Call.Accept) -> None:
        ids = [o.value for o in accept.offer_ids]
        error = self._validate_offers(fw, ids)
        if error is not None:
            for oid in ids:
                if oid in fw.offers:
                    self._discard_offer(oid, filters=None)
            state = mesos_pb2.TASK_DROPPED if fw.partition_aware else mesos_pb2.TASK_LOST
            for op in accept.operations:
                if op.type == mesos_pb2.Offer.Operation.LAUNCH:
                    tasks: Iterable[mesos_pb2.TaskInfo] = op.launch.task_infos
                elif op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP:
                    tasks = op.launch_group.task_group.tasks
                else:
                    self._operation_error(fw, op, f"Operation attempted with invalid offers: {error}")
                    continue
                for task in tasks:
                    st = self._status(
                        fw,
                        task.task_id.value,
                        state,
                        f"Task launched with invalid offers: {error}",
                        mesos_pb2.TaskStatus.REASON_INVALID_OFFERS,
                        task.agent_id.value,
                    )
                    self._send_update(fw, st)
            self.allocate_soon()
            return
        offers = [self.offers[o] for o in ids]
        role = offers[0].role
        agent_id = offers[0].agent_id
        entry = self.agents[agent_id]
        available = Resources()
        for offer in offers:
            available += offer.resources
            self._discard_offer(offer.id, filters=None)
        for op in accept.operations:
            if op.type == mesos_pb2.Offer.Operation.LAUNCH:
                for task in op.launch.task_infos:
                    if op.HasField("id"):
                        self._task_error(fw, task, "The `id` field cannot be set on LAUNCH operations")
                        continue
                    available = self._launch(fw, entry, role, task, available)
            elif op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP:
                available = self._launch_group(fw, entry, role, op, available)
            else:
                available = self.operations.perform(fw, entry, role, op, available)
        if available:
            filters = accept.filters if accept.HasField("filters") else mesos_pb2.Filters()
            self._add_filter(fw, role, agent_id, available.unallocated(), filters)
        self.allocate_soon()

    def _operation_error(self, fw: Framework, op: mesos_pb2.Offer.Operation, message: str) -> None:
        if not op.HasField("id"):
            return
        ev = Event(type=Event.UPDATE_OPERATION_STATUS)
        st = ev.update_operation_status.status
        st.operation_id.CopyFrom(op.id)
        st.state = mesos_pb2.OPERATION_ERROR
        st.message = message
        fw.send(ev)

    def _task_error(
        self,
        fw: Framework,
        task: mesos_pb2.TaskInfo,
        message: str,
        reason: int = mesos_pb2.TaskStatus.REASON_TASK_INVALID,
    ) -> None:
        st = self._status(fw, task.task_id.value, mesos_pb2.TASK_ERROR, message, reason, task.agent_id.value)
        self._send_update(fw, st)

    def _validate_task(self, fw: Framework, entry: AgentEntry, task: mesos_pb2.TaskInfo) -> str | None:
        err = validate_id(task.task_id.value)
        if err:
            return f"Task has an invalid TaskID: {err}"
        if task.task_id.value in fw.tasks:
            return f"Task has duplicate ID: {task.task_id.value}"
        if task.task_id.value in fw.unreachable_tasks:
            return f"Task reuses the ID of an unreachable task: {task.task_id.value}"
        if task.agent_id.value != entry.id:
            return f"Task uses invalid agent {task.agent_id.value} while agent {entry.id} is expected"
        if task.HasField("kill_policy") and task.kill_policy.grace_period.nanoseconds < 0:
            return "Task's 'kill_policy.grace_period' must be non-negative"
        if task.HasField("max_completion_time") and task.max_completion_time.nanoseconds < 0:
            return "Task's `max_completion_time` must be non-negative"
        err = validate_task_checks(task)
        if err:
            return err
        if not task.resources:
            return "Task uses no resources"
        err = resources_problem([*task.resources, *task.executor.resources])
        if err:
            return err
        for r in task.resources:
            if r.type == mesos_pb2.Value.RANGES and any(rg.begin > rg.end for rg in r.ranges.range):
                return f"Task uses invalid resources: Invalid ranges resource {r.name}"
        if task.limits:
            extra = set(task.limits) - {"cpus", "mem"}
            if extra:
                return "Only cpus and mem may be included in a task's resource limits"
            res = Resources.from_protos(task.resources)
            if "cpus" in task.limits and task.limits["cpus"].value < res.scalar("cpus"):
                return "The cpu limit must be greater than or equal to the cpu request"
            if "mem" in task.limits and task.limits["mem"].value < res.scalar("mem"):
                return "The memory limit must be greater than or equal to the memory request"
        if task.HasField("executor") == task.HasField("command"):
            return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
        if task.HasField("executor"):
            ex = task.executor
            err = validate_id(ex.executor_id.value)
            if err:
                return f"Task has an invalid ExecutorID '{ex.executor_id.value}': {err}"
            if ex.HasField("framework_id") and ex.framework_id.value != fw.id:
                return (
                    f"ExecutorInfo has an invalid FrameworkID (Actual: {ex.framework_id.value} "
                    f"vs Expected: {fw.id})"
                )
            if ex.HasField("type") and ex.type != mesos_pb2.ExecutorInfo.CUSTOM:
                return "'ExecutorInfo.type' must be 'CUSTOM'"
            if not ex.HasField("command"):
                return "'ExecutorInfo.command' must be set"
            existing = fw.executors.get(entry.id, {}).get(ex.executor_id.value)
            if existing is not None:
                probe = mesos_pb2.ExecutorInfo()
                probe.CopyFrom(ex)
                if not probe.HasField("framework_id"):
                    probe.framework_id.value = fw.id
                if _without_alloc(probe) != _without_alloc(existing):
                    return (
                        f"ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID)."
                        f" ------------------------------------------------------------ "
                        f"Existing ExecutorInfo: {existing} "
                        f"------------------------------------------------------------ "
                        f"Task's ExecutorInfo: {probe}"
                    )
        return None

    def _task_resources(
        self, fw: Framework, role: str, task: mesos_pb2.TaskInfo
    ) -> tuple[Resources, str | None]:
        alloc_roles = {r.allocation_info.role for r in task.resources if r.HasField("allocation_info")}
        if alloc_roles - {role}:
            return Resources(), "The resources have multiple allocation roles" if len(alloc_roles) > 1 else (
                "The resources are not allocated to a role"
            )
        return Resources.from_protos(task.resources, role), None

    def _launch(
        self, fw: Framework, entry: AgentEntry, role: str, task: mesos_pb2.TaskInfo, available: Resources
    ) -> Resources:
        err = self._validate_task(fw, entry, task)
        if err is not None:
            self._task_error(fw, task, err)
            return available
        res, err = self._task_resources(fw, role, task)
        if err is not None:
            self._task_error(fw, task, err)
            return available
        total = res.copy()
        new_executor = False
        if task.HasField("executor"):
            eid = task.executor.executor_id.value
            if eid not in fw.executors.get(entry.id, {}):
                new_executor = True
                total += Resources.from_protos(task.executor.resources, role)
        if not available.contains(total):
            self._task_error(
                fw,
                task,
                f"Total resources {total} required by task and its executor "
                f"is more than available {available}",
            )
            return available
        available = available - total
        info = mesos_pb2.TaskInfo()
        info.CopyFrom(task)
        for r in info.resources:
            if not r.HasField("allocation_info"):
                r.allocation_info.role = role
        if info.HasField("executor"):
            if not info.executor.HasField("framework_id"):
                info.executor.framework_id.value = fw.id
            for r in info.executor.resources:
                if not r.HasField("allocation_info"):
                    r.allocation_info.role = role
            if new_executor:
                fw.executors.setdefault(entry.id, {})[info.executor.executor_id.value] = info.executor
                self._use(entry, fw.id, Resources.from_protos(info.executor.resources).unallocated())
        mt = MasterTask(
            info=info,
            framework_id=fw.id,
            agent_id=entry.id,
            role=role,
            resources=res,
            executor_id=info.executor.executor_id.value if info.HasField("executor") else "",
        )
        fw.tasks[mt.id] = mt
        self._use(entry, fw.id, res.unallocated())
        self._publish_task_added(mt)
        entry.agent.run_task(fw.info, info)
        return available

    def _launch_group(
        self,
        fw: Framework,
        entry: AgentEntry,
        role: str,
        op: mesos_pb2.Offer.Operation,
        available: Resources,
    ) -> Resources:
        group = op.launch_group
        tasks = list(group.task_group.tasks)
        executor = group.executor
        reason = mesos_pb2.TaskStatus.REASON_TASK_GROUP_INVALID

        def fail(message: str) -> Resources:
            for t in tasks:
                self._task_error(fw, t, message, reason)
            return available

        if op.HasField("id"):
            return fail("The `id` field cannot be set on LAUNCH operations")
        if not executor.HasField("type"):
            return fail("'ExecutorInfo.type' must be set")
        if executor.type == mesos_pb2.ExecutorInfo.UNKNOWN:
            return fail("Unknown executor type")
        if executor.HasField("container") and executor.container.type == mesos_pb2.ContainerInfo.DOCKER:
            return fail("Docker ContainerInfo is not supported on the executor")
        if executor.type == mesos_pb2.ExecutorInfo.DEFAULT and executor.HasField("command"):
            return fail("'ExecutorInfo.command' must not be set for 'DEFAULT' executor")
        err = resources_problem([*executor.resources, *(r for t in tasks for r in t.resources)])
        if err:
            return fail(err)
        eres = Resources.from_protos(executor.resources, role)
        eid = executor.executor_id.value
        new_executor = eid not in fw.executors.get(entry.id, {})
        if new_executor:
            if eres.scalar("cpus") < 0.01:
                return fail(
                    f"Executor '{eid}' uses less cpus ({eres.scalar('cpus'):g}) "
                    "than the minimum required (0.01)"
                )
            if eres.scalar("mem") < 32:
                return fail(
                    f"Executor '{eid}' uses less memory ({eres.scalar('mem'):g}) "
                    "than the minimum required (32MB)"
                )
            if not any(r.name == "disk" for r in executor.resources):
                return fail(f"Executor '{eid}' uses no disk")
        total = eres.copy() if new_executor else Resources()
        for t in tasks:
            probe = mesos_pb2.TaskInfo()
            probe.CopyFrom(t)
            if probe.HasField("executor"):
                if _without_alloc(probe.executor) != _without_alloc(executor):
                    return fail(
                        f"Task '{t.task_id.value}' is invalid: The `ExecutorInfo` of the task "
                        "must match the executor of the task group"
                    )
                probe.ClearField("executor")
            if not probe.HasField("command"):
                probe.command.SetInParent()
            err = self._validate_task(fw, entry, probe)
            if err is not None:
                return fail(f"Task '{t.task_id.value}' is invalid: {err}")
            if t.HasField("container") and t.container.type == mesos_pb2.ContainerInfo.DOCKER:
                return fail(
                    f"Task '{t.task_id.value}' is invalid: Docker ContainerInfo is not supported on the task"
                )
            res, err = self._task_resources(fw, role, t)
            if err is not None:
                return fail(f"Task '{t.task_id.value}' is invalid: {err}")
            total += res
        ids = [t.task_id.value for t in tasks]
        if len(set(ids)) != len(ids):
            return fail("Duplicate task ids in the task group")
        if not available.contains(total):
            return fail(
                f"Total resources {total} required by task group and its executor "
                f"are more than available {available}"
            )
        available = available - total
        ex = mesos_pb2.ExecutorInfo()
        ex.CopyFrom(executor)
        if not ex.HasField("framework_id"):
            ex.framework_id.value = fw.id
        for r in ex.resources:
            if not r.HasField("allocation_info"):
                r.allocation_info.role = role
        if new_executor:
            fw.executors.setdefault(entry.id, {})[eid] = ex
            self._use(entry, fw.id, Resources.from_protos(ex.resources).unallocated())
        infos = []
        for t in tasks:
            info = mesos_pb2.TaskInfo()
            info.CopyFrom(t)
            info.executor.CopyFrom(ex)
            for r in info.resources:
                if not r.HasField("allocation_info"):
                    r.allocation_info.role = role
            res = Resources.from_protos(info.resources, role)
            mt = MasterTask(
                info=info, framework_id=fw.id, agent_id=entry.id, role=role, resources=res, executor_id=eid
            )
            fw.tasks[mt.id] = mt
            self._use(entry, fw.id, res.unallocated())
            self._publish_task_added(mt)
            infos.append(info)
        entry.agent.run_task_group(fw.info, ex, infos)
        return available

    # ----------------------------------------------------------- state JSON
    def framework_json(self, fw: Framework, *, active: bool) -> dict[str, Any]:
        """One framework as in ``/master/frameworks``."""
        used = Resources()
        for entry in self.agents.values():
            if fw.id in entry.used:
                used += entry.used[fw.id]
        offered = Resources()
        for oid in fw.offers:
            offered += self.offers[oid].resources.unallocated()
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
            "tasks": [self.task_json(t) for t in fw.tasks.values()],
            "unreachable_tasks": [self.task_json(t) for t in fw.unreachable_tasks.values()],
            "completed_tasks": [self.task_json(t) for t in fw.completed_tasks],
            "offers": [self._offer_json(self.offers[o]) for o in fw.offers],
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

    def _offer_json(self, offer: Offer) -> dict[str, Any]:
        return {
            "id": offer.id,
            "framework_id": offer.framework_id,
            "slave_id": offer.agent_id,
            "resources": offer.resources.unallocated().summary(),
            "allocation_info": {"role": offer.role},
        }

    def task_json(self, task: MasterTask) -> dict[str, Any]:
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
            "statuses": [_status_json(s) for s in task.statuses],
        }
        return out

    def agent_json(self, entry: AgentEntry) -> dict[str, Any]:
        """One agent as in ``/master/slaves``."""
        agent = entry.agent
        offered = Resources()
        for oid in entry.offers:
            offered += self.offers[oid].resources.unallocated()
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

    def state_json(self) -> dict[str, Any]:
        """``/master/state``."""
        leader = self.info() if self.leader else self.leader_info
        out: dict[str, Any] = {
            "version": VERSION,
            "git_sha": "",
            "git_tag": VERSION,
            "build_date": "",
            "build_time": 0.0,
            "build_user": "",
            "start_time": self.start_time,
            "id": self.id,
            "pid": self.pid,
            "hostname": self.config.hostname,
            "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
            "activated_slaves": len(self.agents),
            "deactivated_slaves": 0,
            "unreachable_slaves": len(self.unreachable_agents),
            "slaves": [self.agent_json(e) for e in self.agents.values()],
            "recovered_slaves": [],
            "frameworks": [self.framework_json(f, active=True) for f in self.frameworks.values()],
            "completed_frameworks": [self.framework_json(f, active=False) for f in self.completed_frameworks],
            "orphan_tasks": [],
            "unregistered_frameworks": [],
            "flags": {"port": str(self.port), "hostname": self.config.hostname},
        }
        if self.domain is not None:
            out["domain"] = domain_json(self.domain)
        if self.elected_time is not None:
            out["elected_time"] = self.elected_time
        if leader is not None:
            out["leader"] = leader.pid
            out["leader_info"] = _codec.to_dict(leader)
        return out


def _status_json(status: mesos_pb2.TaskStatus) -> dict[str, Any]:
    out: dict[str, Any] = {"state": state_name(status.state), "timestamp": status.timestamp}
    if status.HasField("container_status"):
        out["container_status"] = _codec.to_dict(status.container_status)
    return out


def _without_alloc(ex: mesos_pb2.ExecutorInfo) -> bytes:
    probe = mesos_pb2.ExecutorInfo()
    probe.CopyFrom(ex)
    for r in probe.resources:
        r.ClearField("allocation_info")
    return probe.SerializeToString(deterministic=True)


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode()
