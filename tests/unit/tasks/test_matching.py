from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import PendingQueue, Resources, TaskSpec, match_offers
from tests.unit.tasks.offers_factory import env, make_offer

CMD = {"value": "sleep 100", "shell": True}


def spec(name: str, **over: Any) -> TaskSpec:
    base: dict[str, Any] = {"instances": 1, "commandInfo": CMD, "resources": {"cpus": 1, "mem": 128}}
    base.update(over)
    return TaskSpec.from_dict(name, base)


def queue(*specs: TaskSpec) -> PendingQueue:
    q = PendingQueue(specs)
    for s in specs:
        for serial in range(1, s.instances + 1):
            q.push(s.name, serial)
    return q


def test_packs_every_fitting_instance_none_skipped() -> None:
    # The seed launched web-1 and web-3 here (it skipped every other pending task).
    web = spec("web", instances=4)
    q = queue(web)
    result = match_offers([make_offer()], q, framework_name="fw")
    names = [i.task_info.name for i in result.all_launches()]
    assert names == ["web-1", "web-2", "web-3", "web-4"]
    assert not q


def test_priority_order_and_partial_fit() -> None:
    low = spec("low", instances=3, priority=5)
    high = spec("high", instances=2, priority=1, resources={"cpus": 1.5, "mem": 128})
    q = queue(low, high)
    result = match_offers([make_offer(resources="cpus:4;mem:4096")], q, framework_name="fw")
    assert [launch.task_info.name for launch in result.all_launches()] == ["high-1", "high-2", "low-1"]
    assert q.items() == [("low", 2), ("low", 3)]


def test_resources_of_launched_tasks_never_exceed_offer() -> None:
    q = queue(spec("a", instances=10, resources={"cpus": 0.3, "mem": 100, "ports": 3}))
    offer = make_offer(resources="cpus:1;mem:1000;ports:[100-104,200-203]")
    result = match_offers([offer], q, framework_name="fw")
    launches = result.all_launches()
    assert len(launches) == 3
    total = Resources()
    for launch in launches:
        total = total + Resources.from_protos(launch.task_info.resources)
    assert Resources.from_protos(offer.resources).contains(total)
    all_ports = [p for launch in launches for p in launch.ports]
    assert len(set(all_ports)) == 9


def test_unused_offers_are_returned_for_decline() -> None:
    q = queue(spec("big", resources={"cpus": 64, "mem": 1}))
    result = match_offers([make_offer("o1"), make_offer("o2")], q, framework_name="fw")
    assert [o.id.value for o in result.unused] == ["o1", "o2"]
    assert q.items() == [("big", 1)]


def test_env_ports_host_serial_for_command_tasks() -> None:
    q = queue(spec("my-db", resources={"cpus": 1, "mem": 1, "ports": 2}, environment={"X": "1"}))
    (launch,) = match_offers([make_offer(ip="10.1.2.3")], q, framework_name="fw").all_launches()
    e = env(launch.task_info)
    assert e["PORT0"] == "31000" and e["PORT1"] == "31001"
    assert e["HOST"] == "10.1.2.3"
    assert e["TASK_MY_DB_SERIAL_NUMBER"] == "1"
    assert e["X"] == "1"
    assert launch.task_info.task_id.value.startswith("fw.my-db-1.")
    assert launch.task_info.agent_id.value == "a1"


def test_serial_numbers_off_shares_the_mesos_name() -> None:
    q = queue(spec("web", instances=2))
    launches = match_offers([make_offer()], q, framework_name="fw", serial_numbered=False).all_launches()
    assert [launch.task_info.name for launch in launches] == ["web", "web"]
    assert "TASK_WEB_SERIAL_NUMBER" not in env(launches[0].task_info)


def test_fixed_ports_numeric_and_mixed_with_dynamic() -> None:
    q = queue(spec("web", resources={"cpus": 1, "mem": 1, "ports": 3, "fixed_ports": [1000, 80]}))
    offer = make_offer(resources="cpus:2;mem:100;ports:[80-80,1000-1000,31000-31010]")
    (launch,) = match_offers([offer], q, framework_name="fw").all_launches()
    assert launch.ports == [1000, 80, 31000]
    e = env(launch.task_info)
    assert (e["PORT0"], e["PORT1"], e["PORT2"]) == ("1000", "80", "31000")
    (ports_res,) = [r for r in launch.task_info.resources if r.name == "ports"]
    assert [(r.begin, r.end) for r in ports_res.ranges.range] == [(80, 80), (1000, 1000), (31000, 31000)]


def test_fixed_port_missing_means_no_fit() -> None:
    q = queue(spec("web", resources={"cpus": 1, "mem": 1, "fixed_ports": [8080]}))
    result = match_offers([make_offer()], q, framework_name="fw")
    assert result.all_launches() == [] and len(q) == 1


def test_second_instance_with_same_fixed_port_waits_for_another_offer() -> None:
    q = queue(spec("web", instances=2, resources={"cpus": 1, "mem": 1, "fixed_ports": [31000]}))
    result = match_offers([make_offer("o1"), make_offer("o2", agent="a2")], q, framework_name="fw")
    assert {k: [i.serial for i in v] for k, v in result.launches.items()} == {"o1": [1], "o2": [2]}


