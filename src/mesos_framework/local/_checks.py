"""Mesos-native checks and health checks, run by the local cluster's executors.

Standard library only: the command executor (also the default executor)
loads this module by path. It follows Mesos 1.11's ``src/checks/``:

* `CheckerLoop` (``CheckerProcess``) waits ``delay_seconds``, then
  performs the check every ``interval_seconds`` after the previous one
  finished. COMMAND runs the command (shell or argv, with its environment)
  and reports its exit code; HTTP GETs ``scheme://127.0.0.1:port/path``
  (redirects followed, certificates not verified, as ``curl -s -S -L -k``)
  and reports the status code; TCP connects to ``127.0.0.1:port`` and
  reports whether it succeeded. Past ``timeout_seconds`` (0: none) the
  attempt is an error and its processes are killed.
* `Checker` (``checks::Checker``) reports a ``CheckStatusInfo`` only
  when it differs from the previous one; an error reports the empty one
  (``{"type": "HTTP", "http": {}}``).
* `HealthChecker` (``checks::HealthChecker``) interprets results
  (COMMAND: exit code 0; HTTP: status in [200, 400); TCP: connected):
  failures within ``grace_period_seconds`` of the start are ignored until
  the first success; every other failure is reported unhealthy with the
  count of consecutive failures and ``kill`` once it reaches
  ``consecutive_failures``; a success is reported only when it is the first
  one or follows failures.

Messages are JSON dicts in Mesos's v1 JSON format, as the executor uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "Checker",
    "CheckerLoop",
    "HealthChecker",
    "empty_check_status",
    "format_duration",
    "health_as_check",
    "perform",
]

log = logging.getLogger("mesos_framework.local.checks")

# Defaults of CheckInfo / HealthCheck in mesos.proto.
DELAY = 15.0
INTERVAL = 10.0
TIMEOUT = 20.0
CONSECUTIVE_FAILURES = 3
GRACE_PERIOD = 10.0

_FIELD = {"COMMAND": "command", "HTTP": "http", "TCP": "tcp"}

Result = dict[str, Any] | str
"""A ``CheckStatusInfo`` dict, or the message of an error (the check could not be performed)."""


def format_duration(seconds: float) -> str:
    """stout's ``Duration`` text: ``1secs``, ``500ms``, ``2mins``."""
    for unit, size in (
        ("weeks", 604800.0),
        ("days", 86400.0),
        ("hrs", 3600.0),
        ("mins", 60.0),
        ("secs", 1.0),
    ):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    for unit, size in (("ms", 1e-3), ("us", 1e-6)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds * 1e9:g}ns"


def empty_check_status(check: dict[str, Any]) -> dict[str, Any]:
    """The ``CheckStatusInfo`` of a check with no result (yet): its type and an empty field."""
    kind = str(check.get("type", ""))
    out: dict[str, Any] = {"type": kind}
    if kind in _FIELD:
        out[_FIELD[kind]] = {}
    return out


def health_as_check(health: dict[str, Any]) -> dict[str, Any]:
    """``toCheckInfo``: a ``HealthCheck`` as the ``CheckInfo`` that performs it."""
    check: dict[str, Any] = {"type": health.get("type", "")}
    for key in ("delay_seconds", "interval_seconds", "timeout_seconds"):
        if key in health:
            check[key] = health[key]
    if check["type"] == "COMMAND":
        check["command"] = {"command": health.get("command", {})}
    elif check["type"] == "HTTP":
        http = health.get("http", {})
        check["http"] = {k: http[k] for k in ("port", "path") if k in http}
    elif check["type"] == "TCP":
        check["tcp"] = {"port": health.get("tcp", {}).get("port", 0)}
    return check


# --------------------------------------------------------------------- one check


