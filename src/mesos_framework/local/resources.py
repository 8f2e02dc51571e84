"""Resource arithmetic for the local cluster (scalars, ranges, sets).

Scalars use Mesos's fixed-point rule (three decimal digits). A resource is
identified by its name, type, reservation (role) and allocation role; two
resources with the same identity merge. A shared resource (a shared persistent
volume, ``Resource.shared``) does not merge: like Mesos's ``Resources`` a bag
counts its copies (one per task using it), and subtraction takes copies away.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mesos_framework.errors import ConfigurationError
from mesos_framework.local._limits import fixed_point
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["Key", "Resources", "describe", "parse_resources", "shared_problem"]

SCALAR = mesos_pb2.Value.SCALAR
RANGES = mesos_pb2.Value.RANGES
SET = mesos_pb2.Value.SET

Ranges = tuple[tuple[int, int], ...]
Value = int | Ranges | frozenset[str]
Reservation = tuple[int, str, str, tuple[tuple[str, str], ...]]
"""One ``ReservationInfo``: type (STATIC/DYNAMIC), role, principal ("" = none), labels."""
Disk = tuple[str, str, str, int]
"""A persistent volume's ``DiskInfo``: persistence id, principal ("" = none), container path, mode."""

STATIC = mesos_pb2.Resource.ReservationInfo.STATIC
DYNAMIC = mesos_pb2.Resource.ReservationInfo.DYNAMIC


@dataclass(frozen=True, order=True)
class Key:
    """The identity of a resource: name, type, reservation role, allocation role, and for
    dynamically reserved resources their reservation stack, for persistent volumes their disk."""

    name: str
    type: int
    role: str = "*"
    allocation: str = ""
    reservations: tuple[Reservation, ...] = ()
    """The whole stack when any reservation is dynamic; () for unreserved and static ones."""
    disk: Disk | tuple[()] = ()
    shared: bool = False
    """``Resource.shared`` is set (only persistent volumes may be shared)."""

    @property
    def dynamic(self) -> bool:
        """Dynamically reserved (the last reservation is DYNAMIC)."""
        return bool(self.reservations) and self.reservations[-1][0] == DYNAMIC

    def stack(self) -> tuple[Reservation, ...]:
        """The reservation stack, static reservations included."""
        if self.reservations:
            return self.reservations
        return ((STATIC, self.role, "", ()),) if self.role != "*" else ()

    def with_stack(self, stack: tuple[Reservation, ...]) -> Key:
        """The same resource with another reservation stack."""
        role = stack[-1][1] if stack else "*"
        dynamic = any(r[0] == DYNAMIC for r in stack)
        return dataclasses.replace(self, role=role, reservations=stack if dynamic else ())


def _milli(value: float) -> int:
    return fixed_point(value)


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for begin, end in sorted(ranges):
        if out and begin <= out[-1][1] + 1:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return tuple(out)


