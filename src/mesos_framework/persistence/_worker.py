"""The worker thread of a blocking store: operations off the event loop, in order, each bounded.

sqlite3 and kazoo block the calling thread. A store hands each operation to
one thread of its own, so operations apply in the order they were submitted
(a task's STAGING save can never land after its delete) and the event loop
never waits on a disk or a ZooKeeper server. Each operation gets a deadline
when it is submitted (``timeout`` seconds later); the loop stops waiting
then and raises :class:`StateStoreError`, whatever the thread is doing. The
operation function receives the deadline and should bound its own blocking
calls by it, so that a stuck server does not hold up the operations queued
behind it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from mesos_framework.errors import StateStoreError

__all__ = ["StoreWorker"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How much longer than its deadline the loop waits for an operation's thread to answer.
_GRACE = 1.0


class StoreWorker:
    """One thread running a store's blocking operations in submission order.

    ``name`` labels errors and the thread (``"SQLite store /var/lib/x.db"``);
    ``timeout`` bounds each operation from its submission.
    """

    def __init__(self, name: str, timeout: float, *, thread_name: str) -> None:
        self.name = name
        self.timeout = timeout
        self._thread_name = thread_name
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._executor is not None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=self._thread_name
            )

    async def run(self, what: str, fn: Callable[[float], T], *, limit: float | None = None) -> T:
        """Run ``fn(deadline)`` on the thread; its result, or :class:`StateStoreError`.

        ``deadline`` is a :func:`time.monotonic` time. Every failure becomes a
        :class:`StateStoreError` naming ``what`` and the store (subclasses of
        it raised by ``fn`` pass through unchanged). Not waiting any more does not
        stop the thread: a timed-out write may still be applied later (before
        any write submitted after it).
        """
        executor = self._executor
        if executor is None:
            raise StateStoreError(f"{what}: the {self.name} is not open")
        limit = self.timeout if limit is None else limit
        deadline = time.monotonic() + limit
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, _bounded, fn, deadline, limit)
        try:
            return await asyncio.wait_for(future, limit + _GRACE)
        except TimeoutError as exc:
            raise StateStoreError(f"{what} in the {self.name} timed out after {limit:g}s") from exc
        except StateStoreError as exc:
            if type(exc) is not StateStoreError:
                raise  # a more precise error (a bad value, a conflict) as it is
            raise StateStoreError(f"{what} in the {self.name} failed: {exc}") from exc
        except Exception as exc:
            raise StateStoreError(f"{what} in the {self.name} failed: {exc!r}") from exc

    async def stop(self, last: Callable[[], None] | None = None, *, wait: float | None = None) -> None:
        """Run ``last`` after the queued operations, then let the thread go (idempotent).

        Waits at most ``wait`` seconds (the operation timeout by default) for
        the queue and ``last``; whatever is still running then is left to
        finish on its own and queued operations that had not started are
        dropped.
        """
        executor, self._executor = self._executor, None
        if executor is None:
            return
        limit = self.timeout if wait is None else wait
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(executor, last or _nothing), limit + _GRACE)
        except TimeoutError:
            log.warning(
                "%s: closing without waiting any longer (%gs) for its last operations", self.name, limit
            )
        except Exception as exc:
            log.warning("%s: error while closing: %r", self.name, exc)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)


def _bounded(fn: Callable[[float], T], deadline: float, limit: float) -> T:
    if time.monotonic() >= deadline:
        raise StateStoreError(f"not started within {limit:g}s (earlier operations were still waiting)")
    return fn(deadline)


def _nothing() -> None:
    return None
