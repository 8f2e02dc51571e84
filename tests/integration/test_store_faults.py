"""Faults under the state stores: ZooKeeper stopped (a real server), an SQLite file locked or bad.

In each case an operation fails with StateStoreError within the store's
timeout (plus a generous margin for a loaded machine) while the event loop
keeps running, and the store works again once the fault is gone.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mesos_framework.errors import StateStoreError
from mesos_framework.persistence import SQLiteStore, ZooKeeperStore
from mesos_framework.tasks import TaskRecord, TaskState
from tests.support.zookeeper import ZooKeeperServer

#: Slack on top of a store's own timeout before a test calls the wait a freeze (loaded CI machines).
MARGIN = 15.0


class Ticker:
    """A coroutine that counts while the event loop is free to run it."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            self.ticks += 1

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _fails_in_time(ticker: Ticker, op: Awaitable[object], limit: float) -> StateStoreError:
    """Await ``op``: it must raise StateStoreError within ``limit`` + MARGIN, the loop ticking meanwhile."""
    before = ticker.ticks
    started = time.monotonic()
    with pytest.raises(StateStoreError) as info:
        await op
    elapsed = time.monotonic() - started
    assert elapsed < limit + MARGIN, f"took {elapsed:.1f}s for a {limit}s timeout"
    assert ticker.ticks > before, "the event loop did not run while the store waited"
    return info.value


async def _eventually(op: Callable[[], Awaitable[object]], within: float = 90.0) -> None:
    """Retry ``op`` until it succeeds (a reconnecting client); fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            await op()
            return
        except StateStoreError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


# -- ZooKeeper -------------------------------------------------------------------------------

pytestmark_zk = pytest.mark.zookeeper


@pytestmark_zk
async def test_zookeeper_outage_fails_operations_in_time_without_blocking_the_loop(
    zookeeper_fresh: ZooKeeperServer,
) -> None:
    timeout = 3.0
    store = ZooKeeperStore(zookeeper_fresh.hosts, "/outage", operation_timeout=timeout)
    await store.open()
    try:
        kept = TaskRecord("app.web-1.kept", "web", 1, state=TaskState.TASK_RUNNING)
        await store.save_framework_id("fw-outage")
        await store.save_task(kept)
        await asyncio.to_thread(zookeeper_fresh.stop)
        async with Ticker() as ticker:
            error = await _fails_in_time(
                ticker, store.save_task(TaskRecord("app.web-2.lost", "web", 2)), timeout
            )
            assert "timed out" in str(error) and "/outage" in str(error)
            await _fails_in_time(ticker, store.load_tasks(), timeout)
            await _fails_in_time(ticker, store.load_framework_id(), timeout)
            await _fails_in_time(ticker, store.delete_task(kept.task_id), timeout)
            # Several operations queued at once each fail by their own deadline, not one after another.
            started = time.monotonic()
            results = await asyncio.gather(
                *(store.save_task(TaskRecord(f"app.web-{i}.q", "web", i)) for i in range(3, 8)),
                return_exceptions=True,
            )
            assert all(isinstance(r, StateStoreError) for r in results), results
            assert time.monotonic() - started < timeout + MARGIN
        await asyncio.to_thread(zookeeper_fresh.start)
        after = TaskRecord("app.web-9.after", "web", 9, state=TaskState.TASK_RUNNING)
        await _eventually(lambda: store.save_task(after))
        ids = {r.task_id for r in await store.load_tasks()}
        assert after.task_id in ids
        assert await store.load_framework_id() == "fw-outage"
    finally:
        await store.close()


@pytestmark_zk
async def test_close_returns_during_a_zookeeper_outage(zookeeper_fresh: ZooKeeperServer) -> None:
    timeout = 2.0
    store = ZooKeeperStore(zookeeper_fresh.hosts, "/outage-close", operation_timeout=timeout)
    await store.open()
    await store.save_framework_id("fw-1")
    await asyncio.to_thread(zookeeper_fresh.stop)
    pending = asyncio.ensure_future(store.save_task(TaskRecord("app.web-1.x", "web", 1)))
    await asyncio.sleep(0.2)
    async with Ticker() as ticker:
        before = ticker.ticks
        started = time.monotonic()
        await store.close()
        elapsed = time.monotonic() - started
        # close() abandons the blocked write at once, so it may return before the
        # ticker's first 20 ms tick; when it takes longer, the loop must have run.
        assert ticker.ticks > before or elapsed < 0.05, (elapsed, ticker.ticks)
    # The write is abandoned, not waited for: well within its deadline.
    assert elapsed < timeout, elapsed
    with pytest.raises(StateStoreError):
        await pending
    with pytest.raises(StateStoreError, match="not open"):
        await store.load_tasks()
    # A new store on the same path works once ZooKeeper is back.
    await asyncio.to_thread(zookeeper_fresh.start)
    again = ZooKeeperStore(zookeeper_fresh.hosts, "/outage-close", operation_timeout=30)
    await again.open()
    try:
        assert await again.load_framework_id() == "fw-1"
    finally:
        await again.close()


_CLOSE_IN_OUTAGE = """
import asyncio, sys, time
from mesos_framework.persistence import ZooKeeperStore
from mesos_framework.tasks import TaskRecord

