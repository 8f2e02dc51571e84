"""``mesos-framework logs TASK``: which task a task ID or a task name picks (`find_task`)."""

from __future__ import annotations

import pytest

from mesos_framework.cli._operator import CommandError, find_task
from mesos_framework.protocol import mesos


def task(task_id: str, name: str, state: int, changed: float) -> mesos.Task:
    t = mesos.Task(task_id={"value": task_id}, name=name, state=state)
    t.statuses.add(task_id={"value": task_id}, state=state, timestamp=changed)
    return t


OLD = task("web-1.a", "web-1", mesos.TASK_FAILED, 100.0)
NEWER = task("web-1.b", "web-1", mesos.TASK_KILLED, 200.0)
RUNNING = task("web-1.c", "web-1", mesos.TASK_RUNNING, 150.0)
OTHER = task("db-1.a", "db-1", mesos.TASK_RUNNING, 50.0)


def test_a_task_id_wins() -> None:
    assert find_task([OLD, NEWER, RUNNING, OTHER], "web-1.a", "m") is OLD
    clash = task("x", "web-1.c", mesos.TASK_RUNNING, 1.0)  # a name equal to another's ID
    assert find_task([clash, RUNNING], "web-1.c", "m") is RUNNING


def test_a_name_picks_the_running_task_else_the_last_ended() -> None:
    assert find_task([OLD, NEWER, RUNNING, OTHER], "web-1", "m") is RUNNING
    assert find_task([NEWER, OLD, OTHER], "web-1", "m") is NEWER
    assert find_task([OLD, OTHER], "db-1", "m") is OTHER


def test_several_running_of_one_name_are_ambiguous() -> None:
    twin = task("web-1.d", "web-1", mesos.TASK_STAGING, 300.0)
    with pytest.raises(CommandError) as error:
        find_task([OLD, RUNNING, twin], "web-1", "m")
    assert str(error.value) == (
        "2 active tasks are named 'web-1'; give one's task ID: web-1.c (TASK_RUNNING), web-1.d (TASK_STAGING)"
    )


def test_no_such_task() -> None:
    with pytest.raises(CommandError, match=r"no task with ID or name 'api' at 127\.0\.0\.1:5050"):
        find_task([OLD, OTHER], "api", "127.0.0.1:5050")


def test_a_master_with_credentials_is_named_without_the_password() -> None:
    with pytest.raises(CommandError) as info:
        find_task([OLD, OTHER], "api", "zk://mu:secret@zk1:2181/mesos")
    assert "secret" not in str(info.value)
    assert "zk://mu:***@zk1:2181/mesos" in str(info.value)