async def _command(command: dict[str, Any], limit: float | None, cwd: str | None) -> Result:
    env = dict(os.environ)
    for var in command.get("environment", {}).get("variables", []):
        env[var["name"]] = var.get("value", "")
    if command.get("shell", True):
        argv, program = ["/bin/sh", "-c", command.get("value", "")], "/bin/sh"
    else:
        argv = list(command.get("arguments", [])) or [command.get("value", "")]
        program = command.get("value", argv[0])
    try:
        proc = await asyncio.create_subprocess_exec(
            argv[0],
            *argv[1:],
            executable=program,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            stderr=sys.stderr.fileno(),
            process_group=0,
        )
    except OSError as exc:
        return f"Failed to create subprocess: {exc}"
    try:
        code = await asyncio.wait_for(proc.wait(), limit)
    except TimeoutError:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return f"Command timed out after {format_duration(limit or 0.0)}"
    finally:
        if proc.returncode is None:  # cancelled: leave nothing behind
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)  # what the command left in its group
    if code < 0:
        return f"Command terminated with signal {signal.strsignal(-code) or -code}"
    return {"type": "COMMAND", "command": {"exit_code": code}}


def _http_get(url: str, timeout: float | None) -> int:
    import ssl  # noqa: PLC0415 - only for HTTP checks
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # like curl -k
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def _http(http: dict[str, Any], scheme: str, ipv6: bool, limit: float | None) -> Result:
    host = "[::1]" if ipv6 else "127.0.0.1"
    url = f"{scheme}://{host}:{int(http.get('port', 0))}{http.get('path', '')}"
    try:
        code = await asyncio.wait_for(asyncio.to_thread(_http_get, url, limit), limit)
    except TimeoutError:
        return f"HTTP GET {url} timed out after {format_duration(limit or 0.0)}"
    except OSError as exc:  # URLError, connection errors
        return f"HTTP GET {url} failed: {getattr(exc, 'reason', exc)}"
    except ValueError as exc:  # a malformed answer
        return f"HTTP GET {url} failed: {exc}"
    return {"type": "HTTP", "http": {"status_code": code}}


async def _tcp(tcp: dict[str, Any], ipv6: bool, limit: float | None) -> Result:
    host = "::1" if ipv6 else "127.0.0.1"
    port = int(tcp.get("port", 0))
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit)
    except TimeoutError:
        return f"TCP connection to {host}:{port} timed out after {format_duration(limit or 0.0)}"
    except OSError:
        return {"type": "TCP", "tcp": {"succeeded": False}}
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return {"type": "TCP", "tcp": {"succeeded": True}}


async def perform(
    check: dict[str, Any], *, cwd: str | None = None, scheme: str = "http", ipv6: bool = False
) -> Result:
    """Perform a ``CheckInfo`` once: its ``CheckStatusInfo``, or an error message."""
    timeout_value = float(check.get("timeout_seconds", TIMEOUT))
    timeout = timeout_value if timeout_value > 0 else None  # 0: no timeout
    kind = check.get("type")
    if kind == "COMMAND":
        return await _command(check.get("command", {}).get("command", {}), timeout, cwd)
    if kind == "HTTP":
        return await _http(check.get("http", {}), scheme, ipv6, timeout)
    if kind == "TCP":
        return await _tcp(check.get("tcp", {}), ipv6, timeout)
    return f"'{kind}' is not a valid check type"


# ------------------------------------------------------------------- the loops