def _ranges_sub(left: Ranges, right: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for begin, end in left:
        pieces = [(begin, end)]
        for rb, re_ in right:
            nxt: list[tuple[int, int]] = []
            for pb, pe in pieces:
                if re_ < pb or rb > pe:
                    nxt.append((pb, pe))
                    continue
                if pb < rb:
                    nxt.append((pb, rb - 1))
                if re_ < pe:
                    nxt.append((re_ + 1, pe))
            pieces = nxt
        out.extend(pieces)
    return _merge(out)


def _ranges_contain(left: Ranges, right: Ranges) -> bool:
    return all(any(lb <= rb and re_ <= le for lb, le in left) for rb, re_ in right)


@dataclass
class Resources:
    """A bag of resources keyed by `Key`."""

    items: dict[Key, Value] = field(default_factory=dict)
    counts: dict[Key, int] = field(default_factory=dict)
    """Copies of each shared resource held when more than one (absent: one)."""

    # -- construction ------------------------------------------------------
    @classmethod
    def from_protos(cls, protos: Iterable[mesos_pb2.Resource], allocation: str | None = None) -> Resources:
        """Collect ``Resource`` messages; ``allocation`` fills a missing allocation role."""
        res = cls()
        for r in protos:
            res.add_proto(r, allocation)
        return res

    def add_proto(self, r: mesos_pb2.Resource, allocation: str | None = None) -> None:
        """Add one ``Resource`` message (either reservation format)."""
        stack: tuple[Reservation, ...]
        if r.reservations:
            stack = tuple(
                (
                    ri.type if ri.HasField("type") else STATIC,
                    ri.role,
                    ri.principal,
                    tuple((label.key, label.value) for label in ri.labels.labels),
                )
                for ri in r.reservations
            )
        elif r.HasField("role") and r.role != "*":
            # the pre-refinement format: ``role`` plus ``reservation`` for a dynamic one
            if r.HasField("reservation"):
                ri = r.reservation
                labels = tuple((label.key, label.value) for label in ri.labels.labels)
                stack = ((DYNAMIC, r.role, ri.principal, labels),)
            else:
                stack = ((STATIC, r.role, "", ()),)
        else:
            stack = ()
        alloc = r.allocation_info.role if r.HasField("allocation_info") else (allocation or "")
        disk: Disk | tuple[()] = ()
        if r.HasField("disk") and r.disk.HasField("persistence"):
            disk = (
                r.disk.persistence.id,
                r.disk.persistence.principal,
                r.disk.volume.container_path,
                r.disk.volume.mode or mesos_pb2.Volume.RW,
            )
        key = Key(r.name, r.type, allocation=alloc, disk=disk, shared=r.HasField("shared")).with_stack(stack)
        value: Value
        if r.type == SCALAR:
            value = _milli(r.scalar.value)
        elif r.type == RANGES:
            value = _merge((rg.begin, rg.end) for rg in r.ranges.range)
        elif r.type == SET:
            value = frozenset(r.set.item)
        else:
            return
        self._add(key, value)

    def copy(self) -> Resources:
        """A shallow copy."""
        return Resources(dict(self.items), dict(self.counts))

    # -- arithmetic --------------------------------------------------------
    def count(self, key: Key) -> int:
        """Copies of a resource held: 0 when absent, 1 for a resource that is not shared."""
        if key not in self.items:
            return 0
        return self.counts.get(key, 1)

    def _set_count(self, key: Key, copies: int) -> None:
        if copies <= 0:
            self.items.pop(key, None)
            self.counts.pop(key, None)
        elif copies == 1:
            self.counts.pop(key, None)
        else:
            self.counts[key] = copies

    def _add(self, key: Key, value: Value, copies: int = 1) -> None:
        old = self.items.get(key)
        if old is None:
            self.items[key] = value
            if key.shared:
                self._set_count(key, copies)
        elif key.shared:
            self._set_count(key, self.count(key) + copies)
        elif isinstance(old, int) and isinstance(value, int):
            self.items[key] = old + value
        elif isinstance(old, tuple) and isinstance(value, tuple):
            self.items[key] = _merge(old + value)
        elif isinstance(old, frozenset) and isinstance(value, frozenset):
            self.items[key] = old | value
        self._prune(key)

    def _prune(self, key: Key) -> None:
        v = self.items.get(key)
        if v is not None and not v:
            del self.items[key]

    def __iadd__(self, other: Resources) -> Resources:
        for k, v in other.items.items():
            self._add(k, v, other.count(k))
        return self

    def __add__(self, other: Resources) -> Resources:
        res = self.copy()
        res += other
        return res

    def __isub__(self, other: Resources) -> Resources:
        for k, v in other.items.items():
            old = self.items.get(k)
            if old is None:
                continue
            if k.shared:
                self._set_count(k, self.count(k) - other.count(k))
            elif isinstance(old, int) and isinstance(v, int):
                self.items[k] = max(0, old - v)
            elif isinstance(old, tuple) and isinstance(v, tuple):
                self.items[k] = _ranges_sub(old, v)
            elif isinstance(old, frozenset) and isinstance(v, frozenset):
                self.items[k] = old - v
            self._prune(k)
        return self

    def __sub__(self, other: Resources) -> Resources:
        res = self.copy()
        res -= other
        return res

    def contains(self, other: Resources) -> bool:
        """Whether every resource of ``other`` is inside this bag."""
        for k, v in other.items.items():
            mine = self.items.get(k)
            if mine is None:
                return False
            if k.shared:
                if mine != v or self.count(k) < other.count(k):
                    return False
            elif isinstance(mine, int) and isinstance(v, int):
                if v > mine:
                    return False
            elif isinstance(mine, tuple) and isinstance(v, tuple):
                if not _ranges_contain(mine, v):
                    return False
            elif isinstance(mine, frozenset) and isinstance(v, frozenset):
                if not v <= mine:
                    return False
            else:
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resources) and self.items == other.items and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]

    # -- views -------------------------------------------------------------
    def scalar(self, name: str) -> float:
        """Total of a scalar resource over all roles."""
        return sum(v for k, v in self.items.items() if k.name == name and isinstance(v, int)) / 1000

    def allocated(self, role: str) -> Resources:
        """The same resources with their allocation role set to ``role``."""
        res = Resources()
        for k, v in self.items.items():
            res._add(dataclasses.replace(k, allocation=role), v, self.count(k))
        return res

    def shared(self) -> Resources:
        """The shared resources (with their copies)."""
        return self._filter(lambda k: k.shared)

    def non_shared(self) -> Resources:
        """The resources that are not shared."""
        return self._filter(lambda k: not k.shared)

    def _filter(self, keep: Callable[[Key], bool]) -> Resources:
        res = Resources()
        for k, v in self.items.items():
            if keep(k):
                res._add(k, v, self.count(k))
        return res

    def unallocated(self) -> Resources:
        """The same resources without allocation roles."""
        return self.allocated("")

    def allocation_roles(self) -> set[str]:
        """The allocation roles used (empty string = none)."""
        return {k.allocation for k in self.items}

    def reservation_roles(self) -> set[str]:
        """The reservation roles used (``*`` = unreserved)."""
        return {k.role for k in self.items}

    def for_role(self, role: str) -> Resources:
        """What a framework role may use: unreserved plus reserved to ``role`` (or its ancestors)."""
        return self._filter(lambda k: k.role in {"*", role} or role.startswith(k.role + "/"))

    def has_allocatable(self) -> bool:
        """Mesos offers only bags with some cpus or memory (min 0.01 cpus / 32 MB)."""
        return self.scalar("cpus") >= 0.01 or self.scalar("mem") >= 32

    def to_protos(self, *, refinement: bool = False, allocation: bool = True) -> list[mesos_pb2.Resource]:
        """``Resource`` messages in the old (``role``) or refinement (``reservations``) format."""
        out: list[mesos_pb2.Resource] = []
        for k in sorted(self.items, key=_order):
            v = self.items[k]
            r = mesos_pb2.Resource(name=k.name, type=k.type)
            if isinstance(v, int):
                r.scalar.value = v / 1000
            elif isinstance(v, tuple):
                r.ranges.SetInParent()
                for b, e in v:
                    r.ranges.range.add(begin=b, end=e)
            else:
                r.set.item.extend(sorted(v))
            if refinement:
                for kind, role, principal, labels in k.stack():
                    ri = r.reservations.add(type=kind, role=role)
                    if principal:
                        ri.principal = principal
                    for key, value in labels:
                        ri.labels.labels.add(key=key, value=value)
            else:
                r.role = k.role
                if k.dynamic:
                    _kind, _role, principal, labels = k.reservations[-1]
                    r.reservation.SetInParent()
                    if principal:
                        r.reservation.principal = principal
                    for key, value in labels:
                        r.reservation.labels.labels.add(key=key, value=value)
            if k.disk:
                pid, principal, container_path, mode = k.disk
                r.disk.persistence.id = pid
                if principal:
                    r.disk.persistence.principal = principal
                r.disk.volume.container_path = container_path
                r.disk.volume.mode = mode
            if k.shared:
                r.shared.SetInParent()
            if allocation and k.allocation:
                r.allocation_info.role = k.allocation
            out.append(r)
        return out

    def summary(self) -> dict[str, object]:
        """The ``{"cpus": 1.0, "ports": "[31000-32000]"}`` form of the state endpoints."""
        out: dict[str, object] = {"disk": 0.0, "mem": 0.0, "gpus": 0.0, "cpus": 0.0}
        ranges: dict[str, list[tuple[int, int]]] = {}
        for k, v in self.items.items():
            if isinstance(v, int):
                out[k.name] = float(out.get(k.name, 0.0)) + v / 1000  # type: ignore[arg-type]
            elif isinstance(v, tuple):
                ranges.setdefault(k.name, []).extend(v)
            else:
                out[k.name] = "{" + ",".join(sorted(v)) + "}"
        for name, rs in ranges.items():
            out[name] = "[" + ", ".join(f"{b}-{e}" for b, e in _merge(rs)) + "]"
        return out

    def __str__(self) -> str:
        parts = []
        for k in sorted(self.items, key=_order):
            v = self.items[k]
            role = (
                ""
                if k.role == "*" and not k.allocation
                else f"({k.role}{', ' + k.allocation if k.allocation else ''})"
            )
            if isinstance(v, int):
                text = f"{v / 1000:g}"
            elif isinstance(v, tuple):
                text = "[" + ", ".join(f"{b}-{e}" for b, e in v) + "]"
            else:
                text = "{" + ", ".join(sorted(v)) + "}"
            if k.shared:
                parts.append(f"{k.name}{role}<SHARED>:{text}<{self.count(k)}>")
            else:
                parts.append(f"{k.name}{role}:{text}")
        return "; ".join(parts)


