"""The master of the local cluster: frameworks, offers, allocation, subscriptions.

It follows Mesos 1.11's master: the same call validation and messages, the
same offer/filter/suppression rules (a DRF allocator that offers one agent
x one role at a time), uuid-less master-generated status updates, and
reconciliation answers as in ``Master::reconcile``. The jobs live beside it:
the records in `_master_model`, validation in `_master_validation`, the
scheduler API's calls in `_scheduler_calls`, status-update forwarding in
`_master_updates`, the JSON state views in `_master_state`. Agents are reached
through the `AgentLink` protocol, operator API views through `OperatorViews`,
so this module imports neither the agent nor the operator API.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from mesos_framework.local import _codec, _drain, _maintenance, _master_state, _master_updates
from mesos_framework.local._allocator import Allocator
from mesos_framework.local._links import AgentLink
from mesos_framework.local._master_model import (
    TERMINAL,
    AgentEntry,
    Cap,
    Framework,
    MasterTask,
    framework_roles,
    has_cap,
    packed_ip,
    state_name,
)
from mesos_framework.local._master_validation import validate_framework_info, validate_role
from mesos_framework.local._model import Filter, Offer
from mesos_framework.local._operations import Operations
from mesos_framework.local._registry import Registry
from mesos_framework.local._stream import EventStream
from mesos_framework.local._topology import domain_info
from mesos_framework.local.config import VERSION, ClusterConfig
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

__all__ = [
    "VERSION",
    "AgentEntry",
    "Framework",
    "Master",
    "MasterTask",
    "OperatorViews",
    "validate_role",
]

log = logging.getLogger(__name__)

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event

MAX_REFUSE = 365 * 86400.0


class OperatorViews(Protocol):
    """The operator API's views of the master's records, for the operator event stream (the
    cluster hands the master `operator_api`'s)."""

    def agent_entry(self, master: Master, entry: AgentEntry) -> dict[str, Any]: ...

    def framework_entry(self, master: Master, fw: Framework, active: bool) -> dict[str, Any]: ...

    def task_entry(self, task: MasterTask) -> dict[str, Any]: ...

    def get_state(self, master: Master) -> dict[str, Any]: ...


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
        views: OperatorViews | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.config = config
        self.registry = registry if registry is not None else Registry()
        """Maintenance, quotas, weights, deactivated and draining agents (`_registry`): the
        cluster's, shared by its masters."""
        self.views = views
        """The operator API's views (for its event stream); None: no operator subscriptions."""
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
        self.allocations: dict[str, int] = {}
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

    @property
    def stopped(self) -> bool:
        """Whether `stop()` was called."""
        return self._stopped

    def state_json(self) -> dict[str, Any]:
        """``/master/state`` (`_master_state`)."""
        return _master_state.state_json(self)

    # ------------------------------------------------------------------ ids
    def _new_framework_id(self) -> str:
        fid = f"{self.id}-{self._next_framework:04d}"
        self._next_framework += 1
        return fid

    def new_offer_id(self) -> str:
        oid = f"{self.id}-O{self._next_offer}"
        self._next_offer += 1
        return oid

    # --------------------------------------------------------------- agents
    def register_agent(self, agent: AgentLink, agent_id: str | None = None) -> str | None:
        """An agent (re-)registers; returns its id (None: refused, its machine is DOWN)."""
        if _maintenance.refuses_registration(self, agent):
            return None
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
                self.use(entry, fid, Resources.from_protos(ex.resources).unallocated())
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
                    self.use(entry, fid, res.unallocated())
        _drain.agent_reregistered(self, entry)  # the registry's deactivation and drain
        if self.operator_streams and self.views is not None:
            self.publish(
                {"type": "AGENT_ADDED", "agent_added": {"agent": self.views.agent_entry(self, entry)}}
            )
        self.allocate_soon()
        return agent_id

    def use(self, entry: AgentEntry, fid: str, res: Resources) -> None:
        entry.used[fid] = entry.used.get(fid, Resources()) + res

    def unuse(self, entry: AgentEntry, fid: str, res: Resources) -> None:
        if fid in entry.used:
            entry.used[fid] -= res
            if not entry.used[fid]:
                del entry.used[fid]

    def remove_agent(self, agent_id: str, *, unreachable: bool, why: str = "Agent removed") -> None:
        """An agent became unreachable or was removed: rescind, update tasks, FAILURE."""
        _master_updates.remove_agent(self, agent_id, unreachable=unreachable, why=why)

    def agent_disconnected(self, agent_id: str) -> None:
        """An agent's process went away (it restarts): like ``Master::exited`` for an agent."""
        _master_updates.agent_disconnected(self, agent_id)

    # ------------------------------------------------------ agent -> master
    def status_update(
        self, agent_id: str, framework_id: str, status: mesos_pb2.TaskStatus, latest_state: int
    ) -> None:
        """An agent forwards the head of a task's update stream."""
        _master_updates.status_update(self, agent_id, framework_id, status, latest_state)

    def executor_exited(self, agent_id: str, framework_id: str, executor_id: str, wait_status: int) -> None:
        """A custom executor terminated: FAILURE to the framework, free its resources."""
        _master_updates.executor_exited(self, agent_id, framework_id, executor_id, wait_status)

    def executor_message(self, agent_id: str, framework_id: str, executor_id: str, data: bytes) -> None:
        """Relay an executor's MESSAGE to its scheduler."""
        _master_updates.executor_message(self, agent_id, framework_id, executor_id, data)

    # ------------------------------------------------------------ operator
    def operator_subscribe(self, stream: EventStream) -> None:
        """An operator API SUBSCRIBE: SUBSCRIBED with the state, then events."""
        if self.views is None:
            raise RuntimeError("this master was made without the operator API's views")
        self.operator_streams.add(stream)
        stream.on_lost = lambda: self.operator_streams.discard(stream)
        stream.send_dict(
            {
                "type": "SUBSCRIBED",
                "subscribed": {
                    "get_state": self.views.get_state(self),
                    "heartbeat_interval_seconds": self.config.heartbeat_interval,
                },
            }
        )

        async def beat() -> None:
            while not stream.closed:
                await asyncio.sleep(self.config.heartbeat_interval)
                stream.send_dict({"type": "HEARTBEAT"})

        stream.heartbeat = asyncio.get_running_loop().create_task(beat())

    def publish(self, event: dict[str, Any]) -> None:
        for stream in list(self.operator_streams):
            if stream.closed:
                self.operator_streams.discard(stream)
            else:
                stream.send_dict(event)

    def publish_framework(self, kind: str, fw: Framework) -> None:
        if not self.operator_streams or self.views is None:
            return
        key = kind.lower()
        if kind == "FRAMEWORK_REMOVED":
            self.publish({"type": kind, key: {"framework_info": _codec.to_dict(fw.info)}})
        else:
            self.publish({"type": kind, key: {"framework": self.views.framework_entry(self, fw, True)}})

    def publish_task_added(self, task: MasterTask) -> None:
        if not self.operator_streams or self.views is None:
            return
        self.publish({"type": "TASK_ADDED", "task_added": {"task": self.views.task_entry(task)}})

    def publish_task_updated(self, fid: str, status: mesos_pb2.TaskStatus, state: int) -> None:
        if self.operator_streams:
            self.publish(
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
                self.discard_offer(oid, filters=None)
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
        self.publish_framework("FRAMEWORK_ADDED" if added else "FRAMEWORK_UPDATED", fw)
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
            self.discard_offer(oid, filters=None)
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
            self.discard_offer(oid, filters=None)
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
        self.publish_framework("FRAMEWORK_REMOVED", fw)
        if self.on_framework_removed is not None:
            self.on_framework_removed(fw.id)
        self.allocate_soon()

    # ---------------------------------------------------------------- offers
    def discard_offer(self, oid: str, filters: mesos_pb2.Filters | None) -> None:
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
                self.add_filter(fw, offer.role, offer.agent_id, offer.resources.unallocated(), filters)

    def add_filter(
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
        self.discard_offer(oid, filters=filters)
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

    def offer_proto(self, fw: Framework, offer: Offer) -> mesos_pb2.Offer:
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
        if self.registry.maintenance is not None:  # a maintenance schedule was set (operator API)
            _maintenance.annotate_offer(self, entry, o)
        return o