async def main(hosts):
    store = ZooKeeperStore(hosts, "/outage-exit", operation_timeout=120)
    await store.open()
    await store.save_framework_id("fw-1")
    print("open", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # ZooKeeper is stopped meanwhile
    pending = asyncio.ensure_future(store.save_task(TaskRecord("app.web-1.x", "web", 1)))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await store.close()
    print(f"closed {time.monotonic() - started:.2f}", flush=True)
    try:
        await pending
    except Exception as exc:
        print(f"pending {type(exc).__name__}: {exc}", flush=True)

asyncio.run(main(sys.argv[1]))
"""


@pytestmark_zk
def test_closing_during_an_outage_abandons_the_blocked_write_and_the_process_exits(
    zookeeper_fresh: ZooKeeperServer,
) -> None:
    # The write under way would wait for ZooKeeper up to operation_timeout (120 s here), and the
    # store's thread with it: close() returned, yet the interpreter's exit joined that thread.
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLOSE_IN_OUTAGE, zookeeper_fresh.hosts],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "open", proc.stderr.read() if proc.stderr else ""
        zookeeper_fresh.stop()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        started = time.monotonic()
        out, err = proc.communicate(timeout=60)  # far below the 120 s the write would wait
        exited = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert float(lines["closed"]) < MARGIN, out
    assert lines["pending"].startswith("StateStoreError") and "abandoned" in lines["pending"], out
    assert exited < 0.5 + 2 * MARGIN, f"the process took {exited:.1f}s to exit"


@pytestmark_zk
async def test_open_fails_in_time_when_zookeeper_is_down(zookeeper_fresh: ZooKeeperServer) -> None:
    await asyncio.to_thread(zookeeper_fresh.stop)
    store = ZooKeeperStore(zookeeper_fresh.hosts, "/never", connect_timeout=2, operation_timeout=2)
    async with Ticker() as ticker:
        await _fails_in_time(ticker, store.open(), 2)
    with pytest.raises(StateStoreError, match="not open"):
        await store.load_tasks()


# -- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "state.db", timeout=1.0)
    await store.open()
    yield store
    await store.close()


async def test_sqlite_is_in_wal_mode_with_full_sync(sqlite_store: SQLiteStore) -> None:
    with sqlite3.connect(sqlite_store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA user_version").fetchone()[0] == 1
    sync = await sqlite_store._worker.run(
        "pragma", lambda _: sqlite_store._conn().execute("PRAGMA synchronous").fetchone()[0]
    )
    assert sync == 2  # FULL


async def test_sqlite_write_locked_by_another_process_fails_in_time(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.save_framework_id("fw-1")
    other = sqlite3.connect(sqlite_store.path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        async with Ticker() as ticker:
            error = await _fails_in_time(
                ticker, sqlite_store.save_task(TaskRecord("app.web-1.x", "web", 1)), sqlite_store.timeout
            )
        assert "locked" in str(error) or "timed out" in str(error), error
    finally:
        other.execute("ROLLBACK")
        other.close()
    await sqlite_store.save_task(TaskRecord("app.web-1.x", "web", 1))
    assert [r.task_id for r in await sqlite_store.load_tasks()] == ["app.web-1.x"]
    assert await sqlite_store.load_framework_id() == "fw-1"


async def test_sqlite_unreadable_rows_are_dropped(
    sqlite_store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    await sqlite_store.save_task(TaskRecord("app.web-1.x", "web", 1))
    with sqlite3.connect(sqlite_store.path) as other:
        other.execute("INSERT INTO tasks VALUES ('garbage', '{not json')")
        other.execute("INSERT INTO tasks VALUES ('no-type', '{\"task_id\": \"no-type\"}')")
    with caplog.at_level(logging.WARNING, logger="mesos_framework.persistence.sqlite"):
        assert [r.task_id for r in await sqlite_store.load_tasks()] == ["app.web-1.x"]
    assert "garbage" in caplog.text and "no-type" in caplog.text
    with sqlite3.connect(sqlite_store.path) as other:
        assert other.execute("SELECT task_id FROM tasks").fetchall() == [("app.web-1.x",)]


async def test_sqlite_open_errors(tmp_path: Path) -> None:
    with pytest.raises(StateStoreError, match="does not exist"):
        await SQLiteStore(tmp_path / "missing" / "state.db").open()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    with pytest.raises(StateStoreError, match="not a database"):
        await SQLiteStore(junk).open()
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    store = SQLiteStore(newer)
    with pytest.raises(StateStoreError, match="schema version 99"):
        await store.open()
    with pytest.raises(StateStoreError, match="not open"):
        await store.load_tasks()


def test_sqlite_bad_arguments(tmp_path: Path) -> None:
    from mesos_framework.errors import ConfigurationError

    for path in ("", ":memory:", "a\0b.db", 5):
        with pytest.raises(ConfigurationError, match="needs a file path"):
            SQLiteStore(path)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout"):
        SQLiteStore(tmp_path / "x.db", timeout=0)
