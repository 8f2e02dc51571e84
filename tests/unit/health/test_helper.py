"""TaskHealthHelper against real HTTP servers: grace count, events and properties, exactly."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import pytest
import trustme

from mesos_framework.errors import ConfigurationError
from mesos_framework.health import AdditionalProperty, TaskHealthHelper
from mesos_framework.tasks.state import TaskState
from tests.unit.health.conftest import HealthServer, Scheduler, Task


def _task(server: HealthServer, name: str = "vault-1", **kw: Any) -> Task:
    return Task(task_id=f"fw.{name}.1", name=name, ports=[server.port], **kw)


async def _rounds(helper: TaskHealthHelper, n: int) -> None:
    for _ in range(n):
        await helper.check_running_instances()


async def test_healthy_task_gets_count_zero_and_healthy_true(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    helper = TaskHealthHelper(sched, url="/ok", additional_properties=[{"name": "leader"}])
    try:
        await helper.check_running_instances()
    finally:
        await helper.close()
    assert task.properties == {"checkFailCount": 0, "healthy": True, "leader": True}
    assert sched.events == []
    assert server.requests == ["/ok"]


async def test_grace_count_then_event_on_every_later_failure(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    helper = TaskHealthHelper(
        sched,
        url="/fail",
        grace_count=3,
        additional_properties=[
            AdditionalProperty("sealed", set_unhealthy=True, inverse=True),
            AdditionalProperty("leader"),  # only written on success
        ],
    )
    try:
        await _rounds(helper, 2)
        assert task.properties == {"checkFailCount": 2}
        assert sched.events == []
        await _rounds(helper, 1)
        assert task.properties == {"checkFailCount": 3, "healthy": False, "sealed": True}
        assert sched.events == [("task_unhealthy", task)]
        await _rounds(helper, 2)
        assert task.properties == {"checkFailCount": 5, "healthy": False, "sealed": True}
        assert sched.events == [("task_unhealthy", task)] * 3
    finally:
        await helper.close()
    assert server.requests == ["/fail"] * 5


async def test_recovery_resets_count_and_flips_properties(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    props = [{"name": "sealed", "setUnhealthy": True, "inverse": True}]
    failing = TaskHealthHelper(sched, url="/fail", grace_count=1, additional_properties=props)
    healthy = TaskHealthHelper(sched, url="/ok", grace_count=1, additional_properties=props)
    try:
        await failing.check_running_instances()
        assert task.properties == {"checkFailCount": 1, "healthy": False, "sealed": True}
        healthy._health = failing._health  # the same check, now answering 200
        await healthy.check_running_instances()
        assert task.properties == {"checkFailCount": 0, "healthy": True, "sealed": False}
        await failing.check_running_instances()
        # Before the grace count nothing is emitted for a task that was healthy...
        assert sched.events == [("task_unhealthy", task), ("task_unhealthy", task)]
    finally:
        await failing.close()
        await healthy.close()


async def test_before_first_success_nothing_is_emitted_until_grace(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    helper = TaskHealthHelper(sched, url="/ok", grace_count=2)
    try:
        await helper.check_running_instances()
        helper.url = "/fail"
        await helper.check_running_instances()
        assert task.properties == {"checkFailCount": 1, "healthy": True}
        assert sched.events == []
        await helper.check_running_instances()
        assert task.properties == {"checkFailCount": 2, "healthy": False}
        assert sched.events == [("task_unhealthy", task)]
    finally:
        await helper.close()


async def test_hanging_endpoint_counts_as_failure_after_timeout(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    helper = TaskHealthHelper(sched, url="/hang", grace_count=2, timeout=0.2)
    try:
        await _rounds(helper, 2)
    finally:
        await helper.close()
    assert task.properties == {"checkFailCount": 2, "healthy": False}
    assert sched.events == [("task_unhealthy", task)]
    assert server.requests == ["/hang", "/hang"]


async def test_wrong_body_is_a_failure_and_the_body_result_is_stored(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    seen: list[tuple[Any, str]] = []

    def unsealed(t: Any, body: str) -> object:
        seen.append((t, body))
        return "active" if '"sealed": false' in body else False

    helper = TaskHealthHelper(
        sched, url="/body", grace_count=1, check_body_function=unsealed, additional_properties=["leader"]
    )
    try:
        await helper.check_running_instances()
        # The seed keeps the function's value, not a boolean.
        assert task.properties == {"checkFailCount": 0, "healthy": "active", "leader": "active"}
        server.body = '{"sealed": true}'
        await helper.check_running_instances()
        assert task.properties == {"checkFailCount": 1, "healthy": False, "leader": "active"}
        assert sched.events == [("task_unhealthy", task)]
    finally:
        await helper.close()
    assert seen == [(task, '{"sealed": false, "standby": false}'), (task, '{"sealed": true}')]


async def test_async_body_check(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)

    async def check(t: Any, body: str) -> bool:
        await asyncio.sleep(0)
        return "standby" in body

    helper = TaskHealthHelper(sched, url="/body", grace_count=1, check_body_function=check)
    try:
        await helper.check_running_instances()
        assert task.properties == {"checkFailCount": 0, "healthy": True}
        server.body = "nope"
        await helper.check_running_instances()
        assert task.properties == {"checkFailCount": 1, "healthy": False}
    finally:
        await helper.close()


async def test_body_check_that_raises_is_a_failure(
    server: HealthServer, caplog: pytest.LogCaptureFixture
) -> None:
    task = _task(server)
    helper = TaskHealthHelper(Scheduler(task), url="/body", check_body_function=lambda t, b: 1 / 0)
    caplog.set_level(logging.ERROR, "mesos_framework.health")
    try:
        await helper.check_running_instances()
    finally:
        await helper.close()
    assert task.properties == {"checkFailCount": 1}
    assert "body check raised" in caplog.text


async def test_status_codes_and_body_not_read_on_wrong_status(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    calls: list[str] = []

    def record(t: Any, body: str) -> bool:
        calls.append(body)
        return True

    helper = TaskHealthHelper(sched, url="/standby", status_codes=[200, 429], check_body_function=record)
    strict = TaskHealthHelper(sched, url="/standby", property_prefix="strict_", check_body_function=record)
    try:
        await helper.check_running_instances()
        await strict.check_running_instances()
    finally:
        await helper.close()
        await strict.close()
    assert calls == ["standby"]
    assert task.properties == {"checkFailCount": 0, "healthy": True, "strict_checkFailCount": 1}


async def test_prefix_and_error_event(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    leader = TaskHealthHelper(sched, url="/fail", grace_count=1, property_prefix="leader_")
    custom = TaskHealthHelper(sched, url="/fail", grace_count=1, property_prefix="p_", error_event="sick")
    try:
        await leader.check_running_instances()
        await custom.check_running_instances()
    finally:
        await leader.close()
        await custom.close()
    assert leader.error_event == "leader_task_unhealthy"
    assert task.properties == {
        "leader_checkFailCount": 1,
        "leader_healthy": False,
        "p_checkFailCount": 1,
        "p_healthy": False,
    }
    assert sched.events == [("leader_task_unhealthy", task), ("sick", task)]


async def test_only_eligible_tasks_are_checked(server: HealthServer) -> None:
    tasks = [
        Task("a", "vault-1", [server.port]),
        Task("b", "consul-1", [server.port]),  # filtered out by name
        Task("c", "vault-2", [server.port], state="TASK_STAGING"),
        Task("d", "vault-3", [server.port], hostname=None),
        Task("e", "vault-4", []),  # no port at index 0
        Task("f", "vault-5", [0]),  # port 0 is no port
        Task("g", "vault-6", [server.port], state=TaskState.TASK_RUNNING),
        Task("h", "vault-7", [server.port], state=1),
        Task("i", "vault-8", [server.port], state=TaskState.TASK_KILLING),
    ]
    sched = Scheduler(*tasks)
    helper = TaskHealthHelper(sched, url="/ok", task_name_filter="^vault")
    try:
        await helper.check_running_instances()
    finally:
        await helper.close()
    checked = [t.task_id for t in tasks if t.properties]
    assert checked == ["a", "g", "h"]
    assert server.requests == ["/ok"] * 3


async def test_port_index_picks_the_port(server: HealthServer) -> None:
    task = Task("a", "web", [1, server.port])
    helper = TaskHealthHelper(Scheduler(task), url="/ok", port_index=1)
    try:
        assert helper.url_for(task) == f"http://127.0.0.1:{server.port}/ok"
        await helper.check_running_instances()
    finally:
        await helper.close()
    assert task.properties["healthy"] is True


async def test_check_by_ip_or_hostname(server: HealthServer) -> None:
    # 127.0.0.2 is loopback too, but nothing listens there on this port.
    task = Task("a", "web", [server.port], hostname="127.0.0.2", ip="127.0.0.1")
    sched = Scheduler(task)
    by_ip = TaskHealthHelper(sched, url="/ok", address="ip", property_prefix="ip_")
    by_name = TaskHealthHelper(sched, url="/ok", address="hostname", property_prefix="host_")
    try:
        assert by_ip.url_for(task) == f"http://127.0.0.1:{server.port}/ok"
        assert by_name.url_for(task) == f"http://127.0.0.2:{server.port}/ok"
        await by_ip.check_running_instances()
        await by_name.check_running_instances()
    finally:
        await by_ip.close()
        await by_name.close()
    assert task.properties == {"ip_checkFailCount": 0, "ip_healthy": True, "host_checkFailCount": 1}
    ipv6 = Task("b", "web", [80], ip="::1")
    assert by_ip.url_for(ipv6) == "http://[::1]:80/ok"


async def test_https_with_a_trusted_and_an_untrusted_certificate(
    tls_server: HealthServer, tls: trustme.CA
) -> None:
    task = _task(tls_server)
    sched = Scheduler(task)
    context = ssl.create_default_context()
    tls.configure_trust(context)
    trusted = TaskHealthHelper(sched, url="/ok", scheme="https", ssl=context, property_prefix="t_")
    untrusted = TaskHealthHelper(sched, url="/ok", scheme="https", property_prefix="u_")
    unverified = TaskHealthHelper(sched, url="/ok", scheme="https", ssl=False, property_prefix="n_")
    plain = TaskHealthHelper(sched, url="/ok", property_prefix="p_")
    try:
        for helper in (trusted, untrusted, unverified, plain):
            await helper.check_running_instances()
    finally:
        for helper in (trusted, untrusted, unverified, plain):
            await helper.close()
    assert task.properties == {
        "t_checkFailCount": 0,
        "t_healthy": True,
        "u_checkFailCount": 1,
        "n_checkFailCount": 0,
        "n_healthy": True,
        "p_checkFailCount": 1,
    }
    assert tls_server.requests == ["/ok", "/ok"]


async def test_health_survives_a_status_update_that_replaces_properties(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    helper = TaskHealthHelper(
        sched, url="/fail", grace_count=2, additional_properties=[AdditionalProperty("sealed", True, True)]
    )
    try:
        await _rounds(helper, 2)
        assert task.properties == {"checkFailCount": 2, "healthy": False, "sealed": True}
        task.properties = {"agentId": "S1"}  # what the seed's UPDATE handler did
        await _rounds(helper, 1)
        assert task.properties == {"agentId": "S1", "checkFailCount": 3, "healthy": False, "sealed": True}
        assert len(sched.events) == 2  # still unhealthy: emitted again
        health = helper.health_of(task.task_id)
        assert health is not None
        assert (health.fail_count, health.healthy) == (3, False)
    finally:
        await helper.close()


async def test_state_restored_from_properties(server: HealthServer) -> None:
    task = _task(server, properties={"checkFailCount": 2})
    sched = Scheduler(task)
    helper = TaskHealthHelper(sched, url="/fail", grace_count=3)
    try:
        await helper.check_running_instances()
    finally:
        await helper.close()
    assert task.properties == {"checkFailCount": 3, "healthy": False}
    assert sched.events == [("task_unhealthy", task)]


async def test_state_of_a_removed_task_is_forgotten(server: HealthServer) -> None:
    task = _task(server)
    sched = Scheduler(task)
    helper = TaskHealthHelper(sched, url="/fail")
    try:
        await helper.check_running_instances()
        assert helper.health_of(task.task_id) is not None
        sched.launched_tasks.clear()
        await helper.check_running_instances()
        assert helper.health_of(task.task_id) is None
    finally:
        await helper.close()


async def test_periodic_checks_and_async_emit(server: HealthServer) -> None:
    task = _task(server)
    received: list[tuple[str, Any]] = []
    done = asyncio.Event()

    class AsyncScheduler(Scheduler):
        async def emit(self, event: str, payload: Any) -> None:  # type: ignore[override]
            await asyncio.sleep(0)
            received.append((event, payload))
            done.set()

    sched = AsyncScheduler(task)
    async with TaskHealthHelper(sched, url="/fail", interval=0.02, grace_count=2) as helper:
        assert helper.running
        await asyncio.wait_for(done.wait(), 10)
    assert not helper.running
    assert received[0] == ("task_unhealthy", task)
    assert task.properties["checkFailCount"] >= 2
    assert task.properties["healthy"] is False
    n = len(server.requests)
    await asyncio.sleep(0.1)
    assert len(server.requests) == n  # stopped


async def test_setup_twice_keeps_one_loop(server: HealthServer) -> None:
    helper = TaskHealthHelper(Scheduler(), url="/ok", interval=10)
    helper.setup_health_check()
    first = helper._loop_task
    helper.setup_health_check()
    assert first is not None
    await asyncio.sleep(0)
    assert first.cancelled()
    assert helper.running
    helper.stop_health_check()
    assert not helper.running
    await helper.close()


async def test_failing_listener_does_not_stop_the_checks(
    server: HealthServer, caplog: pytest.LogCaptureFixture
) -> None:
    task = _task(server)

    class Broken(Scheduler):
        def emit(self, event: str, payload: Any) -> None:
            raise RuntimeError("listener bug")

    helper = TaskHealthHelper(Broken(task), url="/fail", grace_count=1)
    try:
        await _rounds(helper, 2)
    finally:
        await helper.close()
    assert task.properties["checkFailCount"] == 2
    assert "listener bug" in caplog.text


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"url": "health"}, "health.url"),
        ({"url": "/h", "interval": 0}, "health.interval"),
        ({"url": "/h", "grace_count": 0}, "health.grace_count"),
        ({"url": "/h", "grace_count": 1.5}, "health.grace_count"),
        ({"url": "/h", "port_index": -1}, "health.port_index"),
        ({"url": "/h", "status_codes": []}, "health.status_codes"),
        ({"url": "/h", "status_codes": [99]}, "health.status_codes"),
        ({"url": "/h", "task_name_filter": "("}, "health.task_name_filter"),
        ({"url": "/h", "timeout": 0}, "health.timeout"),
        ({"url": "/h", "scheme": "ftp"}, "health.scheme"),
        ({"url": "/h", "address": "mac"}, "health.address"),
        ({"url": "/h", "check_body_function": 3}, "health.check_body_function"),
        ({"url": "/h", "additional_properties": [{"nam": "x"}]}, "health.additional_properties"),
        ({"url": "/h", "additional_properties": [{"inverse": True}]}, "health.additional_properties"),
        ({"url": "/h", "additional_properties": [3]}, "health.additional_properties"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        TaskHealthHelper(Scheduler(), **options)
    assert info.value.option == option


def test_defaults_match_the_seed() -> None:
    helper = TaskHealthHelper(Scheduler(), url="/v1/sys/health?standbyok")
    assert helper.interval == 30.0
    assert helper.grace_count == 4
    assert helper.port_index == 0
    assert helper.property_prefix == ""
    assert helper.error_event == "task_unhealthy"
    assert helper.additional_properties == ()
    assert helper.task_name_filter is None
    assert helper.status_codes == frozenset({200})
    assert helper.check_body_function is None
    assert helper.timeout == 10.0
    assert helper.scheme == "http"
    assert helper.address == "hostname"


def test_a_custom_error_event_needs_no_registration() -> None:
    from mesos_framework.scheduler import Scheduler as RealScheduler

    sched = RealScheduler(framework_name="health-names")
    TaskHealthHelper(sched, url="/ok", error_event="vault_sealed")
    seen: list[Any] = []
    sched.on("vault_sealed", seen.append)  # no add_event_names() call needed
    sched.emit("vault_sealed", "task")
    assert seen == ["task"]
