"""The `Resources` value type: Mesos resources with exact arithmetic.

Resources are kept per *identity*: the resource name plus everything else
that makes two Mesos resources different (allocation role, reservations,
disk info, revocability, provider). Amounts of the same identity add up;
different identities stay apart, so reserved and unreserved CPUs, or CPUs
allocated to two roles, are never mixed.

Scalars are exact: like Mesos, they are fixed point with three decimals and
stored as integer thousandths. Ranges stay ranges (see
`mesos_framework.tasks.ranges`); nothing is expanded per port.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from mesos_framework.errors import ResourceError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import ranges as rng

__all__ = ["ResourceKey", "Resources", "TaskResources", "from_milli", "to_milli"]

_SCALAR = mesos_pb2.Value.SCALAR
_RANGES = mesos_pb2.Value.RANGES
_SET = mesos_pb2.Value.SET

Amount = int | rng.RangeSet | frozenset[str]


def to_milli(value: float) -> int:
    """A scalar amount as integer thousandths (Mesos' fixed-point precision)."""
    return round(value * 1000)


def from_milli(value: int) -> float:
    """Integer thousandths back to a float amount."""
    return value / 1000


@dataclass(frozen=True, slots=True)
class ResourceKey:
    """The identity of a resource apart from its amount.

    ``allocation_role`` is ``Resource.allocation_info.role`` (``None`` when
    unset); ``reservation_role`` is the role of the innermost reservation, or
    ``"*"`` for an unreserved resource. ``meta`` is the serialized
    ``Resource`` without name, type and value: it keeps every other field
    (reservations, disk, revocable, shared, provider id) exactly, so a key
    converts back to the very same Mesos resource.
    """

    name: str
    kind: int
    allocation_role: str | None
    reservation_role: str
    meta: bytes

    @property
    def reserved(self) -> bool:
        """True for a statically or dynamically reserved resource."""
        return self.reservation_role != "*"

    @staticmethod
    def of(resource: mesos_pb2.Resource) -> ResourceKey:
        """The key of a Mesos ``Resource`` message."""
        meta = mesos_pb2.Resource()
        meta.CopyFrom(resource)
        meta.ClearField("name")
        meta.ClearField("type")
        meta.ClearField("scalar")
        meta.ClearField("ranges")
        meta.ClearField("set")
        alloc = resource.allocation_info.role if resource.HasField("allocation_info") else None
        if resource.reservations:
            res_role = resource.reservations[-1].role
        elif resource.HasField("role") and resource.role not in ("", "*"):
            res_role = resource.role
        else:
            res_role = "*"
        return ResourceKey(
            resource.name, resource.type, alloc, res_role, meta.SerializePartialToString(deterministic=True)
        )

    @property
    def has_disk_source(self) -> bool:
        """True for a disk resource with a source or persistence (not plain root disk)."""
        if self.name != "disk" or not self.meta:
            return False
        meta = _meta(self.meta)
        return meta.HasField("disk") and (meta.disk.HasField("source") or meta.disk.HasField("persistence"))

    @property
    def revocable(self) -> bool:
        """True for a revocable resource."""
        if not self.meta:
            return False
        return _meta(self.meta).HasField("revocable")

    @property
    def shared(self) -> bool:
        """True for a shared resource."""
        if not self.meta:
            return False
        return _meta(self.meta).HasField("shared")

    def to_proto(self, amount: Amount) -> mesos_pb2.Resource:
        """A Mesos ``Resource`` with this identity and ``amount``."""
        msg = _meta(self.meta) if self.meta else mesos_pb2.Resource()
        msg.name = self.name
        msg.type = self.kind
        if self.kind == _SCALAR:
            assert isinstance(amount, int)
            msg.scalar.value = from_milli(amount)
        elif self.kind == _RANGES:
            assert isinstance(amount, tuple)
            for begin, end in amount:
                msg.ranges.range.add(begin=begin, end=end)
        else:
            assert isinstance(amount, frozenset)
            msg.set.item.extend(sorted(amount))
        return msg

    def with_allocation(self, role: str) -> ResourceKey:
        """The same identity, allocated to ``role``."""
        meta = _meta(self.meta) if self.meta else mesos_pb2.Resource()
        meta.allocation_info.role = role
        return ResourceKey(
            self.name,
            self.kind,
            role,
            self.reservation_role,
            meta.SerializePartialToString(deterministic=True),
        )


def _meta(raw: bytes) -> mesos_pb2.Resource:
    msg = mesos_pb2.Resource()
    msg.MergeFromString(raw)
    return msg


def _plain_key(name: str, kind: int) -> ResourceKey:
    return ResourceKey(name, kind, None, "*", b"")


def _is_empty(amount: Amount) -> bool:
    return not amount


def _add(kind: int, a: Amount, b: Amount) -> Amount:
    if kind == _SCALAR:
        assert isinstance(a, int) and isinstance(b, int)
        return a + b
    if kind == _RANGES:
        assert isinstance(a, tuple) and isinstance(b, tuple)
        return rng.union(a, b)
    assert isinstance(a, frozenset) and isinstance(b, frozenset)
    return a | b


def _contains(kind: int, a: Amount, b: Amount) -> bool:
    if kind == _SCALAR:
        assert isinstance(a, int) and isinstance(b, int)
        return a >= b
    if kind == _RANGES:
        assert isinstance(a, tuple) and isinstance(b, tuple)
        return rng.contains(a, b)
    assert isinstance(a, frozenset) and isinstance(b, frozenset)
    return b <= a


def _sub(kind: int, a: Amount, b: Amount) -> Amount:
    if kind == _SCALAR:
        assert isinstance(a, int) and isinstance(b, int)
        return a - b
    if kind == _RANGES:
        assert isinstance(a, tuple) and isinstance(b, tuple)
        return rng.difference(a, b)
    assert isinstance(a, frozenset) and isinstance(b, frozenset)
    return a - b


_TEXT_ITEM = re.compile(r"^\s*([A-Za-z_][\w.-]*)(?:\(([^)]*)\))?\s*:\s*(.+?)\s*$")


class Resources:
    """An immutable bag of Mesos resources with ``+``, ``-`` and ``contains``.

    Build one from Mesos messages (`from_protos()`), from the agent's
    text format (`parse()`, e.g. ``"cpus:4;mem:4096;ports:[31000-32000]"``)
    or from keyword amounts (`of()`). Subtracting more than is there
    raises `ResourceError`, so ``(a + b) - b == a`` always holds.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[ResourceKey, Amount] | None = None) -> None:
        self._items: dict[ResourceKey, Amount] = {k: v for k, v in (items or {}).items() if not _is_empty(v)}

    # -- construction ---------------------------------------------------
    @classmethod
    def from_protos(cls, resources: Iterable[mesos_pb2.Resource]) -> Resources:
        """Resources from Mesos ``Resource`` messages (e.g. ``offer.resources``)."""
        items: dict[ResourceKey, Amount] = {}
        for index, res in enumerate(resources):
            key = ResourceKey.of(res)
            amount: Amount
            if res.type == _SCALAR:
                amount = to_milli(res.scalar.value)
                if amount < 0:
                    raise ResourceError(
                        f"resources[{index}] ({res.name}): negative scalar {res.scalar.value}"
                    )
            elif res.type == _RANGES:
                amount = rng.coalesce((r.begin, r.end) for r in res.ranges.range)
            elif res.type == _SET:
                amount = frozenset(res.set.item)
            else:
                raise ResourceError(f"resources[{index}] ({res.name}): unsupported value type {res.type}")
            items[key] = _add(key.kind, items[key], amount) if key in items else amount
        return cls(items)

    @classmethod
    def parse(cls, text: str, *, allocation_role: str | None = None) -> Resources:
        """Parse the agent ``--resources`` text format.

        ``"cpus:2;mem:1024;ports:[31000-31005,32000-32000];cpus(web):1"``;
        a ``(role)`` suffix makes a static reservation for that role.
        """
        out = cls()
        for part in filter(None, (p.strip() for p in text.split(";"))):
            m = _TEXT_ITEM.match(part)
            if not m:
                raise ResourceError(f"cannot parse resource {part!r}")
            name, role, value = m.group(1), m.group(2), m.group(3)
            res = mesos_pb2.Resource(name=name)
            if role and role != "*":
                res.reservations.add(type=mesos_pb2.Resource.ReservationInfo.STATIC, role=role)
            if allocation_role is not None:
                res.allocation_info.role = allocation_role
            if value.startswith("["):
                res.type = _RANGES
                for chunk in filter(None, (c.strip() for c in value.strip("[]").split(","))):
                    begin, _, end = chunk.partition("-")
                    try:
                        res.ranges.range.add(begin=int(begin), end=int(end or begin))
                    except ValueError:
                        raise ResourceError(f"cannot parse range {chunk!r} of {name}") from None
            elif value.startswith("{"):
                res.type = _SET
                res.set.item.extend(filter(None, (s.strip() for s in value.strip("{}").split(","))))
            else:
                res.type = _SCALAR
                try:
                    res.scalar.value = float(value)
                except ValueError:
                    raise ResourceError(f"cannot parse amount {value!r} of {name}") from None
            out = out + cls.from_protos([res])
        return out

    @classmethod
    def of(cls, **amounts: float | Iterable[tuple[int, int]]) -> Resources:
        """Unreserved, unallocated resources: ``Resources.of(cpus=1, mem=128, ports=[(80, 80)])``."""
        items: dict[ResourceKey, Amount] = {}
        for name, value in amounts.items():
            if isinstance(value, int | float):
                items[_plain_key(name, _SCALAR)] = to_milli(value)
            else:
                items[_plain_key(name, _RANGES)] = rng.coalesce(value)
        return cls(items)

    # -- access -----------------------------------------------------------
    def items(self) -> Iterator[tuple[ResourceKey, Amount]]:
        """Every (identity, amount) pair."""
        return iter(self._items.items())

    def __iter__(self) -> Iterator[ResourceKey]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resources):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"Resources({self})"

    def __str__(self) -> str:
        parts = []
        for key, amount in sorted(self._items.items(), key=lambda kv: (kv[0].name, kv[0].reservation_role)):
            role = f"({key.reservation_role})" if key.reserved else ""
            alloc = f"[{key.allocation_role}]" if key.allocation_role else ""
            if isinstance(amount, int):
                text = f"{from_milli(amount):g}"
            elif isinstance(amount, tuple):
                text = "[" + ",".join(f"{b}-{e}" for b, e in amount) + "]"
            else:
                text = "{" + ",".join(sorted(amount)) + "}"
            parts.append(f"{key.name}{role}{alloc}:{text}")
        return ";".join(parts)

    def scalar(self, name: str) -> float:
        """The total amount of scalar ``name`` across all identities."""
        return from_milli(self.scalar_milli(name))

    def scalar_milli(self, name: str) -> int:
        """The total amount of scalar ``name`` in thousandths."""
        return sum(v for k, v in self._items.items() if k.name == name and isinstance(v, int))

    def ranges(self, name: str) -> rng.RangeSet:
        """The union of every range of ``name`` (e.g. all offered ports)."""
        out: rng.RangeSet = ()
        for key, value in self._items.items():
            if key.name == name and isinstance(value, tuple):
                out = rng.union(out, value)
        return out

    def get(self, key: ResourceKey) -> Amount | None:
        """The amount held for one identity."""
        return self._items.get(key)

    # -- arithmetic -------------------------------------------------------
    def __add__(self, other: Resources) -> Resources:
        items = dict(self._items)
        for key, amount in other._items.items():
            items[key] = _add(key.kind, items[key], amount) if key in items else amount
        return Resources(items)

    def contains(self, other: Resources) -> bool:
        """True when every identity of ``other`` is held here in at least that amount."""
        for key, amount in other._items.items():
            have = self._items.get(key)
            if have is None or not _contains(key.kind, have, amount):
                return False
        return True

    def __contains__(self, other: object) -> bool:
        return isinstance(other, Resources) and self.contains(other)

    def __sub__(self, other: Resources) -> Resources:
        if not self.contains(other):
            raise ResourceError(f"cannot subtract {other} from {self}: not contained")
        items = dict(self._items)
        for key, amount in other._items.items():
            items[key] = _sub(key.kind, items[key], amount)
        return Resources(items)

    # -- filters ------------------------------------------------------------
    def filter(self, predicate: Callable[[ResourceKey], bool]) -> Resources:
        """The identities for which ``predicate(key)`` is true."""
        return Resources({k: v for k, v in self._items.items() if predicate(k)})

    def allocated_to(self, role: str) -> Resources:
        """Resources whose ``allocation_info.role`` is ``role`` (MULTI_ROLE offers)."""
        return self.filter(lambda k: k.allocation_role == role)

    def reserved(self, role: str | None = None) -> Resources:
        """Reserved resources, optionally only those reserved for ``role``."""
        return self.filter(lambda k: k.reserved and (role is None or k.reservation_role == role))

    def unreserved(self) -> Resources:
        """Unreserved resources (role ``*``)."""
        return self.filter(lambda k: not k.reserved)

    def named(self, name: str) -> Resources:
        """The resources called ``name``."""
        return self.filter(lambda k: k.name == name)

    def usable_by(self, roles: Iterable[str]) -> Resources:
        """Resources a framework in ``roles`` may use for plain tasks.

        Keeps resources that are unreserved or reserved to one of the roles
        (or a parent role of one), whose allocation role (if any) is one of
        the roles, and that are not revocable, shared or special disks.
        """
        wanted = set(roles)

        def ok(key: ResourceKey) -> bool:
            if key.allocation_role is not None and key.allocation_role not in wanted:
                return False
            if key.reserved and not any(
                r == key.reservation_role or r.startswith(key.reservation_role + "/") for r in wanted
            ):
                return False
            return not (key.has_disk_source or key.revocable or key.shared)

        return self.filter(ok)

    def to_protos(self) -> list[mesos_pb2.Resource]:
        """Mesos ``Resource`` messages, one per identity."""
        return [key.to_proto(amount) for key, amount in self._items.items()]


@dataclass(frozen=True, slots=True)
class TaskResources:
    """What one instance needs. ``ports`` counts all host ports, ``fixed_ports`` included."""

    cpus: float
    mem: float
    disk: float = 0.0
    gpus: float = 0.0
    ports: int = 0
    fixed_ports: tuple[int, ...] = ()

    def scalars_milli(self) -> tuple[tuple[str, int], ...]:
        """The non-zero scalar demands in thousandths, e.g. ``(("cpus", 500), ("mem", 128000))``."""
        return tuple(
            (name, to_milli(v))
            for name, v in (("cpus", self.cpus), ("mem", self.mem), ("disk", self.disk), ("gpus", self.gpus))
            if v > 0
        )

    @property
    def dynamic_ports(self) -> int:
        """How many host ports are picked freely from the offer."""
        return self.ports - len(self.fixed_ports)

    def __add__(self, other: TaskResources) -> TaskResources:
        return TaskResources(
            cpus=self.cpus + other.cpus,
            mem=self.mem + other.mem,
            disk=self.disk + other.disk,
            gpus=self.gpus + other.gpus,
            ports=self.ports + other.ports,
            fixed_ports=self.fixed_ports + other.fixed_ports,
        )
