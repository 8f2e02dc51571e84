"""One suite that every state store passes: memory, SQLite (a file in tmp_path), ZooKeeper (real).

Each store is built from its spec string by ``open_store``, as a scheduler
does. Durability is shown across processes: a child process writes, is
killed with SIGKILL, and a new store reads back what it wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mesos_framework.errors import StateStoreError, StateValueError
from mesos_framework.persistence import MemoryStore, SQLiteStore, StateStore, ZooKeeperStore, open_store
from mesos_framework.tasks import TaskRecord, TaskState
from tests.support.zookeeper import ZooKeeperServer

_ZK = pytest.param("zookeeper", marks=pytest.mark.zookeeper)
KINDS = ["memory", "sqlite", _ZK]
DURABLE = ["sqlite", _ZK]


def _spec(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite://{tmp_path / 'state.db'}"
    zk: ZooKeeperServer = request.getfixturevalue("zookeeper_server")
    return f"zk://{zk.hosts}/stores-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=KINDS)
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The spec of a fresh, empty store of each kind."""
    return _spec(request.param, request, tmp_path)


@pytest.fixture(params=DURABLE)
def durable_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The spec of a fresh store of each kind that outlives its process."""
    return _spec(request.param, request, tmp_path)


@pytest.fixture
async def store(spec: str) -> AsyncIterator[StateStore]:
    s = open_store(spec, timeout=30)
    await s.open()
    yield s
    await s.close()


def _record(serial: int, **kwargs: object) -> TaskRecord:
    return TaskRecord(f"app.web-{serial}.{uuid.uuid4().hex[:6]}", "web", serial, **kwargs)  # type: ignore[arg-type]


def _dicts(records: list[TaskRecord]) -> dict[str, dict[str, object]]:
    return {r.task_id: r.to_dict() for r in records}


async def test_a_new_store_is_empty(store: StateStore) -> None:
    assert isinstance(store, StateStore)
    assert await store.load_framework_id() is None
    assert await store.load_tasks() == []


async def test_framework_id_save_overwrite_clear(store: StateStore) -> None:
    await store.clear_framework_id()  # nothing stored: not an error
    await store.save_framework_id("fw-0001")
    assert await store.load_framework_id() == "fw-0001"
    await store.save_framework_id("fw-0002")
    assert await store.load_framework_id() == "fw-0002"
    await store.clear_framework_id()
    assert await store.load_framework_id() is None


async def test_tasks_save_overwrite_list_delete(store: StateStore) -> None:
    r1 = _record(1, state=TaskState.TASK_RUNNING, agent_id="S1", hostname="h1", ip="10.0.0.1", ports=(31000,))
    r1.properties["health"] = {"ok": True}
    r2 = _record(2)
    await store.save_task(r1)
    await store.save_task(r2)
    assert _dicts(await store.load_tasks()) == _dicts([r1, r2])
    r2.state = TaskState.TASK_RUNNING
    r2.launched = True
    r2.healthy = False
    await store.save_task(r2)
    loaded = {r.task_id: r for r in await store.load_tasks()}
    assert _dicts(list(loaded.values())) == _dicts([r1, r2])
    assert loaded[r1.task_id].properties == {"health": {"ok": True}}
    assert loaded[r2.task_id].state is TaskState.TASK_RUNNING
    await store.delete_task(r1.task_id)
    await store.delete_task(r1.task_id)  # already gone: not an error
    await store.delete_task("never-there")
    assert [r.task_id for r in await store.load_tasks()] == [r2.task_id]


async def test_a_scale_record_round_trips(store: StateStore) -> None:
    """A type's runtime scale (kept through the task-record channel) comes back as one."""
    scale = TaskRecord("app.web.scale", "web", 0, declared=3)
    await store.save_task(scale)
    await store.save_task(_record(1))
    (loaded,) = [r for r in await store.load_tasks() if r.is_scale]
    assert (loaded.task_id, loaded.type_name, loaded.serial, loaded.declared) == (
        "app.web.scale",
        "web",
        0,
        3,
    )
    assert [r.is_scale for r in await store.load_tasks() if r.task_id != "app.web.scale"] == [False]


async def test_loaded_records_are_copies(store: StateStore) -> None:
    rec = _record(1)
    await store.save_task(rec)
    rec.state = TaskState.TASK_FAILED  # changed after saving: the store keeps what was saved
    (loaded,) = await store.load_tasks()
    assert loaded.state is TaskState.TASK_STAGING
    loaded.state = TaskState.TASK_KILLED
    (again,) = await store.load_tasks()
    assert again.state is TaskState.TASK_STAGING


