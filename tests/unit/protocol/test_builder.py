"""Builder, as_message and message_class."""

from __future__ import annotations

import pytest

from mesos_framework.errors import MessageError
from mesos_framework.protocol import Builder, as_message, mesos, message_class


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("mesos.CommandInfo", mesos.CommandInfo),
        ("mesos.v1.CommandInfo", mesos.CommandInfo),
        ("CommandInfo", mesos.CommandInfo),
        ("mesos.scheduler.Call", mesos.scheduler.Call),
        ("mesos.v1.scheduler.Call.Accept", mesos.scheduler.Call.Accept),
        ("mesos.executor.Event", mesos.executor.Event),
        ("mesos.Value.Range", mesos.Value.Range),
    ],
)
def test_message_class(name: str, cls: type) -> None:
    assert message_class(name) is cls
    assert Builder(name).message_type is cls


@pytest.mark.parametrize(
    "name",
    [
        "mesos.Nope",
        "mesos.scheduler",
        "",
        "mesos.v1.TaskState",
        "mesos.TASK_RUNNING",
        "mesos.scheduler.Call.type",
    ],
)
def test_message_class_unknown(name: str) -> None:
    with pytest.raises(MessageError, match="unknown Mesos message type"):
        message_class(name)


def test_chained_setters_build_a_message() -> None:
    cmd = (
        Builder("mesos.CommandInfo")
        .set_value("env && sleep 100")
        .set_shell(True)
        .add_uris({"value": "http://example.com/a.tgz", "extract": True})
        .add_uris(value="http://example.com/b")
        .set_environment(variables=[{"name": "A", "value": "1"}])
        .build()
    )
    assert isinstance(cmd, mesos.CommandInfo)
    assert cmd == mesos.CommandInfo(
        value="env && sleep 100",
        shell=True,
        uris=[{"value": "http://example.com/a.tgz", "extract": True}, {"value": "http://example.com/b"}],
        environment={"variables": [{"name": "A", "value": "1"}]},
    )


def test_constructor_fields_maps_and_nested_builders() -> None:
    task = (
        Builder("mesos.TaskInfo", name="web", task_id={"value": "web-1"})
        .set_agent_id(Builder("mesos.AgentID").set_value("S1"))
        .add_resources(name="cpus", type="SCALAR", scalar={"value": 0.5})
        .put_limits("cpus", {"value": 1.0})
        .put_limits("mem", value="Infinity")
        .build()
    )
    assert task.agent_id.value == "S1"
    assert task.resources[0].scalar.value == 0.5
    assert task.limits["cpus"].value == 1.0
    assert task.limits["mem"].value == float("inf")


def test_set_replaces_and_clear_unsets() -> None:
    b = Builder("mesos.CommandInfo").set_value("a").set_arguments(["x", "y"]).set_arguments(["z"])
    assert b.build().arguments == ["z"]
    b.set_value("b").set_value("c")
    assert b.build().value == "c"
    b.clear_arguments().set_shell(None)
    assert b.to_dict() == {"value": "c", "shell": True}
    assert "mesos.v1.CommandInfo" in repr(b)


def test_build_returns_independent_copies() -> None:
    b = Builder("mesos.TaskID").set_value("a")
    first = b.build()
    b.set_value("b")
    assert (first.value, b.build().value) == ("a", "b")


@pytest.mark.parametrize(
    ("action", "path", "reason"),
    [
        (
            lambda: Builder("mesos.CommandInfo").set_shell("yes"),
            "CommandInfo.shell",
            "expected a JSON boolean",
        ),
        (lambda: Builder("mesos.CommandInfo").set_vaule("x"), "CommandInfo.vaule", "did you mean 'value'?"),
        (
            lambda: Builder("mesos.ContainerInfo").set_docker(image="x", network="BRIDGED"),
            "ContainerInfo.docker.network",
            "unknown enum value 'BRIDGED'",
        ),
        (
            lambda: Builder("mesos.CommandInfo").add_uris({"value": "a"}).add_uris({"vlue": "b"}),
            "CommandInfo.uris[1].vlue",
            "unknown field 'vlue'",
        ),
        (lambda: Builder("mesos.CommandInfo").add_value("x"), "CommandInfo.value", "not a repeated field"),
        (lambda: Builder("mesos.TaskInfo").add_limits("x"), "TaskInfo.limits", "a map field: use put_limits"),
        (lambda: Builder("mesos.TaskInfo").put_resources("k", {}), "TaskInfo.resources", "not a map field"),
        (
            lambda: Builder("mesos.CommandInfo").set_uris({"value": "a"}),
            "CommandInfo.uris",
            "expected a list",
        ),
        (lambda: Builder("mesos.TaskID").build(), "TaskID.value", "required field is missing"),
        (lambda: Builder("mesos.TaskID", valu="x"), "TaskID.valu", "unknown field"),
    ],
)
def test_builder_errors(action: object, path: str, reason: str) -> None:
    with pytest.raises(MessageError) as info:
        action()  # type: ignore[operator]
    assert info.value.path == path
    assert reason in info.value.reason


def test_builder_argument_errors() -> None:
    with pytest.raises(TypeError, match="either a value or keyword fields"):
        Builder("mesos.CommandInfo").set_environment({"variables": []}, variables=[])
    with pytest.raises(TypeError, match="a value is required"):
        Builder("mesos.CommandInfo").set_value()
    with pytest.raises(AttributeError, match="frobnicate"):
        Builder("mesos.CommandInfo").frobnicate  # noqa: B018


def test_partial_build() -> None:
    assert not Builder("mesos.TaskInfo").set_name("t").build(partial=True).IsInitialized()


def test_as_message() -> None:
    tid = mesos.TaskID(value="t")
    assert as_message(tid) is tid
    assert as_message(tid, mesos.TaskID) is tid
    assert as_message(Builder("mesos.TaskID").set_value("t")) == tid
    assert as_message({"value": "t"}, mesos.TaskID) == tid
    with pytest.raises(MessageError, match=r"expected a mesos\.v1\.AgentID, got a mesos\.v1\.TaskID"):
        as_message(tid, mesos.AgentID)
    with pytest.raises(TypeError, match="needs the message class"):
        as_message({"value": "t"})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="got int"):
        as_message(5)  # type: ignore[call-overload]
    with pytest.raises(MessageError, match="unknown field 'valeu'"):
        as_message({"valeu": "t"}, mesos.TaskID)
