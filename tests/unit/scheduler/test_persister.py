"""The scheduler's `Persister`: writes off the event path, coalesced, bounded, retried, reported.

The store here is a fault-injecting stand-in (it blocks, fails or refuses on
command); the real stores under a real outage are in
tests/integration/test_scheduler_zk_outage.py.
"""

from __future__ import annotations

import asyncio

import pytest

from mesos_framework.errors import StateStoreError, StateValueError
from mesos_framework.scheduler._persist import DEFAULT_TIMEOUT, Persister, store_timeout
from mesos_framework.tasks import TaskRecord, TaskState


class FaultyStore:
    """Records every write; ``gate`` holds writes, ``failures`` fails the next N, ``refuse`` some IDs."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.writes: list[tuple[str, object]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0
        self.refuse: set[str] = set()
        self.poison: set[str] = set()
        self.attempts = 0

    async def _write(self, op: str, value: object) -> None:
        self.attempts += 1
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise StateStoreError("ZooKeeper is down")
        if value in self.refuse:
            raise StateValueError(f"refused {value}")
        if value in self.poison:
            raise StateStoreError(f"cannot write {value}")
        self.writes.append((op, value))

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def load_framework_id(self) -> str | None:
        return None

    async def save_framework_id(self, framework_id: str) -> None:
        await self._write("framework", framework_id)

    async def clear_framework_id(self) -> None:
        await self._write("clear", None)

    async def load_tasks(self) -> list[TaskRecord]:
        return []

    async def save_task(self, record: TaskRecord) -> None:
        await self._write("save", (record.task_id, record.state))

    async def delete_task(self, task_id: str) -> None:
        await self._write("delete", task_id)


def _rec(task_id: str, state: TaskState = TaskState.TASK_STAGING) -> TaskRecord:
    return TaskRecord(task_id, "web", 1, state=state)


async def _drained(p: Persister) -> None:
    assert await p.flush(10.0), "the writes did not land"


async def test_writes_for_one_key_coalesce_to_the_newest() -> None:
    store = FaultyStore()
    store.gate.clear()  # the first write is in flight; the rest queue behind it
    errors: list[BaseException] = []
    p = Persister(store, errors.append)
    a = _rec("a")
    p.save(a)
    await asyncio.sleep(0.01)
    a.state = TaskState.TASK_RUNNING
    p.save(a)
    p.save(_rec("b"))
    p.save(a)
    p.forget("a")
    p.save_framework_id("fw-1")
    assert p.pending == 3  # a (delete), b, the framework ID
    store.gate.set()
    await _drained(p)
    assert store.writes == [
        ("save", ("a", TaskState.TASK_STAGING)),
        ("save", ("b", TaskState.TASK_STAGING)),
        ("delete", "a"),
        ("framework", "fw-1"),
    ]
    assert errors == []
    await p.close()


async def test_a_failing_store_is_reported_once_and_retried_until_it_catches_up() -> None:
    store = FaultyStore()
    store.failures = 4
    errors: list[BaseException] = []
    p = Persister(store, errors.append, retry_minimum=0.01, retry_maximum=0.02)
    p.save(_rec("a"))
    p.save(_rec("b"))
    await _drained(p)
    assert len(errors) == 1 and isinstance(errors[0], StateStoreError)
    assert store.attempts == 6
    assert store.writes == [("save", ("a", TaskState.TASK_STAGING)), ("save", ("b", TaskState.TASK_STAGING))]
    assert not p.failing
    await p.close()


async def test_a_newer_write_replaces_a_failed_one() -> None:
    store = FaultyStore()
    store.failures = 1
    store.gate.clear()
    errors: list[BaseException] = []
    p = Persister(store, errors.append, retry_minimum=0.05, retry_maximum=0.05)
    p.save(_rec("a"))
    await asyncio.sleep(0.01)
    p.forget("a")  # queued while the save is in flight, and the save then fails
    store.gate.set()
    await _drained(p)
    assert store.writes == [("delete", "a")]
    await p.close()


async def test_a_write_that_keeps_failing_holds_up_no_other() -> None:
    store = FaultyStore()
    store.poison.add("stuck")
    errors: list[BaseException] = []
    p = Persister(store, errors.append, retry_minimum=0.01, retry_maximum=0.01)
    p.forget("stuck")
    p.forget("a")
    p.forget("b")
    for _ in range(500):
        if len(store.writes) == 2:
            break
        await asyncio.sleep(0.01)
    assert store.writes == [("delete", "a"), ("delete", "b")]
    assert p.failing and p.pending == 1
    assert len(errors) == 1
    store.poison.clear()
    await _drained(p)
    assert store.writes[-1] == ("delete", "stuck")
    assert not p.failing
    await p.close()


async def test_a_refused_value_is_reported_and_dropped() -> None:
    store = FaultyStore()
    store.refuse.add("bad")
    errors: list[BaseException] = []
    p = Persister(store, errors.append)
    p.forget("bad")
    p.forget("good")
    await _drained(p)
    assert [type(e) for e in errors] == [StateValueError]
    assert store.writes == [("delete", "good")]
    await p.close()


async def test_a_hanging_store_is_bounded_by_its_timeout_and_never_blocks_the_caller() -> None:
    store = FaultyStore(timeout=0.1)
    store.gate.clear()  # never answers
    errors: list[BaseException] = []
    p = Persister(store, errors.append, retry_minimum=0.01, retry_maximum=0.01)
    p.save(_rec("a"))  # returns at once: nothing to await
    ticks = 0
    while not errors:
        await asyncio.sleep(0.01)
        ticks += 1
        assert ticks < 3000, "no error reported"
    assert isinstance(errors[0], StateStoreError)
    assert "timed out" in str(errors[0])
    assert p.failing
    assert not await p.flush(0.05)
    await p.close()  # returns although the store still hangs
    assert p.pending == 1  # the write that never landed (logged)


def test_store_timeout_is_the_stores_own_or_a_default() -> None:
    class Zk:
        operation_timeout = 7.0

    assert store_timeout(FaultyStore(timeout=3)) == 3.0
    assert store_timeout(Zk()) == 7.0
    assert store_timeout(object()) == DEFAULT_TIMEOUT


@pytest.mark.parametrize("framework_id", ["fw-2", ""])
async def test_framework_id_writes(framework_id: str) -> None:
    store = FaultyStore()
    p = Persister(store, lambda exc: None)
    stored: list[bool] = []
    p.framework_id_settled = lambda: stored.append(p.framework_id_pending)
    if framework_id:
        p.save_framework_id(framework_id)
    else:
        p.clear_framework_id()
    await _drained(p)
    assert store.writes == [("framework", framework_id) if framework_id else ("clear", None)]
    assert stored == ([False] if framework_id else [])
    assert not p.framework_id_pending
    await p.close()
