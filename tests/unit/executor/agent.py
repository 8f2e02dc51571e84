"""A scriptable agent executor API on 127.0.0.1, for injecting faults into executor tests.

It speaks the real wire protocol (RecordIO stream of protobuf or JSON events,
202 for calls) and records every call, so tests can check exactly what an
executor sent; tests drive it: send events, drop the stream, stop and start
the listener (an agent restart), refuse subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from mesos_framework.protocol import ContentType, decode, encode, recordio_encode
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2

API_PATH = "/slave(1)/api/v1/executor"
AGENT_ID = "agent-S0"
FRAMEWORK_ID = "fw-0001"
EXECUTOR_ID = "exec-1"


class Agent:
    """The executor API of one agent."""

    def __init__(self, *, capabilities: tuple[str, ...] = ()) -> None:
        self.calls: list[executor_pb2.Call] = []
        self.headers: list[dict[str, str]] = []
        self.auto_ack = True
        self.refuse_subscribe: tuple[int, str] | None = None
        self.capabilities = capabilities
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._stream: web.StreamResponse | None = None
        self._stream_content_type = ContentType.PROTOBUF
        self._stream_done: asyncio.Event | None = None
        self._changed = asyncio.Event()
        self.subscribed = False

    # ----------------------------------------------------------- lifecycle

    @property
    def pid(self) -> str:
        return f"slave(1)@127.0.0.1:{self.port}"

    def environ(self, sandbox: str, **extra: str) -> dict[str, str]:
        """The environment an agent would give an executor."""
        return {
            "MESOS_FRAMEWORK_ID": FRAMEWORK_ID,
            "MESOS_EXECUTOR_ID": EXECUTOR_ID,
            "MESOS_DIRECTORY": sandbox,
            "MESOS_SANDBOX": sandbox,
            "MESOS_SLAVE_ID": AGENT_ID,
            "MESOS_SLAVE_PID": self.pid,
            "MESOS_AGENT_ENDPOINT": f"127.0.0.1:{self.port}",
            "MESOS_CHECKPOINT": "0",
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "3secs",
            **extra,
        }

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(API_PATH, self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening and drop the stream (an agent going down)."""
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def drop(self) -> None:
        """End the current event stream."""
        self.subscribed = False
        if self._stream_done is not None:
            self._stream_done.set()
        self._stream = None
        self._notify()

    # -------------------------------------------------------------- events

    async def send(self, event: executor_pb2.Event) -> None:
        assert self._stream is not None, "no executor subscribed"
        await self._stream.write(recordio_encode(encode(event, self._stream_content_type)))

    async def launch(self, task_id: str, command: mesos_pb2.CommandInfo | None = None, **fields: Any) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.LAUNCH)
        event.launch.task.task_id.value = task_id
        event.launch.task.name = task_id
        event.launch.task.agent_id.value = AGENT_ID
        if command is not None:
            event.launch.task.command.CopyFrom(command)
        for name, value in fields.items():
            if isinstance(value, bytes | str):
                setattr(event.launch.task, name, value)
            else:
                getattr(event.launch.task, name).CopyFrom(value)
        await self.send(event)

    async def kill(self, task_id: str, grace: float | None = None) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.KILL)
        event.kill.task_id.value = task_id
        if grace is not None:
            event.kill.kill_policy.grace_period.nanoseconds = int(grace * 1e9)
        await self.send(event)

    async def shutdown(self) -> None:
        await self.send(executor_pb2.Event(type=executor_pb2.Event.SHUTDOWN))

    async def acknowledge(self, status: mesos_pb2.TaskStatus) -> None:
        event = executor_pb2.Event(type=executor_pb2.Event.ACKNOWLEDGED)
        event.acknowledged.task_id.CopyFrom(status.task_id)
        event.acknowledged.uuid = status.uuid
        await self.send(event)

    # ---------------------------------------------------------- inspection

    def of_type(self, call_type: int) -> list[executor_pb2.Call]:
        return [c for c in self.calls if c.type == call_type]

    @property
    def updates(self) -> list[mesos_pb2.TaskStatus]:
        return [c.update.status for c in self.of_type(executor_pb2.Call.UPDATE)]

    def states(self, task_id: str | None = None) -> list[str]:
        return [
            mesos_pb2.TaskState.Name(s.state)
            for s in self.updates
            if task_id is None or s.task_id.value == task_id
        ]

    async def wait_for(self, predicate: Callable[[], object], within: float = 20.0) -> None:
        """Wait until ``predicate()`` holds (checked on every call and every 20 ms)."""
        async with asyncio.timeout(within):
            while True:
                changed = self._changed
                if predicate():
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.02):
                        await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------- the API

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        content_type = ContentType.from_header(request.headers.get("Content-Type"))
        call = decode(executor_pb2.Call, await request.read(), content_type)
        self.calls.append(call)
        self.headers.append(dict(request.headers))
        self._notify()
        if call.type == executor_pb2.Call.SUBSCRIBE:
            return await self._subscribe(request, call, content_type)
        if not self.subscribed:
            return web.Response(status=403, text="Executor is not subscribed")
        if call.type == executor_pb2.Call.UPDATE and self.auto_ack:
            status = mesos_pb2.TaskStatus()
            status.CopyFrom(call.update.status)
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._ack_later(status)))
        return web.Response(status=202)

    async def _ack_later(self, status: mesos_pb2.TaskStatus) -> None:
        with contextlib.suppress(Exception):
            await self.acknowledge(status)

    async def _subscribe(
        self, request: web.Request, call: executor_pb2.Call, content_type: ContentType
    ) -> web.StreamResponse:
        if self.refuse_subscribe is not None:
            status, text = self.refuse_subscribe
            return web.Response(status=status, text=text)
        await self.drop()  # a new subscription replaces the old stream
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type.value})
        await response.prepare(request)
        self._stream = response
        self._stream_content_type = content_type
        done = self._stream_done = asyncio.Event()
        event = executor_pb2.Event(type=executor_pb2.Event.SUBSCRIBED)
        sub = event.subscribed
        sub.executor_info.executor_id.value = EXECUTOR_ID
        sub.executor_info.framework_id.value = FRAMEWORK_ID
        sub.executor_info.command.value = "executor"
        sub.framework_info.user = "tester"
        sub.framework_info.name = "test"
        sub.framework_info.id.value = FRAMEWORK_ID
        for capability in self.capabilities:
            sub.framework_info.capabilities.add().type = mesos_pb2.FrameworkInfo.Capability.Type.Value(
                capability
            )
        sub.agent_info.hostname = "127.0.0.1"
        sub.agent_info.id.value = AGENT_ID
        sub.container_id.value = "container-1"
        await self.send(event)
        self.subscribed = True
        self._notify()
        await done.wait()
        return response
