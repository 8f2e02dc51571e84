"""A :class:`~mesos_framework.persistence.base.StateStore` in one SQLite file (standard library).

For a scheduler on one machine: nothing to install or run, and a scheduler
restarted on the same machine (after a crash, a ``kill -9`` or a reboot)
finds its framework ID and task records again. Schedulers on several
machines share state through ZooKeeper instead
(:class:`~mesos_framework.persistence.zookeeper.ZooKeeperStore`).

The file holds two tables::

    meta(key TEXT PRIMARY KEY, value TEXT)        key 'framework_id'
    tasks(task_id TEXT PRIMARY KEY, record TEXT)  one task record, compact JSON

Durability: the database runs in WAL mode with ``synchronous=FULL``, so a
write is on disk when its coroutine returns; it survives the process being
killed and the machine losing power. Each write is one transaction.

sqlite3 blocks, so every operation runs on one thread of the store's own, in
the order submitted, and each is bounded by ``timeout`` (which is also how
long SQLite waits for a lock held by another process): the event loop never
waits on the disk, and a stuck disk surfaces as
:class:`~mesos_framework.errors.StateStoreError`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import orjson

from mesos_framework.errors import ConfigurationError, StateStoreError
from mesos_framework.persistence._worker import StoreWorker
from mesos_framework.persistence.base import (
    check_framework_id,
    check_task_id,
    check_timeout,
    encode_record,
)
from mesos_framework.tasks.records import TaskRecord

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)

#: The schema version kept in ``PRAGMA user_version``.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, record TEXT NOT NULL);
"""


class SQLiteStore:
    """Scheduler state in the SQLite database file ``path``.

    The file and its tables are created on :meth:`open` (the directory must
    exist). ``timeout`` (seconds) bounds every operation, including the wait
    for a lock held by another process. One file serves one framework; it can
    be opened again by the next process once this one has closed it or died.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        try:
            text = os.fspath(path)
        except TypeError:
            text = None
        if not isinstance(text, str) or not text or text == ":memory:" or "\0" in text:
            raise ConfigurationError(f"an SQLite store needs a file path, got {path!r}", option="state_store")
        self.path = Path(text).absolute()
        self.timeout = check_timeout(timeout, "timeout")
        self._worker = StoreWorker(f"SQLite store {self.path}", self.timeout, thread_name="mf-sqlite")
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        state = "open" if self._worker.running else "closed"
        return f"<SQLiteStore {self.path} {state}>"

    # -- lifecycle --------------------------------------------------------
    async def open(self) -> None:
        """Open (and create if needed) the database file."""
        if self._worker.running:
            return
        self._worker.start()
        try:
            await self._worker.run("open", self._open)
        except BaseException:
            await self._worker.stop(wait=0)
            raise

    def _open(self, deadline: float) -> None:
        if not self.path.parent.is_dir():
            raise StateStoreError(f"directory {self.path.parent} does not exist")
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL").fetchone()
            db.execute("PRAGMA synchronous=FULL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateStoreError(
                    f"{self.path} has schema version {version}, newer than this library's "
                    f"{SCHEMA_VERSION}: upgrade mesos-framework to read it"
                )
            db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
        except BaseException:
            db.close()
            raise
        self._db = db

    async def close(self) -> None:
        """Close the database (after the queued writes; bounded by ``timeout``)."""
        await self._worker.stop(self._close)

    def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    # -- framework id -----------------------------------------------------
    async def load_framework_id(self) -> str | None:
        """The stored framework ID, or ``None``."""

        def load(_: float) -> str | None:
            row = self._conn().execute("SELECT value FROM meta WHERE key = 'framework_id'").fetchone()
            return str(row[0]) if row and row[0] else None

        return await self._worker.run("read of the framework ID", load)

    async def save_framework_id(self, framework_id: str) -> None:
        """Store the framework ID."""
        check_framework_id(framework_id)

        def save(_: float) -> None:
            self._conn().execute(
                "INSERT INTO meta (key, value) VALUES ('framework_id', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (framework_id,),
            )

        await self._worker.run("write of the framework ID", save)

    async def clear_framework_id(self) -> None:
        """Forget the framework ID."""

        def clear(_: float) -> None:
            self._conn().execute("DELETE FROM meta WHERE key = 'framework_id'")

        await self._worker.run("delete of the framework ID", clear)

    # -- tasks ------------------------------------------------------------
    async def load_tasks(self) -> list[TaskRecord]:
        """Every stored record, by task ID; unreadable rows are logged, deleted and skipped."""

        def load(_: float) -> list[TaskRecord]:
            db = self._conn()
            out = []
            for task_id, data in db.execute("SELECT task_id, record FROM tasks ORDER BY task_id").fetchall():
                try:
                    out.append(TaskRecord.from_dict(orjson.loads(data)))
                except (orjson.JSONDecodeError, StateStoreError) as exc:
                    log.warning("dropping unreadable task record %r in %s: %s", task_id, self.path, exc)
                    db.execute("DELETE FROM tasks WHERE task_id = ?", (task_id,))
            return out

        return await self._worker.run("read of the tasks", load)

    async def save_task(self, record: TaskRecord) -> None:
        """Create or replace a task's record."""
        data = encode_record(record).decode()
        task_id = record.task_id

        def save(_: float) -> None:
            self._conn().execute(
                "INSERT INTO tasks (task_id, record) VALUES (?, ?) "
                "ON CONFLICT (task_id) DO UPDATE SET record = excluded.record",
                (task_id, data),
            )

        await self._worker.run(f"write of task {task_id}", save)

    async def delete_task(self, task_id: str) -> None:
        """Delete a task's record (missing is fine)."""
        check_task_id(task_id)

        def delete(_: float) -> None:
            self._conn().execute("DELETE FROM tasks WHERE task_id = ?", (task_id,))

        await self._worker.run(f"delete of task {task_id}", delete)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateStoreError("the database is not open")
        return self._db
