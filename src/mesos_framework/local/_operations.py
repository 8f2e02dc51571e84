"""Offer operations besides launches: RESERVE, UNRESERVE, CREATE and DESTROY.

They follow Mesos 1.11's master (``Master::_accept``,
``validation::operation::validate`` in ``src/master/validation.cpp``,
``getResourceConversions`` in ``src/common/resources_utils.cpp``):

* the allocation role of the offer is injected where the framework left it
  out; an invalid operation is dropped with ``OPERATION_ERROR`` (operations
  with an ``id``; the message ends with ``; on agent <id> at <pid>
  (<hostname>)``), as is one whose consumed resources are not in what is
  left of the offers (``<left> does not contain <consumed>``);
* a valid one converts the offered resources at once (a LAUNCH later in the
  same ACCEPT can use a new reservation or volume), changes the agent's
  total resources (the master's and the agent's "checkpointed" view), and
  creates or deletes the persistent volume's directory,
  ``<agent work dir>/volumes/roles/<role>/<persistence id>``;
* an operation with an ``id`` gets ``UPDATE_OPERATION_STATUS`` with
  ``OPERATION_FINISHED``, a ``uuid`` and the ``agent_id`` (the agent's
  AGENT_OPERATION_FEEDBACK), resent until the framework acknowledges it
  (``ACKNOWLEDGE_OPERATION_STATUS``) and answered by ``RECONCILE_OPERATIONS``
  until then.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mesos_framework.local import _codec
from mesos_framework.local._limits import resources_problem
from mesos_framework.local._master_updates import operation_error
from mesos_framework.local.resources import Key, Resources, describe
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import AgentEntry, Framework, Master

__all__ = ["Operations", "describe", "operator_apply"]

log = logging.getLogger(__name__)

Op = mesos_pb2.Offer.Operation
Event = scheduler_pb2.Event
RETRY_MAX = 600.0
NAMES = {Op.RESERVE: "RESERVE", Op.UNRESERVE: "UNRESERVE", Op.CREATE: "CREATE", Op.DESTROY: "DESTROY"}
RESIZES = {Op.GROW_VOLUME: "GROW_VOLUME", Op.SHRINK_VOLUME: "SHRINK_VOLUME"}
Source = mesos_pb2.Resource.DiskInfo.Source
Cap = mesos_pb2.FrameworkInfo.Capability


def _pop(res: Resources) -> Resources:
    """``popReservation``: each resource without its last reservation."""
    out = Resources()
    for key, value in res.items.items():
        out._add(key.with_stack(key.stack()[:-1]), value)
    return out


def _strip_volume(res: Resources) -> Resources:
    """The disk a persistent volume was made of."""
    out = Resources()
    for key, value in res.items.items():
        out._add(dataclasses.replace(key, disk=(), shared=False), value)
    return out


def _volume_keys(res: Resources) -> list[Key]:
    return [k for k in res.items if k.disk]


# ------------------------------------------------------------------- validation


def _resources_error(resources: list[mesos_pb2.Resource]) -> str | None:
    """``resource::validate`` of the master (the operation's "Invalid resources: " first)."""
    for r in resources:
        if not r.name:
            return "Invalid resources: Invalid resources: Empty resource name"
        if r.type == mesos_pb2.Value.SCALAR and r.scalar.value <= 0:
            return "Invalid resources: Invalid resources: Invalid scalar resource: value <= 0"
    for r in resources:
        if not r.HasField("disk"):
            continue
        why = None
        if r.disk.HasField("persistence"):
            unreserved = not r.reservations and (not r.HasField("role") or r.role == "*")
            if unreserved:
                why = "Persistent volumes cannot be created from unreserved resources"
            elif not r.disk.HasField("volume"):
                why = "Expecting 'volume' to be set for persistent volume"
            elif r.disk.volume.HasField("host_path"):
                why = "Expecting 'host_path' to be unset for persistent volume"
        elif r.disk.HasField("volume"):
            why = "Non-persistent volume not supported"
        elif not r.disk.HasField("source"):
            why = "DiskInfo is set but empty"
        if why:
            return f"Invalid resources: Invalid DiskInfo: {why}"
    return None


def validate_reserve(fw: Framework, resources: Resources, protos: list[mesos_pb2.Resource]) -> str | None:
    error = _resources_error(protos)
    if error:
        return error
    roles = set(fw.roles)
    principal = fw.info.principal if fw.info.HasField("principal") else None
    for key, value in resources.items.items():
        one = describe(Resources({key: value}))
        if not key.dynamic:
            return f"Resource {one} is not dynamically reserved"
        _kind, role, reserved_by, _labels = key.reservations[-1]
        if principal is not None:
            if not reserved_by:
                return (
                    f"A reserve operation was attempted by principal '{principal}', but there is a "
                    "reserved resource in the request with no principal set"
                )
            if reserved_by != principal:
                return (
                    f"A reserve operation was attempted by authenticated principal '{principal}', "
                    f"which does not match a reserved resource in the request with principal "
                    f"'{reserved_by}'"
                )
        if key.allocation != role:
            return (
                f"A reserve operation was attempted for a resource with role '{role}', but the "
                f"resource was allocated to role '{key.allocation}'"
            )
        if key.allocation not in roles:
            return (
                f"A reserve operation was attempted for a resource allocated to role "
                f"'{key.allocation}', but the framework only has roles '{{ {', '.join(sorted(roles))} }}'"
            )
    return None


def validate_unreserve(resources: Resources, protos: list[mesos_pb2.Resource]) -> str | None:
    error = _resources_error(protos)
    if error:
        return error
    for key, value in resources.items.items():
        one = describe(Resources({key: value}))
        if not key.dynamic:
            return f"Resource {one} is not dynamically reserved"
        if key.disk:
            return (
                f"A dynamically reserved persistent volume {one} cannot be unreserved directly. "
                "Please destroy the persistent volume first then unreserve the resource"
            )
    return None


def _persistent_volume_error(protos: list[mesos_pb2.Resource]) -> str | None:
    for r in protos:
        if not r.HasField("disk"):
            one = describe(Resources.from_protos([r]))
            return f"Not a persistent volume: Resource {one} does not have DiskInfo"
        if not r.disk.HasField("persistence"):
            return "Not a persistent volume: 'persistence' is not set in DiskInfo"
        if not r.disk.HasField("volume"):
            return "Not a persistent volume: Expecting 'volume' to be set for persistent volume"
        if r.disk.volume.mode == mesos_pb2.Volume.RO:
            return "Not a persistent volume: Read-only persistent volume not supported"
    return None


def validate_create(
    protos: list[mesos_pb2.Resource], volumes: Resources, total: Resources, fw: Framework | None = None
) -> str | None:
    """A CREATE's validation; ``fw``: the framework making it (None: the operator API)."""
    error = _resources_error(protos) or _persistent_volume_error(protos)
    if error:
        return error
    seen: dict[str, set[str]] = {}
    for key in [*_volume_keys(total), *_volume_keys(volumes)]:
        ids = seen.setdefault(key.role, set())
        if key.disk and key.disk[0] in ids:
            return f"Persistence ID '{key.disk[0]}' is not unique"
        if key.disk:
            ids.add(key.disk[0])
    shares = fw is None or _codec.has_cap(fw.info, Cap.SHARED_RESOURCES)
    for r in protos:
        if r.HasField("shared") and not shares:
            assert fw is not None
            shown = describe(Resources.from_protos([r]), copies=False)
            return (
                f"Create volume operation for '{shown}' has been attempted by framework "
                f"'{fw.id}' with no SHARED_RESOURCES capability"
            )
    return None


def validate_destroy(protos: list[mesos_pb2.Resource], volumes: Resources, entry: AgentEntry) -> str | None:
    error = _resources_error(protos) or _persistent_volume_error(protos)
    if error:
        return error
    plain = volumes.unallocated()
    if not entry.total.unallocated().contains(plain):
        return "Persistent volumes not found"
    for used in entry.used.values():
        for key in _volume_keys(plain):
            if Resources({key: plain.items[key]}).items.keys() & used.unallocated().items.keys():
                return "Persistent volumes in use"
    return None


def _resize_parts(op: mesos_pb2.Offer.Operation, role: str | None) -> tuple[str | None, Resources, Resources]:
    """A GROW_VOLUME / SHRINK_VOLUME's validation (``validation::operation::validate``): the
    error or None, the consumed resources and what they become (``role``: the allocation role
    injected where the volume has none; None for the operator API's unallocated resources)."""
    grow = op.type == Op.GROW_VOLUME
    volume = mesos_pb2.Resource()
    volume.CopyFrom(op.grow_volume.volume if grow else op.shrink_volume.volume)
    if role is not None and not volume.HasField("allocation_info"):
        volume.allocation_info.role = role
    res = Resources.from_protos([volume])
    error: str | None = None
    extra = Resources()
    if grow:
        addition = mesos_pb2.Resource()
        addition.CopyFrom(op.grow_volume.addition)
        if role is not None and not addition.HasField("allocation_info"):
            addition.allocation_info.role = role
        extra = Resources.from_protos([addition])
        field_text = "'GrowVolume.volume'"
        if addition.scalar.value <= 0:
            error = "The size of 'GrowVolume.addition' field must be greater than zero"
    else:
        subtract = op.shrink_volume.subtract.value
        field_text = "'ShrinkVolume.volume'"
        if subtract <= 0:
            error = "Value of 'ShrinkVolume.subtract' must be greater than zero"
        elif volume.scalar.value <= subtract:
            error = "Value of 'ShrinkVolume.subtract' must be smaller than the size of 'ShrinkVolume.volume'"
    if error is None:
        why = _persistent_volume_error([volume])
        if why:
            error = f"Invalid persistent volume in the {field_text} field: " + why.removeprefix(
                "Not a persistent volume: "
            )
    if error is None and volume.HasField("shared"):
        error = f"{'Growing' if grow else 'Shrinking'} a shared persistent volume is not supported"
    if error is None and grow and set(_strip_volume(res).items) != set(extra.items):
        error = "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields"
    if error is not None:
        return error, Resources(), Resources()
    (key,) = res.items
    size = res.items[key]
    assert isinstance(size, int)
    if grow:
        added = round(op.grow_volume.addition.scalar.value * 1000)
        return None, res + extra, Resources({key: size + added})
    freed = round(op.shrink_volume.subtract.value * 1000)
    plain = Resources({dataclasses.replace(key, disk=()): freed})
    return None, res, Resources({key: size - freed}) + plain


# ------------------------------------------------------------ the operator API


def _validate_operator_reserve(
    resources: Resources, protos: list[mesos_pb2.Resource], source: list[mesos_pb2.Resource]
) -> str | None:
    """A RESERVE from the operator API (no framework; the local cluster has no authentication)."""
    error = _resources_error(protos)
    if error:
        return error
    if source:
        error = _source_error(resources, protos, source)
        if error:
            return error
    for key, value in resources.items.items():
        if not key.dynamic:
            return f"Resource {describe(Resources({key: value}))} is not dynamically reserved"
    return None


def _source_error(
    resources: Resources, protos: list[mesos_pb2.Resource], source: list[mesos_pb2.Resource]
) -> str | None:
    """Mesos's checks of a RESERVE's ``source``: valid, one reservation stack on each side, and
    the same quantities once unreserved."""
    error = _resources_error(source)
    if error:
        return "Invalid source: " + error.removeprefix("Invalid resources: ")
    for what, items in (("source", source), ("resources", protos)):
        first = list(items[0].reservations)
        if any(list(r.reservations) != first for r in items):
            shown = describe(Resources.from_protos(items))
            return f"Invalid {what}: Mixed reservations are not supported{shown}"
    given, wanted = _unreserved(Resources.from_protos(source)), _unreserved(resources)
    if given != wanted:
        return (
            "Source and target resources should refer to identical resource quantities: "
            f"{describe(given)} vs. {describe(wanted)}"
        )
    return None


def _disk_source_type(resource: mesos_pb2.Resource) -> int | None:
    """The ``DiskInfo.Source.Type`` of a disk resource with a source, else None."""
    if resource.name != "disk" or not resource.disk.HasField("source"):
        return None
    return int(resource.disk.source.type)


def validate_create_disk(create: mesos_pb2.Offer.Operation.CreateDisk) -> str | None:
    """Mesos's ``validate(CreateDisk)``: None, or why the operation is invalid."""
    source = create.source
    problem = resources_problem([source])
    if problem:
        return "Invalid resource: " + problem.removeprefix("Task uses invalid resources: ")
    if not source.HasField("provider_id"):
        return "'source' is not managed by a resource provider"
    if _disk_source_type(source) != Source.RAW:
        return "'source' is not a RAW disk resource"
    if create.target_type not in (Source.MOUNT, Source.BLOCK):
        return "'target_type' is neither MOUNT or BLOCK"
    if source.disk.source.HasField("profile") == create.HasField("target_profile"):
        if create.HasField("target_profile"):
            return "'target_profile' must not be set when 'source' has a profile"
        return "'target_profile' must be set when 'source' has no profile"
    return None


def validate_destroy_disk(source: mesos_pb2.Resource) -> str | None:
    """Mesos's ``validate(DestroyDisk)``: None, or why the operation is invalid."""
    problem = resources_problem([source])
    if problem:
        return "Invalid resource: " + problem.removeprefix("Task uses invalid resources: ")
    if not source.HasField("provider_id"):
        return "'source' is not managed by a resource provider"
    if _disk_source_type(source) not in (Source.MOUNT, Source.BLOCK, Source.RAW):
        return "'source' is neither a MOUNT, BLOCK or RAW disk resource"
    if not source.disk.source.HasField("id"):
        return "'source' is not backed by a CSI volume"
    if source.disk.HasField("persistence"):
        return (
            f"A disk resource containing a persistent volume {describe(Resources.from_protos([source]))}"
            " cannot be destroyed directly. Please destroy the persistent volume first then destroy"
            " the disk resource"
        )
    return None


def _unreserved(res: Resources) -> Resources:
    """``toUnreserved``: the same resources with no reservation."""
    out = Resources()
    for key, value in res.unallocated().items.items():
        out._add(key.with_stack(()), value)
    return out


def operator_apply(master: Master, entry: AgentEntry, op: mesos_pb2.Offer.Operation) -> tuple[int, str]:
    """An operation of the master's operator API (``RESERVE_RESOURCES`` ... ``SHRINK_VOLUME``) on
    an agent's unallocated resources, as ``Master::Http::_operation`` does: validated (400 with
    Mesos's text), then the agent's offers holding consumed resources are rescinded (with the
    default 5 second filter) until what was recovered covers the operation, and the operation
    applies to what is neither used nor still offered (409 ``<available> does not contain
    <consumed>`` when it cannot); 202 when applied. The new resources come with later offers."""
    agent = entry.agent
    where = f"{entry.id} at {agent.pid} ({agent.hostname})"
    name = NAMES.get(op.type) or RESIZES[op.type]
    if op.type in RESIZES:
        error, consumed, converted = _resize_parts(op, None)
        prefix = f"Invalid {name} operation on agent {where}: "
    else:
        message = getattr(op, name.lower())
        protos = list(message.resources if name in ("RESERVE", "UNRESERVE") else message.volumes)
        res = Resources.from_protos(protos)
        if name == "RESERVE":
            source = list(op.reserve.source)
            error = _validate_operator_reserve(res, protos, source)
            prefix = f"Invalid RESERVE operation on agent {where}: "
            # (with a 'source', Mesos consumes exactly it: a re-reservation of reserved resources)
            consumed, converted = (Resources.from_protos(source) if source else _pop(res)), res
        elif name == "UNRESERVE":
            error = validate_unreserve(res, protos)
            prefix = "Invalid UNRESERVE operation: "
            consumed, converted = res, _pop(res)
        elif name == "CREATE":
            error = validate_create(protos, res, entry.total)
            prefix = f"Invalid CREATE operation on agent {where}: "
            consumed, converted = _strip_volume(res), res
        else:
            error = validate_destroy(protos, res, entry)
            prefix = "Invalid DESTROY operation: "
            consumed, converted = res, _strip_volume(res)
    if error is not None:
        return 400, prefix + error
    consumed, converted = consumed.unallocated(), converted.unallocated()
    required = consumed.copy()
    recovered = Resources()
    for oid in sorted(entry.offers):
        offered = master.offers[oid].resources.unallocated()
        if not set(required.items) & set(offered.items):
            continue
        recovered += offered
        required = required - offered
        master.rescind(oid, filters=mesos_pb2.Filters())
        if recovered.contains(consumed):
            break
    available = entry.total.unallocated() - entry.used_total().unallocated()
    for oid in entry.offers:
        available -= master.offers[oid].resources.unallocated()
    if not available.contains(consumed):
        return 409, f"{describe(available)} does not contain {describe(consumed)}"
    entry.total = entry.total - consumed + converted
    agent.apply_conversion(consumed, converted)
    log.info("applied %s of the operator API on agent %s", name, entry.id)
    master.allocate_soon()
    return 202, ""


# ---------------------------------------------------------------- the feedback


@dataclass
class _Record:
    framework_id: str
    agent_id: str
    operation_id: str
    status: mesos_pb2.OperationStatus
    interval: float = 0.0
    timer: asyncio.TimerHandle | None = None
    acknowledged: bool = False
    statuses: list[mesos_pb2.OperationStatus] = field(default_factory=list)
    info: mesos_pb2.Offer.Operation | None = None
    """The operation as the framework sent it (with allocation roles), for ``GET_OPERATIONS``."""
    uuid: bytes = field(default_factory=lambda: uuid.uuid4().bytes)


class Operations:
    """A master's offer operations: perform them, report and resend their status."""

    def __init__(self, master: Master) -> None:
        self.master = master
        self.records: dict[tuple[str, str], _Record] = {}

    # -- ACCEPT ------------------------------------------------------------
    def perform(
        self, fw: Framework, entry: AgentEntry, role: str, op: mesos_pb2.Offer.Operation, available: Resources
    ) -> Resources:
        """One RESERVE/UNRESERVE/CREATE/DESTROY of an ACCEPT; returns what is left of the offers."""
        if op.type in RESIZES:
            return self._resize(fw, entry, role, op, available)
        if op.type in (Op.CREATE_DISK, Op.DESTROY_DISK):
            self._disk(fw, entry, role, op, available)
            return available
        name = NAMES.get(op.type)
        if name is None or (op.type == Op.RESERVE and op.reserve.source):
            operation_error(fw, op, "Operation not supported by the local cluster")
            return available
        info = mesos_pb2.Offer.Operation()
        info.CopyFrom(op)
        message = getattr(info, name.lower())
        protos = list(message.resources if name in ("RESERVE", "UNRESERVE") else message.volumes)
        for r in protos:  # Master::accept injects the offer's allocation role
            if not r.HasField("allocation_info"):
                r.allocation_info.role = role
        res = Resources.from_protos(protos)
        if not protos:
            operation_error(fw, op, "Operation contains no resources")
            return available
        if name == "RESERVE":
            error = validate_reserve(fw, res, protos)
            consumed, converted = _pop(res), res
        elif name == "UNRESERVE":
            error = validate_unreserve(res, protos)
            consumed, converted = res, _pop(res)
        elif name == "CREATE":
            error = validate_create(protos, res, entry.total, fw)
            consumed, converted = _strip_volume(res), res
        else:
            error = validate_destroy(protos, res, entry)
            consumed, converted = res, _strip_volume(res)
        if error is not None:
            agent = entry.agent
            operation_error(fw, op, f"{error}; on agent {entry.id} at {agent.pid} ({agent.hostname})")
            return available
        if name == "DESTROY":
            # offers of the agent that hold these volumes go (Mesos rescinds them)
            for oid in list(entry.offers):
                offered = self.master.offers[oid].resources.unallocated()
                if any(k in offered.items for k in _volume_keys(res.unallocated())):
                    self.master.rescind(oid)
        if not available.contains(consumed):
            operation_error(fw, op, f"{describe(available)} does not contain {describe(consumed)}")
            return available
        available = available - consumed + converted
        entry.total = entry.total - consumed.unallocated() + converted.unallocated()
        entry.agent.apply_conversion(consumed.unallocated(), converted.unallocated())
        log.info("applied %s of framework %s on agent %s", name, fw.id, entry.id)
        if op.HasField("id"):
            self._finished(fw, entry.id, op.id.value, info)
        return available

    def _disk(
        self, fw: Framework, entry: AgentEntry, role: str, op: mesos_pb2.Offer.Operation, available: Resources
    ) -> None:
        """CREATE_DISK / DESTROY_DISK, as Mesos 1.11's master answers them on an agent with the
        RESOURCE_PROVIDER capability but no storage resource provider: the operation's validation
        (``validation::operation::validate``), else the offer cannot contain a provider's disk."""
        info = mesos_pb2.Offer.Operation()
        info.CopyFrom(op)
        create = op.type == Op.CREATE_DISK
        source = info.create_disk.source if create else info.destroy_disk.source
        if not source.HasField("allocation_info"):  # Master::accept injects the offer's role
            source.allocation_info.role = role
        error = validate_create_disk(info.create_disk) if create else validate_destroy_disk(source)
        if error is not None:
            agent = entry.agent
            operation_error(fw, op, f"{error}; on agent {entry.id} at {agent.pid} ({agent.hostname})")
            return
        # The local cluster has no resource providers: no offer holds a provider's disk.
        name = "CREATE_DISK" if create else "DESTROY_DISK"
        shown = describe(Resources.from_protos([source]))
        operation_error(fw, op, f"Invalid {name} Operation: {describe(available)} does not contain {shown}")

    def _resize(
        self, fw: Framework, entry: AgentEntry, role: str, op: mesos_pb2.Offer.Operation, available: Resources
    ) -> Resources:
        """GROW_VOLUME / SHRINK_VOLUME: the consumed resources leave the offer; the resized
        volume (and freed disk) come back with the next offers."""
        error, consumed, converted = _resize_parts(op, role)
        if error is not None:
            agent = entry.agent
            operation_error(fw, op, f"{error}; on agent {entry.id} at {agent.pid} ({agent.hostname})")
            return available
        grow = op.type == Op.GROW_VOLUME
        name = "GROW_VOLUME" if grow else "SHRINK_VOLUME"
        if not available.contains(consumed):
            why = f"Invalid {name} operation: {describe(available)} does not contain {describe(consumed)}"
            operation_error(fw, op, why)
            return available
        available = available - consumed
        entry.total = entry.total - consumed.unallocated() + converted.unallocated()
        entry.agent.apply_conversion(consumed.unallocated(), converted.unallocated())
        if op.HasField("id"):
            self._finished(fw, entry.id, op.id.value, op)
        return available

    # -- feedback ------------------------------------------------------------
    def _finished(
        self, fw: Framework, agent_id: str, operation_id: str, info: mesos_pb2.Offer.Operation | None = None
    ) -> None:
        status = mesos_pb2.OperationStatus(state=mesos_pb2.OPERATION_FINISHED)
        status.operation_id.value = operation_id
        status.uuid.value = uuid.uuid4().bytes
        status.agent_id.value = agent_id
        record = _Record(fw.id, agent_id, operation_id, status, statuses=[status], info=info)
        old = self.records.pop((fw.id, operation_id), None)
        if old is not None and old.timer is not None:
            old.timer.cancel()
        self.records[(fw.id, operation_id)] = record
        record.interval = self.master.config.status_update_retry
        asyncio.get_running_loop().call_soon(self._send, record)

    def _send(self, record: _Record) -> None:
        if record.acknowledged or self.records.get((record.framework_id, record.operation_id)) is not record:
            return
        fw = self.master.frameworks.get(record.framework_id)
        if fw is not None and fw.connected:
            ev = Event(type=Event.UPDATE_OPERATION_STATUS)
            ev.update_operation_status.status.CopyFrom(record.status)
            fw.send(ev)
        record.timer = asyncio.get_running_loop().call_later(record.interval, self._send, record)
        record.interval = min(record.interval * 2, RETRY_MAX)

    def acknowledge(self, fw: Framework, ack: scheduler_pb2.Call.AcknowledgeOperationStatus) -> None:
        """ACKNOWLEDGE_OPERATION_STATUS: the terminal status is acknowledged, the operation goes."""
        record = self.records.get((fw.id, ack.operation_id.value))
        if record is None or record.status.uuid.value != ack.uuid:
            return
        record.acknowledged = True
        if record.timer is not None:
            record.timer.cancel()
        del self.records[(fw.id, ack.operation_id.value)]

    def resend(self, fw: Framework) -> None:
        """The framework (re-)subscribed: unacknowledged statuses go again now."""
        for record in self.records.values():
            if record.framework_id == fw.id and not record.acknowledged:
                if record.timer is not None:
                    record.timer.cancel()
                record.interval = self.master.config.status_update_retry
                asyncio.get_running_loop().call_soon(self._send, record)

    def reconcile(self, fw: Framework, rec: scheduler_pb2.Call.ReconcileOperations) -> None:
        """``Master::reconcileOperations``: latest statuses (without uuid) of known operations;
        for unknown ones OPERATION_UNREACHABLE / GONE_BY_OPERATOR / UNKNOWN by the agent's fate."""
        master = self.master
        if not rec.operations:
            for record in self.records.values():
                if record.framework_id == fw.id:
                    self._send_copy(fw, record.status)
            return
        for op in rec.operations:
            known = self.records.get((fw.id, op.operation_id.value))
            if known is not None:
                self._send_copy(fw, known.status)
                continue
            status = mesos_pb2.OperationStatus()
            status.operation_id.CopyFrom(op.operation_id)
            agent_id = op.agent_id.value if op.HasField("agent_id") else None
            if agent_id is not None and agent_id in master.unreachable_agents:
                status.state = mesos_pb2.OPERATION_UNREACHABLE
                status.message = "Reconciliation: Agent is unreachable"
            elif agent_id is not None and agent_id in master.gone_agents:
                status.state = mesos_pb2.OPERATION_GONE_BY_OPERATOR
                status.message = "Reconciliation: Agent marked gone by operator"
            else:
                status.state = mesos_pb2.OPERATION_UNKNOWN
                status.message = "Reconciliation: Operation is unknown"
            if op.HasField("agent_id"):
                status.agent_id.CopyFrom(op.agent_id)
            ev = Event(type=Event.UPDATE_OPERATION_STATUS)
            ev.update_operation_status.status.CopyFrom(status)
            fw.send(ev)

    @staticmethod
    def _send_copy(fw: Framework, status: mesos_pb2.OperationStatus) -> None:
        ev = Event(type=Event.UPDATE_OPERATION_STATUS)
        ev.update_operation_status.status.CopyFrom(status)
        ev.update_operation_status.status.ClearField("uuid")
        fw.send(ev)

    def forget(self, framework_id: str) -> None:
        """The framework was removed: its operations' feedback stops."""
        for key in [k for k in self.records if k[0] == framework_id]:
            record = self.records.pop(key)
            if record.timer is not None:
                record.timer.cancel()

    def stop(self) -> None:
        for record in self.records.values():
            if record.timer is not None:
                record.timer.cancel()
