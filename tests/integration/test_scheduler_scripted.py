"""Default handlers against a scripted master: exact calls and faults a real master cannot stage."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from mesos_framework.persistence import MemoryStore
from mesos_framework.protocol import ContentType, decode, encode, recordio_encode
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskRecord, TaskState
from tests.integration.scheduler_helpers import FakeMasterServer, until

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


class ScriptedMaster(FakeMasterServer):
    """SUBSCRIBED, then whatever events the test pushes; records every other call and answers 202."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[scheduler_pb2.Call] = []
        self.fail_accepts = 0
        self.events: asyncio.Queue[scheduler_pb2.Event] = asyncio.Queue()

    def of_type(self, kind: int) -> list[scheduler_pb2.Call]:
        return [c for c in self.calls if c.type == kind]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        call = decode(Call, await request.read(), ContentType.JSON)
        if call.type != Call.SUBSCRIBE:
            self.calls.append(call)
            if call.type == Call.ACCEPT and self.fail_accepts > 0:
                self.fail_accepts -= 1
                return web.Response(status=400, text="Offer o1 is no longer valid")
            return web.Response(status=202)
        resp = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Mesos-Stream-Id": "stream-1"}
        )
        await resp.prepare(request)
        ev = Event(type=Event.SUBSCRIBED)
        ev.subscribed.framework_id.value = "fw-scripted"
        ev.subscribed.heartbeat_interval_seconds = 30
        await resp.write(recordio_encode(encode(ev, ContentType.JSON)))
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            while True:
                ev = await self.events.get()
                await resp.write(recordio_encode(encode(ev, ContentType.JSON)))
        return resp

    def push_update(
        self, task_id: str, state: int, *, uuid: bytes = b"", reason: int | None = None, agent: str = "ag1"
    ) -> None:
        ev = Event(type=Event.UPDATE)
        st = ev.update.status
        st.task_id.value = task_id
        st.state = state  # type: ignore[assignment]
        st.agent_id.value = agent
        st.source = mesos_pb2.TaskStatus.SOURCE_MASTER
        if uuid:
            st.uuid = uuid
        if reason is not None:
            st.reason = reason  # type: ignore[assignment]
        self.events.put_nowait(ev)


@pytest.fixture
async def master() -> AsyncIterator[ScriptedMaster]:
    async with ScriptedMaster() as m:
        yield m


def scheduler(master: ScriptedMaster, **options: Any) -> Scheduler:
    base: dict[str, Any] = {
        "master": master.url,
        "framework_name": "scripted",
        "content_type": "json",
        "reconcile_retry_minimum": 0.05,
        "reconcile_retry_maximum": 0.1,
    }
    base.update(options)
    return Scheduler(**base)


RECONCILIATION = mesos_pb2.TaskStatus.REASON_RECONCILIATION


