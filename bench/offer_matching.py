"""Offer matching cost as pending tasks and offers grow together.

``python -m bench.offer_matching`` matches N pending instances (spread over
20 task types) against N/10 offers, for N up to 10,000 and beyond, and
reports the time per placed task relative to the smallest size. Linear
matching keeps the ratio near 1 as both double; a quadratic one would
double it at each step.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import PendingQueue, Resources, TaskSpec, match_offers

TYPES = 20


def _specs(total: int) -> list[TaskSpec]:
    per_type = total // TYPES
    return [
        TaskSpec.from_dict(
            f"svc{i:02d}",
            {
                "instances": per_type,
                "priority": i % 3,
                "commandInfo": {"value": f"./run {i}", "shell": True},
                "resources": {"cpus": 0.1 + (i % 4) * 0.05, "mem": 64 + 16 * (i % 5), "ports": i % 3},
            },
        )
        for i in range(TYPES)
    ]


def _offers(count: int) -> list[mesos_pb2.Offer]:
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
        offers.append(offer)
    return offers


def measure(tasks: int, offers: int, repeats: int = 3) -> dict[str, Any]:
    """Match ``tasks`` pending instances against ``offers`` offers; best of ``repeats``."""
    specs = _specs(tasks)
    offer_msgs = _offers(offers)
    best = float("inf")
    placed = 0
    for _ in range(repeats):
        queue = PendingQueue(specs)
        for spec in specs:
            for serial in range(1, spec.instances + 1):
                queue.push(spec.name, serial)
        gc.collect()
        start = time.perf_counter()
        result = match_offers(offer_msgs, queue, framework_name="bench")
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        placed = len(result.all_launches())
        del result
    elapsed = best
    return {
        "tasks": tasks,
        "offers": offers,
        "placed": placed,
        "seconds": round(elapsed, 4),
        "us_per_task": round(elapsed / max(placed, 1) * 1e6, 2),
    }


def run(sizes: tuple[int, ...] = (2500, 5000, 10000, 20000)) -> list[dict[str, Any]]:
    """One row per size N (N tasks, N/10 offers), with ``ratio`` = time per task / smallest size's."""
    measure(sizes[0], sizes[0] // 10, repeats=1)  # warm up imports and caches
    rows = [measure(n, n // 10) for n in sizes]
    base = rows[0]["us_per_task"]
    for row in rows:
        row["ratio"] = round(row["us_per_task"] / base, 2)
    return rows


def main() -> None:
    """Print the table."""
    for row in run():
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
