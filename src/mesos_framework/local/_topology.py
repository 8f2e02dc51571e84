"""What makes each agent of a local cluster distinct: port ranges, hostname, fault domain."""

from __future__ import annotations

import re
from typing import Any

from mesos_framework.errors import ConfigurationError
from mesos_framework.local.resources import RANGES, Resources
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["domain_info", "domain_json", "is_remote", "port_ranges", "ranges_overlap", "shift_ports"]

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def port_ranges(res: Resources) -> tuple[tuple[int, int], ...]:
    """Every ``ports`` range of a bag, merged."""
    out: list[tuple[int, int]] = []
    for key, value in res.items.items():
        if key.name == "ports" and isinstance(value, tuple):
            out.extend(value)
    return tuple(sorted(out))


def shift_ports(res: Resources, index: int, *, option: str = "resources") -> Resources:
    """Agent ``index``'s copy of the cluster's resources: ``ports`` shifted down by
    ``(index - 1)`` times the span of the ranges (agent 1 keeps them as written)."""
    ranges = port_ranges(res)
    if index <= 1 or not ranges:
        return res.copy()
    span = ranges[-1][1] - ranges[0][0] + 1
    offset = (index - 1) * span
    if ranges[0][0] - offset < 1:
        raise ConfigurationError(
            f"agent {index} would get ports below 1 (the ports span {span} ports); "
            "give agents smaller ranges or their own resources",
            option=option,
        )
    out = Resources()
    for key, value in res.items.items():
        if key.name == "ports" and key.type == RANGES and isinstance(value, tuple):
            out.items[key] = tuple((b - offset, e - offset) for b, e in value)
        else:
            out.items[key] = value
    return out


def ranges_overlap(left: tuple[tuple[int, int], ...], right: tuple[tuple[int, int], ...]) -> bool:
    """Whether two sets of ranges share a port."""
    return any(lb <= re_ and rb <= le for lb, le in left for rb, re_ in right)


def domain_info(text: str, *, option: str = "domain") -> mesos_pb2.DomainInfo:
    """``region/zone`` as a ``DomainInfo`` with a fault domain."""
    region, sep, zone = text.partition("/")
    if not sep or not _NAME.match(region) or not _NAME.match(zone):
        raise ConfigurationError(f"expected region/zone, got {text!r}", option=option)
    info = mesos_pb2.DomainInfo()
    info.fault_domain.region.name = region
    info.fault_domain.zone.name = zone
    return info


def domain_json(info: mesos_pb2.DomainInfo | None) -> dict[str, Any] | None:
    """A ``DomainInfo`` as in the state endpoints (None: no domain)."""
    if info is None:
        return None
    return {
        "fault_domain": {
            "region": {"name": info.fault_domain.region.name},
            "zone": {"name": info.fault_domain.zone.name},
        }
    }


def is_remote(master: mesos_pb2.DomainInfo | None, agent: mesos_pb2.DomainInfo | None) -> bool:
    """Mesos's allocator: an agent is remote when both have domains in different regions."""
    if master is None or agent is None:
        return False
    return bool(master.fault_domain.region.name != agent.fault_domain.region.name)
