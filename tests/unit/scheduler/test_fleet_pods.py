"""Pods in the fleet core: one LAUNCH_GROUP per instance, the record following its containers."""

from __future__ import annotations

from typing import Any

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler._fleet import Action, Emit, Fleet, Kill, LaunchOnOffer, Persist, pod_state
from mesos_framework.tasks import ContainerSpec, PodSpec, TaskResources, TaskSpec
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import RestartPolicy, TaskState
from tests.unit.tasks.offers_factory import make_offer

S = TaskState


def pod_spec(**over: Any) -> TaskSpec:
    raw: dict[str, Any] = {
        "instances": 2,
        "allow_scaling": True,
        "environment": {"POD": "yes"},
        "pod": {
            "containers": [
                {
                    "name": "web",
                    "command": {"value": "serve"},
                    "resources": {"cpus": 0.2, "mem": 64, "ports": 1},
                    "health_check": {"http": {"path": "/"}},
                },
                {"name": "sidecar", "command": {"value": "tail"}, "resources": {"cpus": 0.1, "mem": 32}},
            ],
        },
    }
    raw.update(over)
    return TaskSpec.from_dict("app", raw)


def launches(actions: list[Action]) -> list[LaunchOnOffer]:
    return [a for a in actions if isinstance(a, LaunchOnOffer)]


def status(task_id: str, state: TaskState, *, healthy: bool | None = None) -> mesos_pb2.TaskStatus:
    s = mesos_pb2.TaskStatus(state=int(state))
    s.task_id.value = task_id
    s.agent_id.value = "a1"
    if healthy is not None:
        s.healthy = healthy
    return s


def launched_pod(fleet: Fleet, now: float = 1.0) -> tuple[TaskRecord, LaunchOnOffer]:
    (launch,) = launches(fleet.offers([make_offer(f"o{now}")], now))
    return launch.records[0], launch


def run_pod(fleet: Fleet, rec: TaskRecord, now: float = 2.0) -> None:
    for name in ("web", "sidecar"):
        fleet.update(status(f"{rec.task_id}.{name}", S.TASK_RUNNING), now)


def test_a_pod_launches_as_one_group_on_the_default_executor() -> None:
    spec = pod_spec(instances=1)
    assert spec.resources == TaskResources(cpus=0.4, mem=128, disk=10, ports=1)
    fleet = Fleet([spec], framework_name="fw")
    fleet.fill()
    rec, launch = launched_pod(fleet)
    assert launch.task_infos == ()
    (op,) = launch.operations()
    assert op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP
    executor = op.launch_group.executor
    assert executor.type == mesos_pb2.ExecutorInfo.DEFAULT
    assert executor.executor_id.value == rec.task_id
    assert {r.name: r.scalar.value for r in executor.resources} == {"cpus": 0.1, "mem": 32, "disk": 10}
    web, sidecar = op.launch_group.task_group.tasks
    assert (web.task_id.value, sidecar.task_id.value) == (f"{rec.task_id}.web", f"{rec.task_id}.sidecar")
    assert web.name == "app-1.web"
    env = {v.name: v.value for v in web.command.environment.variables}
    assert env["POD"] == "yes" and env["PORT0"] == str(rec.ports[0]) and env["TASK_APP_SERIAL_NUMBER"] == "1"
    assert web.health_check.http.port == rec.ports[0]  # the container's first port
    assert {r.name for r in sidecar.resources} == {"cpus", "mem"}
    assert not sidecar.HasField("health_check")
    assert rec.containers == {"web": S.TASK_STAGING, "sidecar": S.TASK_STAGING}


