"""Stop paths never swallow a cancellation of the task doing the waiting (issue 15).

`with suppress(CancelledError): await task` cannot tell the awaited task's own
cancellation from one of the waiter: the waiter then carried on as if nothing had
asked it to stop. Each place that cancels a task and waits for it is checked here
with a task slow to end, the waiter being cancelled meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mesos_framework._tasks import cancel_and_wait, report_failure
from mesos_framework.errors import MesosError
from mesos_framework.health import TaskHealthHelper
from mesos_framework.scheduler import Scheduler
from mesos_framework.scheduler._persist import Persister
from mesos_framework.tasks import TaskRecord
from mesos_framework.transport.zookeeper import ZooKeeperDetector
from tests.unit.scheduler.test_persister import FaultyStore


class SlowToEnd:
    """A task that, when cancelled, takes until ``release`` to end (a clean-up that takes a moment)."""

    def __init__(self) -> None:
        self.cleaning = asyncio.Event()
        self.release = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            self.cleaning.set()
            await asyncio.shield(self.release.wait())


async def _waiter_cancelled(wait: Callable[[], Awaitable[Any]], slow: SlowToEnd) -> list[str]:
    """Run ``wait`` as a task, cancel it while ``slow`` cleans up; return what ran after the wait."""
    after: list[str] = []

    async def waiter() -> None:
        await wait()
        after.append("went on")

    task = asyncio.get_running_loop().create_task(waiter())
    await slow.cleaning.wait()
    task.cancel()
    await asyncio.sleep(0.05)
    slow.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait([slow.task])
    return after


async def test_cancel_and_wait_passes_on_a_cancellation_of_the_caller() -> None:
    slow = SlowToEnd()
    await asyncio.sleep(0)
    assert await _waiter_cancelled(lambda: cancel_and_wait([slow.task]), slow) == []


async def test_cancel_and_wait_waits_for_the_end_and_retrieves_failures() -> None:
    async def fails_when_cancelled() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("clean-up failed") from None

    tasks = [asyncio.get_running_loop().create_task(fails_when_cancelled()) for _ in range(3)]
    await asyncio.sleep(0)
    await cancel_and_wait(tasks)  # raises neither the tasks' errors nor their cancellation
    assert all(t.done() for t in tasks)
    assert all(isinstance(t.exception(), RuntimeError) for t in tasks)


async def test_the_schedulers_background_cancel_passes_on_a_cancellation() -> None:
    slow = SlowToEnd()
    await asyncio.sleep(0)
    assert await _waiter_cancelled(lambda: Scheduler._cancel({slow.task}), slow) == []


async def test_the_persisters_close_passes_on_a_cancellation() -> None:
    class StubbornStore(FaultyStore):
        """A write that, cancelled, takes until ``release`` to give up."""

        def __init__(self) -> None:
            super().__init__()
            self.cleaning = asyncio.Event()
            self.release = asyncio.Event()

        async def save_task(self, record: TaskRecord) -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                self.cleaning.set()
                await asyncio.shield(self.release.wait())

    store = StubbornStore()
    persister = Persister(store, lambda exc: None)
    persister.save(TaskRecord("app.web-1.x", "web", 1))
    await asyncio.sleep(0.01)
    after: list[str] = []

    async def waiter() -> None:
        await persister.close()
        after.append("went on")

    task = asyncio.get_running_loop().create_task(waiter())
    await store.cleaning.wait()
    task.cancel()
    await asyncio.sleep(0.05)
    store.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert after == []


async def test_the_schedulers_stop_passes_on_a_cancellation() -> None:
    s = Scheduler(master="127.0.0.1:1", framework_name="stoppath")
    slow = SlowToEnd()
    await asyncio.sleep(0)
    s._main = slow.task  # the event loop's task, slow to end
    after = await _waiter_cancelled(s._do_stop, slow)
    assert after == []


def test_report_failure_sends_mesos_errors_to_report_and_others_to_error() -> None:
    log = logging.getLogger("test")
    loop = asyncio.new_event_loop()
    try:
        reported: list[BaseException] = []
        emitted: list[BaseException] = []
        for exc in (MesosError("known"), RuntimeError("bug")):
            future: asyncio.Future[None] = loop.create_future()
            future.set_exception(exc)
            report_failure(future, reported.append, emitted.append, log)
        cancelled: asyncio.Future[None] = loop.create_future()
        cancelled.cancel()
        report_failure(cancelled, reported.append, emitted.append, log)
        done: asyncio.Future[None] = loop.create_future()
        done.set_result(None)
        report_failure(done, reported.append, emitted.append, log)
        assert [str(e) for e in reported] == ["known"]
        assert [str(e) for e in emitted] == ["bug"]
    finally:
        loop.close()


async def test_the_health_helpers_close_passes_on_a_cancellation() -> None:
    helper = TaskHealthHelper(Scheduler(master="127.0.0.1:1", framework_name="health"), url="/health")
    slow = SlowToEnd()
    await asyncio.sleep(0)
    helper._loop_task = slow.task
    assert await _waiter_cancelled(helper.close, slow) == []


async def test_the_zookeeper_detectors_close_passes_on_a_cancellation() -> None:
    detector = ZooKeeperDetector("127.0.0.1:1", "/mesos")
    slow = SlowToEnd()
    await asyncio.sleep(0)
    detector._task = slow.task
    assert await _waiter_cancelled(detector.close, slow) == []
