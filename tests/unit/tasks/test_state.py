from __future__ import annotations

import random

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import RestartPolicy, TaskState
from mesos_framework.tasks.records import TaskRecord, TaskTable


def test_numbers_match_mesos() -> None:
    for state in TaskState:
        assert getattr(mesos_pb2, state.name) == state.value
    assert len(TaskState) == len(mesos_pb2.TaskState.keys())


@pytest.mark.parametrize(
    ("state", "terminal", "active", "failure"),
    [
        ("STAGING", False, True, False),
        ("STARTING", False, True, False),
        ("RUNNING", False, True, False),
        ("KILLING", False, True, False),
        ("FINISHED", True, False, False),
        ("KILLED", True, False, False),
        ("FAILED", True, False, True),
        ("ERROR", True, False, True),
        ("LOST", True, False, True),
        ("DROPPED", True, False, True),
        ("GONE", True, False, True),
        ("GONE_BY_OPERATOR", True, False, True),
        ("UNREACHABLE", False, False, False),
        ("UNKNOWN", False, False, False),
    ],
)
def test_state_table(state: str, terminal: bool, active: bool, failure: bool) -> None:
    s = TaskState.parse(state)
    assert (s.is_terminal, s.is_active, s.is_failure) == (terminal, active, failure)


def test_parse_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown task state 'TASK_SLEEPY'"):
        TaskState.parse("TASK_SLEEPY")
    assert TaskState.parse(1) is TaskState.TASK_RUNNING


def test_restart_backoff_grows_and_caps() -> None:
    policy = RestartPolicy(minimum=1, maximum=10, factor=2, jitter=0)
    assert [policy.delay(n) for n in range(6)] == [0, 1, 2, 4, 8, 10]
    jittered = RestartPolicy(minimum=1, maximum=10, factor=2, jitter=0.5)
    rng = random.Random(1)
    for n in range(1, 10):
        d = jittered.delay(n, rng)
        assert policy.delay(n) <= d <= policy.delay(n) * 1.5


def test_restart_policy_validation() -> None:
    with pytest.raises(ConfigurationError, match=r"restart\.maximum"):
        RestartPolicy(minimum=5, maximum=1)
    assert RestartPolicy().should_restart(TaskState.TASK_FAILED)
    assert not RestartPolicy().should_restart(TaskState.TASK_FINISHED)


def test_record_round_trip_and_table() -> None:
    r = TaskRecord("fw.web-1.x", "web", 1, agent_id="a1", ports=(31000,), state=TaskState.TASK_RUNNING)
    back = TaskRecord.from_dict(r.to_dict())
    assert back.to_dict() == r.to_dict()
    table = TaskTable()
    table.add(r)
    table.add(TaskRecord("fw.web-1.y", "web", 1))
    assert {t.task_id for t in table.by_name("web", 1)} == {"fw.web-1.x", "fw.web-1.y"}
    assert table.serials("web") == {1}
    table.remove("fw.web-1.x")
    table.remove("fw.web-1.y")
    assert table.serials("web") == set() and len(table) == 0


def test_record_properties_are_lazy_and_persisted() -> None:
    r = TaskRecord("fw.web-1.x", "web", 1)
    assert "properties" not in r.to_dict()
    r.properties["healthy"] = True
    back = TaskRecord.from_dict(r.to_dict())
    assert back.properties == {"healthy": True}