class CheckerLoop:
    """``CheckerProcess``: delay, then check every interval until paused."""

    def __init__(
        self,
        check: dict[str, Any],
        on_result: Callable[[Result], None],
        *,
        name: str,
        cwd: str | None = None,
        scheme: str = "http",
        ipv6: bool = False,
    ) -> None:
        self.check = check
        self.on_result = on_result
        self.name = name
        self.cwd = cwd
        self.scheme = scheme
        self.ipv6 = ipv6
        self.delay = max(0.0, float(check.get("delay_seconds", DELAY)))
        self.interval = max(0.0, float(check.get("interval_seconds", INTERVAL)))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Schedule the first check after ``delay_seconds``."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def pause(self) -> None:
        """Stop checking (a running check is abandoned; no more results)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(self.delay)
        while True:
            result = await perform(self.check, cwd=self.cwd, scheme=self.scheme, ipv6=self.ipv6)
            if isinstance(result, str):
                log.warning("%s failed: %s", self.name, result)
            self.on_result(result)
            await asyncio.sleep(self.interval)


class Checker:
    """``checks::Checker``: ``on_change(check_status)`` whenever the check status changes."""

    def __init__(
        self,
        check: dict[str, Any],
        on_change: Callable[[dict[str, Any]], None],
        *,
        task_id: str,
        cwd: str | None = None,
    ) -> None:
        self.on_change = on_change
        self.previous = empty_check_status(check)
        self.loop = CheckerLoop(
            check, self._result, name=f"{check.get('type')} check for task '{task_id}'", cwd=cwd
        )

    def start(self) -> None:
        self.loop.start()

    def pause(self) -> None:
        self.loop.pause()

    def _result(self, result: Result) -> None:
        status = empty_check_status(self.loop.check) if isinstance(result, str) else result
        if status != self.previous:
            self.previous = status
            self.on_change(status)


class HealthChecker:
    """``checks::HealthChecker``: ``on_health(healthy, consecutive_failures, kill)``."""

    def __init__(
        self,
        health: dict[str, Any],
        on_health: Callable[[bool, int, bool], None],
        *,
        task_id: str,
        cwd: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_health = on_health
        self.task_id = task_id
        self.clock = clock
        self.start_time = clock()
        self.grace = max(0.0, float(health.get("grace_period_seconds", GRACE_PERIOD)))
        self.max_failures = int(health.get("consecutive_failures", CONSECUTIVE_FAILURES))
        self.consecutive_failures = 0
        self.initializing = True
        self.name = f"{health.get('type')} health check"
        http = health.get("http", {}) if health.get("type") == "HTTP" else {}
        tcp = health.get("tcp", {}) if health.get("type") == "TCP" else {}
        ipv6 = (http or tcp).get("protocol") == "IPv6"
        self.loop = CheckerLoop(
            health_as_check(health),
            self._result,
            name=f"{self.name} for task '{task_id}'",
            cwd=cwd,
            scheme=str(http.get("scheme", "http")),
            ipv6=ipv6,
        )

    def start(self) -> None:
        self.loop.start()

    def pause(self) -> None:
        self.loop.pause()

    def _result(self, result: Result) -> None:
        if isinstance(result, str):
            self.failure()
            return
        error = interpret(result)
        if error is not None:
            log.warning("%s for task '%s' failed: %s", self.name, self.task_id, error)
            self.failure()
        else:
            self.success()

    def failure(self) -> None:
        if self.initializing and self.grace > 0 and self.clock() - self.start_time <= self.grace:
            log.info("Ignoring failure of %s for task '%s': still in grace period", self.name, self.task_id)
            return
        self.consecutive_failures += 1
        kill = self.consecutive_failures >= self.max_failures
        self.on_health(False, self.consecutive_failures, kill)

    def success(self) -> None:
        if self.initializing or self.consecutive_failures > 0:
            self.on_health(True, 0, False)
            self.initializing = False
        self.consecutive_failures = 0


def interpret(status: dict[str, Any]) -> str | None:
    """``interpretCheckStatusInfo``: None when healthy, else why not."""
    kind = status.get("type")
    if kind == "COMMAND":
        code = int(status.get("command", {}).get("exit_code", 0))
        return None if code == 0 else f"Command exited with status {code}"
    if kind == "HTTP":
        code = int(status.get("http", {}).get("status_code", 0))
        return None if 200 <= code < 400 else f"Unexpected HTTP response code: {code}"
    if kind == "TCP":
        return None if status.get("tcp", {}).get("succeeded") else "TCP connection failed"
    return None
