"""Real HTTP(S) servers on 127.0.0.1 and a minimal scheduler for the health helper tests."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiohttp import web


@dataclass
class Task:
    """A tracked task as the helper sees it (the scheduler's task record)."""

    task_id: str
    name: str
    ports: list[int]
    state: object = "TASK_RUNNING"
    hostname: str | None = "127.0.0.1"
    ip: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


class Scheduler:
    """Records what the helper emits; holds the launched tasks."""

    def __init__(self, *tasks: Task) -> None:
        self.launched_tasks: list[Task] = list(tasks)
        self.events: list[tuple[str, Any]] = []
        self.emitted = asyncio.Event()

    def emit(self, event: str, payload: Any) -> None:
        self.events.append((event, payload))
        self.emitted.set()


class HealthServer:
    """An aiohttp server with healthy, failing, hanging and body endpoints."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.release = asyncio.Event()
        self.body = '{"sealed": false, "standby": false}'
        self.status = 200
        self.port = 0
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ok", self._ok)
        app.router.add_get("/fail", self._fail)
        app.router.add_get("/hang", self._hang)
        app.router.add_get("/body", self._body)
        app.router.add_get("/standby", self._standby)
        return app

    async def _ok(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(text="ok")

    async def _fail(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(status=500, text="broken")

    async def _hang(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        await self.release.wait()
        return web.Response(text="late")

    async def _body(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(status=self.status, text=self.body)

    async def _standby(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(status=429, text="standby")

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    srv = HealthServer()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


@pytest.fixture(scope="session")
def tls() -> Iterator[Any]:
    yield trustme.CA()


@pytest.fixture
async def tls_server(tls: Any) -> AsyncIterator[HealthServer]:
    cert = tls.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    srv = HealthServer()
    await srv.start(context)
    try:
        yield srv
    finally:
        await srv.close()