def test_docker_bridge_port_mappings() -> None:
    docker = {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE"}}
    s = spec(
        "web",
        commandInfo=None,
        containerInfo=docker,
        resources={"cpus": 1, "mem": 1, "ports": 2},
        portMappings=[{"port": 80}, {"port": 53, "protocol": "udp"}],
        healthCheck={"http": {"path": "/health"}},
    )
    (launch,) = match_offers([make_offer()], queue(s), framework_name="fw").all_launches()
    pm = launch.task_info.container.docker.port_mappings
    assert [(p.host_port, p.container_port, p.protocol) for p in pm] == [
        (31000, 80, "tcp"),
        (31001, 53, "udp"),
    ]
    assert env(launch.task_info)["PORT0"] == "31000"  # container tasks get PORTn too
    assert launch.task_info.health_check.http.port == 80
    assert launch.task_info.command.shell is False


def test_mesos_container_user_network_port_mappings() -> None:
    container = {"type": "MESOS", "network_infos": [{"name": "cni"}]}
    s = spec("web", containerInfo=container, resources={"cpus": 1, "mem": 1, "ports": 1}, portMappings=[8080])
    (launch,) = match_offers([make_offer()], queue(s), framework_name="fw").all_launches()
    (pm,) = launch.task_info.container.network_infos[0].port_mappings
    assert (pm.host_port, pm.container_port) == (31000, 8080)


def test_multi_role_offer_sets_allocation_info_and_uses_reservations_first() -> None:
    offer = make_offer(resources="cpus(web):1;cpus:4;mem:1024", role="web")
    q = queue(spec("a", instances=1, resources={"cpus": 1.5, "mem": 10}))
    (launch,) = match_offers([offer], q, framework_name="fw", roles=["web", "other"]).all_launches()
    cpus = [r for r in launch.task_info.resources if r.name == "cpus"]
    assert [(r.scalar.value, r.reservations[-1].role if r.reservations else "*") for r in cpus] == [
        (1.0, "web"),
        (0.5, "*"),
    ]
    assert all(r.allocation_info.role == "web" for r in launch.task_info.resources)


def test_resources_reserved_for_other_roles_are_not_used() -> None:
    offer = make_offer(resources="cpus(db):8;cpus:0.5;mem:1024")
    q = queue(spec("a", resources={"cpus": 1, "mem": 10}))
    assert match_offers([offer], q, framework_name="fw", roles=["web"]).all_launches() == []


def test_executor_task_env_goes_to_executor_command() -> None:
    executor = {"executor_id": {"value": "e"}, "command": {"value": "./exec"}}
    s = spec("w", commandInfo=None, executor=executor)
    (launch,) = match_offers([make_offer()], queue(s), framework_name="fw").all_launches()
    assert not launch.task_info.HasField("command")
    assert env(launch.task_info)["HOST"] == "10.0.0.7"


def test_labels_and_kill_grace_period() -> None:
    s = spec("w", labels=[{"key": "k", "value": "v"}], kill_grace_period=2.5)
    (launch,) = match_offers([make_offer()], queue(s), framework_name="fw").all_launches()
    assert [(lb.key, lb.value) for lb in launch.task_info.labels.labels] == [("k", "v")]
    assert launch.task_info.kill_policy.grace_period.nanoseconds == 2_500_000_000
    assert isinstance(launch.task_info, mesos_pb2.TaskInfo)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(1, 300), st.integers(0, 3)), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 2000), st.integers(0, 12)), min_size=1, max_size=5),
)
def test_property_never_overcommits_and_conserves_instances(
    types: list[tuple[int, int, int]], offers: list[tuple[int, int, int]]
) -> None:
    specs = [
        spec(f"t{i}", instances=3, priority=i % 2, resources={"cpus": c / 10, "mem": m, "ports": p})
        for i, (c, m, p) in enumerate(types)
    ]
    q = queue(*specs)
    before = set(q.items())
    offer_msgs = [
        make_offer(f"o{i}", f"cpus:{c / 10};mem:{m};ports:[1000-{1000 + p}]", agent=f"a{i}")
        for i, (c, m, p) in enumerate(offers)
    ]
    result = match_offers(offer_msgs, q, framework_name="fw")
    placed = {(launch.spec.name, launch.serial) for launch in result.all_launches()}
    assert placed | set(q.items()) == before
    assert not placed & set(q.items())
    for offer in offer_msgs:
        used = Resources()
        for launch in result.launches.get(offer.id.value, []):
            used = used + Resources.from_protos(launch.task_info.resources)
        assert Resources.from_protos(offer.resources).contains(used)
        # Greedy: nothing pending would still have fitted in what was left.
        left = Resources.from_protos(offer.resources) - used
        for s in specs:
            if (s.name, 1) in before and any(name == s.name for name, _ in q.items()):
                r = s.resources
                fits = (
                    left.scalar("cpus") >= r.cpus
                    and left.scalar("mem") >= r.mem
                    and sum(e - b + 1 for b, e in left.ranges("ports")) >= r.ports
                )
                assert not fits


def test_relaunch_does_not_duplicate_env() -> None:
    # The seed appended TASK_<TYPE>_SERIAL_NUMBER (and kept stale PORTn) again on every restart.
    s = spec("web", resources={"cpus": 1, "mem": 1, "ports": 1}, environment={"A": "1"})
    templates: dict[str, bytes] = {}
    for offer_id in ("o1", "o2"):
        q = queue(s)
        (launch,) = match_offers(
            [make_offer(offer_id)], q, framework_name="fw", templates=templates
        ).all_launches()
        names = [v.name for v in launch.task_info.command.environment.variables]
        assert sorted(names) == sorted(set(names))
        assert names.count("TASK_WEB_SERIAL_NUMBER") == 1
