"""`AdminServer`: an HTTP admin API and Prometheus endpoint beside a running `Scheduler`.

Reads (`/health`, `/ready`, `/metrics`, `/tasks`) and writes (scale a type, restart a task,
rolling restart of a type) go through the scheduler's public methods; the server holds no
state of its own beyond the rolling restarts it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from mesos_framework.admin._metrics import SchedulerMetrics
from mesos_framework.errors import (
    CallWhileDisconnected,
    ConfigurationError,
    MesosError,
    ScalingNotAllowed,
    UnknownTask,
)

if TYPE_CHECKING:
    from mesos_framework.scheduler import Scheduler

__all__ = ["ENV_HOST", "ENV_PORT", "ENV_TOKEN", "AdminServer"]

log = logging.getLogger("mesos_framework.admin")

ENV_PORT = "MESOS_FRAMEWORK_ADMIN_PORT"
"""The environment variable `AdminServer.from_env` reads the port from (set by `run --admin-port`)."""
ENV_HOST = "MESOS_FRAMEWORK_ADMIN_HOST"
"""The environment variable `AdminServer.from_env` reads the host from (default loopback)."""
ENV_TOKEN = "MESOS_FRAMEWORK_ADMIN_TOKEN"
"""The environment variable `AdminServer.from_env` reads the bearer token from."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Paths answered without the token: what a load balancer or orchestrator probes.
_OPEN_PATHS = frozenset({"/health", "/ready"})


