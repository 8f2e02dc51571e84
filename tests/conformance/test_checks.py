"""Mesos-native checks (``TaskInfo.check``) and health checks (``TaskInfo.health_check``).

Validation is the master's, so those cases run against the local cluster and
real Mesos 1.11. The checking itself happens in Mesos's built-in executors
(``src/launcher/executor.cpp``, ``src/launcher/default_executor.cpp``, with
``src/checks/checker_process.cpp``, ``checker.cpp`` and
``health_checker.cpp``); the real-Mesos harness runs tasks through a
stand-in executor without checks, so those cases run on the local cluster
only, and each states the upstream behaviour it reproduces (see also
``docs/health-checks.md`` of Apache Mesos).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.local import LocalCluster
from tests.conformance.conftest import Factory
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info, small

FAST = {"delay_seconds": 0.0, "interval_seconds": 0.2, "timeout_seconds": 10.0}


@pytest_asyncio.fixture
async def local_scheduler(http: aiohttp.ClientSession) -> AsyncIterator[Factory]:
    """Frameworks on a local cluster (the executor side of checks)."""
    async with LocalCluster(allocation_interval=0.2, status_update_retry=1.0) as cluster:
        made: list[RawScheduler] = []

        async def make(name: str, *caps: str) -> RawScheduler:
            s = RawScheduler(cluster.url, http)
            made.append(s)
            await s.subscribe(framework_info(name, *caps))
            return s

        yield make
        for s in made:
            await s.teardown()


async def next_status(s: RawScheduler, task_id: str) -> dict[str, Any]:
    """The next update of a task, acknowledged."""
    status = await s.update(task_id, within=60)
    if "uuid" in status:
        await s.ack(status)
    return status


async def until_state(s: RawScheduler, task_id: str, state: str) -> list[dict[str, Any]]:
    """Updates (acknowledged) up to and including the first in ``state``."""
    seen = []
    while True:
        status = await next_status(s, task_id)
        seen.append(status)
        if status["state"] == state:
            return seen
        assert status["state"] not in TERMINAL, seen


def port_of(offer: dict[str, Any]) -> int:
    ports = next(r for r in offer["resources"] if r["name"] == "ports")
    return int(ports["ranges"]["range"][0]["begin"])


def with_port(offer: dict[str, Any], port: int) -> list[dict[str, Any]]:
    ports = next(r for r in offer["resources"] if r["name"] == "ports")
    return [*small(offer), {**ports, "ranges": {"range": [{"begin": port, "end": port}]}}]


# ------------------------------------------------------------------ validation (both)


@pytest.mark.parametrize(
    ("field", "spec", "message"),
    [
        (
            "health_check",
            {"type": "HTTP", "http": {"port": 80, "path": "health"}},
            "Task uses invalid health check: The path 'health' of HTTP health check must start with '/'",
        ),
        (
            "health_check",
            {"type": "HTTP", "http": {"port": 80, "scheme": "ftp"}},
            "Task uses invalid health check: Unsupported HTTP health check scheme: 'ftp'",
        ),
        (
            "health_check",
            {"type": "TCP"},
            "Task uses invalid health check: Expecting 'tcp' to be set for TCP health check",
        ),
        (
            "health_check",
            {"type": "COMMAND", "command": {"value": "true"}, "grace_period_seconds": -1},
            "Task uses invalid health check: Expecting 'grace_period_seconds' to be non-negative",
        ),
        (
            "check",
            {"type": "COMMAND", "command": {"command": {"value": "true"}}, "delay_seconds": -1},
            "Task uses invalid check: Expecting 'delay_seconds' to be non-negative",
        ),
        (
            "check",
            {"type": "HTTP", "http": {"port": 80, "path": "x"}},
            "Task uses invalid check: The path 'x' of HTTP check must start with '/'",
        ),
        (
            "check",
            {"type": "COMMAND", "command": {"command": {"shell": True}}},
            "Task uses invalid check: Command check must contain 'shell command'",
        ),
    ],
)
async def test_invalid_checks_are_task_errors(
    scheduler: Factory, field: str, spec: dict[str, Any], message: str
) -> None:
    """``validateCheck`` / ``validateHealthCheck`` in ``src/master/validation.cpp``:
    TASK_ERROR, REASON_TASK_INVALID, from the master."""
    s = await scheduler("invalid-check")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"}, extra={field: spec})
    status = await s.update(task_id)
    assert status["state"] == "TASK_ERROR"
    assert status["reason"] == "REASON_TASK_INVALID"
    assert status["source"] == "SOURCE_MASTER"
    assert status["message"] == message


# -------------------------------------------------------------- health (local only)


async def test_command_health_check_healthy_once_unhealthy_each_failure_then_killed(
    local_scheduler: Factory, tmp_path: Path
) -> None:
    """Mesos (``HealthChecker::success``/``failure``, ``taskHealthUpdated`` in
    ``src/launcher/executor.cpp``): the first success is reported ``healthy``,
    later successes are not; after that every failure is reported unhealthy
    (``REASON_TASK_HEALTH_CHECK_STATUS_UPDATED``, the previous status copied
    with a new uuid), and at ``consecutive_failures`` the task is killed:
    ``TASK_KILLED`` with ``healthy: false`` and the command's signal message."""
    flag = tmp_path / "ok"
    flag.touch()
    s = await local_scheduler("health-command")
    offer = (await s.offers())[0]
    health = {
        "type": "COMMAND",
        "command": {"value": f"test -f {flag}"},
        "consecutive_failures": 2,
        "grace_period_seconds": 0.0,
        **FAST,
    }
    task_id = await s.launch(offer, {"value": "sleep 600"}, extra={"health_check": health})
    seen = await until_state(s, task_id, "TASK_RUNNING")
    assert all("healthy" not in st for st in seen)
    healthy = await next_status(s, task_id)
    assert healthy["state"] == "TASK_RUNNING"
    assert healthy["healthy"] is True
    assert healthy["reason"] == "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
    assert healthy["source"] == "SOURCE_EXECUTOR"
    assert healthy["uuid"] != seen[-1]["uuid"]
    # Further successes (5 per second) send nothing.
    assert await s.quiet(1.5, lambda e: e["type"] == "UPDATE") == []
    flag.unlink()
    first = await next_status(s, task_id)
    second = await next_status(s, task_id)
    for st in (first, second):
        assert st["state"] == "TASK_RUNNING"
        assert st["healthy"] is False
        assert st["reason"] == "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
    end = await next_status(s, task_id)
    assert end["state"] == "TASK_KILLED"
    assert end["healthy"] is False
    assert end["message"] == "Command terminated with signal Terminated"
    assert "reason" not in end


