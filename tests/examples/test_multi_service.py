"""The multi-type service: priorities, several ports per task, scaling, refusal to scale."""

from __future__ import annotations

import re

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner, active_tasks, master_state


async def test_priorities_ports_and_scaling(local_cluster: LocalCluster, run_example: Runner) -> None:
    run = await run_example("multi_service.py", "--master", local_cluster.master_spec, timeout=90)
    why = run.explain()
    assert run.returncode == 0, why
    order = run.lines("launch order (by priority):")[0].split("(by priority):", 1)[1].split()
    assert order[:2] == ["jobmanager-1", "jobmanager-2"], why
    assert sorted(order[2:]) == ["taskmanager-1", "taskmanager-2"], why

    ports: dict[str, list[int]] = {}
    for name, listed in re.findall(r"  (\S+) ports: ((?:PORT\d=\d+ ?)+)", run.stdout):
        ports[name] = [int(p) for p in re.findall(r"PORT\d=(\d+)", listed)]
    assert {n: len(p) for n, p in ports.items()} == {
        "jobmanager-1": 2,
        "jobmanager-2": 2,
        "taskmanager-1": 3,
        "taskmanager-2": 3,
    }, why
    every = [p for ps in ports.values() for p in ps]
    assert len(set(every)) == len(every), why  # no host port given twice
    assert len(run.lines("web UI", "-> HTTP 200")) == 2, why

    assert run.lines("taskmanager x 4 (6 tasks)"), why
    for serial in (2, 3, 4):
        assert re.search(rf"taskmanager-{serial}\s+KILLED", run.stdout), why
    assert run.lines("taskmanager x 1 (3 tasks)"), why
    assert run.lines("scaling jobmanager refused, as configured"), why
    assert run.lines("== teardown"), why
    assert not active_tasks(await master_state(local_cluster.url)), why
