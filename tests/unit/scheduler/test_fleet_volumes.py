"""Reservations and persistent volumes in the fleet core: claim, relaunch in place, release."""

from __future__ import annotations

from typing import Any

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.scheduler._fleet import Action, Decline, Fleet, Forget, Kill, LaunchOnOffer, Persist
from mesos_framework.tasks import PersistentVolume, TaskResources, TaskSpec
from mesos_framework.tasks.matching import CLAIM_LABEL
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import RestartPolicy, TaskState
from tests.unit.tasks.offers_factory import make_offer

S = TaskState
Op = mesos_pb2.Offer.Operation
ROLE = "dbs"
PLAIN = "cpus:2;mem:1024;disk:1000;ports:[31000-31010]"


def db_spec(**over: Any) -> TaskSpec:
    raw: dict[str, Any] = {
        "instances": 1,
        "allow_scaling": True,
        "command": {"value": "run-db"},
        "resources": {"cpus": 0.5, "mem": 128, "disk": 10, "ports": 1},
        "volumes": [{"container_path": "data", "size_mb": 64}],
    }
    raw.update(over)
    return TaskSpec.from_dict("db", raw)


def fleet(*specs: TaskSpec, fill: bool = True) -> Fleet:
    f = Fleet(
        list(specs) or [db_spec()],
        framework_name="fw",
        roles=(ROLE,),
        principal="me",
        restart=RestartPolicy(minimum=1.0, jitter=0),
    )
    if fill:
        f.fill()
    return f


def offer(offer_id: str, agent: str = "a1", resources: str = PLAIN) -> mesos_pb2.Offer:
    return make_offer(offer_id, resources, agent=agent, role=ROLE, hostname=f"host-{agent}")


def accepts(actions: list[Action]) -> list[LaunchOnOffer]:
    return [a for a in actions if isinstance(a, LaunchOnOffer)]


def with_claim(base: mesos_pb2.Offer, task: mesos_pb2.TaskInfo) -> mesos_pb2.Offer:
    """What the agent offers once the task is gone: its reserved resources and volume, and more."""
    base.resources.extend(r for r in task.resources if r.name != "ports")
    return base


def status(rec: TaskRecord, state: TaskState) -> mesos_pb2.TaskStatus:
    s = mesos_pb2.TaskStatus(state=int(state))
    s.task_id.value = rec.task_id
    s.agent_id.value = rec.agent_id or ""
    return s


def op_status(op_id: str, state: int) -> mesos_pb2.OperationStatus:
    s = mesos_pb2.OperationStatus(state=state)
    s.operation_id.value = op_id
    return s


def first_launch(f: Fleet) -> tuple[TaskRecord, mesos_pb2.TaskInfo, list[Op]]:
    (accept,) = accepts(f.offers([offer("o1")], 1.0))
    ops = accept.operations()
    (rec,) = accept.records
    return rec, ops[-1].launch.task_infos[0], ops


def test_a_new_instance_reserves_creates_its_volume_and_launches_on_it() -> None:
    f = fleet()
    rec, task, ops = first_launch(f)
    assert [op.type for op in ops] == [Op.RESERVE, Op.CREATE, Op.LAUNCH]
    assert rec.claim is not None and rec.claim.startswith("fw.db-1.")
    assert ops[0].id.value == f"{rec.claim}.reserve" and ops[1].id.value == f"{rec.claim}.create"
    reserved = {r.name: r for r in ops[0].reserve.resources}
    assert sorted(reserved) == ["cpus", "disk", "mem"]  # ports stay unreserved
    assert reserved["disk"].scalar.value == 74  # the task's 10 and the volume's 64
    (reservation,) = reserved["cpus"].reservations
    assert (reservation.type, reservation.role, reservation.principal) == (
        mesos_pb2.Resource.ReservationInfo.DYNAMIC,
        ROLE,
        "me",
    )
    assert [(label.key, label.value) for label in reservation.labels.labels] == [(CLAIM_LABEL, rec.claim)]
    (volume,) = ops[1].create.volumes
    assert volume.disk.persistence.id == rec.claim and volume.disk.persistence.principal == "me"
    assert (volume.disk.volume.container_path, volume.scalar.value) == ("data", 64)
    by_name = {(r.name, r.HasField("disk")): r.scalar.value for r in task.resources if r.name != "ports"}
    assert by_name == {("cpus", False): 0.5, ("mem", False): 128, ("disk", False): 10, ("disk", True): 64}
    claim = f.claims[("db", 1)]
    assert claim.is_claim and claim.agent_id == "a1" and not claim.launched