_ORDER = {"cpus": 0, "mem": 1, "disk": 2, "ports": 3}


def _order(k: Key) -> tuple[int, str, str, str]:
    return (_ORDER.get(k.name, 9), k.name, k.role, k.allocation)


_ITEM = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\(([^)]*)\))?\s*:\s*(.+?)\s*$")


def parse_resources(text: str) -> Resources:
    """Parse the agent ``--resources`` text form: ``cpus:4;mem:4096;ports:[31000-32000]``.

    ``name(role):value`` reserves statically for ``role``; sets are ``{a,b}``.
    """
    res = Resources()
    for part in filter(None, (p.strip() for p in text.split(";"))):
        m = _ITEM.match(part)
        if not m:
            raise ConfigurationError(f"cannot parse resource {part!r}", option="resources")
        name, role, value = m.group(1), (m.group(2) or "*").strip() or "*", m.group(3)
        try:
            if value.startswith("["):
                rs = []
                for piece in value.strip("[]").split(","):
                    if piece.strip():
                        b, _, e = piece.strip().partition("-")
                        rs.append((int(b), int(e or b)))
                res._add(Key(name, RANGES, role), _merge(rs))
            elif value.startswith("{"):
                items = frozenset(i.strip() for i in value.strip("{}").split(",") if i.strip())
                res._add(Key(name, SET, role), items)
            else:
                amount = float(value)
                if amount < 0:
                    raise ValueError("negative")
                res._add(Key(name, SCALAR, role), _milli(amount))
        except ValueError:
            raise ConfigurationError(f"bad value in resource {part!r}", option="resources") from None
    return res


