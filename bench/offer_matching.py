"""Offer matching cost as pending tasks and offers grow together.

``python -m bench.offer_matching`` matches N pending instances (spread over
20 task types) against N/10 offers, for N up to 10,000 and beyond, and
reports the time per placed task relative to the smallest size. Linear
matching keeps the ratio near 1 as both double; a quadratic one would
double it at each step.

The ``constraints`` rows repeat each size with placement constraints on every
type (``hostname MAX_PER``, ``rack GROUP_BY`` with a count, and ``UNIQUE``,
``LIKE``, ``UNLIKE``, ``IS`` or ``CLUSTER`` on some), offers carrying ``rack``
and ``zone`` attributes, and N/2 instances already running (counted before
matching): up to 20,000 tasks x 2,000 offers.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import PendingQueue, Resources, TaskSpec, match_offers
from mesos_framework.tasks.constraints import Placement

TYPES = 20
RACKS = 20

#: The extra constraint of each type (cycled), beside hostname MAX_PER and rack GROUP_BY.
_EXTRA: tuple[list[str] | None, ...] = (
    None,
    ["zone", "LIKE", "zone-[0-3]"],
    ["rack", "UNLIKE", "rack-0"],
    ["zone", "IS", "zone-1"],
    ["zone", "CLUSTER", "zone-2"],
    None,
    ["hostname", "UNIQUE"],
)


def _constraints(i: int) -> list[list[str]]:
    out = [["hostname", "MAX_PER", "4"], ["rack", "GROUP_BY", str(RACKS)]]
    extra = _EXTRA[i % len(_EXTRA)]
    if extra is not None:
        out.append(extra)
    return out


def _specs(total: int, constraints: bool = False) -> list[TaskSpec]:
    per_type = total // TYPES
    return [
        TaskSpec.from_dict(
            f"svc{i:02d}",
            {
                "instances": per_type,
                "priority": i % 3,
                "commandInfo": {"value": f"./run {i}", "shell": True},
                "resources": {"cpus": 0.1 + (i % 4) * 0.05, "mem": 64 + 16 * (i % 5), "ports": i % 3},
                **({"constraints": _constraints(i)} if constraints else {}),
            },
        )
        for i in range(TYPES)
    ]


def _attributes(offer: mesos_pb2.Offer, i: int) -> None:
    for name, value in (("rack", f"rack-{i % RACKS}"), ("zone", f"zone-{i % 4}")):
        attr = offer.attributes.add(name=name, type=mesos_pb2.Value.TEXT)
        attr.text.value = value


def _running(specs: list[TaskSpec], offers: int, count: int) -> dict[str, list[Placement | None]]:
    """``count`` instances already placed, spread over the offers' agents (as the fleet reports them)."""
    per_type = count // len(specs)
    return {
        spec.name: [
            {"hostname": f"host{h}", "rack": f"rack-{h % RACKS}", "zone": f"zone-{h % 4}"}
            for h in ((t * 7 + j * 13) % offers for j in range(per_type))
        ]
        for t, spec in enumerate(specs)
    }


def _offers(count: int, attributes: bool = False) -> list[mesos_pb2.Offer]:
    resources = Resources.parse("cpus:4;mem:8192;disk:10240;ports:[31000-31099,32000-32099]").to_protos()
    offers = []
    for i in range(count):
        offer = mesos_pb2.Offer()
        offer.id.value = f"offer-{i}"
        offer.framework_id.value = "fw"
        offer.agent_id.value = f"agent-{i}"
        offer.hostname = f"host{i}"
        offer.url.scheme = "http"
        offer.url.address.ip = f"10.0.{i // 250}.{i % 250}"
        offer.url.address.port = 5051
        offer.resources.extend(resources)
        if attributes:
            _attributes(offer, i)
        offers.append(offer)
    return offers


def measure(tasks: int, offers: int, repeats: int = 3, *, constraints: bool = False) -> dict[str, Any]:
    """Match ``tasks`` pending instances against ``offers`` offers; best of ``repeats``.

    With ``constraints``, every type is constrained and ``tasks // 2`` more instances already run.
    """
    specs = _specs(tasks, constraints)
    offer_msgs = _offers(offers, constraints)
    running = _running(specs, offers, tasks // 2) if constraints else None
    best = float("inf")
    placed = 0
    for _ in range(repeats):
        queue = PendingQueue(specs)
        for spec in specs:
            for serial in range(1, spec.instances + 1):
                queue.push(spec.name, serial)
        gc.collect()
        start = time.perf_counter()
        result = match_offers(offer_msgs, queue, framework_name="bench", placed=running)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        placed = len(result.all_launches())
        del result
    elapsed = best
    return {
        "name": "constraints" if constraints else "plain",
        "tasks": tasks,
        "offers": offers,
        "running": tasks // 2 if constraints else 0,
        "placed": placed,
        "seconds": round(elapsed, 4),
        "us_per_task": round(elapsed / max(placed, 1) * 1e6, 2),
    }


def run(
    sizes: tuple[int, ...] = (2500, 5000, 10000, 20000), constraints: bool = True
) -> list[dict[str, Any]]:
    """One row per size N (N tasks, N/10 offers), with ``ratio`` = time per task / smallest size's.

    With ``constraints`` the sizes are measured again with placement constraints (own ratios).
    """
    rows: list[dict[str, Any]] = []
    for constrained in (False, True) if constraints else (False,):
        measure(sizes[0], sizes[0] // 10, repeats=1, constraints=constrained)  # warm up
        group = [measure(n, n // 10, constraints=constrained) for n in sizes]
        base = group[0]["us_per_task"]
        for row in group:
            row["ratio"] = round(row["us_per_task"] / base, 2)
        rows += group
    return rows


def main() -> None:
    """Print the table."""
    for row in run():
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