async def test_concurrent_writers_from_one_loop(store: StateStore) -> None:
    records = [_record(i, state=TaskState.TASK_RUNNING) for i in range(40)]
    doomed = records[::4]
    ops = [store.save_task(r) for r in records]
    # Deletes submitted right after their saves, without awaiting in between: the delete wins.
    ops += [store.delete_task(r.task_id) for r in doomed]
    ops.append(store.save_framework_id("fw-concurrent"))
    await asyncio.gather(*ops)
    kept = [r for r in records if r not in doomed]
    assert _dicts(await store.load_tasks()) == _dicts(kept)
    assert await store.load_framework_id() == "fw-concurrent"
    # A save and a delete of one task, fired together in that order.
    last = _record(99)
    await asyncio.gather(store.save_task(last), store.delete_task(last.task_id))
    assert last.task_id not in {r.task_id for r in await store.load_tasks()}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.save_framework_id(""), "framework ID"),
        (lambda s: s.save_framework_id(None), "framework ID"),
        (lambda s: s.save_framework_id("fw\0x"), "framework ID"),
        (lambda s: s.save_task({"task_id": "x"}), "expected a TaskRecord"),
        (lambda s: s.save_task(TaskRecord("a/b", "web", 1)), "task ID"),
        (lambda s: s.save_task(TaskRecord("..", "web", 1)), "task ID"),
        (lambda s: s.delete_task(""), "task ID"),
        (lambda s: s.delete_task(7), "task ID"),
    ],
    ids=["empty-fw", "none-fw", "nul-fw", "not-a-record", "slash-id", "dotdot-id", "empty-id", "int-id"],
)
async def test_bad_inputs_raise_typed_errors(
    store: StateStore, call: Callable[[StateStore], object], match: str
) -> None:
    with pytest.raises(StateValueError, match=match) as info:
        await call(store)  # type: ignore[misc]
    assert isinstance(info.value, StateStoreError) and isinstance(info.value, ValueError)
    assert not info.value.retryable
    # The store is still usable and nothing was written.
    assert await store.load_tasks() == []
    assert await store.load_framework_id() is None


async def test_unstorable_properties_are_refused(store: StateStore) -> None:
    rec = _record(1)
    rec.properties["socket"] = object()
    with pytest.raises(StateValueError, match="cannot be stored as JSON"):
        await store.save_task(rec)
    assert await store.load_tasks() == []


async def test_open_and_close_are_idempotent(spec: str) -> None:
    s = open_store(spec)
    await s.open()
    await s.open()
    await s.save_framework_id("fw-1")
    await s.close()
    await s.close()


async def test_closed_store_raises(durable_spec: str) -> None:
    s = open_store(durable_spec)
    with pytest.raises(StateStoreError, match="not open"):
        await s.load_tasks()
    await s.open()
    await s.close()
    with pytest.raises(StateStoreError, match="not open"):
        await s.save_framework_id("fw-1")


