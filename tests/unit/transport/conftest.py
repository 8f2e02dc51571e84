"""Real aiohttp servers on 127.0.0.1 for fault injection in transport tests."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

Serve = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp app on 127.0.0.1 and return its base URL; all are stopped after the test.

    ``await serve(handler)`` routes every path and method to ``handler``;
    ``await serve(app=app)`` serves a prepared application.
    """
    runners: list[web.AppRunner] = []

    async def start(
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
        *,
        app: web.Application | None = None,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> str:
        if app is None:
            assert handler is not None
            inner = handler

            async def route(request: web.Request) -> web.StreamResponse:
                return await inner(request)  # lambdas returning awaitables are fine too

            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", route)
        runner = web.AppRunner(app, shutdown_timeout=0.1, handle_signals=False)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        scheme = "https" if ssl_context else "http"
        netloc = f"[{host}]" if ":" in host else host
        return f"{scheme}://{netloc}:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()
