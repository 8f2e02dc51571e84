"""The task fleet: every decision about the declared tasks, with no I/O.

`Fleet` is a functional core. Each step takes an event (offers, a status
update, a timer falling due, a request such as `scale`) and the current time,
changes the fleet's own state and returns the *actions* the caller must carry
out, in order: persist or forget a record, launch tasks on an offer, kill a
task, decline offers, emit an event, report an error. It never sleeps, never
sends anything and never reads a clock: restarts wait in `Fleet.next_due()`
until the caller calls `Fleet.due(now)`.

Claims (reserved resources and persistent volumes, with their offer operations)
and runtime scale records are kept by `Claims` and `Scales` (`_claims.py`), to
which the fleet delegates; the actions are defined in `_actions.py`.

Whether the framework wants offers (`Fleet.wants_offers`) is derived from the
fleet's state after every step, so the caller can keep the master's
suppression in line with it without racing a flag against its own calls.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterable, Sequence

from mesos_framework.errors import ConfigurationError, RestartsExhausted, ScalingNotAllowed, UnknownTask
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler._actions import (
    Action,
    Decline,
    Emit,
    Forget,
    Kill,
    LaunchOnOffer,
    Persist,
    Report,
    Slot,
)
from mesos_framework.scheduler._claims import Claims, Scales
from mesos_framework.tasks.constraints import Placement, offer_values
from mesos_framework.tasks.matching import PendingQueue, container_task_id, match_offers, offer_ip
from mesos_framework.tasks.records import TaskRecord, TaskTable
from mesos_framework.tasks.spec import MAX_INSTANCES, TaskSpec, id_safe, parse_task_id
from mesos_framework.tasks.state import RestartPolicy, TaskState

__all__ = [
    "Action",
    "Decline",
    "Emit",
    "Fleet",
    "Forget",
    "Kill",
    "LaunchOnOffer",
    "Persist",
    "Report",
    "Slot",
]

log = logging.getLogger("mesos_framework.scheduler")

#: The largest scalar Mesos can hold (64-bit fixed point with three decimals): larger, the offer is bad.
_MAX_OFFER_SCALAR = (2**63 - 1) / 1000


def _bad_offer(offer: mesos_pb2.Offer) -> str | None:
    """Why an offer cannot be used (a scalar that is not finite, negative or too large), or None."""
    for res in offer.resources:
        if res.type == mesos_pb2.Value.SCALAR:
            value = res.scalar.value
            if not math.isfinite(value) or not 0 <= value <= _MAX_OFFER_SCALAR:
                return f"{res.name} = {value!r}"
    return None


#: The terminal states, as a set (asked on every update; the property is a call).
_ENDED = frozenset(state for state in TaskState if state.is_terminal)

#: Each task state by its number: the enum's own lookup costs ten times a dict's, on every update.
_STATES: dict[int, TaskState] = {int(state): state for state in TaskState}


def _task_state(number: int) -> TaskState:
    state = _STATES.get(number)
    return state if state is not None else TaskState(number)  # an unknown number raises as before


def _kills(rec: TaskRecord, reason: str) -> list[Kill]:
    """KILL a task, or each container of a pod still running (the executor ends the group)."""
    if rec.containers is None:
        return [Kill(rec.task_id, rec.agent_id, reason)]
    alive = [name for name, state in rec.containers.items() if not state.is_terminal] or list(rec.containers)
    return [Kill(container_task_id(rec.task_id, name), rec.agent_id, reason) for name in alive]


#: How a pod's end is named when its containers ended differently: a failure wins, then a kill.
_FAILURE_ORDER = (TaskState.TASK_FINISHED, TaskState.TASK_KILLED)


def pod_state(containers: dict[str, TaskState]) -> TaskState:
    """The state of a pod from its containers'.

    Terminal once every container is: the first failure's state (FAILED, LOST, ...), else KILLED if
    one was killed, else FINISHED. Before that: an unusual state of one (UNREACHABLE, UNKNOWN,
    KILLING) if any, RUNNING when every live container runs, else the earliest (STAGING, STARTING).
    """
    states = list(containers.values())
    if all(s.is_terminal for s in states):
        for s in states:
            if s not in _FAILURE_ORDER:
                return s
        return TaskState.TASK_KILLED if TaskState.TASK_KILLED in states else TaskState.TASK_FINISHED
    live = [s for s in states if not s.is_terminal]
    for unusual in (TaskState.TASK_UNREACHABLE, TaskState.TASK_UNKNOWN, TaskState.TASK_KILLING):
        if unusual in live:
            return unusual
    if all(s == TaskState.TASK_RUNNING for s in live):
        return TaskState.TASK_RUNNING
    return TaskState.TASK_STAGING if TaskState.TASK_STAGING in live else TaskState.TASK_STARTING


class Fleet:
    """The declared task types, their instances and what to do about them.

    Args:
        specs: the task types.
        framework_name: the prefix of every task ID.
        roles: the roles whose resources offers may give.
        restart: which ends relaunch an instance, and the backoff between restarts.
        serial_numbered: put `-N` in Mesos task names.
        kill_unknown_tasks: kill running tasks that are not this fleet's.
        refuse_seconds: the DECLINE filter while instances wait for offers.
        idle_refuse_seconds: the DECLINE filter when nothing waits.
        hold_refuse_seconds: the DECLINE filter while launches are held.
        rng: the randomness of the restart jitter (for tests).
    """

    def __init__(
        self,
        specs: Sequence[TaskSpec],
        *,
        framework_name: str,
        roles: Sequence[str] = ("*",),
        restart: RestartPolicy | None = None,
        serial_numbered: bool = True,
        kill_unknown_tasks: bool = False,
        refuse_seconds: float = 5.0,
        idle_refuse_seconds: float = 300.0,
        hold_refuse_seconds: float = 1.0,
        rng: random.Random | None = None,
        principal: str | None = None,
    ) -> None:
        self.framework_name = framework_name
        self.roles = tuple(roles)
        self.restart = restart or RestartPolicy()
        self.serial_numbered = serial_numbered
        self.kill_unknown_tasks = kill_unknown_tasks
        self.refuse_seconds = refuse_seconds
        self.idle_refuse_seconds = idle_refuse_seconds
        self.hold_refuse_seconds = hold_refuse_seconds
        self._rng = rng
        self.specs: dict[str, TaskSpec] = {s.name: s for s in specs}
        self._id_names: dict[str, str] = {id_safe(s.name): s.name for s in specs}
        self.desired: dict[str, int] = {s.name: s.instances for s in specs}
        self.pending = PendingQueue(specs)
        self.tasks = TaskTable()
        self._templates: dict[str, bytes] = {}
        #: Instances ended for good (finished, stopped, given up): not relaunched. The value is the
        #: task ID whose terminal record marks it in the store (None: not persisted yet).
        self.completed: dict[Slot, str | None] = {}
        self.restarts: dict[Slot, int] = {}
        #: Restarts waiting for their backoff: slot -> when they fall due.
        self.delayed: dict[Slot, float] = {}
        #: Recovered tasks no longer wanted, killed once subscribed.
        self.to_kill: list[TaskRecord] = []
        #: Offers are declined, and nothing launched, while this is set (re-attaching: the
        #: reconciliation answers decide what is really missing).
        self.holding = False
        #: Someone other than the fleet handles offers (a user's OFFERS handler or listener).
        self.offers_wanted_elsewhere = False
        #: Placement values (hostname, attributes) of the agents seen in offers, for constraints.
        self._agent_values: dict[str, Placement] = {}
        #: The principal reservations and volumes are made with (the framework's, if any).
        self.principal = principal
        #: The claims (reservations and volumes) of the types that reserve, and their operations.
        self._claims = Claims(
            self.specs,
            self.pending,
            self.tasks,
            self._templates,
            framework_name=framework_name,
            roles=self.roles,
            principal=principal,
            serial_numbered=serial_numbered,
        )
        #: The stored scale record of each type scaled at run time away from its declared count.
        self._scales = Scales(self.specs, framework_name=framework_name)
        if any(spec.reserve for spec in specs) and all(role == "*" for role in self.roles):
            raise ConfigurationError(
                "reservations and volumes are made for the framework's role: give it a role other than *",
                option="roles",
            )

    # ------------------------------------------------------------------ queries
    @property
    def claims(self) -> dict[Slot, TaskRecord]:
        """Each claimed instance's claim record (its reserved resources and volumes on one agent)."""
        return self._claims.held

    @property
    def releasing(self) -> dict[str, TaskRecord]:
        """Claims to give back (DESTROY, UNRESERVE) once their agent offers them, by claim ID."""
        return self._claims.releasing

    @property
    def scales(self) -> dict[str, TaskRecord]:
        """The stored scale record of each type scaled at run time away from its declared count."""
        return self._scales.records

    @property
    def wants_offers(self) -> bool:
        """True while offers are needed: instances wait, or someone else takes offers."""
        return self.offers_wanted_elsewhere or bool(self.pending) or bool(self._claims.releasing)

    def next_due(self) -> float | None:
        """When the earliest delayed restart falls due (None: none waits)."""
        if not self.delayed:
            return None
        return min(self.delayed.values())

    def occupied(self, slot: Slot) -> bool:
        """True when a task that is not being replaced holds the instance."""
        return any(not r.restarting for r in self.tasks.by_name(*slot))

    def in_spec(self, slot: Slot) -> bool:
        """True when the instance is declared (its type exists and it is within the count)."""
        return slot[0] in self.specs and slot[1] <= self.desired.get(slot[0], 0)

    def wanted(self, slot: Slot) -> bool:
        """True when the instance should be running."""
        return self.in_spec(slot) and slot not in self.completed

    def spec(self, type_name: str) -> TaskSpec:
        """The spec of a type; `UnknownTask` if there is none."""
        spec = self.specs.get(type_name)
        if spec is None:
            raise UnknownTask(f"no task type {type_name!r}", option="type")
        return spec

    def find(self, task: str | TaskRecord) -> TaskRecord:
        """A tracked task by record, task ID or instance name (`web-1`)."""
        if isinstance(task, TaskRecord):
            return task
        rec = self.tasks.get(task)
        if rec is not None:
            return rec
        slot = self._slot_of_name(task)
        if slot is not None:
            found = [r for r in self.tasks.by_name(*slot) if not r.restarting]
            if found:
                return found[0]
        raise UnknownTask(
            f"no tracked task {task!r} (give a task ID or an instance name like web-1)", option="task"
        )

    def slot(self, instance: str | TaskRecord) -> Slot:
        """The `(type, serial)` of an instance name (`web-1`), task ID or record."""
        if isinstance(instance, TaskRecord):
            return (instance.type_name, instance.serial)
        rec = self.tasks.get(instance)
        if rec is not None:
            return (rec.type_name, rec.serial)
        slot = self._slot_of_name(instance)
        if slot is None or not self.in_spec(slot):
            raise UnknownTask(
                f"no declared instance {instance!r} (give an instance name like web-1)", option="instance"
            )
        return slot

    def _slot_of_name(self, name: str) -> Slot | None:
        type_name, _, serial = name.rpartition("-")
        if serial.isdigit() and type_name in self.specs:
            return (type_name, int(serial))
        return None

    # ----------------------------------------------------------------- recovery
    def recover(self, records: Iterable[TaskRecord]) -> list[Action]:
        """Take the records a state store kept; unwanted ones are killed once subscribed.

        A type's scale record (`TaskRecord.is_scale`) is applied first, so the runtime count, not
        the declared one, decides which recovered tasks are wanted.
        """
        actions: list[Action] = []
        records = list(records)
        # Runtime scales first: the counts they restore decide which recovered tasks are wanted.
        for rec in records:
            if rec.is_scale:
                type_name = self._id_names.get(id_safe(rec.type_name))
                count = self._scales.recover(rec, type_name, actions)
                if type_name is not None and count is not None:
                    self.desired[type_name] = count
        for rec in sorted(records, key=lambda r: (r.state.is_active is False, r.serial)):
            if rec.is_scale:
                continue
            type_name = self._id_names.get(id_safe(rec.type_name))
            if rec.is_claim:
                self._claims.recover(rec, type_name)
                continue
            if rec.state.is_terminal:
                # A completed instance's marker: kept while the instance is declared.
                slot = (type_name, rec.serial) if type_name is not None else None
                if slot is not None and self.in_spec(slot) and slot not in self.completed:
                    self.completed[slot] = rec.task_id
                else:
                    actions.append(Forget(rec.task_id))
                continue
            slot_taken = type_name is not None and self.occupied((type_name, rec.serial))
            if type_name is not None:
                rec.type_name = type_name
            if type_name is None or rec.serial > self.desired.get(type_name, 0) or slot_taken:
                log.info("recovered task %s is no longer wanted; it will be killed", rec.task_id)
                rec.killing = rec.restarting = True  # tracked until Mesos confirms its end
                self.to_kill.append(rec)
            self.tasks.add(rec)
        for slot in list(self._claims.held):
            if not self.in_spec(slot) and not self.occupied(slot):
                self._claims.release(slot)
        return actions

    def fill(self) -> None:
        """Queue every declared instance that no task holds (at start and after a new registration)."""
        for name, spec in self.specs.items():
            for serial in range(1, self.desired[spec.name] + 1):
                slot = (name, serial)
                if (
                    not self.occupied(slot)
                    and slot not in self.completed
                    and slot not in self.pending
                    and slot not in self.delayed
                ):
                    self.pending.push(*slot)

    def take_to_kill(self) -> list[Action]:
        """The kills of unwanted recovered tasks (once subscribed)."""
        to_kill, self.to_kill = self.to_kill, []
        actions: list[Action] = []
        for rec in to_kill:
            actions.append(Persist(rec))
            actions.extend(_kills(rec, "no longer wanted"))
        return actions

    def register_anew(self) -> list[Action]:
        """The master removed the framework (its tasks are gone): forget them, queue everything."""
        actions: list[Action] = []
        for rec in list(self.tasks):
            self.tasks.remove(rec.task_id)
            actions.append(Forget(rec.task_id))
            actions.append(Emit("removed_task", rec))
        self.to_kill.clear()
        self.delayed.clear()
        self.restarts.clear()
        self.holding = False
        # Reservations and volumes belong to the role, not the framework: Mesos keeps them when it
        # removes a framework, so the new one goes on with the claims (and releases what it must).
        self._claims.forget_operations()
        self.fill()
        return actions

    # ------------------------------------------------------------------- offers
    def offers(self, offers: Sequence[mesos_pb2.Offer], now: float) -> list[Action]:
        """Place waiting instances on offers; give back released claims; decline what is not used."""
        if not offers:
            return []
        if self.holding:
            return [Decline(tuple(o.id for o in offers), self.hold_refuse_seconds)]
        if not self.pending and not self._claims.releasing:
            if self.offers_wanted_elsewhere:
                return []  # someone else's to accept or decline
            return self._decline(offers, self.idle_refuse_seconds)
        actions: list[Action] = []
        bad = []
        for offer in offers:
            why = _bad_offer(offer)
            if why is not None:
                log.warning("declining offer %s from agent %s: %s", offer.id.value, offer.agent_id.value, why)
                bad.append(offer.id)
        if bad:
            actions.append(Decline(tuple(bad), self.refuse_seconds))
            offers = [o for o in offers if o.id not in bad]
            if not offers:
                return actions
        if self._claims.releasing:
            offers = self._claims.release_on(offers, actions)
        if self._claims.held and self.pending:
            offers = self._claims.relaunch_on(offers, now, actions)
        if not self.pending or not offers:
            if offers:
                actions.extend(
                    self._decline(offers, self.refuse_seconds if self.pending else self.idle_refuse_seconds)
                )
            return actions
        # Instances with a claim launch only on their own agent's reserved resources (above).
        held = [slot for slot in self._claims.held if self.pending.remove(*slot)]
        try:
            result = match_offers(
                offers,
                self.pending,
                framework_name=self.framework_name,
                roles=self.roles,
                serial_numbered=self.serial_numbered,
                templates=self._templates,
                placed=self._placed(offers),
            )
        finally:
            for slot in held:
                self.pending.push(*slot)
        for launches in result.launches.values():
            records = []
            before: list[mesos_pb2.Offer.Operation] = []
            values: dict[str, str] | None = None
            for launch in launches:
                offer = launch.offer
                if launch.spec.constraints and values is None:
                    # One copy per offer, shared by its records.
                    values = dict(self._agent_values.get(offer.agent_id.value) or offer_values(offer))
                rec = TaskRecord(
                    launch.task_id,
                    launch.spec.name,
                    launch.serial,
                    agent_id=offer.agent_id.value,
                    hostname=offer.hostname,
                    ip=offer_ip(offer),
                    ports=tuple(launch.ports),
                    updated_at=now,
                    placement=values if launch.spec.constraints else None,
                    containers=(
                        {c.name: TaskState.TASK_STAGING for c in launch.spec.pod.containers}
                        if launch.spec.pod is not None
                        else None
                    ),
                )
                if launch.spec.reserve:
                    before.extend(self._claims.claim(launch, rec, now, actions))
                self.tasks.add(rec)
                records.append(rec)
                # Queued for the store before launching (written off the event path; a task whose
                # record did not land is found by a restarted scheduler's implicit reconciliation).
                actions.append(Persist(rec))
            actions.append(
                LaunchOnOffer(
                    launches[0].offer.id,
                    tuple(records),
                    tuple(launch.task_info for launch in launches if launch.executor is None),
                    tuple(
                        (launch.executor, launch.group) for launch in launches if launch.executor is not None
                    ),
                    tuple(before),
                )
            )
        if result.unused:
            refuse = self.refuse_seconds if self.pending else self.idle_refuse_seconds
            actions.extend(self._decline(result.unused, refuse))
        return actions

    def _decline(self, offers: Sequence[mesos_pb2.Offer], refuse: float) -> list[Action]:
        """DECLINE offers; those of an agent holding a claim that waits for it with a short filter
        (its reserved resources must come back soon, not after the idle filter)."""
        waiting = self._claims.waiting_agents(lambda slot: self.wanted(slot) and not self.occupied(slot))
        soon = tuple(o.id for o in offers if o.agent_id.value in waiting)
        rest = tuple(o.id for o in offers if o.agent_id.value not in waiting)
        out: list[Action] = []
        if rest:
            out.append(Decline(rest, refuse))
        if soon:
            out.append(Decline(soon, min(refuse, self.hold_refuse_seconds)))
        return out

    def operations_dropped(self, operations: Iterable[mesos_pb2.Offer.Operation]) -> list[Action]:
        """The master never got these operations (the ACCEPT failed): as if each was dropped."""
        return self._claims.operations_dropped(operations)

    def operation_status(self, status: mesos_pb2.OperationStatus) -> list[Action]:
        """Feedback on a claim's operation (see `Claims.operation_status`)."""
        return self._claims.operation_status(status)

    def _placed(self, offers: Sequence[mesos_pb2.Offer]) -> dict[str, list[Placement | None]] | None:
        """Per constrained type waiting for offers, the placement values of its live tasks.

        One pass over the tasks per round (linear); agents' values come from the offers seen.
        """
        if not any(spec.constraints for spec in self.specs.values()):
            return None
        agents = self._agent_values
        for offer in offers:
            agents[offer.agent_id.value] = offer_values(offer)
        constrained = {g.spec.name for g in self.pending.groups() if g.serials and g.spec.constraints}
        if not constrained:
            return None
        placed: dict[str, list[Placement | None]] = {name: [] for name in constrained}
        for rec in self.tasks:
            into = placed.get(rec.type_name)
            if into is None or rec.killing or rec.restarting:
                continue  # not constrained, or on its way out
            values = agents.get(rec.agent_id) if rec.agent_id else None
            if values is None:
                values = rec.placement  # stored with the record: known before the agent offers again
            if values is None and rec.hostname:
                values = {"hostname": rec.hostname, "@hostname": rec.hostname}  # agent not seen yet
            into.append(values)
        return placed

    def launch_failed(self, records: Iterable[TaskRecord], now: float) -> list[Action]:
        """The master never acted on a launch: its instances wait again (after the restart backoff)."""
        actions: list[Action] = []
        for rec in records:
            self.tasks.remove(rec.task_id)
            actions.append(Forget(rec.task_id))
            slot = (rec.type_name, rec.serial)
            if not self._schedule_restart(slot, rec, now, actions):
                self.completed[slot] = None
        return actions

    # ------------------------------------------------------------------ updates
    def update(self, status: mesos_pb2.TaskStatus, now: float) -> list[Action]:
        """A status update (or a reconciliation answer) for a task."""
        task_id = status.task_id.value
        state = _task_state(status.state)
        rec = self.tasks.get(task_id)
        if rec is None:
            part = self.tasks.container(task_id)
            if part is None:
                return self._unknown_task(status, state, now)
            return self._container_update(part[0], part[1], status, now)
        return self._record_update(rec, status, now, state)

    def _container_update(
        self, rec: TaskRecord, name: str, status: mesos_pb2.TaskStatus, now: float
    ) -> list[Action]:
        """An update of one container of a pod: the pod's record follows its containers."""
        assert rec.containers is not None
        state = _task_state(status.state)
        changed = rec.containers.get(name) != state
        rec.containers[name] = state
        if status.HasField("healthy"):
            health = rec.container_health
            if health is None:
                health = rec.container_health = {}
            changed = changed or health.get(name) != status.healthy
            health[name] = status.healthy
        summary = mesos_pb2.TaskStatus()
        summary.CopyFrom(status)
        summary.task_id.value = rec.task_id
        summary.state = int(pod_state(rec.containers))
        summary.ClearField("healthy")
        if rec.container_health:
            summary.healthy = all(rec.container_health.values())
        actions = self._record_update(rec, summary, now)
        tracked = rec.task_id in self.tasks
        if changed and tracked and not any(isinstance(a, Emit) and a.name == "updated_task" for a in actions):
            actions.append(Persist(rec))  # a container changed, the pod's summary did not
            actions.append(Emit("updated_task", rec))
        return actions

    def _record_update(
        self, rec: TaskRecord, status: mesos_pb2.TaskStatus, now: float, state: TaskState | None = None
    ) -> list[Action]:
        if state is None:
            state = _task_state(status.state)
        actions: list[Action] = []
        changed = rec.state != state
        rec.state = state
        rec.updated_at = now
        agent_id = status.agent_id.value  # "" when not set
        if agent_id:
            rec.agent_id = agent_id
        executor_id = status.executor_id.value
        if executor_id or status.HasField("executor_id"):
            rec.executor_id = executor_id
        if status.HasField("healthy"):
            was = rec.healthy
            rec.healthy = status.healthy
            changed = changed or was != rec.healthy
            if was is not False and rec.healthy is False:
                actions.append(Emit("task_unhealthy", rec))
        if state not in _ENDED:
            if rec.killing and status.reason == mesos_pb2.TaskStatus.REASON_RECONCILIATION:
                # Still alive although its end was asked for: the KILL was lost; ask again.
                actions.extend(_kills(rec, "still running after a kill"))
            if state == TaskState.TASK_RUNNING and not rec.launched:
                rec.launched = True
                rec.started_at = now
                changed = True
                actions.append(Emit("task_launched", rec))
                if rec.claim:
                    self._claims.task_running(rec, actions)
            if changed:
                actions.append(Persist(rec))
                actions.append(Emit("updated_task", rec))
            return actions
        self._task_ended(rec, state, status, now, actions)
        return actions

    def _task_ended(
        self,
        rec: TaskRecord,
        state: TaskState,
        status: mesos_pb2.TaskStatus,
        now: float,
        actions: list[Action],
    ) -> None:
        self.tasks.remove(rec.task_id)
        slot = (rec.type_name, rec.serial)
        if log.isEnabledFor(logging.INFO):
            log.info("task %s (%s) ended: %s %s", rec.name, rec.task_id, state.name, status.message)
        completed = False
        if self.occupied(slot) or slot in self.pending or slot in self.delayed:
            pass  # another task holds the instance, or a replacement is coming
        elif slot in self.completed:
            completed = self.in_spec(slot) and self.completed[slot] is None  # stopped: mark it
        elif not self.wanted(slot):
            pass
        elif rec.killing or rec.restarting:
            self.pending.push(*slot)  # restart_task(), or a replaced task whose replacement is gone
        elif self.restart.should_restart(state):
            completed = not self._schedule_restart(slot, rec, now, actions)
        else:
            completed = True  # e.g. FINISHED: the instance is done
        if rec.claim:
            self._claims.task_ended(rec, lambda s: not self.in_spec(s) and not self.occupied(s), actions)
        if completed:
            # The terminal record stays in the store so a restarted scheduler does not relaunch it.
            self.completed[slot] = rec.task_id
            actions.append(Persist(rec))
        else:
            actions.append(Forget(rec.task_id))
        actions.append(Emit("removed_task", rec))

    def _pod_of(self, task_id: str) -> tuple[str, str, Slot] | None:
        """``(pod task ID, container, slot)`` of a container task ID of a declared pod type."""
        pod_id, dot, container = task_id.rpartition(".")
        parsed = parse_task_id(pod_id, self.framework_name) if dot else None
        if parsed is None:
            return None
        type_name = self._id_names.get(parsed[0])
        spec = self.specs.get(type_name) if type_name is not None else None
        if type_name is None or spec is None or spec.pod is None or spec.pod.container(container) is None:
            return None
        return pod_id, container, (type_name, parsed[1])

    def _unknown_task(self, status: mesos_pb2.TaskStatus, state: TaskState, now: float) -> list[Action]:
        task_id = status.task_id.value
        agent_id = status.agent_id.value or None
        parsed = parse_task_id(task_id, self.framework_name)
        pod = self._pod_of(task_id) if parsed is None else None
        record_id = pod[0] if pod is not None else task_id
        if not state.is_active:
            if record_id in self.completed.values():  # keep completion markers
                return []
            return [Forget(record_id)]
        slot: Slot | None
        if pod is not None:
            slot = pod[2]
        elif parsed is None:
            if self.kill_unknown_tasks:
                return [Kill(task_id, agent_id, f"not this framework's ({state.name})")]
            return []
        else:
            type_name = self._id_names.get(parsed[0])
            slot = (type_name, parsed[1]) if type_name is not None else None
        if slot is None or not self.wanted(slot):
            return [Kill(task_id, agent_id, f"no longer wanted ({state.name})")]
        actions: list[Action] = []
        if self.occupied(slot):
            # Two tasks for one instance (an agent came back after its tasks were relaunched):
            # keep the one that runs, the older one when both do.
            # Both running: keep the tracked one (the other was reported ended), unless it is
            # unhealthy and the other healthy.
            holders = [r for r in self.tasks.by_name(*slot) if not r.restarting]
            healthier = status.HasField("healthy") and status.healthy
            keep_holder = any(
                r.state == TaskState.TASK_RUNNING and (r.healthy is not False or not healthier)
                for r in holders
            )
            if state != TaskState.TASK_RUNNING or keep_holder:
                return [Kill(task_id, agent_id, f"a second task for {slot[0]}-{slot[1]}")]
            for holder in holders:
                holder.restarting = holder.killing = True
                actions.append(Persist(holder))
                actions.extend(_kills(holder, "another task runs for it"))
        containers: dict[str, TaskState] | None = None
        if pod is not None:
            spec_pod = self.specs[slot[0]].pod
            assert spec_pod is not None
            # The other containers' states come with their own answers (the implicit reconciliation).
            containers = {c.name: TaskState.TASK_STAGING for c in spec_pod.containers}
            containers[pod[1]] = state
        running = (pod_state(containers) if containers is not None else state) == TaskState.TASK_RUNNING
        rec = TaskRecord(
            record_id,
            slot[0],
            slot[1],
            state=pod_state(containers) if containers is not None else state,
            agent_id=agent_id,
            updated_at=now,
            launched=running,
            started_at=now if running else None,
            containers=containers,
        )
        self.tasks.add(rec)
        self.pending.remove(*slot)
        self.delayed.pop(slot, None)
        log.info("adopted running task %s as %s", task_id, rec.name)
        actions.append(Persist(rec))
        if rec.launched:
            actions.append(Emit("task_launched", rec))
        actions.append(Emit("updated_task", rec))
        return actions

    def mesos_tasks(self) -> list[tuple[str, str | None]]:
        """``(Mesos task ID, agent ID)`` of every live tracked task, each pod container apart
        (what reconciliation asks about)."""
        out: list[tuple[str, str | None]] = []
        for rec in self.tasks:
            if rec.state.is_terminal:
                continue
            if rec.containers is None:
                out.append((rec.task_id, rec.agent_id))
            else:
                out.extend((container_task_id(rec.task_id, name), rec.agent_id) for name in rec.containers)
        return out

    # ------------------------------------------------------------------ restarts
    def _schedule_restart(self, slot: Slot, rec: TaskRecord, now: float, actions: list[Action]) -> bool:
        """Relaunch an instance after its backoff; False when its restarts are used up."""
        policy = self.restart
        ran = now - rec.started_at if rec.started_at else 0.0
        count = 1 if ran >= policy.reset_after else self.restarts.get(slot, 0) + 1
        self.restarts[slot] = count
        if policy.max_restarts is not None and count > policy.max_restarts:
            actions.append(
                Report(
                    RestartsExhausted(
                        f"gave up on {rec.name} after {policy.max_restarts} restarts (max_restarts); "
                        f"start_instance({rec.name!r}) starts it again"
                    )
                )
            )
            return False
        delay = policy.delay(count, self._rng)
        log.info("restarting %s in %.2fs (restart #%d)", rec.name, delay, count)
        self.delayed[slot] = now + delay
        return True

    def due(self, now: float) -> list[Action]:
        """Queue the instances whose restart backoff has passed."""
        for slot, when in list(self.delayed.items()):
            if when <= now:
                del self.delayed[slot]
                if self.wanted(slot) and not self.occupied(slot) and slot not in self.pending:
                    self.pending.push(*slot)
        return []

    # ------------------------------------------------------------------- control
    def scale(self, type_name: str, instances: int) -> list[Action]:
        """Run `instances` instances of a type whose spec allows scaling."""
        spec = self.spec(type_name)
        if not spec.allow_scaling:
            raise ScalingNotAllowed(f"task type {type_name!r} does not allow scaling", option="allow_scaling")
        if (
            isinstance(instances, bool)
            or not isinstance(instances, int)
            or not 0 <= instances <= MAX_INSTANCES
        ):
            raise ConfigurationError(
                f"expected a whole number from 0 to {MAX_INSTANCES}, got {instances!r}", option="instances"
            )
        actions: list[Action] = self._scales.record(type_name, instances)
        old = self.desired[type_name]
        self.desired[type_name] = instances
        for serial in range(instances + 1, max(old, instances) + 1):
            slot = (type_name, serial)
            self.pending.remove(*slot)
            self.delayed.pop(slot, None)
            self._uncomplete(slot, actions)
            if slot in self._claims.held and not self.occupied(slot):
                self._claims.release(slot)
        if spec.reserve and self._claims.releasing:
            self._claims.keep(type_name, instances)  # scaled up again before a claim was given back
        for serial in range(1, instances + 1):
            slot = (type_name, serial)
            self._uncomplete(slot, actions)
            if not self.occupied(slot) and slot not in self.delayed and slot not in self.pending:
                self.pending.push(*slot)
        victims = sorted(
            (r for r in self.tasks.of_type(type_name) if r.serial > instances), key=lambda r: -r.serial
        )
        for rec in victims:
            rec.killing = True
            actions.append(Persist(rec))
            actions.extend(_kills(rec, "scaled down"))
        return actions

    def _uncomplete(self, slot: Slot, actions: list[Action]) -> None:
        marker = self.completed.pop(slot, None)
        if marker is not None:
            actions.append(Forget(marker))

    def kill_task(self, task: str | TaskRecord, *, restart: bool = False) -> list[Action]:
        """Kill a tracked task; its instance is stopped unless `restart` (then relaunched at once)."""
        rec = self.find(task)
        slot = (rec.type_name, rec.serial)
        actions: list[Action] = []
        if restart:
            # A stopped instance whose task is still ending (TASK_KILLING) starts again too.
            self._uncomplete(slot, actions)
        else:
            self.completed.setdefault(slot, None)
        rec.killing = True
        return [*actions, Persist(rec), *_kills(rec, "asked")]

    def stop_instance(self, instance: str | TaskRecord, now: float) -> list[Action]:
        """Stop an instance: kill its task, or cancel its coming restart; it stays stopped."""
        slot = self.slot(instance)
        actions: list[Action] = []
        holders = self.tasks.by_name(*slot)
        self.pending.remove(*slot)
        self.delayed.pop(slot, None)
        self.restarts.pop(slot, None)
        if holders:
            self.completed.setdefault(slot, None)
            for rec in holders:
                rec.killing = True
                actions.append(Persist(rec))
                actions.extend(_kills(rec, "stopped"))
            return actions
        if slot not in self.completed:
            # No task to carry the mark: a terminal record of its own keeps it across restarts.
            spec = self.specs[slot[0]]
            marker = TaskRecord(
                spec.new_task_id(self.framework_name, slot[1]),
                slot[0],
                slot[1],
                state=TaskState.TASK_KILLED,
                updated_at=now,
            )
            self.completed[slot] = marker.task_id
            actions.append(Persist(marker))
        return actions

    def start_instance(self, instance: str | TaskRecord) -> list[Action]:
        """Start a stopped (or given-up, or finished) instance again; nothing if it runs or waits."""
        slot = self.slot(instance)
        actions: list[Action] = []
        self._uncomplete(slot, actions)
        self.completed.pop(slot, None)
        self.restarts.pop(slot, None)
        self.delayed.pop(slot, None)
        if not self.occupied(slot) and slot not in self.pending:
            self.pending.push(*slot)
        return actions

    def replace(self, slot: Slot) -> None:
        """Queue a replacement for an instance (a rolling restart launches it before the kill)."""
        self.pending.push(*slot)

    def withdraw(self, slot: Slot) -> None:
        """Cancel a replacement queued by `replace`."""
        self.pending.remove(*slot)

    def retire(self, rec: TaskRecord) -> list[Action]:
        """Kill a task whose replacement runs (its end relaunches nothing)."""
        rec.restarting = True
        return [Persist(rec), *_kills(rec, "replaced")]