def test_the_instance_is_relaunched_only_on_its_reservation_with_its_volume() -> None:
    f = fleet()
    rec, task, _ = first_launch(f)
    f.operation_status(op_status(f"{rec.claim}.reserve", mesos_pb2.OPERATION_FINISHED))
    acts = f.operation_status(op_status(f"{rec.claim}.create", mesos_pb2.OPERATION_FINISHED))
    claim = f.claims[("db", 1)]
    assert claim.launched and acts == [Persist(claim)]
    f.update(status(rec, S.TASK_RUNNING), 2.0)
    f.update(status(rec, S.TASK_FAILED), 3.0)
    f.due(10.0)
    # Another agent's plain resources are no place for it: declined, nothing launched.
    acts = f.offers([offer("o2", agent="a2")], 11.0)
    assert accepts(acts) == [] and [type(a) for a in acts] == [Decline]
    (again,) = accepts(f.offers([with_claim(offer("o3"), task)], 12.0))
    ops = again.operations()
    assert [op.type for op in ops] == [Op.LAUNCH]  # no new reservation, no new volume
    (relaunched,) = again.records
    assert relaunched.claim == rec.claim and relaunched.task_id != rec.task_id
    volumes = [r for r in ops[0].launch.task_infos[0].resources if r.HasField("disk")]
    assert [v.disk.persistence.id for v in volumes] == [rec.claim]


def test_a_restarted_scheduler_keeps_the_claim_and_relaunches_in_place() -> None:
    f = fleet()
    rec, task, _ = first_launch(f)
    f.update(status(rec, S.TASK_RUNNING), 2.0)  # running on it confirms the claim
    stored = [TaskRecord.from_dict(r.to_dict()) for r in (rec, f.claims[("db", 1)])]

    g = fleet(fill=False)
    g.recover(stored)
    g.fill()
    assert ("db", 1) in g.claims and not g.pending
    g.update(status(stored[0], S.TASK_FAILED), 3.0)
    g.due(10.0)
    assert accepts(g.offers([offer("o2", agent="a2")], 11.0)) == []
    (again,) = accepts(g.offers([with_claim(offer("o3"), task)], 12.0))
    assert again.records[0].claim == rec.claim


def test_scaled_away_instances_give_their_volume_and_reservation_back() -> None:
    f = fleet()
    rec, task, _ = first_launch(f)
    f.update(status(rec, S.TASK_RUNNING), 2.0)
    acts = f.scale("db", 0)
    assert [a.task_id for a in acts if isinstance(a, Kill)] == [rec.task_id]
    f.update(status(rec, S.TASK_KILLED), 3.0)
    claim_id = rec.claim
    assert claim_id in f.releasing and f.wants_offers
    (release,) = accepts(f.offers([with_claim(offer("o2"), task)], 4.0))
    destroy, unreserve = release.operations()
    assert (destroy.type, destroy.id.value) == (Op.DESTROY, f"{claim_id}.destroy")
    assert [v.disk.persistence.id for v in destroy.destroy.volumes] == [claim_id]
    assert (unreserve.type, unreserve.id.value) == (Op.UNRESERVE, f"{claim_id}.unreserve")
    assert sorted(r.name for r in unreserve.unreserve.resources) == ["cpus", "disk", "disk", "mem"]
    assert not any(r.HasField("disk") for r in unreserve.unreserve.resources)
    # A failed UNRESERVE is tried again; a finished one forgets the claim.
    f.operation_status(op_status(f"{claim_id}.unreserve", mesos_pb2.OPERATION_FAILED))
    assert claim_id in f.releasing
    assert len(accepts(f.offers([with_claim(offer("o3"), task)], 5.0))) == 1
    assert f.operation_status(op_status(f"{claim_id}.unreserve", mesos_pb2.OPERATION_FINISHED)) == [
        Forget(claim_id)
    ]
    assert not f.releasing and not f.claims and not f.wants_offers


def test_keep_volumes_on_scale_down_keeps_the_claim_for_a_scale_up() -> None:
    f = fleet(db_spec(keep_volumes_on_scale_down=True))
    rec, task, _ = first_launch(f)
    f.update(status(rec, S.TASK_RUNNING), 2.0)
    f.scale("db", 0)
    f.update(status(rec, S.TASK_KILLED), 3.0)
    assert not f.releasing and ("db", 1) in f.claims
    f.scale("db", 1)
    (again,) = accepts(f.offers([offer("o2", agent="a2"), with_claim(offer("o3"), task)], 4.0))
    assert again.offer_id.value == "o3" and again.records[0].claim == rec.claim


