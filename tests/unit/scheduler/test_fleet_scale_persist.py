"""A runtime scale is persisted by the fleet core and restored when a new fleet recovers the store."""

from __future__ import annotations

from typing import Any

import orjson

from mesos_framework.scheduler._fleet import Action, Fleet, Forget, Kill, Persist
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import TaskState
from tests.unit.scheduler.test_fleet import fleet, launch_all, run, spec, status


class Store:
    """What a state store does with the fleet's Persist/Forget actions (JSON in, JSON out)."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}

    def apply(self, actions: list[Action]) -> list[Action]:
        for action in actions:
            if isinstance(action, Persist):
                self.records[action.record.task_id] = orjson.dumps(action.record.to_dict())
            elif isinstance(action, Forget):
                self.records.pop(action.task_id, None)
        return actions

    def load(self) -> list[TaskRecord]:
        return [TaskRecord.from_dict(orjson.loads(raw)) for raw in self.records.values()]


def started(store: Store, *specs: Any) -> Fleet:
    """A fleet launched and running, every record in the store."""
    f = fleet(*specs)
    recs = launch_all(f, 1000.0)
    store.apply([Persist(r) for r in recs])
    for rec in recs:
        store.apply(run(f, rec, 1000.0))
    return f


def restarted(store: Store, *specs: Any) -> tuple[Fleet, list[Action]]:
    """A new fleet (a restarted or failed-over scheduler) from what the store keeps."""
    f = Fleet(specs, framework_name="fw")
    actions = store.apply(f.recover(store.load()))
    f.fill()
    actions += store.apply(f.take_to_kill())
    return f, actions


def test_scale_up_survives_a_restart_and_no_task_is_killed() -> None:
    web = spec("web", instances=2, allow_scaling=True)
    store = Store()
    f = started(store, web)
    store.apply(f.scale("web", 5))
    for rec in launch_all(f, 1001.0):
        store.apply([Persist(rec)])
        store.apply(run(f, rec, 1001.0))
    assert len([r for r in store.load() if not r.is_scale]) == 5

    g, actions = restarted(store, web)
    assert g.desired["web"] == 5
    assert not [a for a in actions if isinstance(a, Kill)]
    assert g.to_kill == []
    assert sorted(r.serial for r in g.tasks) == [1, 2, 3, 4, 5]
    assert not g.pending  # all five are held by recovered tasks


def test_scale_down_survives_a_restart() -> None:
    web = spec("web", instances=3, allow_scaling=True)
    store = Store()
    f = started(store, web)
    acts = store.apply(f.scale("web", 1))
    for kill in [a for a in acts if isinstance(a, Kill)]:
        store.apply(f.update(status(kill.task_id, TaskState.TASK_KILLED), 1001.0))
    assert sorted(r.serial for r in store.load() if not r.is_scale) == [1]

    g, actions = restarted(store, web)
    assert g.desired["web"] == 1
    assert not g.pending  # web-2 and web-3 are not relaunched
    assert not [a for a in actions if isinstance(a, Kill)]


def test_scale_down_before_the_kills_land_kills_the_extra_tasks_after_a_restart() -> None:
    web = spec("web", instances=3, allow_scaling=True)
    store = Store()
    f = started(store, web)
    store.apply(f.scale("web", 1))  # the scheduler dies before Mesos confirms the kills

    g, actions = restarted(store, web)
    assert g.desired["web"] == 1
    killed = sorted(a.task_id for a in actions if isinstance(a, Kill))
    assert killed == sorted(r.task_id for r in f.tasks if r.serial > 1)


def test_a_changed_declaration_wins_over_a_stored_scale() -> None:
    store = Store()
    f = started(store, spec("web", instances=2, allow_scaling=True))
    store.apply(f.scale("web", 5))
    for rec in launch_all(f, 1001.0):
        store.apply([Persist(rec)])

    # The code now declares 3: the declaration wins, the stale scale record is dropped.
    g, actions = restarted(store, spec("web", instances=3, allow_scaling=True))
    assert g.desired["web"] == 3
    assert sorted(a.task_id for a in actions if isinstance(a, Kill)) == sorted(
        r.task_id for r in f.tasks if r.serial > 3
    )
    assert not [r for r in store.load() if r.is_scale]
    assert g.scales == {}


def test_a_scale_back_to_the_declared_count_forgets_the_record() -> None:
    web = spec("web", instances=2, allow_scaling=True)
    store = Store()
    f = started(store, web)
    store.apply(f.scale("web", 4))
    (scale,) = [r for r in store.load() if r.is_scale]
    assert (scale.type_name, scale.serial, scale.declared) == ("web", 4, 2)
    store.apply(f.scale("web", 0))
    assert [(r.serial, r.declared) for r in store.load() if r.is_scale] == [(0, 2)]
    store.apply(f.scale("web", 2))
    assert not [r for r in store.load() if r.is_scale]


def test_a_scale_record_of_a_type_gone_or_no_longer_scalable_is_dropped() -> None:
    store = Store()
    f = started(
        store, spec("web", instances=1, allow_scaling=True), spec("db", instances=1, allow_scaling=True)
    )
    store.apply(f.scale("web", 3))
    store.apply(f.scale("db", 2))
    g, _ = restarted(store, spec("db", instances=1))  # web removed, db no longer allows scaling
    assert g.desired == {"db": 1}
    assert not [r for r in store.load() if r.is_scale]
