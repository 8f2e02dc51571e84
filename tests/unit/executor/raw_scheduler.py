"""A minimal v1 scheduler over raw HTTP, for launching executors under test.

Independent of the library's Scheduler on purpose: it only subscribes, takes
offers, launches tasks with an ``ExecutorInfo``, acknowledges every update
that carries a uuid, and records what arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from mesos_framework.protocol import ContentType, RecordIODecoder, decode, encode
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event
TERMINAL = {
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_ERROR",
    "TASK_LOST",
    "TASK_DROPPED",
    "TASK_GONE",
}


class RawScheduler:
    """Subscribe to ``url`` and record updates, messages and failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.framework_id: mesos_pb2.FrameworkID | None = None
        self.stream_id: str | None = None
        self.offers: list[mesos_pb2.Offer] = []
        self.updates: list[mesos_pb2.TaskStatus] = []
        self.acknowledged: list[bytes] = []
        self.messages: list[bytes] = []
        self.failures: list[Event.Failure] = []
        self.errors: list[str] = []
        self._session: aiohttp.ClientSession | None = None
        self._calls: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._torn_down = False

    async def subscribe(self, name: str = "executor-test", *, checkpoint: bool = False) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        self._calls = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        call = Call(type=Call.SUBSCRIBE)
        info = call.subscribe.framework_info
        info.user = getpass.getuser()
        info.name = name
        info.checkpoint = checkpoint
        info.failover_timeout = 0.0
        for capability in ("TASK_KILLING_STATE", "PARTITION_AWARE"):
            info.capabilities.add().type = mesos_pb2.FrameworkInfo.Capability.Type.Value(capability)
        response = await self._session.post(
            self.url + "/api/v1/scheduler",
            data=encode(call, ContentType.PROTOBUF),
            headers={"Content-Type": ContentType.PROTOBUF.value, "Accept": ContentType.PROTOBUF.value},
        )
        assert response.status == 200, await response.text()
        self.stream_id = response.headers["Mesos-Stream-Id"]
        self._reader = asyncio.create_task(self._read(response))
        await self.wait_for(lambda: self.framework_id is not None)

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        decoder = RecordIODecoder()
        try:
            async for chunk in response.content.iter_any():
                for record in decoder.feed(chunk):
                    await self._handle(decode(Event, record, ContentType.PROTOBUF))
        finally:
            response.close()

    async def _handle(self, event: Any) -> None:
        if event.type == Event.SUBSCRIBED:
            self.framework_id = event.subscribed.framework_id
        elif event.type == Event.OFFERS:
            self.offers.extend(event.offers.offers)
        elif event.type == Event.RESCIND:
            self.offers = [o for o in self.offers if o.id != event.rescind.offer_id]
        elif event.type == Event.UPDATE:
            status = event.update.status
            if status.uuid:  # acknowledged (202) before it is recorded
                ack = Call(type=Call.ACKNOWLEDGE)
                ack.acknowledge.agent_id.CopyFrom(status.agent_id)
                ack.acknowledge.task_id.CopyFrom(status.task_id)
                ack.acknowledge.uuid = status.uuid
                await self.call(ack)
                self.acknowledged.append(status.uuid)
            self.updates.append(status)
        elif event.type == Event.MESSAGE:
            self.messages.append(event.message.data)
        elif event.type == Event.FAILURE:
            self.failures.append(event.failure)
        elif event.type == Event.ERROR:
            self.errors.append(event.error.message)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], object], within: float = 60.0) -> None:
        async with asyncio.timeout(within):
            while True:
                changed = self._changed
                if predicate():
                    return
                await changed.wait()

    async def call(self, call: Any) -> None:
        assert self._calls is not None and self.framework_id is not None
        call.framework_id.CopyFrom(self.framework_id)
        async with self._calls.post(
            self.url + "/api/v1/scheduler",
            data=encode(call, ContentType.PROTOBUF),
            headers={
                "Content-Type": ContentType.PROTOBUF.value,
                "Accept": ContentType.PROTOBUF.value,
                "Mesos-Stream-Id": self.stream_id or "",
            },
        ) as response:
            body = await response.text()
            assert response.status == 202, f"{Call.Type.Name(call.type)} -> {response.status} {body}"

    def states(self, task_id: str) -> list[str]:
        return [mesos_pb2.TaskState.Name(s.state) for s in self.updates if s.task_id.value == task_id]

    async def until_state(self, task_id: str, state: str, within: float = 60.0) -> list[str]:
        await self.wait_for(lambda: {state, *TERMINAL} & set(self.states(task_id)), within)
        return self.states(task_id)

    async def take_offer(self, cpus: float, mem: float) -> mesos_pb2.Offer:
        """An offer with enough cpus and mem; declines the others."""

        def fits() -> bool:
            return any(_scalar(o, "cpus") >= cpus and _scalar(o, "mem") >= mem for o in self.offers)

        await self.wait_for(fits)
        offer = next(o for o in self.offers if _scalar(o, "cpus") >= cpus and _scalar(o, "mem") >= mem)
        self.offers.remove(offer)
        return offer

    async def launch(
        self,
        name: str,
        *,
        executor: mesos_pb2.ExecutorInfo,
        command: mesos_pb2.CommandInfo | None = None,
        kill_policy: mesos_pb2.KillPolicy | None = None,
        data: bytes | None = None,
    ) -> tuple[str, mesos_pb2.AgentID]:
        """Launch one task (0.1 cpus, 32 MB) with ``executor`` (same again for the executor)."""
        offer = await self.take_offer(0.2, 64)
        task_id = f"{name}-{uuid.uuid4().hex[:8]}"
        call = Call(type=Call.ACCEPT)
        call.accept.offer_ids.add().CopyFrom(offer.id)
        call.accept.filters.refuse_seconds = 0.0
        operation = call.accept.operations.add(type=mesos_pb2.Offer.Operation.LAUNCH)
        task = operation.launch.task_infos.add(name=name)
        task.task_id.value = task_id
        task.agent_id.CopyFrom(offer.agent_id)
        task.resources.extend(_small(offer))
        task.executor.CopyFrom(executor)
        task.executor.resources.extend(_small(offer))
        if command is not None:
            task.command.CopyFrom(command)
        if kill_policy is not None:
            task.kill_policy.CopyFrom(kill_policy)
        if data is not None:
            task.data = data
        await self.call(call)
        return task_id, offer.agent_id

    async def launch_command(
        self, name: str, command: mesos_pb2.CommandInfo
    ) -> tuple[str, mesos_pb2.AgentID]:
        """Launch a command task (no ExecutorInfo: the agent's command executor runs it)."""
        offer = await self.take_offer(0.2, 64)
        task_id = f"{name}-{uuid.uuid4().hex[:8]}"
        call = Call(type=Call.ACCEPT)
        call.accept.offer_ids.add().CopyFrom(offer.id)
        call.accept.filters.refuse_seconds = 0.0
        operation = call.accept.operations.add(type=mesos_pb2.Offer.Operation.LAUNCH)
        task = operation.launch.task_infos.add(name=name)
        task.task_id.value = task_id
        task.agent_id.CopyFrom(offer.agent_id)
        task.resources.extend(_small(offer))
        task.command.CopyFrom(command)
        await self.call(call)
        return task_id, offer.agent_id

    async def kill(self, task_id: str, agent_id: mesos_pb2.AgentID) -> None:
        call = Call(type=Call.KILL)
        call.kill.task_id.value = task_id
        call.kill.agent_id.CopyFrom(agent_id)
        await self.call(call)

    async def message(self, agent_id: mesos_pb2.AgentID, executor_id: str, data: bytes) -> None:
        call = Call(type=Call.MESSAGE)
        call.message.agent_id.CopyFrom(agent_id)
        call.message.executor_id.value = executor_id
        call.message.data = data
        await self.call(call)

    async def teardown(self) -> None:
        """End the framework: its executors get SHUTDOWN."""
        if not self._torn_down:
            self._torn_down = True
            await self.call(Call(type=Call.TEARDOWN))

    async def close(self) -> None:
        if self.framework_id is not None and self._calls is not None:
            with contextlib.suppress(Exception):
                await self.teardown()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        for session in (self._session, self._calls):
            if session is not None:
                await session.close()


def _scalar(offer: mesos_pb2.Offer, name: str) -> float:
    return sum(r.scalar.value for r in offer.resources if r.name == name)


def _small(offer: mesos_pb2.Offer) -> list[mesos_pb2.Resource]:
    """0.1 cpus and 32 MB, copied from the offer so role and allocation info match."""
    want = {"cpus": 0.1, "mem": 32.0}
    out = []
    for resource in offer.resources:
        if resource.name in want and want[resource.name] > 0:
            copy = mesos_pb2.Resource()
            copy.CopyFrom(resource)
            copy.scalar.value = want.pop(resource.name)
            out.append(copy)
    return out


def executor_info(executor_id: str, *argv: str, name: str = "test executor") -> mesos_pb2.ExecutorInfo:
    """A CUSTOM executor run as ``argv`` (argv[0] included; no PATH lookup)."""
    info = mesos_pb2.ExecutorInfo(type=mesos_pb2.ExecutorInfo.CUSTOM, name=name)
    info.executor_id.value = executor_id
    info.command.shell = False
    info.command.value = argv[0]
    info.command.arguments.extend(argv)
    return info