def test_the_record_follows_its_containers_and_keeps_their_states() -> None:
    fleet = Fleet([pod_spec(instances=1)], framework_name="fw")
    fleet.fill()
    rec, _ = launched_pod(fleet)
    acts = fleet.update(status(f"{rec.task_id}.web", S.TASK_RUNNING), 2.0)
    assert rec.state == S.TASK_STAGING and rec.containers == {
        "web": S.TASK_RUNNING,
        "sidecar": S.TASK_STAGING,
    }
    assert any(isinstance(a, Emit) and a.name == "updated_task" for a in acts)  # a container changed
    acts = fleet.update(status(f"{rec.task_id}.sidecar", S.TASK_RUNNING), 2.0)
    assert (rec.state, rec.launched) == (S.TASK_RUNNING, True)
    assert [a.name for a in acts if isinstance(a, Emit)] == ["task_launched", "updated_task"]
    # Per-container health: the pod is healthy only when every checked container is.
    fleet.update(status(f"{rec.task_id}.web", S.TASK_RUNNING, healthy=True), 3.0)
    assert rec.healthy is True
    acts = fleet.update(status(f"{rec.task_id}.web", S.TASK_RUNNING, healthy=False), 4.0)
    assert rec.healthy is False and rec.container_health == {"web": False}
    assert any(isinstance(a, Emit) and a.name == "task_unhealthy" for a in acts)
    assert [t for t, _ in fleet.mesos_tasks()] == [f"{rec.task_id}.web", f"{rec.task_id}.sidecar"]


def test_one_container_failing_ends_the_pod_and_restarts_the_instance() -> None:
    fleet = Fleet([pod_spec(instances=1)], framework_name="fw", restart=RestartPolicy(minimum=1.0, jitter=0))
    fleet.fill()
    rec, _ = launched_pod(fleet)
    run_pod(fleet, rec)
    fleet.update(status(f"{rec.task_id}.sidecar", S.TASK_FAILED), 3.0)
    assert rec.task_id in fleet.tasks  # the executor kills the other container; the pod waits for it
    acts = fleet.update(status(f"{rec.task_id}.web", S.TASK_KILLED), 3.5)
    assert rec.task_id not in fleet.tasks and rec.state == S.TASK_FAILED
    assert [a.name for a in acts if isinstance(a, Emit)] == ["removed_task"]
    assert ("app", 1) in fleet.delayed
    fleet.due(10.0)
    again, _ = launched_pod(fleet, 11.0)
    assert (again.serial, again.task_id != rec.task_id) == (1, True)


def test_killing_scaling_and_rolling_restarts_treat_the_pod_as_one_instance() -> None:
    fleet = Fleet([pod_spec()], framework_name="fw")
    fleet.fill()
    (launch,) = launches(fleet.offers([make_offer()], 1.0))
    one, two = launch.records
    assert len(launch.groups) == 2
    for rec in (one, two):
        run_pod(fleet, rec)
    acts = fleet.scale("app", 1)
    kills = [a for a in acts if isinstance(a, Kill)]
    assert sorted(k.task_id for k in kills) == [f"{two.task_id}.sidecar", f"{two.task_id}.web"]
    fleet.update(status(f"{two.task_id}.web", S.TASK_KILLED), 2.0)
    fleet.update(status(f"{two.task_id}.sidecar", S.TASK_KILLED), 2.0)
    assert [r.serial for r in fleet.tasks] == [1] and not fleet.pending
    # A rolling restart: the replacement pod launches first, then the old one is retired.
    fleet.replace(("app", 1))
    new, _ = launched_pod(fleet, 3.0)
    run_pod(fleet, new, 4.0)
    acts = fleet.retire(one)
    assert {k.task_id for k in acts if isinstance(k, Kill)} == {
        f"{one.task_id}.web",
        f"{one.task_id}.sidecar",
    }


