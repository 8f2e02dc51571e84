"""The store worker thread: order, deadlines, and giving up on an operation that ignores its deadline.

The operations here are plain functions that block a thread (a stuck disk or
server, injected); the stores' own tests use real SQLite and ZooKeeper.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from mesos_framework.errors import StateStoreError, StateValueError
from mesos_framework.persistence._worker import StoreWorker


async def test_operations_run_in_order_on_one_thread() -> None:
    worker = StoreWorker("test store", 30, thread_name="mf-test")
    worker.start()
    seen: list[tuple[int, str]] = []

    def op(i: int) -> int:
        time.sleep(0.001 * (5 - i))  # later ones are quicker: order must still hold
        seen.append((i, threading.current_thread().name))
        return i

    results = await asyncio.gather(*(worker.run(f"op {i}", lambda _, i=i: op(i)) for i in range(5)))
    assert results == [0, 1, 2, 3, 4]
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    assert len({name for _, name in seen}) == 1 and seen[0][1].startswith("mf-test")
    assert seen[0][1] != threading.current_thread().name
    await worker.stop()


async def test_failures_become_state_store_errors_naming_the_operation() -> None:
    worker = StoreWorker("test store", 30, thread_name="mf-test")
    with pytest.raises(StateStoreError, match="read: the test store is not open"):
        await worker.run("read", lambda _: None)
    worker.start()

    def broken(_: float) -> None:
        raise KeyError("boom")

    def refused(_: float) -> None:
        raise StateValueError("bad value")

    with pytest.raises(StateStoreError, match=r"write of x in the test store failed: KeyError\('boom'\)"):
        await worker.run("write of x", broken)
    with pytest.raises(StateValueError, match=r"^bad value$"):  # precise errors pass unchanged
        await worker.run("write of y", refused)
    await worker.stop()
    await worker.stop()
    assert not worker.running


async def test_a_stuck_operation_is_given_up_and_the_queue_behind_it_fails_fast(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = StoreWorker("test store", 0.3, thread_name="mf-test")
    worker.start()
    release = threading.Event()
    try:
        with pytest.raises(StateStoreError, match=r"stuck in the test store timed out after 0\.3s"):
            await worker.run("stuck", lambda _: release.wait(60))
        # Submitted while the thread is still stuck: past its deadline before it can start.
        queued = asyncio.ensure_future(worker.run("queued", lambda _: "ran"))
        await asyncio.sleep(0.6)  # its deadline passes while the thread is still stuck
        release.set()
        with pytest.raises(StateStoreError, match=r"not started within 0\.3s|timed out"):
            await queued
        assert await worker.run("after", lambda _: 42) == 42
        # stop() gives up on a last step that does not return.
        release.clear()
        with caplog.at_level(logging.WARNING, logger="mesos_framework.persistence._worker"):
            await worker.stop(lambda: release.wait(60) and None, wait=0.2)
        assert "closing without waiting any longer" in caplog.text
        assert not worker.running
    finally:
        release.set()
