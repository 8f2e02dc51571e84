"""Smoke test of the offer-matching benchmark, constraints case included (tiny sizes)."""

from __future__ import annotations

from collections import Counter

from bench import offer_matching
from bench import run as bench_run
from mesos_framework.tasks import PendingQueue, match_offers


def test_matching_rows_plain_and_constrained() -> None:
    rows = offer_matching.run((200, 400))
    assert [(r["name"], r["tasks"], r["offers"]) for r in rows] == [
        ("plain", 200, 20),
        ("plain", 400, 40),
        ("constraints", 200, 20),
        ("constraints", 400, 40),
    ]
    for row in rows:
        assert 0 < row["placed"] <= row["tasks"]
        assert row["seconds"] > 0
    assert rows[2]["running"] == 100
    assert rows[0]["placed"] == 200  # unconstrained: everything fits


def test_constrained_case_respects_its_constraints() -> None:
    specs = offer_matching._specs(400, constraints=True)
    offers = offer_matching._offers(40, attributes=True)
    running = offer_matching._running(specs, 40, 200)
    queue = PendingQueue(specs)
    for spec in specs:
        for serial in range(1, spec.instances + 1):
            queue.push(spec.name, serial)
    result = match_offers(offers, queue, framework_name="bench", placed=running)
    per_host: Counter[tuple[str, str]] = Counter()
    for spec in specs:
        per_host.update((spec.name, p["hostname"]) for p in running[spec.name] if p is not None)
    for launch in result.all_launches():
        per_host[(launch.spec.name, launch.offer.hostname)] += 1
        zone = {a.name: a.text.value for a in launch.offer.attributes}["zone"]
        extra = [c for c in launch.spec.constraints if c.field == "zone"]
        if extra and extra[0].operator in ("IS", "CLUSTER"):
            assert zone == extra[0].value
    assert max(per_host.values()) <= 4  # hostname MAX_PER 4, running tasks included


def test_render_compares_each_named_case_with_its_own_base() -> None:
    rows = [
        {"name": "plain", "tasks": 1000, "offers": 100, "seconds": 0.1},
        {"name": "plain", "tasks": 2000, "offers": 200, "seconds": 0.2},
        {"name": "constraints", "tasks": 1000, "offers": 100, "running": 500, "seconds": 0.3},
        {"name": "constraints", "tasks": 2000, "offers": 200, "running": 1000, "seconds": 1.2},
    ]
    section = bench_run.Section("offer_matching", "3. Offer matching", rows=rows)
    bench_run.render_offer_matching(section)
    assert [r["time growth / size growth"] for r in rows] == [1.0, 1.0, 1.0, 2.0]