async def test_grace_period_ignores_failures_until_the_first_success(
    local_scheduler: Factory, tmp_path: Path
) -> None:
    """Mesos (``HealthChecker::failure``): failures within ``grace_period_seconds`` of the
    start are not reported while the task has never been healthy; once it has been, the grace
    period no longer applies and the count starts from the first failure."""
    flag = tmp_path / "ok"
    s = await local_scheduler("health-grace")
    offer = (await s.offers())[0]
    health = {
        "type": "COMMAND",
        "command": {"value": f"test -f {flag}"},
        "consecutive_failures": 1,
        "grace_period_seconds": 120.0,
        **FAST,
    }
    task_id = await s.launch(offer, {"value": "sleep 600"}, extra={"health_check": health})
    await until_state(s, task_id, "TASK_RUNNING")
    assert await s.quiet(1.0, lambda e: e["type"] == "UPDATE") == []  # failing, within grace
    flag.touch()
    assert (await next_status(s, task_id))["healthy"] is True
    flag.unlink()
    unhealthy = await next_status(s, task_id)
    assert unhealthy["healthy"] is False
    end = await next_status(s, task_id)
    assert (end["state"], end["healthy"]) == ("TASK_KILLED", False)


async def test_health_check_timeout_is_a_failure(local_scheduler: Factory) -> None:
    """Mesos (``CheckerProcess::commandCheck``): a command running past ``timeout_seconds``
    is killed and the attempt fails ("Command timed out after ..."), which counts as a
    health-check failure."""
    s = await local_scheduler("health-timeout")
    offer = (await s.offers())[0]
    health = {
        "type": "COMMAND",
        "command": {"value": "sleep 600"},
        "consecutive_failures": 1,
        "grace_period_seconds": 0.0,
        "delay_seconds": 0.0,
        "interval_seconds": 0.2,
        "timeout_seconds": 0.3,
    }
    task_id = await s.launch(offer, {"value": "sleep 600"}, extra={"health_check": health})
    await until_state(s, task_id, "TASK_RUNNING")
    assert (await next_status(s, task_id))["healthy"] is False
    assert (await next_status(s, task_id))["state"] == "TASK_KILLED"