async def test_acknowledges_exactly_the_updates_with_a_uuid(master: ScriptedMaster) -> None:
    s = scheduler(master)
    updates: list[Any] = []
    s.on("update", updates.append)
    async with s:
        await s.subscribe(timeout=10)
        master.push_update("t-1", mesos_pb2.TASK_RUNNING, uuid=b"\x01" * 16)
        master.push_update("t-2", mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        master.push_update("t-3", mesos_pb2.TASK_FAILED, uuid=b"\x03" * 16)
        await until(lambda: len(updates) == 3)
        await asyncio.sleep(0.2)
    acks = [
        (c.acknowledge.task_id.value, c.acknowledge.agent_id.value, c.acknowledge.uuid)
        for c in master.of_type(Call.ACKNOWLEDGE)
    ]
    assert acks == [("t-1", "ag1", b"\x01" * 16), ("t-3", "ag1", b"\x03" * 16)]
    assert all(c.framework_id.value == "fw-scripted" for c in master.calls)


async def test_a_new_framework_skips_the_implicit_reconciliation_a_returning_one_sends(
    master: ScriptedMaster,
) -> None:
    # Registered anew, the framework has no tasks: an implicit RECONCILE would only be answered
    # (after the first launches) with a TASK_STAGING per new task.
    async with scheduler(master) as s:
        await s.subscribe(timeout=10)
        await asyncio.sleep(0.3)
    assert master.of_type(Call.RECONCILE) == []

    store = MemoryStore()
    store.framework_id = "fw-scripted"  # subscribing again, as after a failover
    async with scheduler(master, state_store=store) as s:
        await s.subscribe(timeout=10)
        await until(lambda: len(master.of_type(Call.RECONCILE)) == 1, what="the implicit RECONCILE")
    assert not master.of_type(Call.RECONCILE)[0].reconcile.tasks


async def test_explicit_reconciliation_is_retried_until_answered(master: ScriptedMaster) -> None:
    store = MemoryStore()
    store.framework_id = "fw-scripted"
    rec = TaskRecord(
        "scripted.web-1.0123456789abcdef0123456789abcdef",
        "web",
        1,
        state=TaskState.TASK_RUNNING,
        agent_id="ag1",
    )
    await store.save_task(rec)
    s = scheduler(
        master,
        state_store=store,
        tasks={"web": {"command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 8}}},
    )

    def explicit() -> list[scheduler_pb2.Call]:
        return [c for c in master.of_type(Call.RECONCILE) if c.reconcile.tasks]

    async with s:
        await until(lambda: len(explicit()) >= 3, what="three explicit RECONCILE attempts")
        assert [(t.task_id.value, t.agent_id.value) for t in explicit()[0].reconcile.tasks] == [
            (rec.task_id, "ag1")
        ]
        assert any(not c.reconcile.tasks for c in master.of_type(Call.RECONCILE))  # and one implicit
        master.push_update(rec.task_id, mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        await until(lambda: s.tasks and s.tasks[0].state == TaskState.TASK_RUNNING)
        await asyncio.sleep(0.1)
        count = len(explicit())
        await asyncio.sleep(0.5)
        assert len(explicit()) == count, "reconciliation kept retrying after the answer"
        assert s.pending == []  # the recovered instance is not launched again


@pytest.mark.parametrize("kill_unknown", [True, False])
async def test_unknown_tasks(master: ScriptedMaster, kill_unknown: bool) -> None:
    s = scheduler(
        master,
        kill_unknown_tasks=kill_unknown,
        tasks={"web": {"instances": 1, "command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 8}}},
    )
    launched: list[Any] = []
    s.on("task_launched", launched.append)
    async with s:
        await s.subscribe(timeout=10)
        master.push_update("someone-elses-task", mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        ours = "scripted.web-1.0123456789abcdef0123456789abcdef"
        duplicate = "scripted.web-1.fedcba9876543210fedcba9876543210"
        unwanted = "scripted.web-7.0123456789abcdef0123456789abcdef"
        master.push_update(ours, mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        master.push_update(duplicate, mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        master.push_update(unwanted, mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        await until(lambda: len(master.of_type(Call.KILL)) >= 2)
        await asyncio.sleep(0.2)
        # Ours and wanted: adopted (web-1 is no longer pending); duplicates and unwanted ones: killed.
        assert [r.task_id for r in s.tasks] == [ours]
        assert s.pending == []
        assert [r.task_id for r in launched] == [ours]
        killed = [c.kill.task_id.value for c in master.of_type(Call.KILL)]
        expected = [duplicate, unwanted]
        if kill_unknown:
            expected = ["someone-elses-task", *expected]
        assert killed == expected


async def test_operation_status_is_acknowledged_and_messages_keep_bytes(master: ScriptedMaster) -> None:
    s = scheduler(master)
    messages: list[Any] = []
    ops: list[Any] = []
    s.on("message", messages.append)
    s.on("update_operation_status", ops.append)
    async with s:
        await s.subscribe(timeout=10)
        ev = Event(type=Event.UPDATE_OPERATION_STATUS)
        st = ev.update_operation_status.status
        st.operation_id.value = "op-1"
        st.state = mesos_pb2.OPERATION_FINISHED
        st.uuid.value = b"\x07" * 16
        st.agent_id.value = "ag1"
        master.events.put_nowait(ev)
        msg = Event(type=Event.MESSAGE)
        msg.message.agent_id.value = "ag1"
        msg.message.executor_id.value = "ex"
        msg.message.data = b"\xff\x00\xfe"
        master.events.put_nowait(msg)
        await until(lambda: bool(messages) and bool(ops))
        await until(lambda: bool(master.of_type(Call.ACKNOWLEDGE_OPERATION_STATUS)))
    assert messages[0].data == b"\xff\x00\xfe"
    (ack,) = master.of_type(Call.ACKNOWLEDGE_OPERATION_STATUS)
    body = ack.acknowledge_operation_status
    assert (body.operation_id.value, body.agent_id.value, body.uuid) == ("op-1", "ag1", b"\x07" * 16)


async def test_custom_update_handler_replaces_the_default(master: ScriptedMaster) -> None:
    got: list[Any] = []
    s = scheduler(
        master,
        handlers={"UPDATE": lambda sched, payload: got.append(payload.status.task_id.value)},
        tasks={"web": {"command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 8}}},
    )
    async with s:
        await s.subscribe(timeout=10)
        master.push_update(
            "scripted.web-1.0123456789abcdef0123456789abcdef", mesos_pb2.TASK_RUNNING, uuid=b"\x02" * 16
        )
        await until(lambda: bool(got) and bool(master.of_type(Call.ACKNOWLEDGE)))
        assert s.tasks == []  # the default handler (adoption) did not run


def push_offer(master: ScriptedMaster, offer_id: str) -> None:
    from mesos_framework.tasks import Resources

    ev = Event(type=Event.OFFERS)
    offer = ev.offers.offers.add()
    offer.id.value = offer_id
    offer.framework_id.value = "fw-scripted"
    offer.agent_id.value = "ag1"
    offer.hostname = "agent1"
    offer.resources.extend(
        Resources.parse("cpus:4;mem:1024;ports:[31000-31010]", allocation_role="*").to_protos()
    )
    master.events.put_nowait(ev)


def launched(master: ScriptedMaster) -> list[str]:
    return [
        t.task_id.value
        for c in master.of_type(Call.ACCEPT)
        for op in c.accept.operations
        for t in op.launch.task_infos
    ]


async def test_rolling_restart_waits_for_a_healthy_replacement(master: ScriptedMaster) -> None:
    s = scheduler(
        master,
        tasks={
            "web": {
                "command": {"value": "x"},
                "resources": {"cpus": 0.1, "mem": 8, "ports": 1},
                "health_check": {"http": {"path": "/health"}, "interval_seconds": 1},
            }
        },
    )
    async with s:
        await s.subscribe(timeout=10)
        push_offer(master, "o1")
        await until(lambda: len(launched(master)) == 1)
        (old,) = launched(master)
        accept = master.of_type(Call.ACCEPT)[0]
        hc = accept.accept.operations[0].launch.task_infos[0].health_check
        assert (hc.http.path, hc.http.port, hc.interval_seconds) == ("/health", 31000, 1)  # passed through
        master.push_update(old, mesos_pb2.TASK_RUNNING, uuid=b"\x01" * 16)
        await until(lambda: s.running_tasks() != [])

        restart = asyncio.ensure_future(s.rolling_restart("web", timeout=20))
        await until(lambda: bool(master.of_type(Call.REVIVE)), what="REVIVE for the replacement")
        push_offer(master, "o2")
        await until(lambda: len(launched(master)) == 2)
        new = launched(master)[1]
        ev = Event(type=Event.UPDATE)
        ev.update.status.task_id.value = new
        ev.update.status.agent_id.value = "ag1"
        ev.update.status.state = mesos_pb2.TASK_RUNNING
        ev.update.status.healthy = False
        ev.update.status.uuid = b"\x02" * 16
        master.events.put_nowait(ev)
        await asyncio.sleep(0.3)
        assert master.of_type(Call.KILL) == []  # running but not healthy yet: the old task stays
        healthy = Event()
        healthy.CopyFrom(ev)
        healthy.update.status.healthy = True
        healthy.update.status.uuid = b"\x03" * 16
        master.events.put_nowait(healthy)
        await asyncio.wait_for(restart, 10)
        assert [c.kill.task_id.value for c in master.of_type(Call.KILL)] == [old]
        master.push_update(old, mesos_pb2.TASK_KILLED, uuid=b"\x04" * 16)
        await until(lambda: [r.task_id for r in s.tasks] == [new])
        await asyncio.sleep(0.2)
        assert len(launched(master)) == 2  # the killed old task is not relaunched


async def test_sync_reconciles_known_tasks_until_answered(master: ScriptedMaster) -> None:
    s = scheduler(master, tasks={"web": {"command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 8}}})
    async with s:
        await s.subscribe(timeout=10)
        push_offer(master, "o1")
        await until(lambda: len(launched(master)) == 1)
        (task_id,) = launched(master)
        master.push_update(task_id, mesos_pb2.TASK_RUNNING, uuid=b"\x01" * 16)
        await until(lambda: bool(s.running_tasks()))
        before = len(master.of_type(Call.RECONCILE))
        await s.sync()
        await until(lambda: len(master.of_type(Call.RECONCILE)) >= before + 3, what="explicit retries")
        explicit = [c for c in master.of_type(Call.RECONCILE)[before:] if c.reconcile.tasks]
        assert [t.task_id.value for t in explicit[0].reconcile.tasks] == [task_id]
        master.push_update(task_id, mesos_pb2.TASK_RUNNING, reason=RECONCILIATION)
        await asyncio.sleep(0.3)
        settled = len(master.of_type(Call.RECONCILE))
        await asyncio.sleep(0.4)
        assert len(master.of_type(Call.RECONCILE)) == settled


async def test_a_refused_accept_puts_the_instance_back(master: ScriptedMaster) -> None:
    master.fail_accepts = 1
    s = scheduler(
        master,
        restart_backoff_minimum=0.05,
        tasks={"web": {"command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 8}}},
    )
    errors: list[BaseException] = []
    s.on("error", errors.append)
    async with s:
        await s.subscribe(timeout=10)
        push_offer(master, "o1")
        await until(lambda: bool(errors), what="the 400 reported")
        assert "400" in str(errors[0])
        await until(lambda: s.pending == [("web", 1)], what="web-1 waiting again")
        assert s.tasks == []
        push_offer(master, "o2")
        await until(lambda: len(launched(master)) == 2)
        first, second = launched(master)
        assert first != second and [r.task_id for r in s.tasks] == [second]


class SlowSuppressMaster(ScriptedMaster):
    """Answers SUPPRESS only after a while (a loaded master), everything else at once."""

    suppress_delay = 0.6

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        call = decode(Call, body, ContentType.JSON)
        if call.type == Call.SUPPRESS:
            self.calls.append(call)
            await asyncio.sleep(self.suppress_delay)
            return web.Response(status=202)
        return await super().handle(request)  # (aiohttp keeps the body read above)


async def test_a_restart_due_while_a_suppress_is_in_flight_revives() -> None:
    # Issue 15: the suppression flag was read before SUPPRESS went out and set after it returned, so
    # a restart falling due meanwhile sent no REVIVE and the instance waited for ever.
    async with SlowSuppressMaster() as master:
        s = scheduler(
            master,
            tasks={"crash": {"command": {"value": "false"}, "resources": {"cpus": 0.1, "mem": 16}}},
            restart_backoff_minimum=0.05,
            restart_backoff_maximum=0.05,
        )
        async with s:
            await s.subscribe(timeout=10)
            push_offer(master, "o1")
            await until(lambda: bool(master.of_type(Call.ACCEPT)), what="the launch")
            await until(lambda: bool(master.of_type(Call.SUPPRESS)), what="SUPPRESS sent")
            (task_id,) = launched(master)
            master.push_update(task_id, mesos_pb2.TASK_FAILED, uuid=b"\x07" * 16)
            await until(lambda: s.pending == [("crash", 1)], what="the restart due")
            await until(lambda: bool(master.of_type(Call.REVIVE)), what="REVIVE after the SUPPRESS")
            kinds = [c.type for c in master.calls if c.type in (Call.SUPPRESS, Call.REVIVE)]
            assert kinds[-1] == Call.REVIVE


async def test_an_event_whose_handler_waits_holds_back_the_later_ones(master: ScriptedMaster) -> None:
    # Most events are handled as they arrive, from the stream's callback; one whose handler
    # returns an awaitable must still hold back every later event until it is done.
    release = asyncio.Event()
    order: list[str] = []
    emitted: list[str] = []

    async def waiting(sched: Scheduler, payload: Any) -> None:
        order.append(f"start {payload.data.decode()}")
        await release.wait()
        order.append(f"end {payload.data.decode()}")

    def heartbeat(sched: Scheduler, payload: Any) -> None:
        order.append("heartbeat")

    s = scheduler(master, handlers={"MESSAGE": waiting, "HEARTBEAT": heartbeat})
    s.on("update", lambda update: emitted.append(update.status.task_id.value))
    async with s:
        await s.subscribe(timeout=10)
        master.events.put_nowait(Event(type=Event.HEARTBEAT))
        await until(lambda: order == ["heartbeat"])
        msg = Event(type=Event.MESSAGE)
        msg.message.agent_id.value = "ag1"
        msg.message.executor_id.value = "ex"
        msg.message.data = b"m1"
        master.events.put_nowait(msg)
        await until(lambda: order == ["heartbeat", "start m1"])
        master.push_update("t1", mesos_pb2.TASK_RUNNING, uuid=b"\x03" * 16)
        master.events.put_nowait(Event(type=Event.HEARTBEAT))
        master.push_update("t2", mesos_pb2.TASK_RUNNING, uuid=b"\x04" * 16)
        await asyncio.sleep(0.3)  # they arrive, and wait behind the message's handler
        assert order == ["heartbeat", "start m1"]
        assert emitted == [] and not master.of_type(Call.ACKNOWLEDGE)
        release.set()
        await until(lambda: emitted == ["t1", "t2"])
        assert order == ["heartbeat", "start m1", "end m1", "heartbeat"]
        await until(lambda: len(master.of_type(Call.ACKNOWLEDGE)) == 2)
