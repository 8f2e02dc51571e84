"""The fleet's stored records that are not tasks: claims (reservations and volumes) and scales.

`Claims` holds each claimed instance's claim (the resources reserved for it and the persistent
volumes made in them, on one agent), the offer operations that make and give them back (RESERVE,
CREATE, DESTROY, UNRESERVE) and their feedback. `Scales` holds the record of each task type scaled
at run time away from its declared count. Both are parts of the functional core: no I/O, no clock;
they return the same actions as `Fleet` (`_actions.py`), which delegates to them.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler._actions import Action, Forget, LaunchOnOffer, Persist, Slot
from mesos_framework.tasks.matching import (
    CLAIM_LABEL,
    Launch,
    OfferPool,
    PendingQueue,
    build_task_info,
    claim_of,
    offer_ip,
)
from mesos_framework.tasks.records import TaskRecord, TaskTable
from mesos_framework.tasks.resources import to_milli
from mesos_framework.tasks.spec import MAX_INSTANCES, TaskSpec, id_safe

__all__ = ["Claims", "Scales", "volume_ids"]

log = logging.getLogger("mesos_framework.scheduler")

_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]")


def _is_volume(resource: mesos_pb2.Resource) -> bool:
    return resource.HasField("disk") and resource.disk.HasField("persistence")


def volume_ids(claim: str, count: int) -> list[str]:
    """The persistence IDs of a claim's volumes: the claim ID, then ``<claim>.1``, ``<claim>.2`` ..."""
    return [claim if i == 0 else f"{claim}.{i}" for i in range(count)]


def _copy(resource: mesos_pb2.Resource) -> mesos_pb2.Resource:
    out = mesos_pb2.Resource()
    out.CopyFrom(resource)
    return out


def _operation(kind: int, operation_id: str) -> mesos_pb2.Offer.Operation:
    op = mesos_pb2.Offer.Operation(type=kind)
    op.id.value = operation_id
    return op


def _owned(offer: mesos_pb2.Offer) -> dict[str, list[mesos_pb2.Resource]]:
    """An offer's resources reserved for claims, by claim ID."""
    owned: dict[str, list[mesos_pb2.Resource]] = {}
    for res in offer.resources:
        claim = claim_of(res)
        if claim is not None:
            owned.setdefault(claim, []).append(res)
    return owned


def _covers(spec: TaskSpec, claim: str, mine: Sequence[mesos_pb2.Resource]) -> bool:
    """True when a claim's offered resources hold its volumes and the spec's cpus and mem."""
    have = {r.disk.persistence.id for r in mine if _is_volume(r)}
    if not set(volume_ids(claim, len(spec.volumes))) <= have:
        return False
    for name, need in (("cpus", spec.resources.cpus), ("mem", spec.resources.mem)):
        if need > 0 and sum(r.scalar.value for r in mine if r.name == name) + 1e-9 < need:
            log.warning("the reservation %s has less %s than %s needs now", claim, name, spec.name)
            return False
    return True


