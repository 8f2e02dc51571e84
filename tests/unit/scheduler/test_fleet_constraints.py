"""Placement constraints in the fleet core: tasks placed in earlier rounds count, leaving ones do not."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler._fleet import Action, Fleet, LaunchOnOffer
from mesos_framework.tasks import TaskSpec
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import TaskState
from tests.unit.tasks.offers_factory import make_offer

CMD = {"value": "sleep 100", "shell": True}


def spec(name: str, constraints: Any, **over: Any) -> TaskSpec:
    base: dict[str, Any] = {
        "instances": 1,
        "commandInfo": CMD,
        "resources": {"cpus": 0.5, "mem": 32},
        "constraints": constraints,
    }
    base.update(over)
    return TaskSpec.from_dict(name, base)


def offer(index: int, offer_id: str | None = None, **attributes: str) -> mesos_pb2.Offer:
    o = make_offer(offer_id or f"o{index}", agent=f"a{index}", hostname=f"host{index}")
    for key, value in attributes.items():
        attr = o.attributes.add(name=key, type=mesos_pb2.Value.TEXT)
        attr.text.value = value
    return o


def launched(actions: list[Action]) -> list[TaskRecord]:
    return [r for a in actions if isinstance(a, LaunchOnOffer) for r in a.records]


def test_unique_hostname_over_rounds_counts_running_tasks() -> None:
    f = Fleet([spec("web", [["hostname", "UNIQUE"]], instances=3)], framework_name="fw")
    f.fill()
    first = launched(f.offers([offer(1), offer(1, "o1-again"), offer(2)], 1.0))
    assert sorted(r.hostname or "" for r in first) == ["host1", "host2"]
    for rec in first:
        f.update(_status(rec, TaskState.TASK_RUNNING), 2.0)
    # host1 and host2 are taken; only a new host gets the third instance.
    assert launched(f.offers([offer(1, "o1-b"), offer(2, "o2-b")], 3.0)) == []
    third = launched(f.offers([offer(2, "o2-c"), offer(3)], 4.0))
    assert [r.hostname for r in third] == ["host3"]
    assert not f.pending


def test_a_task_being_killed_frees_its_value() -> None:
    f = Fleet([spec("web", [["hostname", "UNIQUE"]], instances=1, allowScaling=True)], framework_name="fw")
    f.fill()
    (rec,) = launched(f.offers([offer(1)], 1.0))
    f.update(_status(rec, TaskState.TASK_RUNNING), 2.0)
    f.kill_task(rec, restart=True)  # being killed: its host no longer blocks the instance's relaunch
    f.replace(("web", 1))
    again = launched(f.offers([offer(1, "o1-b")], 3.0))
    assert [r.hostname for r in again] == ["host1"]


def test_attribute_values_of_running_tasks_come_from_their_agents_offers() -> None:
    f = Fleet(
        [spec("db", [["rack", "MAX_PER", "1"]], instances=3), spec("web", [], instances=2)],
        framework_name="fw",
    )
    f.fill()
    recs = launched(f.offers([offer(1, rack="r1")], 1.0))
    assert Counter(r.type_name for r in recs) == {"db": 1, "web": 2}
    # Another agent on rack r1: the db task on a1 counts against it though a1 offers nothing now.
    assert launched(f.offers([offer(2, rack="r1")], 2.0)) == []
    recs = launched(f.offers([offer(2, "o2-b", rack="r1"), offer(3, rack="r2")], 3.0))
    assert [(r.type_name, r.hostname) for r in recs] == [("db", "host3")]


def test_recovered_tasks_count_by_hostname_before_their_agent_offers() -> None:
    f = Fleet([spec("web", [["hostname", "UNIQUE"]], instances=2)], framework_name="fw")
    old = TaskRecord(
        "fw.web-1.0123456789abcdef0123456789abcdef",
        "web",
        1,
        state=TaskState.TASK_RUNNING,
        agent_id="a1",
        hostname="host1",
        launched=True,
    )
    f.recover([old])
    f.fill()
    recs = launched(f.offers([offer(1, "o1-new"), offer(2)], 1.0))
    assert [(r.serial, r.hostname) for r in recs] == [(2, "host2")]


def _status(rec: TaskRecord, state: TaskState) -> mesos_pb2.TaskStatus:
    s = mesos_pb2.TaskStatus(state=int(state))
    s.task_id.value = rec.task_id
    s.agent_id.value = rec.agent_id or ""
    return s


def test_recovered_tasks_count_by_their_stored_attributes_before_their_agent_offers() -> None:
    # A scheduler places db-1 on rack r1; its record goes through the store (to_dict/from_dict)
    # into a restarted scheduler, which must count it against rack r1 before host1 offers again.
    first = Fleet([spec("db", [["rack", "MAX_PER", "1"]], instances=2)], framework_name="fw")
    first.fill()
    (rec,) = launched(first.offers([offer(1, rack="r1")], 1.0))
    first.update(_status(rec, TaskState.TASK_RUNNING), 2.0)
    stored = TaskRecord.from_dict(rec.to_dict())
    assert stored.placement == {"rack": "r1", "hostname": "host1", "@hostname": "host1"}

    restarted = Fleet([spec("db", [["rack", "MAX_PER", "1"]], instances=2)], framework_name="fw")
    restarted.recover([stored])
    restarted.fill()
    assert launched(restarted.offers([offer(2, rack="r1")], 3.0)) == []
    recs = launched(restarted.offers([offer(3, rack="r2")], 4.0))
    assert [(r.serial, r.hostname) for r in recs] == [(2, "host3")]
