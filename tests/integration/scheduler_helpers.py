"""Helpers for the scheduler integration tests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState


async def until(
    predicate: Callable[[], bool],
    timeout: float = 60.0,  # noqa: ASYNC109
    what: str | Callable[[], str] = "condition",
) -> None:
    """Poll ``predicate`` until true; fail with ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.05)


def cmd(value: str = "exec sleep 300", **resources: Any) -> dict[str, Any]:
    """A command task spec."""
    res: dict[str, Any] = {"cpus": 0.1, "mem": 16}
    res.update(resources)
    return {"command": {"value": value, "shell": True}, "resources": res}


class Recorder:
    """Counts events and remembers updates and acknowledgements of a scheduler."""

    def __init__(self, scheduler: Scheduler, *, skip: tuple[str, ...] = ()) -> None:
        self.counts: Counter[str] = Counter()
        self.errors: list[BaseException] = []
        self.updates: list[scheduler_pb2.Event.Update] = []
        self.acks: list[bytes] = []
        self.launched_ids: list[str] = []
        names = [
            "subscribed",
            "offers",
            "update",
            "task_launched",
            "updated_task",
            "removed_task",
            "disconnected",
            "framework_removed",
            "sent_accept",
            "sent_decline",
            "sent_suppress",
            "sent_revive",
            "sent_reconcile",
            "sent_kill",
            "sent_acknowledge",
            "sent_teardown",
            "heartbeat",
        ]
        for name in names:
            if name not in skip:
                scheduler.on(name, self._counter(name))
        scheduler.on("error", self.errors.append)
        scheduler.on("update", self.updates.append)
        scheduler.on("sent_acknowledge", lambda call: self.acks.append(call.acknowledge.uuid))
        scheduler.on(
            "sent_accept",
            lambda call: self.launched_ids.extend(
                t.task_id.value for op in call.accept.operations for t in op.launch.task_infos
            ),
        )

    def _counter(self, name: str) -> Callable[..., None]:
        def count(*_: Any) -> None:
            self.counts[name] += 1

        return count

    def uuids_needing_ack(self) -> list[bytes]:
        return [u.status.uuid for u in self.updates if u.status.uuid]

    def all_acked(self) -> bool:
        """Every update with a uuid was acknowledged, and nothing else was.

        A redelivered update (the ack was lost, or came late) is acknowledged
        again, so counts are compared per delivery, not per uuid.
        """
        delivered = Counter(self.uuids_needing_ack())
        acked = Counter(self.acks)
        return set(acked) == set(delivered) and all(acked[u] <= delivered[u] for u in acked)


def running(s: Scheduler, type_name: str | None = None) -> list[str]:
    return sorted(
        r.name for r in s.task_records(type_name) if r.state == TaskState.TASK_RUNNING and not r.restarting
    )


async def master_json(url: str, path: str) -> Any:
    """GET a master state endpoint (``/master/frameworks``, ``/master/tasks``) as JSON."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url + path) as resp:
        assert resp.status == 200, f"GET {path}: {resp.status}"
        return await resp.json(content_type=None)


async def active_framework_ids(url: str) -> set[str]:
    data = await master_json(url, "/master/frameworks")
    return {fw["id"] for fw in data.get("frameworks", []) if fw.get("active", True)}


async def completed_tasks(url: str, framework_id: str) -> list[str]:
    """IDs of the framework's completed tasks, as the master lists them."""
    data = await master_json(url, "/master/frameworks")
    for fw in data.get("frameworks", []):
        if fw["id"] == framework_id:
            return [t["id"] for t in fw.get("completed_tasks", [])]
    return []


async def master_tasks(url: str, framework_id: str | None) -> dict[str, str]:
    """task id -> state of the framework's tasks the master knows (not completed)."""
    data = await master_json(url, "/master/tasks?limit=10000")
    return {
        t["id"]: t["state"]
        for t in data.get("tasks", [])
        if framework_id is None or t.get("framework_id") == framework_id
    }


class FakeMasterServer:
    """An aiohttp server on 127.0.0.1 that answers ``POST /api/v1/scheduler`` with :meth:`handle`.

    For injecting faults a real master cannot be made to show; subclasses script the answers.
    """

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/api/v1/scheduler", self.handle)
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()