def _json(data: Any, status: int = 200) -> web.Response:
    # default=str: a task's free-form properties may hold values JSON has no type for.
    body = orjson.dumps(data, default=str)
    return web.Response(body=body, status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _status_of(exc: MesosError) -> int:
    if isinstance(exc, UnknownTask):
        return 404
    if isinstance(exc, ScalingNotAllowed):
        return 409
    if isinstance(exc, ConfigurationError):
        return 400
    if isinstance(exc, CallWhileDisconnected):
        return 503
    return 502


class AdminServer:
    """Serves the admin API of a `Scheduler` on `host:port` (loopback by default).

    Endpoints (JSON unless said otherwise):

    - `GET /health`: 200 while the scheduler has not closed, else 503.
    - `GET /ready`: 200 while leading and subscribed, else 503 (a hot standby is never ready).
    - `GET /metrics`: Prometheus text metrics (see `SchedulerMetrics`).
    - `GET /tasks` (`?type=web` for one type): tracked tasks, pending and stopped instances,
      the types with their desired counts, and the rolling restarts started here.
    - `GET /tasks/types`: each type with its desired and running instances and `allow_scaling`.
    - `POST /tasks/types/{type}/scale` with `{"instances": N}` (or the JavaScript
      boilerplate's `PUT /tasks/types/{type}/scale/{N}`): scale a type (`allow_scaling`).
    - `POST /tasks/{task}/restart`: restart a task (by task ID or instance name `web-1`).
    - `POST /tasks/types/{type}/rolling-restart` (optional `{"timeout": s, "healthy": bool}`):
      starts a rolling restart and answers 202; its progress shows in `/tasks`.

    With `token`, every path but `/health` and `/ready` needs `Authorization: Bearer <token>`;
    a missing or wrong one gets 401 and changes nothing. Every write is logged.

    Use it as an async context manager around the scheduler's run, or `start()`/`stop()`:

        scheduler = Scheduler(master="local", tasks=...)
        async with AdminServer(scheduler, port=9090, token="s3cret"):
            await scheduler.run()

    Args:
        scheduler: the scheduler to serve.
        host: the address to listen on (`127.0.0.1`; listening elsewhere without a token
            logs a warning).
        port: the TCP port (0: any free one, see `port` after `start()`).
        token: the bearer token (None: no authentication).
        metrics: the `SchedulerMetrics` to expose (made and closed by the server if not given).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        metrics: SchedulerMetrics | None = None,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"expected a TCP port 0..65535, got {port!r}", option="admin_port")
        if not isinstance(host, str) or not host:
            raise ConfigurationError(f"expected a host name or address, got {host!r}", option="admin_host")
        if token is not None and (not isinstance(token, str) or not token):
            raise ConfigurationError("the admin token must be a non-empty string", option="admin_token")
        self.scheduler = scheduler
        self.host = host
        self._port = port
        self._token = token.encode() if token is not None else None
        self._own_metrics = metrics is None
        self._metrics_given = metrics
        self.metrics: SchedulerMetrics | None = None
        self._runner: web.AppRunner | None = None
        self._closed = False
        self._listener = self._scheduler_closed
        #: Rolling restarts started through the API, by type: "running", "done" or the error.
        self.rolling: dict[str, str] = {}
        self._rolling_tasks: dict[str, asyncio.Task[None]] = {}

    @classmethod
    def from_env(cls, scheduler: Scheduler, environ: Mapping[str, str] | None = None) -> AdminServer | None:
        """The server `mesos-framework run --admin-port N` asks for, or None when not asked.

        Reads `MESOS_FRAMEWORK_ADMIN_PORT` (unset or empty: None), `MESOS_FRAMEWORK_ADMIN_HOST`
        and `MESOS_FRAMEWORK_ADMIN_TOKEN` from `environ` (`os.environ` if not given).
        """
        env = os.environ if environ is None else environ
        raw = env.get(ENV_PORT, "").strip()
        if not raw:
            return None
        if not raw.isdigit():
            raise ConfigurationError(f"expected a TCP port 0..65535, got {raw!r}", option=ENV_PORT)
        host = env.get(ENV_HOST, "").strip() or "127.0.0.1"
        token = env.get(ENV_TOKEN) or None
        return cls(scheduler, host=host, port=int(raw), token=token)

    # ---------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int:
        """The port listened on (the one chosen when `port=0`, once started)."""
        return self._port

    @property
    def url(self) -> str:
        """`http://host:port`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        """Start listening (and observing the scheduler)."""
        if self._runner is not None:
            return
        if self._token is None and not _is_loopback(self.host):
            log.warning("admin API on %s without a token: anyone who reaches it can scale tasks", self.host)
        self.metrics = self._metrics_given or SchedulerMetrics(self.scheduler)
        self.scheduler.on("closed", self._listener)
        app = web.Application(middlewares=[self._auth])
        app.add_routes(
            [
                web.get("/health", self._health),
                web.get("/ready", self._ready),
                web.get("/metrics", self._metrics),
                web.get("/tasks", self._tasks),
                web.get("/tasks/types", self._types),
                web.post("/tasks/types/{type}/scale", self._scale),
                web.put("/tasks/types/{type}/scale/{instances}", self._scale),
                web.post("/tasks/types/{type}/rolling-restart", self._rolling_restart),
                web.post("/tasks/{task}/restart", self._restart),
            ]
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            self._detach()
            raise
        self._runner = runner
        if self._port == 0 and runner.addresses:
            self._port = int(runner.addresses[0][1])
        log.info("admin API on %s", self.url)

    async def stop(self) -> None:
        """Stop listening; rolling restarts still under way are cancelled."""
        for task in list(self._rolling_tasks.values()):
            task.cancel()
        for task in list(self._rolling_tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._detach()

    def _detach(self) -> None:
        self.scheduler.off("closed", self._listener)
        if self.metrics is not None and self._own_metrics:
            self.metrics.close()

    async def __aenter__(self) -> AdminServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _scheduler_closed(self) -> None:
        self._closed = True

    # ------------------------------------------------------------------- auth
    @web.middleware
    async def _auth(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if self._token is not None and request.path not in _OPEN_PATHS:
            given = request.headers.get("Authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), self._token):
                if request.method != "GET":
                    log.warning(
                        "admin: refused %s %s from %s (%s token)",
                        request.method,
                        request.path,
                        request.remote,
                        "wrong" if given else "no",
                    )
                response = _error(401, "a valid bearer token is required")
                response.headers["WWW-Authenticate"] = 'Bearer realm="mesos-framework admin"'
                return response
        return await handler(request)

    # ------------------------------------------------------------------ reads
    async def _health(self, _request: web.Request) -> web.Response:
        if self._closed:
            return _json({"status": "closed"}, 503)
        return _json({"status": "ok"})

    async def _ready(self, _request: web.Request) -> web.Response:
        s = self.scheduler
        leading = s.leading
        ready = leading and s.connected and not self._closed
        body = {
            "ready": ready,
            "leader": leading,
            "subscribed": s.connected,
            "framework_id": s.framework_id,
        }
        return _json(body, 200 if ready else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        assert self.metrics is not None
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _tasks(self, request: web.Request) -> web.Response:
        s = self.scheduler
        wanted = request.query.get("type")
        types = [spec.name for spec in s.options.tasks]
        if wanted is not None and wanted not in types:
            return _error(404, f"no task type {wanted!r}")

        def keep(type_name: str) -> bool:
            return wanted is None or type_name == wanted

        tasks = []
        for rec in s.tasks:
            if keep(rec.type_name):
                item = rec.to_dict()
                item["name"] = rec.name
                tasks.append(item)
        body = {
            "framework_id": s.framework_id,
            "types": {t: {"instances": s.instances(t)} for t in types if keep(t)},
            "tasks": tasks,
            "pending": [f"{t}-{n}" for t, n in s.pending if keep(t)],
            "stopped": [f"{t}-{n}" for t, n in s.stopped if keep(t)],
            "rolling_restarts": {t: v for t, v in self.rolling.items() if keep(t)},
        }
        return _json(body)

    # ----------------------------------------------------------------- writes
    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"the request body is not JSON: {exc}", option="body") from None
        if not isinstance(data, dict):
            raise ConfigurationError("the request body must be a JSON object", option="body")
        return data

    async def _write(
        self, request: web.Request, what: str, action: Callable[[], Awaitable[web.Response]]
    ) -> web.Response:
        try:
            response = await action()
        except MesosError as exc:
            status = _status_of(exc)
            log.warning("admin: %s from %s failed (%d): %s", what, request.remote, status, exc)
            return _error(status, str(exc))
        log.info("admin: %s from %s (%d)", what, request.remote, response.status)
        return response

    async def _types(self, _request: web.Request) -> web.Response:
        s = self.scheduler
        running = Tally(r.type_name for r in s.running_tasks())
        body = [
            {
                "type": spec.name,
                "instances": s.instances(spec.name),
                "running": running.get(spec.name, 0),
                "allow_scaling": spec.allow_scaling,
            }
            for spec in s.options.tasks
        ]
        return _json(body)

    async def _scale(self, request: web.Request) -> web.Response:
        type_name = request.match_info["type"]

        async def action() -> web.Response:
            given = request.match_info.get("instances")
            if given is None:
                instances = (await self._body(request)).get("instances")
            else:
                instances = int(given) if given.isdigit() else given
            if isinstance(instances, bool) or not isinstance(instances, int) or instances < 0:
                raise ConfigurationError(
                    f"expected {{'instances': <whole number >= 0>}}, got {instances!r}", option="instances"
                )
            await self.scheduler.scale(type_name, instances)
            return _json({"type": type_name, "instances": instances})

        return await self._write(request, f"scale {type_name}", action)

    async def _restart(self, request: web.Request) -> web.Response:
        task = request.match_info["task"]

        async def action() -> web.Response:
            await self.scheduler.restart_task(task)
            return _json({"restarted": task})

        return await self._write(request, f"restart {task}", action)

    async def _rolling_restart(self, request: web.Request) -> web.Response:
        type_name = request.match_info["type"]

        async def action() -> web.Response:
            body = await self._body(request)
            timeout = body.get("timeout", 300.0)
            healthy = body.get("healthy")
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
                raise ConfigurationError(f"expected a timeout > 0, got {timeout!r}", option="timeout")
            if healthy is not None and not isinstance(healthy, bool):
                raise ConfigurationError(f"expected healthy true or false, got {healthy!r}", option="healthy")
            self.scheduler.instances(type_name)  # UnknownTask (404) for a type that does not exist
            running = self._rolling_tasks.get(type_name)
            if running is not None and not running.done():
                return _error(409, f"a rolling restart of {type_name!r} is under way")
            self.rolling[type_name] = "running"
            self._rolling_tasks[type_name] = asyncio.get_running_loop().create_task(
                self._roll(type_name, float(timeout), healthy), name=f"admin-rolling-restart:{type_name}"
            )
            return _json({"type": type_name, "status": "running"}, 202)

        return await self._write(request, f"rolling restart of {type_name}", action)

    async def _roll(self, type_name: str, timeout: float, healthy: bool | None) -> None:  # noqa: ASYNC109
        try:
            await self.scheduler.rolling_restart(type_name, timeout=timeout, healthy=healthy)
        except asyncio.CancelledError:
            self.rolling[type_name] = "cancelled"
            raise
        except Exception as exc:
            self.rolling[type_name] = f"failed: {exc!r}"
            log.error("admin: rolling restart of %s failed: %r", type_name, exc)
        else:
            self.rolling[type_name] = "done"
            log.info("admin: rolling restart of %s done", type_name)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