def test_other_tasks_never_use_a_claims_reserved_resources() -> None:
    web = TaskSpec.from_dict("web", {"command": {"value": "w"}, "resources": {"cpus": 0.5, "mem": 64}})
    f = fleet(db_spec(), web)
    (accept,) = accepts(f.offers([offer("o1")], 1.0))
    task = next(t for t in accept.operations()[-1].launch.task_infos if t.name == "db-1")
    (web_rec,) = [r for r in accept.records if r.type_name == "web"]  # placed beside it
    f.kill_task(web_rec, restart=True)
    f.update(status(web_rec, S.TASK_KILLED), 2.0)
    # Only the claim's reserved resources (and ports) are offered: web must not take them.
    only_claim = with_claim(offer("o2", resources="ports:[31000-31010]"), task)
    assert accepts(f.offers([only_claim], 3.0)) == []


def test_a_claim_never_confirmed_is_dropped_when_its_launch_fails() -> None:
    f = fleet()
    rec, _, _ = first_launch(f)
    f.operation_status(op_status(f"{rec.claim}.reserve", mesos_pb2.OPERATION_ERROR))
    assert ("db", 1) not in f.claims
    acts = f.update(status(rec, S.TASK_ERROR), 2.0)
    assert not any(isinstance(a, Persist) and a.record.is_claim for a in acts)
    f.due(10.0)
    (again,) = accepts(f.offers([offer("o2", agent="a2")], 11.0))  # anywhere: it reserves anew
    assert [op.type for op in again.operations()] == [Op.RESERVE, Op.CREATE, Op.LAUNCH]


def test_reservations_need_a_role_and_volumes_are_checked() -> None:
    with pytest.raises(ConfigurationError) as info:
        Fleet([db_spec()], framework_name="fw")
    assert info.value.option == "roles"
    for bad, option in (
        ({"container_path": "/abs", "size_mb": 1}, "tasks.db.volumes[0].container_path"),
        ({"container_path": "a/../b", "size_mb": 1}, "tasks.db.volumes[0].container_path"),
        ({"container_path": "data", "size_mb": 0}, "tasks.db.volumes[0].size_mb"),
        ({"container_path": "data", "size_mb": 1, "mode": "RX"}, "tasks.db.volumes[0].mode"),
        ({"size_mb": 1}, "tasks.db.volumes[0].container_path"),
    ):
        with pytest.raises(ConfigurationError) as info:
            db_spec(volumes=[bad])
        assert info.value.option == option
    spec = TaskSpec(
        "db",
        TaskResources(cpus=1, mem=1),
        command=mesos_pb2.CommandInfo(value="x"),
        volumes=(PersistentVolume("data", 8),),
    )
    assert spec.reserve and spec.demand.disk == 8


def test_registering_anew_keeps_the_claims_mesos_keeps_with_the_role() -> None:
    f = fleet()
    rec, task, _ = first_launch(f)
    f.update(status(rec, S.TASK_RUNNING), 2.0)
    acts = f.register_anew()  # the framework was removed: its tasks are gone, its reservations not
    assert not any(isinstance(a, Forget) and a.task_id == rec.claim for a in acts)
    assert ("db", 1) in f.claims and ("db", 1) in f.pending
    (again,) = accepts(f.offers([offer("o2", agent="a2"), with_claim(offer("o3"), task)], 3.0))
    assert (again.offer_id.value, again.records[0].claim) == ("o3", rec.claim)


def test_a_scheduler_with_volumes_needs_the_refinement_capability() -> None:

    tasks = {"db": {"command": {"value": "x"}, "resources": {"cpus": 0.1, "mem": 16}, "reserve": True}}
    with pytest.raises(ConfigurationError) as info:
        Scheduler(master="127.0.0.1:5050", framework_name="f", roles=[ROLE], tasks=tasks)
    assert info.value.option == "capabilities"
    with pytest.raises(ConfigurationError) as info:
        Scheduler(
            master="127.0.0.1:5050", framework_name="f", capabilities=["RESERVATION_REFINEMENT"], tasks=tasks
        )
    assert info.value.option == "roles"
    Scheduler(
        master="127.0.0.1:5050",
        framework_name="f",
        roles=[ROLE],
        capabilities=["RESERVATION_REFINEMENT"],
        tasks=tasks,
    )
