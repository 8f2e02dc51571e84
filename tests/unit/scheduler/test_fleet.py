"""The task fleet as a functional core: events and a clock in, actions out; no network, no asyncio."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mesos_framework.errors import RestartsExhausted, ScalingNotAllowed, UnknownTask
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler._fleet import (
    Action,
    Decline,
    Emit,
    Fleet,
    Forget,
    Kill,
    LaunchOnOffer,
    Persist,
    Report,
)
from mesos_framework.tasks import TaskSpec
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import RestartPolicy, TaskState
from tests.unit.tasks.offers_factory import make_offer

CMD = {"value": "sleep 100", "shell": True}


def spec(name: str, **over: Any) -> TaskSpec:
    base: dict[str, Any] = {"instances": 1, "commandInfo": CMD, "resources": {"cpus": 1, "mem": 128}}
    base.update(over)
    return TaskSpec.from_dict(name, base)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fleet(*specs: TaskSpec, **kw: Any) -> Fleet:
    kw.setdefault("restart", RestartPolicy(minimum=1.0, maximum=8.0, factor=2.0, jitter=0.0))
    f = Fleet(specs, framework_name="fw", **kw)
    f.fill()
    return f


def status(
    task_id: str,
    state: TaskState,
    *,
    agent: str = "a1",
    reason: int | None = None,
    healthy: bool | None = None,
) -> mesos_pb2.TaskStatus:
    s = mesos_pb2.TaskStatus(state=int(state))
    s.task_id.value = task_id
    s.agent_id.value = agent
    if reason is not None:
        s.reason = reason  # type: ignore[assignment]
    if healthy is not None:
        s.healthy = healthy
    return s


def launches(actions: list[Action]) -> list[LaunchOnOffer]:
    return [a for a in actions if isinstance(a, LaunchOnOffer)]


def launch_all(f: Fleet, now: float) -> list[TaskRecord]:
    acts = f.offers([make_offer()], now)
    return [r for a in launches(acts) for r in a.records]


def run(f: Fleet, rec: TaskRecord, now: float) -> list[Action]:
    return f.update(status(rec.task_id, TaskState.TASK_RUNNING), now)


def test_offers_launch_every_pending_instance_persisting_first() -> None:
    clock = Clock()
    f = fleet(spec("web", instances=2))
    assert f.wants_offers
    acts = f.offers([make_offer()], clock())
    assert [type(a) for a in acts] == [Persist, Persist, LaunchOnOffer]
    (launch,) = launches(acts)
    assert [r.name for r in launch.records] == ["web-1", "web-2"]
    assert [t.name for t in launch.task_infos] == ["web-1", "web-2"]
    assert not f.wants_offers  # nothing pending: the caller suppresses
    idle = f.offers([make_offer("o2")], clock())
    assert idle == [Decline((make_offer("o2").id,), f.idle_refuse_seconds)]


def test_running_update_emits_launched_and_persists_once() -> None:
    clock = Clock()
    f = fleet(spec("web"))
    (rec,) = launch_all(f, clock())
    acts = run(f, rec, clock())
    assert [type(a) for a in acts] == [Emit, Persist, Emit]
    assert [a.name for a in acts if isinstance(a, Emit)] == ["task_launched", "updated_task"]
    assert rec.started_at == clock()
    assert run(f, rec, clock()) == []  # no change: nothing to do


def test_restart_backoff_timeline_with_a_fake_clock() -> None:
    clock = Clock()
    f = fleet(spec("crash"))
    delays = []
    for _ in range(5):
        (rec,) = launch_all(f, clock())
        run(f, rec, clock())
        clock.now += 2  # crashes after 2 s (less than reset_after)
        acts = f.update(status(rec.task_id, TaskState.TASK_FAILED), clock())
        assert Forget(rec.task_id) in acts
        assert not f.pending and not f.wants_offers  # waiting for its backoff
        due = f.next_due()
        assert due is not None
        delays.append(due - clock.now)
        clock.now = due - 0.01
        f.due(clock())
        assert not f.pending  # not yet
        clock.now = due
        f.due(clock())
        assert f.pending.items() == [("crash", 1)]
        assert f.next_due() is None
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_a_long_run_resets_the_backoff() -> None:
    clock = Clock()
    f = fleet(spec("svc"))
    for _ in range(3):
        (rec,) = launch_all(f, clock())
        run(f, rec, clock())
        clock.now += 1
        f.update(status(rec.task_id, TaskState.TASK_FAILED), clock())
        clock.now = f.next_due() or clock.now
        f.due(clock())
    (rec,) = launch_all(f, clock())
    run(f, rec, clock())
    clock.now += 120  # ran longer than reset_after
    f.update(status(rec.task_id, TaskState.TASK_FAILED), clock())
    assert (f.next_due() or 0) - clock.now == 1.0


def test_max_restarts_gives_up_with_its_own_error_and_start_instance_brings_it_back() -> None:
    clock = Clock()
    f = fleet(spec("crash"), restart=RestartPolicy(minimum=0.0, maximum=0.0, jitter=0.0, max_restarts=1))
    (rec,) = launch_all(f, clock())
    f.update(status(rec.task_id, TaskState.TASK_FAILED), clock())
    f.due(clock())
    (rec,) = launch_all(f, clock())
    acts = f.update(status(rec.task_id, TaskState.TASK_FAILED), clock())
    reports = [a.error for a in acts if isinstance(a, Report)]
    assert len(reports) == 1 and isinstance(reports[0], RestartsExhausted)
    assert Persist(rec) in acts  # the terminal record marks the instance as given up
    assert f.completed == {("crash", 1): rec.task_id}
    assert not f.wants_offers
    acts = f.start_instance("crash-1")
    assert acts == [Forget(rec.task_id)]
    assert f.pending.items() == [("crash", 1)] and f.wants_offers


def test_finished_instance_is_done_then_started_again() -> None:
    clock = Clock()
    f = fleet(spec("job"))
    (rec,) = launch_all(f, clock())
    f.update(status(rec.task_id, TaskState.TASK_FINISHED), clock())
    assert f.completed == {("job", 1): rec.task_id}
    assert not f.pending
    f.start_instance("job-1")
    assert f.pending.items() == [("job", 1)]


def test_stop_a_crash_looping_instance_between_restarts_persists_a_marker() -> None:
    clock = Clock()
    f = fleet(spec("crash"))
    (rec,) = launch_all(f, clock())
    f.update(status(rec.task_id, TaskState.TASK_FAILED), clock())
    assert f.next_due() is not None
    acts = f.stop_instance("crash-1", clock())
    assert f.next_due() is None and not f.pending
    (marker,) = [a.record for a in acts if isinstance(a, Persist)]
    assert marker.state == TaskState.TASK_KILLED and marker.name == "crash-1"
    clock.now += 100
    f.due(clock())
    assert not f.pending
    # A restarted scheduler finds the marker and keeps the instance stopped.
    g = Fleet([spec("crash")], framework_name="fw")
    assert g.recover([marker]) == []
    g.fill()
    assert not g.pending and g.completed == {("crash", 1): marker.task_id}
    assert g.start_instance("crash-1") == [Forget(marker.task_id)]
    assert g.pending.items() == [("crash", 1)]


def test_stop_a_running_instance_kills_it_and_it_stays_stopped() -> None:
    clock = Clock()
    f = fleet(spec("web", instances=2))
    one, _two = launch_all(f, clock())
    acts = f.stop_instance("web-1", clock())
    assert Kill(one.task_id, one.agent_id, "stopped") in acts
    acts = f.update(status(one.task_id, TaskState.TASK_KILLED), clock())
    assert Persist(one) in acts
    assert not f.pending and ("web", 1) in f.completed


def test_restart_task_starts_a_stopped_instance_whose_task_is_still_ending() -> None:
    clock = Clock()
    f = fleet(spec("web", instances=2))
    one, _two = launch_all(f, clock())
    f.stop_instance("web-1", clock())
    f.update(status(one.task_id, TaskState.TASK_KILLING), clock())  # still tracked, no longer running
    acts = f.kill_task("web-1", restart=True)  # what restart_task() does while the record exists
    assert Kill(one.task_id, one.agent_id, "asked") in acts
    assert ("web", 1) not in f.completed
    f.update(status(one.task_id, TaskState.TASK_KILLED), clock())
    assert f.pending.items() == [("web", 1)]  # relaunched, not left stopped


def test_unknown_instance_names_are_typed_errors() -> None:
    f = fleet(spec("web"))
    with pytest.raises(UnknownTask):
        f.start_instance("web-7")
    with pytest.raises(UnknownTask):
        f.kill_task("nope-1")
    with pytest.raises(ScalingNotAllowed):
        f.scale("web", 3)


def test_scale_down_kills_highest_and_up_queues() -> None:
    clock = Clock()
    f = fleet(spec("web", instances=3, allow_scaling=True))
    recs = launch_all(f, clock())
    acts = f.scale("web", 1)
    kills = [a.task_id for a in acts if isinstance(a, Kill)]
    assert kills == [recs[2].task_id, recs[1].task_id]
    f.scale("web", 4)
    assert f.pending.items() == [("web", 4)]  # 2 and 3 are still being killed


def test_reattach_holds_launches_and_adopts_running_tasks() -> None:
    clock = Clock()
    f = fleet(spec("web", instances=2))
    f.holding = True
    acts = f.offers([make_offer()], clock())
    assert acts == [Decline((make_offer().id,), f.hold_refuse_seconds)]
    # The implicit reconciliation reports web-1 running (launched by an earlier scheduler).
    adopted = "fw.web-1." + "a" * 32
    acts = f.update(status(adopted, TaskState.TASK_RUNNING), clock())
    assert [a.name for a in acts if isinstance(a, Emit)] == ["task_launched", "updated_task"]
    assert f.pending.items() == [("web", 2)]
    f.holding = False
    (rec,) = launch_all(f, clock())
    assert rec.name == "web-2"


def test_a_second_task_for_an_instance_is_killed_at_once_keeping_the_running_one() -> None:
    clock = Clock()
    f = fleet(spec("web"))
    (new,) = launch_all(f, clock())
    # An agent comes back with the old web-1 running, while its replacement is still staging.
    old = "fw.web-1." + "0" * 32
    acts = f.update(status(old, TaskState.TASK_RUNNING, agent="a2"), clock())
    assert Kill(new.task_id, new.agent_id, "another task runs for it") in acts
    assert f.tasks.get(old) is not None
    # Once the replacement is RUNNING, a late duplicate is the one killed.
    run(f, f.tasks.get(old), clock())  # type: ignore[arg-type]
    dup = "fw.web-1." + "1" * 32
    acts = f.update(status(dup, TaskState.TASK_RUNNING, agent="a3"), clock())
    assert acts == [Kill(dup, "a3", "a second task for web-1")]
    # An unhealthy holder gives way to a healthy duplicate.
    holder = f.tasks.get(old)
    assert holder is not None
    f.update(status(old, TaskState.TASK_RUNNING, agent="a2", healthy=False), clock())
    healthy = "fw.web-1." + "2" * 32
    acts = f.update(status(healthy, TaskState.TASK_RUNNING, agent="a4", healthy=True), clock())
    assert Kill(old, "a2", "another task runs for it") in acts
    assert f.find("web-1").task_id == healthy


def test_lost_kill_is_sent_again_on_reconciliation() -> None:
    clock = Clock()
    f = fleet(spec("web"))
    (rec,) = launch_all(f, clock())
    f.kill_task("web-1")
    acts = f.update(
        status(rec.task_id, TaskState.TASK_RUNNING, reason=mesos_pb2.TaskStatus.REASON_RECONCILIATION),
        clock(),
    )
    assert Kill(rec.task_id, rec.agent_id, "still running after a kill") in acts


def test_offers_wanted_elsewhere_are_left_alone() -> None:
    f = fleet()
    assert not f.wants_offers
    f.offers_wanted_elsewhere = True
    assert f.wants_offers
    assert f.offers([make_offer()], 0.0) == []


def test_launch_failure_requeues_after_backoff() -> None:
    clock = Clock()
    f = fleet(spec("web"), rng=random.Random(1))
    (rec,) = launch_all(f, clock())
    acts = f.launch_failed([rec], clock())
    assert acts == [Forget(rec.task_id)]
    assert f.tasks.get(rec.task_id) is None
    assert f.next_due() == clock() + 1.0
