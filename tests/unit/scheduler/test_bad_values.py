"""Bad values (issue 15, item 6): every number finite and in range, every command runnable.

Each case raises `ConfigurationError` naming the field, from `Scheduler(...)`,
from a `TaskSpec` built directly, or from `scale`.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from mesos_framework.errors import ConfigurationError, ScalingNotAllowed
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.scheduler._fleet import Decline, Fleet, LaunchOnOffer
from mesos_framework.tasks.spec import MAX_INSTANCES, MAX_PORTS, MAX_SCALAR, TaskResources, TaskSpec


def _task(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"command": {"value": "sleep 10"}, "resources": {"cpus": 0.1, "mem": 16}}
    for key, value in over.items():
        if key in ("cpus", "mem", "disk", "gpus", "ports"):
            spec["resources"] = {**spec["resources"], key: value}
        else:
            spec[key] = value
    return spec


def _option_of(**task: Any) -> str | None:
    with pytest.raises(ConfigurationError) as info:
        Scheduler(tasks={"web": _task(**task)})
    return info.value.option


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e308, MAX_SCALAR * 2])
@pytest.mark.parametrize("field", ["cpus", "mem", "disk"])
def test_scalar_resources_must_be_finite_and_in_range(field: str, value: float) -> None:
    assert _option_of(**{field: value}) == f"tasks.web.resources.{field}"


def test_the_largest_scalar_is_accepted() -> None:
    Scheduler(tasks={"web": _task(mem=MAX_SCALAR)})


@pytest.mark.parametrize("value", [10**9, MAX_INSTANCES + 1, -1])
def test_instances_are_bounded(value: int) -> None:
    assert _option_of(instances=value) == "tasks.web.instances"
    Scheduler(tasks={"web": _task(instances=MAX_INSTANCES)})


@pytest.mark.parametrize("value", [10**6, MAX_PORTS + 1])
def test_ports_are_bounded(value: int) -> None:
    assert _option_of(ports=value) == "tasks.web.resources.ports"


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ({"value": ""}, "tasks.web.command.value"),
        ({"value": "   "}, "tasks.web.command.value"),
        ({"value": "", "shell": False}, "tasks.web.command.value"),
        ({"value": "sleep\x0010"}, "tasks.web.command.value"),
        (
            {"value": "/bin/sleep", "shell": False, "arguments": ["sleep", "1\x00"]},
            "tasks.web.command.arguments[1]",
        ),
        (
            {"value": "true", "environment": {"variables": [{"name": "A=B", "value": "1"}]}},
            "tasks.web.command.environment.variables[0]",
        ),
        (
            {"value": "true", "environment": {"variables": [{"name": "A", "value": "x\x00"}]}},
            "tasks.web.command.environment.variables[0]",
        ),
    ],
)
def test_commands_must_be_runnable(command: dict[str, Any], option: str) -> None:
    assert _option_of(command=command) == option


def test_a_container_may_run_its_own_entrypoint() -> None:
    Scheduler(
        tasks={
            "web": _task(
                command={"shell": False},
                container={"type": "DOCKER", "docker": {"image": "nginx"}},
            )
        }
    )


@pytest.mark.parametrize("name", ["A=B", "", "A\x00"])
def test_environment_names_are_checked(name: str) -> None:
    option = _option_of(environment={name: "1"})
    assert option is not None and option.startswith("tasks.web.environment")


def test_environment_values_may_not_hold_nul() -> None:
    assert _option_of(environment={"A": "x\x00y"}) == "tasks.web.environment.A"


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 1e308])
def test_kill_grace_period_is_finite_and_in_range(value: float) -> None:
    assert _option_of(kill_grace_period=value) == "tasks.web.kill_grace_period"


@pytest.mark.parametrize(
    "field", ["delay_seconds", "interval_seconds", "timeout_seconds", "grace_period_seconds"]
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 1e308])
def test_health_check_durations_are_finite_and_in_range(field: str, value: float) -> None:
    check = {"type": "COMMAND", "command": {"value": "true"}, field: value}
    assert _option_of(health_check=check) == f"tasks.web.health_check.{field}"


def test_priority_fits_an_int32() -> None:
    assert _option_of(priority=2**31) == "tasks.web.priority"


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e308])
def test_a_spec_built_directly_is_checked_too(value: float) -> None:
    with pytest.raises(ConfigurationError) as info:
        TaskSpec("web", TaskResources(cpus=value, mem=16), command=mesos_pb2.CommandInfo(value="true"))
    assert info.value.option == "tasks.web.resources.cpus"


@pytest.mark.parametrize(
    "option",
    [
        "refuse_seconds",
        "idle_refuse_seconds",
        "framework_failover_timeout",
        "call_timeout",
        "request_timeout",
        "master_connection_timeout",
        "reconcile_interval",
        "heartbeat_misses",
        "restart_backoff_minimum",
        "exponential_backoff_factor",
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, 1e308])
def test_numeric_options_are_finite_and_in_range(option: str, value: float) -> None:
    with pytest.raises(ConfigurationError) as info:
        Scheduler(**{option: value})  # type: ignore[arg-type]
    assert info.value.option == option


def test_scale_is_bounded() -> None:
    spec = TaskSpec.from_dict("web", _task(allow_scaling=True))
    fleet = Fleet([spec], framework_name="fw")
    with pytest.raises(ConfigurationError) as info:
        fleet.scale("web", 10**9)
    assert info.value.option == "instances"
    assert not isinstance(info.value, ScalingNotAllowed)
    fleet.scale("web", MAX_INSTANCES)


def _offer(offer_id: str, cpus: float) -> mesos_pb2.Offer:
    offer = mesos_pb2.Offer()
    offer.id.value = offer_id
    offer.framework_id.value = "fw"
    offer.agent_id.value = "agent-" + offer_id
    offer.hostname = "host"
    for name, value in (("cpus", cpus), ("mem", 1024.0)):
        res = offer.resources.add()
        res.name = name
        res.type = mesos_pb2.Value.SCALAR
        res.scalar.value = value
    return offer


@pytest.mark.parametrize("cpus", [math.nan, math.inf, 1e308, -5.0])
def test_a_hostile_offer_is_declined_and_the_others_used(
    cpus: float, caplog: pytest.LogCaptureFixture
) -> None:
    fleet = Fleet([TaskSpec.from_dict("web", _task())], framework_name="fw")
    fleet.fill()
    actions = fleet.offers([_offer("bad", cpus), _offer("good", 4.0)], 0.0)
    declines = [a for a in actions if isinstance(a, Decline)]
    launches = [a for a in actions if isinstance(a, LaunchOnOffer)]
    assert [o.value for d in declines for o in d.offer_ids] == ["bad"]
    assert [a.offer_id.value for a in launches] == ["good"]
    assert any("declining offer bad" in r.getMessage() for r in caplog.records)


# -- numbers inside raw Mesos messages (issue 15) ----------------------------------------------


def _executor(**resource: Any) -> dict[str, Any]:
    return {
        "command": {"value": "./my-executor"},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", **resource},
        ],
    }


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_executor_resources_must_be_finite(value: float) -> None:
    option = _option_of(executor=_executor(scalar={"value": value}))
    assert option == "tasks.web.executor.resources[1].scalar.value"


@pytest.mark.parametrize("value", [-1.0, 1e308, MAX_SCALAR * 2])
def test_executor_resources_must_be_in_range(value: float) -> None:
    option = _option_of(executor=_executor(scalar={"value": value}))
    assert option == "tasks.web.executor.resources[1].scalar.value"


def test_executor_resource_ranges_must_not_end_before_they_begin() -> None:
    executor = _executor()
    executor["resources"][1] = {
        "name": "ports",
        "type": "RANGES",
        "ranges": {"range": [{"begin": 9, "end": 3}]},
    }
    assert _option_of(executor=executor) == "tasks.web.executor.resources[1].ranges.range[0]"


def test_an_executor_given_as_a_message_is_checked_too() -> None:
    info = mesos_pb2.ExecutorInfo()
    info.command.value = "./my-executor"
    info.resources.add(name="cpus", type=mesos_pb2.Value.SCALAR).scalar.value = math.nan
    assert _option_of(executor=info) == "tasks.web.executor.resources[0].scalar.value"
    with pytest.raises(ConfigurationError) as error:
        TaskSpec("web", TaskResources(cpus=0.1, mem=16), executor=info)
    assert error.value.option == "tasks.web.executor.resources[0].scalar.value"


def test_durations_inside_raw_messages_must_not_be_negative() -> None:
    kill = {"grace_period": {"nanoseconds": -1}}
    executor = {**_executor(scalar={"value": 16}), "shutdown_grace_period": kill["grace_period"]}
    assert _option_of(executor=executor) == "tasks.web.executor.shutdown_grace_period.nanoseconds"


def test_sane_raw_messages_are_accepted() -> None:
    Scheduler(tasks={"web": _task(executor=_executor(scalar={"value": 32}))})
