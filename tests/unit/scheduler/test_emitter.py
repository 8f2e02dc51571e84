from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mesos_framework._events import Events as Emitter
from mesos_framework.errors import ConfigurationError
from mesos_framework.scheduler import EVENTS, Scheduler


async def test_sync_and_async_listeners_and_errors() -> None:
    em = Emitter({"a", "error"}, prefixes=("sent_",))
    got: list[Any] = []
    errors: list[BaseException] = []
    em.on("error", errors.append)
    em.on("a", got.append)

    async def later(x: Any) -> None:
        await asyncio.sleep(0)
        got.append(("async", x))

    em.on("a", later)

    def bad(x: Any) -> None:
        raise RuntimeError("boom")

    em.on("a", bad)
    em.emit("a", 1)
    await em.drain()
    assert got == [1, ("async", 1)]
    assert [str(e) for e in errors] == ["boom"]
    em.on("sent_accept", got.append)  # sent_* are allowed


async def test_error_listener_failure_does_not_recurse() -> None:
    em = Emitter({"error"})

    def bad(exc: BaseException) -> None:
        raise RuntimeError("again")

    em.on("error", bad)
    em.emit("error", ValueError("x"))  # logged only


async def test_once_off_and_wait_for() -> None:
    em = Emitter({"a"})
    got: list[int] = []
    em.once("a", got.append)
    em.emit("a", 1)
    em.emit("a", 2)
    assert got == [1]
    waiter = asyncio.ensure_future(em.wait_for("a", lambda x: x > 5, timeout=5))
    await asyncio.sleep(0)
    em.emit("a", 3)
    em.emit("a", 7)
    assert await waiter == (7,)
    assert em.listener_count("a") == 0
    with pytest.raises(TimeoutError):
        await em.wait_for("a", timeout=0.01)


def test_unknown_event_names_are_rejected() -> None:
    s = Scheduler()
    with pytest.raises(ConfigurationError, match="unknown event 'subscibed'"):
        s.on("subscibed", print)
    with pytest.raises(ConfigurationError, match="not callable"):
        s.on("subscribed", 3)  # type: ignore[arg-type]
    for name in ("subscribed", "offers", "inverse_offers", "rescind", "rescind_inverse_offer", "update",
                 "update_operation_status", "message", "failure", "heartbeat", "error", "ready",
                 "updated_task", "removed_task", "task_launched"):  # fmt: skip
        assert name in EVENTS


async def test_every_way_of_adding_or_removing_a_listener_is_reported() -> None:
    changes: list[str] = []
    em = Emitter(["a", "b"], on_change=changes.append)
    em.on("a", lambda: None)
    em.once("b", lambda: None)
    em.emit("b")  # once: removed after its call
    waiting = asyncio.ensure_future(em.wait_for("a"))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    em.off("a", print)  # absent: no change
    assert changes == ["a", "b", "b", "a", "a"]


def test_a_scheduler_without_task_types_follows_its_offers_listeners() -> None:
    # An `offers` listener is such a framework's own offer logic, however it was added or removed.
    s = Scheduler(master="127.0.0.1:1", framework_name="offers")
    assert not s._fleet.offers_wanted_elsewhere
    s.once("offers", lambda offers: None)
    assert s._fleet.offers_wanted_elsewhere
    s.emit("offers", None)  # the once-listener goes
    assert not s._fleet.offers_wanted_elsewhere