async def test_http_and_tcp_health_checks(local_scheduler: Factory) -> None:
    """Mesos: HTTP health checks GET ``http://127.0.0.1:<port><path>`` and count 2xx/3xx as
    healthy (others, e.g. 404, as failures: "Unexpected HTTP response code"); TCP health checks
    are healthy when a connection to ``127.0.0.1:<port>`` succeeds."""
    s = await local_scheduler("health-http")
    offers = await s.offers()
    offer = offers[0]
    port = port_of(offer)
    server = {"value": f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1"}
    task = {"resources": with_port(offer, port)}
    for name, health in (
        ("http", {"type": "HTTP", "http": {"port": port, "path": "/"}}),
        ("tcp", {"type": "TCP", "tcp": {"port": port}}),
        ("http404", {"type": "HTTP", "http": {"port": port, "path": "/missing"}}),
    ):
        spec = {**health, "consecutive_failures": 1, "grace_period_seconds": 60.0, **FAST}
        if name == "http":
            task_id = await s.launch(offer, server, task_id=name, extra={**task, "health_check": spec})
        else:
            offer = (await s.offers())[0]
            sleep = {"value": "sleep 600"}
            task_id = await s.launch(offer, sleep, task_id=name, extra={"health_check": spec})
        await until_state(s, task_id, "TASK_RUNNING")
        if name == "http404":
            # Failures within the grace period are ignored: no update at all.
            assert await s.quiet(1.0, lambda e: e["type"] == "UPDATE") == []
        else:
            assert (await next_status(s, task_id))["healthy"] is True


# ---------------------------------------------------------------- checks (local only)


async def test_command_check_status_on_change_only(local_scheduler: Factory, tmp_path: Path) -> None:
    """Mesos (``Checker::processCheckResult``, ``taskCheckUpdated``): every status of a task
    with a check carries ``check_status`` (empty, ``{"type": "COMMAND", "command": {}}``, until
    a result); a result that differs from the previous one is sent as the previous status with
    ``REASON_TASK_CHECK_STATUS_UPDATED``; identical results send nothing."""
    code = tmp_path / "code"
    code.write_text("3")
    s = await local_scheduler("check-command")
    offer = (await s.offers())[0]
    check = {"type": "COMMAND", "command": {"command": {"value": f"exit $(cat {code})"}}, **FAST}
    task_id = await s.launch(offer, {"value": "sleep 600"}, extra={"check": check})
    seen = await until_state(s, task_id, "TASK_RUNNING")
    assert all(st["check_status"] == {"type": "COMMAND", "command": {}} for st in seen)
    first = await next_status(s, task_id)
    assert first["state"] == "TASK_RUNNING"
    assert first["reason"] == "REASON_TASK_CHECK_STATUS_UPDATED"
    assert first["check_status"] == {"type": "COMMAND", "command": {"exit_code": 3}}
    assert await s.quiet(1.0, lambda e: e["type"] == "UPDATE") == []
    code.write_text("0")
    second = await next_status(s, task_id)
    assert second["check_status"] == {"type": "COMMAND", "command": {"exit_code": 0}}
    await s.call("KILL", kill={"task_id": {"value": task_id}})
    end = await next_status(s, task_id)
    assert end["state"] == "TASK_KILLED"
    assert end["check_status"] == {"type": "COMMAND", "command": {}}  # from scratch


async def test_tcp_and_http_checks(local_scheduler: Factory, tmp_path: Path) -> None:
    """Mesos: a TCP check reports ``{"tcp": {"succeeded": false}}`` while nothing listens and
    ``true`` once a connection succeeds; an HTTP check reports the status code."""
    go = tmp_path / "go"
    s = await local_scheduler("check-tcp")
    offer = (await s.offers())[0]
    port = port_of(offer)
    command = {
        "value": f"while [ ! -f {go} ]; do sleep 0.1; done; "
        f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1"
    }
    check = {"type": "TCP", "tcp": {"port": port}, **FAST}
    task_id = await s.launch(offer, command, extra={"check": check, "resources": with_port(offer, port)})
    seen = await until_state(s, task_id, "TASK_RUNNING")
    assert seen[-1]["check_status"] == {"type": "TCP", "tcp": {}}
    assert (await next_status(s, task_id))["check_status"] == {"type": "TCP", "tcp": {"succeeded": False}}
    go.touch()
    assert (await next_status(s, task_id))["check_status"] == {"type": "TCP", "tcp": {"succeeded": True}}
    offer = (await s.offers())[0]
    http_check = {"type": "HTTP", "http": {"port": port, "path": "/nothing-here"}, **FAST}
    other = await s.launch(offer, {"value": "sleep 600"}, extra={"check": http_check})
    await until_state(s, other, "TASK_RUNNING")
    status = await next_status(s, other)
    assert status["check_status"] == {"type": "HTTP", "http": {"status_code": 404}}


async def test_health_check_kill_in_a_task_group(local_scheduler: Factory) -> None:
    """Mesos's default executor (``taskHealthUpdated`` in ``src/launcher/default_executor.cpp``):
    a task killed for failing its health check ends ``TASK_KILLED``; the group's kill policy
    then kills the other tasks, and every terminal update after that carries
    ``healthy: false`` (the executor-wide ``unhealthy`` flag, MESOS-8543)."""
    s = await local_scheduler("health-group")
    offer = (await s.offers())[0]
    disk = next(r for r in offer["resources"] if r["name"] == "disk")
    executor = {
        "type": "DEFAULT",
        "executor_id": {"value": "pod"},
        "resources": [*small(offer), {**disk, "scalar": {"value": 32.0}}],
    }
    health = {
        "type": "COMMAND",
        "command": {"value": "exit 1"},
        "consecutive_failures": 1,
        "grace_period_seconds": 0.0,
        **FAST,
    }
    tasks = [
        {
            "name": name,
            "task_id": {"value": name},
            "agent_id": offer["agent_id"],
            "resources": small(offer),
            "command": {"value": "sleep 600"},
            **extra,
        }
        for name, extra in (("sick", {"health_check": health}), ("fine", {}))
    ]
    await s.call(
        "ACCEPT",
        accept={
            "offer_ids": [offer["id"]],
            "operations": [
                {
                    "type": "LAUNCH_GROUP",
                    "launch_group": {"executor": executor, "task_group": {"tasks": tasks}},
                }
            ],
        },
    )
    ends: dict[str, dict[str, Any]] = {}
    unhealthy = []
    while len(ends) < 2:
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE", within=60))["update"]["status"]
        await s.ack(st)
        if st["state"] in TERMINAL:
            ends[st["task_id"]["value"]] = st
        elif st.get("healthy") is False:
            unhealthy.append(st["task_id"]["value"])
    assert unhealthy == ["sick"]
    assert ends["sick"]["state"] == "TASK_KILLED"
    assert ends["sick"]["healthy"] is False
    assert ends["fine"]["state"] == "TASK_KILLED"
    assert ends["fine"]["healthy"] is False
