from __future__ import annotations

import uuid
from typing import Any

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import TaskSpec, parse_task_id, serial_env_name

CMD = {"value": "sleep 100", "shell": True}


def spec(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"instances": 2, "commandInfo": CMD, "resources": {"cpus": 0.1, "mem": 32}}
    base.update(over)
    return base


def test_seed_style_dict() -> None:
    s = TaskSpec.from_dict(
        "web",
        spec(
            priority=2,
            allowScaling=True,
            resources={"cpus": 0.5, "mem": 64, "ports": 2, "staticPorts": [8080]},
            labels={"a": "b"},
            healthCheck={"http": {"path": "/h"}},
        ),
    )
    assert s.instances == 2 and s.priority == 2 and s.allow_scaling
    assert s.command is not None and s.command.value == "sleep 100"
    assert s.resources.fixed_ports == (8080,)
    assert s.resources.dynamic_ports == 1
    assert s.resources.disk == 0  # optional, unlike the seed
    assert s.labels == (("a", "b"),)
    assert s.health_check is not None and s.health_check.type == mesos_pb2.HealthCheck.HTTP


@pytest.mark.parametrize(
    ("over", "option"),
    [
        ({"resources": {"mem": 1}}, "tasks.web.resources.cpus"),
        ({"resources": {"cpus": "x", "mem": 1}}, "tasks.web.resources.cpus"),
        ({"resources": {"cpus": 1, "mem": 1, "bogus": 1}}, "tasks.web.resources.bogus"),
        (
            {"resources": {"cpus": 1, "mem": 1, "ports": 1, "fixed_ports": [1, 2]}},
            "tasks.web.resources.ports",
        ),
        ({"resources": {"cpus": 1, "mem": 1, "fixed_ports": [70000]}}, "tasks.web.resources.fixed_ports"),
        ({"instances": -1}, "tasks.web.instances"),
        ({"instances": 1.5}, "tasks.web.instances"),
        ({"colour": "red"}, "tasks.web.colour"),
        ({"commandInfo": {"value": 5, "shell": "yes"}}, "tasks.web.command"),
        ({"commandInfo": 12}, "tasks.web.command"),
        ({"portMappings": [{"port": 80}]}, "tasks.web.port_mappings"),
        ({"labels": 3}, "tasks.web.labels"),
        ({"environment": {"A": 1}}, "tasks.web.environment"),
        ({"allowScaling": "yes"}, "tasks.web.allow_scaling"),
    ],
)
def test_validation_names_the_option(over: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        TaskSpec.from_dict("web", spec(**over))
    assert info.value.option == option, str(info.value)


def test_needs_something_to_run() -> None:
    with pytest.raises(ConfigurationError, match="command, a container or an executor"):
        TaskSpec.from_dict("web", {"resources": {"cpus": 1, "mem": 1}})


def test_bad_type_name() -> None:
    with pytest.raises(ConfigurationError, match="task type name"):
        TaskSpec.from_dict("bad name", spec())


def test_port_mappings_need_bridge_and_one_per_port() -> None:
    docker = {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE"}}
    ok = TaskSpec.from_dict(
        "web",
        spec(containerInfo=docker, resources={"cpus": 1, "mem": 1, "ports": 1}, portMappings=[{"port": 80}]),
    )
    assert ok.network_mode() == "BRIDGE"
    assert ok.port_mappings[0].container_port == 80
    with pytest.raises(ConfigurationError, match="one per port"):
        TaskSpec.from_dict(
            "web",
            spec(
                containerInfo=docker, resources={"cpus": 1, "mem": 1, "ports": 2}, portMappings=[{"port": 80}]
            ),
        )


def test_task_ids_are_unique_and_recoverable() -> None:
    s = TaskSpec.from_dict("group/web-api", spec())
    ids = {s.new_task_id("fw", 3) for _ in range(100)}
    assert len(ids) == 100
    assert parse_task_id(next(iter(ids)), "fw") == ("group_web-api", 3)
    assert parse_task_id("other.web-1.abc", "fw") is None
    assert parse_task_id("fw.web.0123456789abcdef0123456789abcdef", "fw") is None
    for task_id in ids:  # each ends in a random (version 4, RFC 4122) UUID's hex
        tail = uuid.UUID(task_id.rpartition(".")[2])
        assert tail.version == 4 and tail.variant == uuid.RFC_4122


def test_serial_env_name_for_odd_type_names() -> None:
    assert serial_env_name("web") == "TASK_WEB_SERIAL_NUMBER"
    assert serial_env_name("my-db") == "TASK_MY_DB_SERIAL_NUMBER"
    assert serial_env_name("a/b.c") == "TASK_A_B_C_SERIAL_NUMBER"


def test_an_internal_error_is_not_relabelled_as_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bug in the library (here: the codec failing as an old protobuf did, with an
    # AttributeError) must surface as itself, not as the user's ConfigurationError.
    from mesos_framework import protocol

    def broken(cls: Any, obj: Any, **kwargs: Any) -> Any:
        raise AttributeError("'FieldDescriptor' object has no attribute 'is_repeated'")

    monkeypatch.setattr(protocol, "from_dict", broken)
    with pytest.raises(AttributeError, match="is_repeated"):
        TaskSpec.from_dict("web", {"instances": 1, "commandInfo": {"value": "true"}})


def test_a_bad_message_is_a_configuration_error_naming_the_field() -> None:
    with pytest.raises(ConfigurationError, match=r"tasks\.web\.command.*shell") as info:
        TaskSpec.from_dict("web", {"instances": 1, "commandInfo": {"value": "true", "shell": "yes"}})
    assert info.value.option == "tasks.web.command"


def test_executor_info_without_an_id_gets_the_task_id_at_launch() -> None:
    from mesos_framework.tasks import PendingQueue, match_offers
    from tests.unit.tasks.offers_factory import make_offer

    s = TaskSpec.from_dict(
        "x", {"executorInfo": {"command": {"value": "run-exec"}}, "resources": {"cpus": 0.1, "mem": 16}}
    )
    q = PendingQueue([s])
    q.push("x", 1)
    q.push("x", 2)
    infos = [
        launch.task_info for launch in match_offers([make_offer()], q, framework_name="fw").all_launches()
    ]
    assert [i.executor.executor_id.value for i in infos] == [i.task_id.value for i in infos]
    assert infos[0].executor.command.value == "run-exec"