class Claims:
    """The claims of the instances of types that reserve (`TaskSpec.reserve`), and their operations.

    Args:
        specs: the fleet's task types, by name (shared with the fleet).
        pending: the fleet's queue of instances waiting for offers (shared).
        tasks: the fleet's tracked tasks (shared).
        templates: the fleet's cache of encoded task templates (shared).
        framework_name: the prefix of every claim ID.
        roles: the roles whose resources offers may give (the first reserves when an offer names none).
        principal: the principal reservations and volumes are made with.
        serial_numbered: put `-N` in Mesos task names.
    """

    def __init__(
        self,
        specs: Mapping[str, TaskSpec],
        pending: PendingQueue,
        tasks: TaskTable,
        templates: dict[str, bytes],
        *,
        framework_name: str,
        roles: tuple[str, ...],
        principal: str | None,
        serial_numbered: bool,
    ) -> None:
        self._specs = specs
        self._pending = pending
        self._tasks = tasks
        self._templates = templates
        self._framework_name = framework_name
        self._roles = roles
        self._principal = principal
        self._serial_numbered = serial_numbered
        #: Each claimed instance's claim record (its reserved resources and volumes on one agent).
        self.held: dict[Slot, TaskRecord] = {}
        #: Claims to give back (DESTROY, UNRESERVE) once their agent offers them, by claim ID.
        self.releasing: dict[str, TaskRecord] = {}
        #: Offer operations of claims awaiting their status: operation ID -> (kind, claim record).
        self._operations: dict[str, tuple[str, TaskRecord]] = {}

    # ----------------------------------------------------------------- recovery
    def recover(self, rec: TaskRecord, type_name: str | None) -> None:
        """Take a stored claim: kept for its instance while its type reserves, else given back."""
        if type_name is not None and self._specs[type_name].reserve:
            rec.type_name = type_name
            self.held[(type_name, rec.serial)] = rec
        else:
            self.releasing[rec.task_id] = rec  # its type is gone: give it back

    def forget_operations(self) -> None:
        """Stop waiting for the feedback of operations (the framework registered anew)."""
        self._operations.clear()

    # ------------------------------------------------------------------- offers
    def waiting_agents(self, waits: Callable[[Slot], bool]) -> set[str | None]:
        """The agents whose reserved resources must come back soon: those of claims whose instance
        `waits` for them, and those of claims to give back."""
        agents = {claim.agent_id for slot, claim in self.held.items() if waits(slot)}
        agents.update(claim.agent_id for claim in self.releasing.values())
        return agents

    def _reservation(self, resource: mesos_pb2.Resource, claim: str) -> mesos_pb2.Resource:
        """A copy of an unreserved offered resource, dynamically reserved for the claim."""
        out = mesos_pb2.Resource()
        out.CopyFrom(resource)
        role = resource.allocation_info.role if resource.HasField("allocation_info") else self._roles[0]
        reservation = out.reservations.add(type=mesos_pb2.Resource.ReservationInfo.DYNAMIC, role=role)
        if self._principal:
            reservation.principal = self._principal
        reservation.labels.labels.add(key=CLAIM_LABEL, value=claim)
        return out

    def claim(
        self, launch: Launch, rec: TaskRecord, now: float, actions: list[Action]
    ) -> list[mesos_pb2.Offer.Operation]:
        """Reserve a new instance's resources and create its volumes: RESERVE and CREATE (with
        IDs, for feedback) before its LAUNCH, which uses them."""
        spec, offer, info = launch.spec, launch.offer, launch.task_info
        safe = _SAFE_ID.sub("_", f"{self._framework_name}.{id_safe(spec.name)}-{launch.serial}")
        claim_id = f"{safe}.{uuid.uuid4().hex[:12]}"
        reserved = [self._reservation(r, claim_id) for r in info.resources if r.name != "ports"]
        ports = [r for r in info.resources if r.name == "ports"]
        # The volumes are carved out of the reserved disk.
        used = [_copy(r) for r in reserved]
        volumes: list[mesos_pb2.Resource] = []
        for volume, persistence_id in zip(spec.volumes, volume_ids(claim_id, len(spec.volumes)), strict=True):
            need = to_milli(volume.size_mb)
            disk = next((r for r in used if r.name == "disk" and to_milli(r.scalar.value) >= need), None)
            if disk is None:  # the disk came in pieces (several disk identities): use the largest
                disk = max((r for r in used if r.name == "disk"), key=lambda r: r.scalar.value)
                need = to_milli(disk.scalar.value)
            made = _copy(disk)
            made.scalar.value = need / 1000
            made.disk.persistence.id = persistence_id
            if self._principal:
                made.disk.persistence.principal = self._principal
            made.disk.volume.container_path = volume.container_path
            made.disk.volume.mode = mesos_pb2.Volume.Mode.Value(volume.mode)
            disk.scalar.value = (to_milli(disk.scalar.value) - need) / 1000
            volumes.append(made)
        used = [r for r in used if r.name != "disk" or to_milli(r.scalar.value) > 0]
        del info.resources[:]
        info.resources.extend([*used, *volumes, *ports])
        record = TaskRecord(
            claim_id,
            spec.name,
            launch.serial,
            agent_id=offer.agent_id.value,
            hostname=offer.hostname,
            updated_at=now,
            claim=claim_id,
        )
        self.held[(spec.name, launch.serial)] = record
        rec.claim = claim_id
        actions.append(Persist(record))
        log.info("reserving for %s on %s as %s", rec.name, offer.hostname, claim_id)
        ops = [_operation(mesos_pb2.Offer.Operation.RESERVE, f"{claim_id}.reserve")]
        ops[0].reserve.resources.extend(reserved)
        self._operations[f"{claim_id}.reserve"] = ("reserve", record)
        if volumes:
            create = _operation(mesos_pb2.Offer.Operation.CREATE, f"{claim_id}.create")
            create.create.volumes.extend(volumes)
            ops.append(create)
            self._operations[f"{claim_id}.create"] = ("create", record)
        return ops

    def relaunch_on(
        self, offers: Sequence[mesos_pb2.Offer], now: float, actions: list[Action]
    ) -> list[mesos_pb2.Offer]:
        """Launch waiting claimed instances on their agents' offers of their reserved resources."""
        by_agent: dict[str, list[Slot]] = {}
        for slot, claim in self.held.items():
            if slot in self._pending and claim.agent_id:
                by_agent.setdefault(claim.agent_id, []).append(slot)
        if not by_agent:
            return list(offers)
        rest: list[mesos_pb2.Offer] = []
        for offer in offers:
            slots = by_agent.get(offer.agent_id.value)
            if not slots:
                rest.append(offer)
                continue
            owned = _owned(offer)
            pool = OfferPool(offer, self._roles)  # for the ports (claims' resources are left out)
            records: list[TaskRecord] = []
            infos: list[mesos_pb2.TaskInfo] = []
            for slot in slots:
                claim, spec = self.held[slot], self._specs[slot[0]]
                mine = owned.get(claim.task_id)
                if not mine or not _covers(spec, claim.task_id, mine):
                    continue
                res = spec.resources
                if not pool.fits((), res.dynamic_ports, res.fixed_ports):
                    continue
                port_resources, ports = pool.take((), res.dynamic_ports, res.fixed_ports)
                info = build_task_info(
                    spec,
                    slot[1],
                    offer,
                    [*mine, *port_resources],
                    ports,
                    framework_name=self._framework_name,
                    serial_numbered=self._serial_numbered,
                    template=self._templates,
                )
                rec = TaskRecord(
                    info.task_id.value,
                    spec.name,
                    slot[1],
                    agent_id=offer.agent_id.value,
                    hostname=offer.hostname,
                    ip=offer_ip(offer),
                    ports=tuple(ports),
                    updated_at=now,
                    claim=claim.task_id,
                )
                self._pending.remove(*slot)
                self._tasks.add(rec)
                records.append(rec)
                infos.append(info)
                actions.append(Persist(rec))
                log.info(
                    "relaunching %s on its reservation %s on %s", rec.name, claim.task_id, offer.hostname
                )
            if records:
                actions.append(LaunchOnOffer(offer.id, tuple(records), tuple(infos)))
            else:
                rest.append(offer)
        return rest

    # ------------------------------------------------------------------ release
    def release(self, slot: Slot) -> None:
        """An instance with a claim is gone for good: give the claim back, unless its type keeps it."""
        spec = self._specs.get(slot[0])
        if spec is not None and spec.keep_volumes_on_scale_down:
            return
        claim = self.held.pop(slot, None)
        if claim is not None:
            log.info("releasing %s of %s-%d (scaled away)", claim.task_id, *slot)
            self.releasing[claim.task_id] = claim

    def keep(self, type_name: str, instances: int) -> None:
        """Scaled up again before a claim was given back: the instance keeps it."""
        for claim in list(self.releasing.values()):
            if claim.type_name == type_name and claim.serial <= instances:
                del self.releasing[claim.task_id]
                self.held[(type_name, claim.serial)] = claim

    def release_on(self, offers: Sequence[mesos_pb2.Offer], actions: list[Action]) -> list[mesos_pb2.Offer]:
        """DESTROY the volumes and UNRESERVE the resources of released claims their agents offer."""
        by_agent: dict[str, list[TaskRecord]] = {}
        for claim in self.releasing.values():
            by_agent.setdefault(claim.agent_id or "", []).append(claim)
        rest: list[mesos_pb2.Offer] = []
        for offer in offers:
            claims = by_agent.get(offer.agent_id.value)
            owned = _owned(offer) if claims else {}
            ops: list[mesos_pb2.Offer.Operation] = []
            for claim in claims or ():
                mine = owned.get(claim.task_id)
                if not mine:
                    continue  # still in use, or not offered yet
                volumes = [r for r in mine if _is_volume(r)]
                if volumes:
                    destroy = _operation(mesos_pb2.Offer.Operation.DESTROY, f"{claim.task_id}.destroy")
                    destroy.destroy.volumes.extend(volumes)
                    ops.append(destroy)
                    self._operations[f"{claim.task_id}.destroy"] = ("destroy", claim)
                unreserve = _operation(mesos_pb2.Offer.Operation.UNRESERVE, f"{claim.task_id}.unreserve")
                for res in mine:
                    plain = _copy(res)
                    if _is_volume(plain):
                        plain.ClearField("disk")  # after DESTROY: reserved disk again
                    unreserve.unreserve.resources.append(plain)
                ops.append(unreserve)
                self._operations[f"{claim.task_id}.unreserve"] = ("unreserve", claim)
                del self.releasing[claim.task_id]
                log.info("destroying and unreserving %s on %s", claim.task_id, offer.hostname)
            if ops:
                actions.append(LaunchOnOffer(offer.id, (), (), (), tuple(ops)))
            else:
                rest.append(offer)
        return rest

    # ----------------------------------------------------------------- feedback
    def operations_dropped(self, operations: Iterable[mesos_pb2.Offer.Operation]) -> list[Action]:
        """The master never got these operations (the ACCEPT failed): as if each was dropped."""
        actions: list[Action] = []
        for op in operations:
            status = mesos_pb2.OperationStatus(state=mesos_pb2.OPERATION_DROPPED)
            status.operation_id.CopyFrom(op.id)
            actions.extend(self.operation_status(status))
        return actions

    def operation_status(self, status: mesos_pb2.OperationStatus) -> list[Action]:
        """Feedback on a claim's operation: a failed RESERVE or CREATE drops the claim (the
        instance reserves anew), a failed release is retried, a finished UNRESERVE forgets it."""
        op = self._operations.get(status.operation_id.value)
        if op is None or status.state == mesos_pb2.OPERATION_PENDING:
            return []
        kind, claim = op
        del self._operations[status.operation_id.value]
        finished = status.state == mesos_pb2.OPERATION_FINISHED
        actions: list[Action] = []
        slot = (claim.type_name, claim.serial)
        if kind in ("reserve", "create"):
            if finished and (kind == "create" or not self._specs[slot[0]].volumes) and not claim.launched:
                claim.launched = True  # confirmed: relaunches wait for it
                actions.append(Persist(claim))
            elif not finished and self.held.get(slot) is claim:
                log.warning("%s of %s failed: %s", kind, claim.task_id, status.message)
                del self.held[slot]
                actions.append(Forget(claim.task_id))
        elif kind == "unreserve":
            if finished:
                actions.append(Forget(claim.task_id))
            else:
                log.warning("unreserving %s failed (%s); trying again", claim.task_id, status.message)
                self.releasing[claim.task_id] = claim
        elif kind == "destroy" and not finished:
            log.warning("destroying the volumes of %s failed: %s", claim.task_id, status.message)
        return actions

    # ------------------------------------------------------------------ tasks
    def task_running(self, rec: TaskRecord, actions: list[Action]) -> None:
        """A task on a claim runs for the first time: the claim is real."""
        claim = self.held.get((rec.type_name, rec.serial))
        if claim is not None and claim.task_id == rec.claim and not claim.launched:
            claim.launched = True  # it runs on its reservation: the claim is real
            actions.append(Persist(claim))

    def task_ended(self, rec: TaskRecord, gone: Callable[[Slot], bool], actions: list[Action]) -> None:
        """A task on a claim ended: a claim never confirmed is dropped (its instance reserves anew);
        one whose instance is `gone` for good is given back."""
        slot = (rec.type_name, rec.serial)
        claim = self.held.get(slot)
        if claim is not None and claim.task_id == rec.claim:
            if not claim.launched and not rec.launched:
                # Never confirmed (no feedback, never ran): the reservation may not exist; reserve anew.
                del self.held[slot]
                actions.append(Forget(claim.task_id))
            elif gone(slot):
                self.release(slot)


