"""Offer matching: pack pending task instances into offers.

Pending instances are grouped by task type (all instances of a type have the
same shape), and the groups are visited in priority order. For every offer
each group is tried once and then as many of its instances are placed as
still fit, so the cost is ``O(offers x task types + placed tasks)`` rather than
``O(offers x pending tasks)``; no pending instance is ever skipped.

Only resources the framework may use are taken: unreserved ones and those
reserved for one of its roles, allocated to the offer's role (``MULTI_ROLE``
offers carry one ``allocation_info.role``, copied onto every launched
resource). Reserved resources are used before unreserved ones.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import ranges as rng
from mesos_framework.tasks.constraints import ConstraintTracker, Placement, offer_values
from mesos_framework.tasks.pods import ContainerSpec
from mesos_framework.tasks.resources import ResourceKey, Resources
from mesos_framework.tasks.spec import TaskSpec, serial_env_name

__all__ = [
    "CLAIM_LABEL",
    "Launch",
    "MatchResult",
    "OfferPool",
    "PendingGroup",
    "PendingQueue",
    "build_pod",
    "claim_of",
    "container_task_id",
    "match_offers",
]

log = logging.getLogger(__name__)

_DOCKER = mesos_pb2.ContainerInfo.DOCKER


class _Bucket:
    """The remaining amount of one resource identity in an offer."""

    __slots__ = ("amount", "key")

    def __init__(self, key: ResourceKey, amount: int) -> None:
        self.key = key
        self.amount = amount


class _PortBucket:
    """The remaining port ranges of one identity in an offer."""

    __slots__ = ("key", "ranges")

    def __init__(self, key: ResourceKey, ranges: rng.RangeSet) -> None:
        self.key = key
        self.ranges = ranges


#: The reservation label that marks resources reserved for one instance (its claim ID as value).
CLAIM_LABEL = "mesos_framework.claim"


def claim_of(resource: mesos_pb2.Resource) -> str | None:
    """The claim ID a resource was reserved for (`CLAIM_LABEL` on its latest reservation)."""
    if resource.reservations:
        labels = resource.reservations[-1].labels.labels
    elif resource.HasField("reservation"):
        labels = resource.reservation.labels.labels
    else:
        return None
    return next((label.value for label in labels if label.key == CLAIM_LABEL), None)


class OfferPool:
    """The still-unused resources of one offer, consumed task by task.

    Resources reserved for one instance (`CLAIM_LABEL`) are left out: only that instance uses them.
    """

    __slots__ = ("_free", "_port_count", "_ports", "_scalars", "_totals", "offer")

    def __init__(self, offer: mesos_pb2.Offer, roles: Iterable[str]) -> None:
        self.offer = offer
        protos = offer.resources
        if any(r.reservations or r.HasField("reservation") for r in protos):
            protos = [r for r in protos if claim_of(r) is None]  # type: ignore[assignment]
        usable = Resources.from_protos(protos).usable_by(roles)
        self._scalars: dict[str, list[_Bucket]] = {}
        self._ports: list[_PortBucket] = []
        # Reserved first, so reservations made for the framework are used up before shared capacity.
        for key, amount in sorted(usable.items(), key=lambda kv: not kv[0].reserved):
            if isinstance(amount, int):
                self._scalars.setdefault(key.name, []).append(_Bucket(key, amount))
            elif isinstance(amount, tuple) and key.name == "ports":
                self._ports.append(_PortBucket(key, amount))
        self._totals = {name: sum(b.amount for b in buckets) for name, buckets in self._scalars.items()}
        #: The unreserved part of each total (what a new reservation can be made from).
        self._free = {
            name: sum(b.amount for b in buckets if not b.key.reserved)
            for name, buckets in self._scalars.items()
        }
        self._port_count = sum(rng.count(b.ranges) for b in self._ports)

    def _has_port(self, port: int) -> bool:
        return any(rng.contains(b.ranges, ((port, port),)) for b in self._ports)

    def fits(
        self,
        scalars: Sequence[tuple[str, int]],
        dynamic_ports: int,
        fixed_ports: Sequence[int],
        *,
        unreserved: bool = False,
    ) -> bool:
        """True when one more instance with this demand fits (``unreserved``: from unreserved scalars)."""
        totals = self._free if unreserved else self._totals
        for name, milli in scalars:
            if totals.get(name, 0) < milli:
                return False
        if dynamic_ports + len(fixed_ports) > self._port_count:
            return False
        return all(self._has_port(port) for port in fixed_ports)

    def take(
        self,
        scalars: Sequence[tuple[str, int]],
        dynamic_ports: int,
        fixed_ports: Sequence[int],
        *,
        unreserved: bool = False,
    ) -> tuple[list[mesos_pb2.Resource], list[int]]:
        """Consume one instance's demand; return its ``Resource`` messages and host ports, in order.

        Call only after `fits()` (with the same ``unreserved``) said yes.
        """
        out: list[mesos_pb2.Resource] = []
        for name, milli in scalars:
            need = milli
            for bucket in self._scalars[name]:
                if bucket.amount <= 0 or (unreserved and bucket.key.reserved):
                    continue
                use = min(bucket.amount, need)
                bucket.amount -= use
                if not bucket.key.reserved:
                    self._free[name] -= use
                out.append(bucket.key.to_proto(use))
                need -= use
                if need == 0:
                    break
            self._totals[name] -= milli
        used: list[int] = []
        per_key: dict[ResourceKey, list[tuple[int, int]]] = {}
        for port in fixed_ports:
            for pb in self._ports:
                if rng.contains(pb.ranges, ((port, port),)):
                    pb.ranges = rng.difference(pb.ranges, ((port, port),))
                    per_key.setdefault(pb.key, []).append((port, port))
                    used.append(port)
                    break
        need = dynamic_ports
        for pb in self._ports:
            if need == 0:
                break
            available = rng.count(pb.ranges)
            if available == 0:
                continue
            taken, pb.ranges = rng.take_first(pb.ranges, min(need, available))
            per_key.setdefault(pb.key, []).extend((p, p) for p in taken)
            used.extend(taken)
            need -= len(taken)
        self._port_count -= len(used)
        for key, items in per_key.items():
            out.append(key.to_proto(rng.coalesce(items)))
        return out, used

    def remaining(self) -> Resources:
        """What is left of the usable resources (for logs and tests)."""
        items: dict[ResourceKey, int | rng.RangeSet | frozenset[str]] = {}
        for buckets in self._scalars.values():
            for bucket in buckets:
                items[bucket.key] = bucket.amount
        for pb in self._ports:
            items[pb.key] = pb.ranges
        return Resources(items)


@dataclass(slots=True)
class PendingGroup:
    """The waiting instances (by serial number) of one task type."""

    spec: TaskSpec
    scalars: tuple[tuple[str, int], ...]
    serials: list[int] = field(default_factory=list)
    #: How many times each serial is queued in ``serials`` (membership without scanning the heap).
    queued: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for serial in self.serials:
            self.queued[serial] = self.queued.get(serial, 0) + 1

    def push(self, serial: int) -> None:
        """Queue an instance; the lowest serial number launches first."""
        heapq.heappush(self.serials, serial)
        self.queued[serial] = self.queued.get(serial, 0) + 1

    def pop(self) -> int:
        """Take the next instance."""
        serial = heapq.heappop(self.serials)
        self._unqueue(serial)
        return serial

    def remove(self, serial: int) -> bool:
        """Drop a queued instance; True when it was queued."""
        if serial not in self.queued:
            return False
        self.serials.remove(serial)
        heapq.heapify(self.serials)
        self._unqueue(serial)
        return True

    def _unqueue(self, serial: int) -> None:
        left = self.queued[serial] - 1
        if left:
            self.queued[serial] = left
        else:
            del self.queued[serial]


class PendingQueue:
    """Pending instances of every task type, visited in priority order."""

    __slots__ = ("_groups", "_order")

    def __init__(self, specs: Iterable[TaskSpec] = ()) -> None:
        self._groups: dict[str, PendingGroup] = {}
        self._order: list[PendingGroup] = []
        for spec in specs:
            self.add_type(spec)

    def add_type(self, spec: TaskSpec) -> PendingGroup:
        """Register (or replace the spec of) a task type."""
        group = self._groups.get(spec.name)
        if group is None:
            group = PendingGroup(spec, spec.demand.scalars_milli())
            self._groups[spec.name] = group
        else:
            group.spec = spec
            group.scalars = spec.demand.scalars_milli()
        self._order = sorted(self._groups.values(), key=lambda g: (g.spec.priority, g.spec.name))
        return group

    def group(self, type_name: str) -> PendingGroup:
        """The group of a type (``KeyError`` if unknown)."""
        return self._groups[type_name]

    def push(self, type_name: str, serial: int) -> None:
        """Queue an instance of a registered type."""
        self._groups[type_name].push(serial)

    def remove(self, type_name: str, serial: int) -> bool:
        """Unqueue an instance; True if it was queued."""
        group = self._groups.get(type_name)
        return group is not None and group.remove(serial)

    def __contains__(self, item: tuple[str, int]) -> bool:
        group = self._groups.get(item[0])
        return group is not None and item[1] in group.queued

    def __len__(self) -> int:
        return sum(len(g.serials) for g in self._order)

    def __bool__(self) -> bool:
        # A loop, not any() over a generator: asked after every status update.
        for group in self._order:  # noqa: SIM110
            if group.serials:
                return True
        return False

    def groups(self) -> list[PendingGroup]:
        """Groups in launch order (priority, then type name)."""
        return self._order

    def items(self) -> list[tuple[str, int]]:
        """Every queued ``(type, serial)`` in launch order."""
        return [(g.spec.name, s) for g in self._order for s in sorted(g.serials)]


@dataclass(slots=True)
class Launch:
    """One instance placed on an offer.

    For a pod, ``executor`` and ``group`` are what ``LAUNCH_GROUP`` sends (the default
    executor and one ``TaskInfo`` per container) and ``task_info`` only names the pod
    instance (its task ID, which is also the executor's ID); ``ports`` are all its containers'.
    """

    spec: TaskSpec
    serial: int
    task_info: mesos_pb2.TaskInfo
    offer: mesos_pb2.Offer
    ports: list[int]
    executor: mesos_pb2.ExecutorInfo | None = None
    group: tuple[mesos_pb2.TaskInfo, ...] = ()

    @property
    def task_id(self) -> str:
        """The new task's ID."""
        return self.task_info.task_id.value


@dataclass(slots=True)
class MatchResult:
    """What to ACCEPT (launches per offer) and what to DECLINE."""

    launches: dict[str, list[Launch]] = field(default_factory=dict)
    unused: list[mesos_pb2.Offer] = field(default_factory=list)

    def all_launches(self) -> list[Launch]:
        """Every launch, in placement order."""
        return [launch for launches in self.launches.values() for launch in launches]


def match_offers(
    offers: Iterable[mesos_pb2.Offer],
    pending: PendingQueue,
    *,
    framework_name: str,
    roles: Sequence[str] = ("*",),
    serial_numbered: bool = True,
    templates: dict[str, bytes] | None = None,
    placed: Mapping[str, Iterable[Placement | None]] | None = None,
) -> MatchResult:
    """Place pending instances on offers, removing placed ones from ``pending``.

    Each offer is filled greedily in priority order. ``templates`` caches each
    type's serialized ``TaskInfo`` template between calls. ``placed`` gives,
    per constrained type, the placement values (`offer_values`; ``None`` when
    unknown) of each of its instances already running or launching.
    """
    cache = templates if templates is not None else {}
    result = MatchResult()
    trackers: dict[str, ConstraintTracker] = {}
    for group in pending.groups():
        if group.serials and group.spec.constraints:
            before = placed.get(group.spec.name, ()) if placed is not None else ()
            trackers[group.spec.name] = ConstraintTracker.of(group.spec.constraints, before)
    for offer in offers:
        if not pending:
            result.unused.append(offer)
            continue
        pool = OfferPool(offer, roles)
        host = offer_ip(offer)
        values = offer_values(offer) if trackers else None
        launched: list[Launch] = []
        for group in pending.groups():
            if not group.serials:
                continue
            res = group.spec.resources
            tracker = trackers.get(group.spec.name) if trackers else None
            fresh = group.spec.reserve  # a new reservation is made of unreserved resources
            while group.serials and pool.fits(
                group.scalars, res.dynamic_ports, res.fixed_ports, unreserved=fresh
            ):
                if tracker is not None:
                    assert values is not None
                    if not tracker.allows(values):
                        break
                    tracker.add(values)
                if group.spec.pod is not None:
                    launched.append(
                        _place_pod(
                            group.spec,
                            group.pop(),
                            offer,
                            pool,
                            framework_name=framework_name,
                            serial_numbered=serial_numbered,
                        )
                    )
                    continue
                resources, ports = pool.take(
                    group.scalars, res.dynamic_ports, res.fixed_ports, unreserved=fresh
                )
                serial = group.pop()
                info = build_task_info(
                    group.spec,
                    serial,
                    offer,
                    resources,
                    ports,
                    framework_name=framework_name,
                    serial_numbered=serial_numbered,
                    template=cache,
                    host=host,
                )
                launched.append(Launch(group.spec, serial, info, offer, ports))
        if launched:
            result.launches[offer.id.value] = launched
        else:
            result.unused.append(offer)
    return result


def container_task_id(pod_task_id: str, container: str) -> str:
    """The Mesos task ID of one container of a pod: ``<pod task ID>.<container name>``."""
    return f"{pod_task_id}.{container}"


def _merge_ports(resources: list[mesos_pb2.Resource]) -> list[mesos_pb2.Resource]:
    """One ``ports`` resource per identity (a container's fixed and dynamic ports are taken apart)."""
    out: list[mesos_pb2.Resource] = []
    by_identity: dict[bytes, mesos_pb2.Resource] = {}
    for res in resources:
        if res.name != "ports" or res.type != mesos_pb2.Value.RANGES:
            out.append(res)
            continue
        probe = mesos_pb2.Resource()
        probe.CopyFrom(res)
        probe.ClearField("ranges")
        key = probe.SerializeToString(deterministic=True)
        into = by_identity.get(key)
        if into is None:
            by_identity[key] = res
            out.append(res)
            continue
        spans = [(r.begin, r.end) for r in into.ranges.range] + [(r.begin, r.end) for r in res.ranges.range]
        del into.ranges.range[:]
        for begin, end in rng.coalesce(spans):
            into.ranges.range.add(begin=begin, end=end)
    return out


def _place_pod(
    spec: TaskSpec,
    serial: int,
    offer: mesos_pb2.Offer,
    pool: OfferPool,
    *,
    framework_name: str,
    serial_numbered: bool,
) -> Launch:
    """Take a pod's executor and container resources from the pool (after `fits()` said yes)."""
    pod = spec.pod
    assert pod is not None
    executor_resources, _ = pool.take(pod.executor_resources.scalars_milli(), 0, ())
    # Every container's fixed ports first, so no dynamic pick takes another container's fixed port.
    fixed: list[tuple[list[mesos_pb2.Resource], list[int]]] = [
        pool.take((), 0, c.resources.fixed_ports) for c in pod.containers
    ]
    parts: list[tuple[ContainerSpec, list[mesos_pb2.Resource], list[int]]] = []
    all_ports: list[int] = []
    for container, (fixed_res, fixed_ports) in zip(pod.containers, fixed, strict=True):
        res = container.resources
        taken, dynamic = pool.take(res.scalars_milli(), res.dynamic_ports, ())
        ports = fixed_ports + dynamic
        parts.append((container, _merge_ports(taken + fixed_res), ports))
        all_ports.extend(ports)
    task_id = spec.new_task_id(framework_name, serial)
    executor, infos = build_pod(
        spec,
        serial,
        offer,
        executor_resources,
        parts,
        task_id=task_id,
        serial_numbered=serial_numbered,
    )
    identity = mesos_pb2.TaskInfo()
    identity.name = spec.instance_name(serial).replace("/", "_")
    identity.task_id.value = task_id
    identity.agent_id.CopyFrom(offer.agent_id)
    return Launch(spec, serial, identity, offer, all_ports, executor=executor, group=tuple(infos))


def build_pod(
    spec: TaskSpec,
    serial: int,
    offer: mesos_pb2.Offer,
    executor_resources: list[mesos_pb2.Resource],
    parts: Sequence[tuple[ContainerSpec, list[mesos_pb2.Resource], list[int]]],
    *,
    task_id: str,
    serial_numbered: bool = True,
) -> tuple[mesos_pb2.ExecutorInfo, list[mesos_pb2.TaskInfo]]:
    """The default executor and the container ``TaskInfo`` s of one pod instance.

    The executor's ID is the pod's task ID; each container is a task
    ``<pod task ID>.<container>`` whose command gets the pod's and its own environment,
    ``PORT0..n`` (its own host ports), ``HOST`` and, with serial numbering,
    ``TASK_<TYPE>_SERIAL_NUMBER``.
    """
    executor = mesos_pb2.ExecutorInfo(type=mesos_pb2.ExecutorInfo.DEFAULT)
    executor.executor_id.value = task_id
    executor.resources.extend(executor_resources)
    instance = spec.instance_name(serial).replace("/", "_")
    infos = []
    for container, resources, ports in parts:
        info = mesos_pb2.TaskInfo()
        info.name = f"{instance}.{container.name}" if serial_numbered else f"{spec.name}.{container.name}"
        info.task_id.value = container_task_id(task_id, container.name)
        info.agent_id.CopyFrom(offer.agent_id)
        info.resources.extend(resources)
        if container.command is not None:
            info.command.CopyFrom(container.command)
        if container.container is not None:
            info.container.CopyFrom(container.container)
            if container.command is None:
                info.command.shell = False  # the image's entrypoint
        variables = info.command.environment.variables
        for key, value in (*spec.environment, *container.environment):
            variables.add(name=key, value=value)
        for index, port in enumerate(ports):
            variables.add(name=f"PORT{index}", value=str(port))
        if ports:
            variables.add(name="PORT", value=str(ports[0]))
            variables.add(name="PORTS", value=",".join(map(str, ports)))
        variables.add(name="HOST", value=offer_ip(offer))
        if serial_numbered:
            variables.add(name=serial_env_name(spec.name), value=str(serial))
        if container.health_check is not None:
            hc = info.health_check
            hc.CopyFrom(container.health_check)
            if ports and hc.type == mesos_pb2.HealthCheck.HTTP and not hc.http.port:
                hc.http.port = ports[0]
            elif ports and hc.type == mesos_pb2.HealthCheck.TCP and not hc.tcp.port:
                hc.tcp.port = ports[0]
        for key, value in spec.labels:
            info.labels.labels.add(key=key, value=value)
        if spec.kill_grace_period is not None:
            info.kill_policy.grace_period.nanoseconds = int(spec.kill_grace_period * 1e9)
        infos.append(info)
    return executor, infos


def offer_ip(offer: mesos_pb2.Offer) -> str:
    """The agent's IP from the offer (``url.address.ip``), else its hostname."""
    if offer.HasField("url") and offer.url.address.ip:
        return offer.url.address.ip
    return offer.hostname


def build_task_info(
    spec: TaskSpec,
    serial: int,
    offer: mesos_pb2.Offer,
    resources: list[mesos_pb2.Resource],
    ports: list[int],
    *,
    framework_name: str,
    serial_numbered: bool = True,
    template: dict[str, bytes] | None = None,
    task_id: str | None = None,
    host: str | None = None,
) -> mesos_pb2.TaskInfo:
    """The ``TaskInfo`` of one instance on one offer.

    Adds ``PORT0..n`` (host ports), ``HOST`` (agent IP) and, with serial
    numbering, ``TASK_<TYPE>_SERIAL_NUMBER`` to the command environment
    (command and container tasks alike), sets Docker or network port
    mappings, and fills an HTTP/TCP health check's missing port. ``host`` is the
    offer's `offer_ip` when the caller has it already.
    """
    cache = template if template is not None else {}
    raw = cache.get(spec.name)
    if raw is None:
        raw = spec.template().SerializePartialToString()
        cache[spec.name] = raw
    info = mesos_pb2.TaskInfo()
    info.MergeFromString(raw)
    instance = spec.instance_name(serial)
    info.name = instance.replace("/", "_") if serial_numbered else spec.name.replace("/", "_")
    info.task_id.value = task_id or spec.new_task_id(framework_name, serial)
    info.agent_id.CopyFrom(offer.agent_id)
    info.resources.extend(resources)

    env_target: mesos_pb2.CommandInfo
    if info.HasField("command") or not info.HasField("executor"):
        env_target = info.command
    else:
        env_target = info.executor.command
    variables = env_target.environment.variables
    for key, value in spec.environment:
        variables.add(name=key, value=value)
    for index, port in enumerate(ports):
        variables.add(name=f"PORT{index}", value=str(port))
    if ports:
        variables.add(name="PORT", value=str(ports[0]))
        variables.add(name="PORTS", value=",".join(map(str, ports)))
    variables.add(name="HOST", value=host if host is not None else offer_ip(offer))
    if serial_numbered:
        variables.add(name=serial_env_name(spec.name), value=str(serial))

    if spec.port_mappings:
        container = info.container
        if container.type == _DOCKER:
            del container.docker.port_mappings[:]
            for host_port, pm in zip(ports, spec.port_mappings, strict=True):
                container.docker.port_mappings.add(
                    host_port=host_port, container_port=pm.container_port, protocol=pm.protocol
                )
        elif container.network_infos:
            net = container.network_infos[0]
            del net.port_mappings[:]
            for host_port, pm in zip(ports, spec.port_mappings, strict=True):
                net.port_mappings.add(
                    host_port=host_port, container_port=pm.container_port, protocol=pm.protocol
                )

    if info.HasField("health_check"):
        hc = info.health_check
        default_port = (
            spec.port_mappings[0].container_port if spec.port_mappings else (ports[0] if ports else 0)
        )
        if hc.type == mesos_pb2.HealthCheck.HTTP and not hc.http.port and default_port:
            hc.http.port = default_port
        elif hc.type == mesos_pb2.HealthCheck.TCP and not hc.tcp.port and default_port:
            hc.tcp.port = default_port
    if info.HasField("executor") and not info.executor.executor_id.value:
        info.executor.executor_id.value = info.task_id.value
    return info