def describe(res: Resources, *, copies: bool = True) -> str:
    """Resources as Mesos prints them: ``cpus(allocated: r)(reservations: [(DYNAMIC,r,p)]):1``;
    a shared one ends with its copies (``<SHARED>:8<2>``) unless ``copies`` is false (how
    Mesos prints one ``Resource`` message)."""
    if not res:
        return "{}"
    parts = []
    for key, value in res.items.items():
        text = key.name
        if key.allocation:
            text += f"(allocated: {key.allocation})"
        stack = key.stack()
        if stack:
            shown = []
            for kind, role, principal, labels in stack:
                item = f"{'DYNAMIC' if kind == DYNAMIC else 'STATIC'},{role}"
                if principal:
                    item += f",{principal}"
                if labels:
                    item += ",{" + ", ".join(f"{k}: {v}" for k, v in labels) + "}"
                shown.append(f"({item})")
            text += "(reservations: [" + ",".join(shown) + "])"
        if key.disk:
            text += f"[{key.disk[0]}:{key.disk[2]}]"
        if key.shared:
            text += "<SHARED>"
        if isinstance(value, int):
            text += f":{value / 1000:g}"
        elif isinstance(value, tuple):
            text += ":[" + ", ".join(f"{b}-{e}" for b, e in value) + "]"
        else:
            text += ":{" + ",".join(sorted(value)) + "}"
        if key.shared and copies:
            text += f"<{res.count(key)}>"
        parts.append(text)
    return "; ".join(parts)


def shared_problem(resource: mesos_pb2.Resource) -> str | None:
    """``Resources::validate``'s check of ``shared``: only persistent volumes may be shared."""
    if not resource.HasField("shared"):
        return None
    if resource.name != "disk":
        why = f"Resource {resource.name} cannot be shared"
    elif not (resource.HasField("disk") and resource.disk.HasField("persistence")):
        why = "Only persistent volumes can be shared"
    else:
        return None
    return f"Resource '{describe(Resources.from_protos([resource]), copies=False)}' is invalid: {why}"