def test_a_pod_is_recovered_from_the_store_and_adopted_by_its_containers_ids() -> None:
    fleet = Fleet([pod_spec(instances=1)], framework_name="fw")
    fleet.fill()
    rec, _ = launched_pod(fleet)
    run_pod(fleet, rec)
    stored = TaskRecord.from_dict(rec.to_dict())
    assert stored.containers == {"web": S.TASK_RUNNING, "sidecar": S.TASK_RUNNING}

    restarted = Fleet([pod_spec(instances=1)], framework_name="fw")
    restarted.recover([stored])
    restarted.fill()
    assert not restarted.pending
    assert restarted.update(status(f"{rec.task_id}.web", S.TASK_RUNNING), 5.0) == []  # known, unchanged

    # Without a store: the containers' reconciliation answers adopt the pod.
    bare = Fleet([pod_spec(instances=1)], framework_name="fw")
    bare.fill()
    acts = bare.update(status(f"{rec.task_id}.web", S.TASK_RUNNING), 5.0)
    adopted = bare.tasks.get(rec.task_id)
    assert adopted is not None and not bare.pending
    assert [a for a in acts if isinstance(a, Persist)] == [Persist(adopted)]
    bare.update(status(f"{rec.task_id}.sidecar", S.TASK_RUNNING), 5.0)
    assert adopted.state == S.TASK_RUNNING and adopted.launched
    # A container of a pod instance nobody wants any more is killed.
    acts = bare.update(status("fw.app-7.0123456789abcdef0123456789abcdef.web", S.TASK_RUNNING), 6.0)
    assert [a.task_id for a in acts if isinstance(a, Kill)] == [
        "fw.app-7.0123456789abcdef0123456789abcdef.web"
    ]


def test_pod_state_sums_up_the_containers() -> None:
    assert pod_state({"a": S.TASK_RUNNING, "b": S.TASK_STARTING}) == S.TASK_STARTING
    assert pod_state({"a": S.TASK_RUNNING, "b": S.TASK_FINISHED}) == S.TASK_RUNNING
    assert pod_state({"a": S.TASK_KILLED, "b": S.TASK_FAILED}) == S.TASK_FAILED
    assert pod_state({"a": S.TASK_KILLED, "b": S.TASK_FINISHED}) == S.TASK_KILLED
    assert pod_state({"a": S.TASK_FINISHED, "b": S.TASK_FINISHED}) == S.TASK_FINISHED
    assert pod_state({"a": S.TASK_RUNNING, "b": S.TASK_UNREACHABLE}) == S.TASK_UNREACHABLE


@pytest.mark.parametrize(
    ("over", "option"),
    [
        ({"pod": []}, "tasks.app.pod.containers"),
        ({"command": {"value": "x"}}, "tasks.app.command"),
        ({"resources": {"cpus": 1, "mem": 1}}, "tasks.app.resources"),
        (
            {"pod": [{"name": "a.b", "command": {"value": "x"}, "resources": {"cpus": 1, "mem": 1}}]},
            "tasks.app.pod.containers[0]",
        ),
        ({"pod": [{"name": "a", "resources": {"cpus": 1, "mem": 1}}]}, "tasks.app.pod.containers[0]"),
        (
            {"pod": [{"name": "a", "command": {"value": "x"}, "resources": {"cpus": 1, "mem": 1}}] * 2},
            "tasks.app.pod.containers[1]",
        ),
        (
            {
                "pod": {
                    "containers": [
                        {"name": "a", "command": {"value": "x"}, "resources": {"cpus": 1, "mem": 1}}
                    ],
                    "executor_resources": {"cpus": 0.1, "mem": 8},
                }
            },
            "tasks.app.pod.executor_resources",
        ),
        (
            {
                "pod": [
                    {"name": "a", "command": {"value": "x"}, "resources": {"cpus": 1, "mem": 1}, "image": "x"}
                ]
            },
            "tasks.app.pod.containers[0].image",
        ),
    ],
)
def test_malformed_pods_are_refused_with_the_option_named(over: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        pod_spec(**over)
    assert info.value.option == option


def test_a_pod_spec_built_in_python() -> None:
    web = ContainerSpec("web", TaskResources(cpus=0.1, mem=32), command=mesos_pb2.CommandInfo(value="serve"))
    spec = TaskSpec("app", pod=PodSpec((web,)))
    assert spec.resources == TaskResources(cpus=0.2, mem=64, disk=10)
    assert TaskSpec("app", pod=[web]).pod == PodSpec((web,))  # type: ignore[arg-type]
    assert spec.health_checked is False
    with pytest.raises(ConfigurationError) as info:
        TaskSpec("app")
    assert info.value.option == "tasks.app.resources"
