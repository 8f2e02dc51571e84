"""A raw-HTTP v1 scheduler client for the conformance suite.

Deliberately independent of the library's transport and scheduler: plain
aiohttp requests, hand-written RecordIO parsing, JSON dicts (or protobuf
messages when asked), so the same scenario can be run against the local
cluster and against real Mesos.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import getpass
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from mesos_framework.protocol._schema import scheduler_pb2

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
TERMINAL = {
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_ERROR",
    "TASK_LOST",
    "TASK_DROPPED",
    "TASK_GONE",
    "TASK_GONE_BY_OPERATOR",
}


def framework_info(name: str, *caps: str, **extra: Any) -> dict[str, Any]:
    """A FrameworkInfo dict for a test framework."""
    info: dict[str, Any] = {"user": getpass.getuser(), "name": f"conformance-{name}"}
    if caps:
        info["capabilities"] = [{"type": c} for c in caps]
    info.update(extra)
    return info


async def read_records(resp: aiohttp.ClientResponse) -> list[bytes]:
    """Read a whole RecordIO body (until EOF)."""
    out: list[bytes] = []
    while True:
        line = await resp.content.readline()
        if not line:
            return out
        out.append(await resp.content.readexactly(int(line)))


class RawScheduler:
    """One framework: a SUBSCRIBE stream plus calls on a second connection."""

    def __init__(self, url: str, session: aiohttp.ClientSession, content_type: str = JSON) -> None:
        self.url = url
        self.session = session
        self.content_type = content_type
        self.stream_id: str | None = None
        self.framework_id: str | None = None
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.history: list[dict[str, Any]] = []
        self.backlog: list[dict[str, Any]] = []
        self.response: aiohttp.ClientResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def subscribe(
        self,
        info: dict[str, Any],
        *,
        suppressed_roles: list[str] | None = None,
        expect_subscribed: bool = True,
    ) -> dict[str, Any]:
        """SUBSCRIBE (re-subscribe when ``info`` has an id); returns the first event."""
        call: dict[str, Any] = {"type": "SUBSCRIBE", "subscribe": {"framework_info": info}}
        if "id" in info:
            call["framework_id"] = info["id"]
        if suppressed_roles is not None:
            call["subscribe"]["suppressed_roles"] = suppressed_roles
        headers = {"Content-Type": JSON, "Accept": JSON}
        resp = await self.session.post(
            f"{self.url}/api/v1/scheduler",
            data=json.dumps(call),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        assert resp.status == 200, (resp.status, await resp.text())
        self.response = resp
        self.stream_id = resp.headers["Mesos-Stream-Id"]
        self.closed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read(resp, self.events, self.closed))
        first = await self.next_event(skip_heartbeats=False)
        if expect_subscribed:
            assert first["type"] == "SUBSCRIBED", first
            self.framework_id = first["subscribed"]["framework_id"]["value"]
        return first

    async def _read(
        self, resp: aiohttp.ClientResponse, queue: asyncio.Queue[dict[str, Any] | None], closed: asyncio.Event
    ) -> None:
        try:
            while True:
                line = await resp.content.readline()
                if not line:
                    break
                record = await resp.content.readexactly(int(line))
                event = json.loads(record)
                self.history.append(event)
                await queue.put(event)
        except (aiohttp.ClientError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            closed.set()
            await queue.put(None)

    async def next_event(self, within: float = 30.0, *, skip_heartbeats: bool = True) -> dict[str, Any]:
        """The next event (AssertionError on timeout or end of stream).

        ``within`` bounds the whole wait: skipped heartbeats do not restart it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if self.backlog:
                event: dict[str, Any] | None = self.backlog.pop(0)
            else:
                try:
                    event = await asyncio.wait_for(self.events.get(), max(deadline - loop.time(), 0))
                except TimeoutError:
                    raise AssertionError(f"no event within {within}s") from None
            if event is None:
                self.events.put_nowait(None)  # stays closed for later readers
                raise AssertionError("stream closed")
            if skip_heartbeats and event["type"] == "HEARTBEAT":
                continue
            return event

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 30.0
    ) -> dict[str, Any]:
        """The first event that matches; the others stay queued for later waits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        skipped: list[dict[str, Any]] = []
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AssertionError(self._missed(within, skipped))
                try:
                    event = await self.next_event(remaining)
                except AssertionError as exc:
                    raise AssertionError(f"{exc}; {self._missed(within, skipped)}") from None
                if predicate(event):
                    return event
                skipped.append(event)
        finally:
            self.backlog[:0] = skipped

    @staticmethod
    def _missed(within: float, skipped: list[dict[str, Any]]) -> str:
        kinds = [e["type"] for e in skipped]
        return f"expected event did not arrive within {within}s (other events meanwhile: {kinds})"

    async def quiet(
        self, seconds: float, predicate: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        """Events matching ``predicate`` seen during ``seconds`` (usually expected empty).

        Matching events are consumed; the others stay queued.
        """
        seen: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while (remaining := deadline - loop.time()) > 0:
                try:
                    event = await self.next_event(remaining, skip_heartbeats=False)
                except AssertionError:
                    break
                if predicate(event):
                    seen.append(event)
                else:
                    skipped.append(event)
        finally:
            self.backlog[:0] = skipped
        return seen

    async def offers(self, within: float = 30.0) -> list[dict[str, Any]]:
        """Wait for the next OFFERS event; its offers."""
        event = await self.wait_for(lambda e: e["type"] == "OFFERS", within)
        return list(event["offers"]["offers"])

    async def raw_call(self, call: dict[str, Any], *, stream_id: str | bool | None = True) -> tuple[int, str]:
        """POST a call; returns (status, body text). ``stream_id=True`` uses ours."""
        headers = {"Content-Type": JSON, "Accept": JSON}
        sid = self.stream_id if stream_id is True else stream_id
        if isinstance(sid, str):
            headers["Mesos-Stream-Id"] = sid
        async with self.session.post(
            f"{self.url}/api/v1/scheduler", data=json.dumps(call), headers=headers
        ) as resp:
            return resp.status, await resp.text()

    async def call(self, kind: str, **payload: Any) -> None:
        """A framework call that must be accepted (202)."""
        call: dict[str, Any] = {"type": kind, "framework_id": {"value": self.framework_id}}
        if payload:
            call.update(payload)
        status, body = await self.raw_call(call)
        assert status == 202, (kind, status, body)

    async def ack(self, status: dict[str, Any]) -> None:
        """Acknowledge an update (only uuid-bearing ones)."""
        assert "uuid" in status
        await self.call(
            "ACKNOWLEDGE",
            acknowledge={
                "agent_id": status["agent_id"],
                "task_id": status["task_id"],
                "uuid": status["uuid"],
            },
        )

    async def update(self, task_id: str, within: float = 30.0) -> dict[str, Any]:
        """The next UPDATE for a task: its status."""
        event = await self.wait_for(
            lambda e: e["type"] == "UPDATE" and e["update"]["status"]["task_id"]["value"] == task_id, within
        )
        return dict(event["update"]["status"])

    async def decline(self, offers: list[dict[str, Any]], refuse: float | None = 0.0) -> None:
        """Decline offers (refuse 0 = no filter)."""
        if not offers:
            return
        decline: dict[str, Any] = {"offer_ids": [o["id"] for o in offers]}
        if refuse is not None:
            decline["filters"] = {"refuse_seconds": refuse}
        await self.call("DECLINE", decline=decline)

    async def launch(
        self,
        offer: dict[str, Any],
        command: dict[str, Any] | None = None,
        *,
        task_id: str | None = None,
        cpus: float = 0.1,
        mem: float = 32.0,
        extra: dict[str, Any] | None = None,
        refuse: float = 0.0,
    ) -> str:
        """ACCEPT one offer launching one small task; returns the task id."""
        task_id = task_id or f"t-{uuid.uuid4().hex[:8]}"
        task: dict[str, Any] = {
            "name": task_id,
            "task_id": {"value": task_id},
            "agent_id": offer["agent_id"],
            "resources": small(offer, cpus, mem),
        }
        if command is not None:
            task["command"] = command
        task.update(extra or {})
        await self.call(
            "ACCEPT",
            accept={
                "offer_ids": [offer["id"]],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
                "filters": {"refuse_seconds": refuse},
            },
        )
        return task_id

    async def teardown(self) -> None:
        """TEARDOWN if still subscribed; close the stream."""
        if self.framework_id and self.response is not None and not self.closed.is_set():
            with contextlib.suppress(Exception):
                await self.raw_call({"type": "TEARDOWN", "framework_id": {"value": self.framework_id}})
        await self.close()

    async def close(self) -> None:
        """Drop the subscription connection."""
        if self.response is not None:
            self.response.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def small(offer: dict[str, Any], cpus: float = 0.1, mem: float = 32.0) -> list[dict[str, Any]]:
    """cpus+mem resources copied from an offer (keeps role and allocation_info)."""
    want = {"cpus": cpus, "mem": mem}
    out: list[dict[str, Any]] = []
    for name, amount in want.items():
        fits = [
            r
            for r in offer["resources"]
            if r["name"] == name and r.get("scalar", {}).get("value", 0) >= amount
        ]
        # Unreserved first: a reservation another test left on a shared cluster is not ours to use.
        fits.sort(key=lambda r: "reservations" in r or "reservation" in r)
        assert fits, f"offer too small: {offer['resources']}"
        out.append({**fits[0], "scalar": {"value": amount}})
    return out


def pod_launch(
    offer: dict[str, Any],
    executor: dict[str, Any],
    commands: Sequence[tuple[str, str]],
    *,
    executor_resources: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``LAUNCH_GROUP`` operation: one task per ``(name, shell command)`` on ``executor``.

    Each task is named and identified by its name and takes `small()` of the offer;
    ``executor_resources`` (default: cpus 0.1, mem 32, disk 32, unreserved) go to the executor.
    """
    resources = executor_resources
    if resources is None:
        resources = [
            {"name": name, "type": "SCALAR", "scalar": {"value": amount}, "role": "*"}
            for name, amount in (("cpus", 0.1), ("mem", 32.0), ("disk", 32.0))
        ]
    tasks = [
        {
            "name": name,
            "task_id": {"value": name},
            "agent_id": offer["agent_id"],
            "resources": small(offer),
            "command": {"value": command},
        }
        for name, command in commands
    ]
    return {
        "type": "LAUNCH_GROUP",
        "launch_group": {"executor": {**executor, "resources": resources}, "task_group": {"tasks": tasks}},
    }


def b64uuid() -> str:
    """A fresh uuid as base64 (for ACKNOWLEDGE tests)."""
    return base64.b64encode(uuid.uuid4().bytes).decode()


def encode_call(call: scheduler_pb2.Call) -> bytes:
    """Protobuf bytes of a Call."""
    return call.SerializeToString()