class Scales:
    """The stored record of each task type scaled at run time away from its declared count.

    Args:
        specs: the fleet's task types, by name (shared with the fleet).
        framework_name: the prefix of every scale record's ID.
    """

    def __init__(self, specs: Mapping[str, TaskSpec], *, framework_name: str) -> None:
        self._specs = specs
        self._framework_name = framework_name
        #: The scale record of each scaled type, by type name.
        self.records: dict[str, TaskRecord] = {}

    def recover(self, rec: TaskRecord, type_name: str | None, actions: list[Action]) -> int | None:
        """A stored runtime scale: its count if its type's declared count is still the one it was
        scaled from; else None, and the record goes (the declaration, changed in code since, wins)."""
        spec = self._specs.get(type_name) if type_name is not None else None
        if (
            spec is None
            or not spec.allow_scaling
            or rec.declared != spec.instances
            or not 0 <= rec.serial <= MAX_INSTANCES
            or type_name in self.records
        ):
            log.info(
                "dropping the stored scale of %s to %d instance(s) made when %s were declared: "
                "the declaration now wins",
                rec.type_name,
                rec.serial,
                rec.declared,
            )
            actions.append(Forget(rec.task_id))
            return None
        assert type_name is not None
        log.info(
            "restoring the runtime scale of %s: %d instance(s) (declared %d)",
            type_name,
            rec.serial,
            spec.instances,
        )
        rec.type_name = type_name
        self.records[type_name] = rec
        return rec.serial

    def record(self, type_name: str, instances: int) -> list[Action]:
        """Persist a type's runtime count with its declared one (forget it back at the declared)."""
        declared = self._specs[type_name].instances
        old = self.records.pop(type_name, None)
        if instances == declared:
            return [Forget(old.task_id)] if old is not None else []
        task_id = (
            old.task_id
            if old is not None
            else _SAFE_ID.sub("_", f"{self._framework_name}.{id_safe(type_name)}.scale")
        )
        rec = TaskRecord(task_id, type_name, instances, declared=declared)
        self.records[type_name] = rec
        return [Persist(rec)]