async def test_a_new_store_on_the_same_spec_reads_what_was_written(durable_spec: str) -> None:
    first = open_store(durable_spec)
    await first.open()
    records = [_record(i, state=TaskState.TASK_RUNNING, agent_id=f"S{i}") for i in range(5)]
    for r in records:
        await first.save_task(r)
    await first.delete_task(records[0].task_id)
    await first.save_framework_id("fw-reopen")
    await first.close()
    second = open_store(durable_spec)
    await second.open()
    try:
        assert await second.load_framework_id() == "fw-reopen"
        assert _dicts(await second.load_tasks()) == _dicts(records[1:])
    finally:
        await second.close()


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from mesos_framework.persistence import open_store
    from mesos_framework.tasks import TaskRecord, TaskState

    async def main():
        store = open_store(sys.argv[1])
        await store.open()
        await store.save_framework_id("fw-killed")
        for i in range(20):
            await store.save_task(TaskRecord(f"app.web-{i}.k", "web", i, state=TaskState.TASK_RUNNING))
        await store.delete_task("app.web-0.k")
        print("written", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_writes_survive_a_sigkill_of_the_writer(durable_spec: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WRITER, durable_spec, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if line != b"written\n":
            assert proc.stderr is not None
            pytest.fail(f"writer failed: {line!r} {(await proc.stderr.read()).decode()[-2000:]}")
        os.kill(proc.pid, signal.SIGKILL)  # no close(), no atexit, no flush
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    # The writer sleeps for an hour after 'written', so only the SIGKILL ends it. asyncio's
    # child watcher reports 255 ("Unknown child process") when the status was reaped before
    # it could read it; seen once in a full CI run.
    assert proc.returncode in (-signal.SIGKILL, 255), proc.returncode
    store = open_store(durable_spec)
    await store.open()
    try:
        assert await store.load_framework_id() == "fw-killed"
        loaded = await store.load_tasks()
        assert sorted(r.task_id for r in loaded) == sorted(f"app.web-{i}.k" for i in range(1, 20))
        assert {r.state for r in loaded} == {TaskState.TASK_RUNNING}
    finally:
        await store.close()


_STREAMER = textwrap.dedent(
    """
    import asyncio, sys
    from mesos_framework.persistence import open_store
    from mesos_framework.tasks import TaskRecord, TaskState

    async def main():
        store = open_store(sys.argv[1])
        await store.open()
        i = 0
        while True:
            rec = TaskRecord(f"app.web-{i}.s", "web", i, state=TaskState.TASK_RUNNING, agent_id="S1")
            rec.properties["pad"] = "x" * 200
            await store.save_task(rec)
            print(i, flush=True)  # only after the write returned
            i += 1

    asyncio.run(main())
    """
)


async def test_every_write_that_returned_survives_a_sigkill_mid_stream(durable_spec: str) -> None:
    """The writer is killed while writing without pause: each write it saw return is there, intact."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _STREAMER, durable_spec, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    acknowledged = -1
    try:
        assert proc.stdout is not None
        while acknowledged < 30:
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            if not line:
                assert proc.stderr is not None
                pytest.fail(f"writer died: {(await proc.stderr.read()).decode()[-2000:]}")
            acknowledged = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    store = open_store(durable_spec)
    await store.open()
    try:
        loaded = {r.task_id: r for r in await store.load_tasks()}
    finally:
        await store.close()
    for i in range(acknowledged + 1):
        rec = loaded[f"app.web-{i}.s"]
        assert (rec.state, rec.agent_id, rec.properties["pad"]) == (TaskState.TASK_RUNNING, "S1", "x" * 200)
    # The writer ran on past the last line read; whatever else it wrote is whole too.
    assert all(r.properties["pad"] == "x" * 200 for r in loaded.values())


# -- open_store ------------------------------------------------------------------------------


def test_open_store_picks_the_store_from_the_spec(tmp_path: Path) -> None:
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store("memory"), MemoryStore)
    mine = MemoryStore()
    assert open_store(mine) is mine
    s = open_store(f"sqlite://{tmp_path}/a.db")
    assert isinstance(s, SQLiteStore) and s.path == tmp_path / "a.db"
    for name in ("b.db", "c.sqlite", "d.SQLITE3"):
        s = open_store(str(tmp_path / name))
        assert isinstance(s, SQLiteStore) and s.path == tmp_path / name
    s = open_store(tmp_path / "state")  # a Path: SQLite whatever its name
    assert isinstance(s, SQLiteStore) and s.path == tmp_path / "state"
    s = open_store("state.db")  # relative: from the current directory
    assert isinstance(s, SQLiteStore) and s.path == Path.cwd() / "state.db"
    assert open_store(str(tmp_path / "t.db"), timeout=2.5).timeout == 2.5  # type: ignore[attr-defined]
    z = open_store("zk://10.0.0.1:2181,10.0.0.2:2181/apps/web/", timeout=7)
    assert isinstance(z, ZooKeeperStore)
    assert (z.hosts, z.path, z.operation_timeout) == ("10.0.0.1:2181,10.0.0.2:2181", "/apps/web", 7.0)
    assert isinstance(open_store("zk://user:pw@zk1:2181/fw"), ZooKeeperStore)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", "unknown state store"),
        ("memroy", "unknown state store"),
        ("state.json", "unknown state store"),
        ("redis://h:6379/0", "unknown state store"),
        ("sqlite://relative.db", "three slashes"),
        ("sqlite:////double.db", "three slashes"),
        ("sqlite:///", "three slashes"),
        ("zk://h:2181", "path other than '/'"),
        ("zk://h:2181/", "path other than '/'"),
        ("zk:///fw", "no ZooKeeper hosts"),
        ("zk://h:99999/fw", "bad ZooKeeper host"),
        ("zk://h:2181/a//b", "empty path segment"),
        ("zk://nopassword@h:2181/fw", "user:password"),
        (42, "expected a store spec"),
    ],
)
def test_open_store_refuses_bad_specs(spec: object, match: str) -> None:
    from mesos_framework.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=match) as info:
        open_store(spec)  # type: ignore[arg-type]
    assert info.value.option == "state_store"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("zk://su:secret@h:2181", "path other than '/'"),
        ("zk://su:secret@/fw", "no ZooKeeper hosts"),
        ("zk://su:secret@h:99999/fw", "bad ZooKeeper host"),
        ("zk://su:secret@h:2181/a//b", "empty path segment"),
        ("redis://su:secret@h:6379/0", "unknown state store"),
        ("sqlite://su:secret@h/x.db", "three slashes"),
    ],
)
def test_a_bad_store_spec_does_not_show_its_password(spec: str, match: str) -> None:
    from mesos_framework.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=match) as info:
        open_store(spec)
    assert "secret" not in str(info.value)
    assert "su:***@" in str(info.value)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True])
def test_open_store_refuses_bad_timeouts(timeout: object, tmp_path: Path) -> None:
    from mesos_framework.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="finite number of seconds"):
        open_store(str(tmp_path / "x.db"), timeout=timeout)  # type: ignore[arg-type]
