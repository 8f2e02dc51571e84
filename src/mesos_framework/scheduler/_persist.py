"""`Persister`: state store writes off the event path, coalesced by key, retried until they land.

The fleet decides what to record (a task's record, a task ID to forget, the
framework ID); the scheduler hands each write to a `Persister` and goes on
handling events at once. One background task writes them in order, each
bounded by the store's own timeout. Writes for the same key coalesce: only
the newest is kept while it waits (a task saved three times and then
forgotten costs one delete), so a queue built up during an outage holds at
most one write per task.

A write that fails (a ZooKeeper outage, a locked database) is reported once
as `StateStoreError` (the scheduler's `error` event) and retried with a
capped backoff until it lands, behind the other waiting writes (so one that
keeps failing holds up no other); `caught_up` is logged when the queue drains
again. A value the store refuses (`StateValueError`) is reported and
dropped: writing it again cannot succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mesos_framework._tasks import cancel_and_wait
from mesos_framework.errors import StateStoreError, StateValueError
from mesos_framework.tasks.records import TaskRecord

if TYPE_CHECKING:
    from mesos_framework.persistence.base import StateStore

__all__ = ["Persister", "store_timeout"]

log = logging.getLogger("mesos_framework.scheduler")

#: The bound on one write when the store names no timeout of its own (seconds).
DEFAULT_TIMEOUT = 30.0
#: How much longer than the store's own timeout the persister waits before giving up on a write.
_GRACE = 2.0

#: A pending write: a record to save, None to forget the task, a framework ID (str) or "" to clear it.
_Write = TaskRecord | str | None
_FRAMEWORK = "\0framework-id"  # no task ID contains NUL (the stores refuse it)


def store_timeout(store: object) -> float:
    """The bound on one operation of ``store``: its ``timeout`` or ``operation_timeout``, else 30 s."""
    for attr in ("timeout", "operation_timeout"):
        value = getattr(store, attr, None)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf"):
            return float(value)
    return DEFAULT_TIMEOUT


class Persister:
    """Writes to a state store in the background, newest write per key, retried until they land.

    Args:
        store: the (open) state store.
        report: reports a `StateStoreError` (the scheduler's `error` event).
        retry_minimum / retry_maximum: the backoff between attempts while writes fail.
    """

    def __init__(
        self,
        store: StateStore,
        report: Callable[[BaseException], None],
        *,
        retry_minimum: float = 0.5,
        retry_maximum: float = 5.0,
    ) -> None:
        self.store = store
        self.timeout = store_timeout(store)
        self._report = report
        self.retry_minimum = retry_minimum
        self.retry_maximum = retry_maximum
        self._pending: dict[str, _Write] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._writing: str | None = None
        #: True while writes fail (from the first failure until the queue has drained again).
        self.failing = False
        #: Called once a framework ID write has landed (or was refused for good, and reported).
        self.framework_id_settled: Callable[[], None] | None = None

    # ------------------------------------------------------------------ queue
    def save(self, record: TaskRecord) -> None:
        """Write a task's record (its state when the write is made, which may be newer)."""
        self._put(record.task_id, record)

    def forget(self, task_id: str) -> None:
        """Delete a task's record."""
        self._put(task_id, None)

    def save_framework_id(self, framework_id: str) -> None:
        """Write the framework ID."""
        self._put(_FRAMEWORK, framework_id)

    def clear_framework_id(self) -> None:
        """Forget the framework ID."""
        self._put(_FRAMEWORK, "")

    def _put(self, key: str, write: _Write) -> None:
        self._pending.pop(key, None)  # the newest write goes to the end: writes keep their order
        self._pending[key] = write
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mesos-scheduler-store")

    @property
    def framework_id_pending(self) -> bool:
        """True while a framework ID write waits or is being made."""
        return _FRAMEWORK in self._pending or self._writing == _FRAMEWORK

    @property
    def pending(self) -> int:
        """How many writes wait (one per key at most)."""
        return len(self._pending)

    # ------------------------------------------------------------------ writer
    async def _run(self) -> None:
        delay = self.retry_minimum
        try:
            while True:
                if not self._pending:
                    self._idle.set()
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                key = next(iter(self._pending))
                write = self._pending.pop(key)
                self._writing = key
                try:
                    await asyncio.wait_for(self._write(key, write), self.timeout + _GRACE)
                except asyncio.CancelledError:
                    self._put_back(key, write)
                    raise
                except StateValueError as exc:
                    self._report(exc)  # writing it again cannot succeed
                    self._framework_id_done(key, write)
                    continue
                except Exception as exc:
                    error = exc if isinstance(exc, StateStoreError) else _wrap(key, exc, self.timeout)
                    if not self.failing:
                        self.failing = True
                        self._report(error)
                    else:
                        log.debug("state store write still failing: %s", error)
                    # Last in line: a write that keeps failing cannot hold up the others.
                    if key not in self._pending:
                        self._pending[key] = write
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_maximum)
                    continue
                finally:
                    self._writing = None
                delay = self.retry_minimum
                self._framework_id_done(key, write)
                if self.failing and not self._pending:
                    self.failing = False
                    log.warning("state store caught up: every pending write has landed")
        finally:
            self._writing = None
            if not self._pending:
                self._idle.set()

    def _framework_id_done(self, key: str, write: _Write) -> None:
        if key == _FRAMEWORK and write and self.framework_id_settled is not None:
            self.framework_id_settled()

    def _put_back(self, key: str, write: _Write) -> None:
        """A write interrupted goes first again, unless a newer one for its key waits."""
        if key not in self._pending:
            self._pending = {key: write, **self._pending}

    async def _write(self, key: str, write: _Write) -> None:
        store = self.store
        if key == _FRAMEWORK:
            if write:
                assert isinstance(write, str)
                await store.save_framework_id(write)
            else:
                await store.clear_framework_id()
        elif write is None:
            await store.delete_task(key)
        else:
            assert isinstance(write, TaskRecord)
            await store.save_task(write)

    # ------------------------------------------------------------------ ending
    async def flush(self, wait: float) -> bool:
        """Wait up to ``wait`` seconds for every pending write to land; True if they did."""
        if not self._pending and self._idle.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), wait)
        return not self._pending and self._idle.is_set()

    async def close(self) -> None:
        """Stop writing (what still waits is dropped, and logged)."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])
        if self._pending:
            log.warning(
                "state store: %d write(s) not made before closing (a restarted scheduler "
                "reconciles with the master to find what they would have said)",
                len(self._pending),
            )


def _wrap(key: str, exc: BaseException, timeout: float) -> StateStoreError:
    what = "the framework ID" if key == _FRAMEWORK else f"task {key}"
    if isinstance(exc, TimeoutError):
        return StateStoreError(f"writing {what} timed out after {timeout:g}s")
    return StateStoreError(f"writing {what} failed: {exc!r}")
