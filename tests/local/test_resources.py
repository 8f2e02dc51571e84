"""Resource arithmetic and the --resources syntax."""

from __future__ import annotations

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.local.resources import Resources, describe, parse_resources
from mesos_framework.protocol._schema import mesos_pb2


def test_parse_and_summary() -> None:
    res = parse_resources("cpus:4;mem:4096;disk:10240;ports:[31000-31010, 31020-32000];gpus(ml):1")
    assert res.summary() == {
        "cpus": 4.0,
        "mem": 4096.0,
        "disk": 10240.0,
        "gpus": 1.0,
        "ports": "[31000-31010, 31020-32000]",
    }
    assert res.reservation_roles() == {"*", "ml"}


@pytest.mark.parametrize("bad", ["cpus", "cpus:x", "mem:-1", "ports:[a-b]"])
def test_parse_errors(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="resources"):
        parse_resources(bad)


def test_fixed_point_and_ranges() -> None:
    total = parse_resources("cpus:1;ports:[31000-31010]")
    part = parse_resources("cpus:0.1;ports:[31005-31005]")
    left = total
    for _ in range(10):
        left = left - parse_resources("cpus:0.1")
    assert left.scalar("cpus") == 0
    rest = total - part
    assert rest.summary()["ports"] == "[31000-31004, 31006-31010]"
    assert total.contains(part)
    assert not rest.contains(part)
    assert (rest + part) == total


def test_roles_and_protos() -> None:
    res = parse_resources("cpus:2;cpus(web):1").allocated("web")
    protos = res.to_protos()
    assert {(r.role, r.allocation_info.role) for r in protos} == {("*", "web"), ("web", "web")}
    refined = res.to_protos(refinement=True, allocation=False)
    assert [len(r.reservations) for r in refined] == [0, 1]
    assert not any(r.HasField("allocation_info") or r.HasField("role") for r in refined)
    assert res.for_role("other").scalar("cpus") == 2
    assert res.for_role("web/sub").scalar("cpus") == 3


def _shared_volume() -> Resources:
    r = mesos_pb2.Resource(name="disk", type=mesos_pb2.Value.SCALAR)
    r.scalar.value = 8
    r.reservations.add(type=mesos_pb2.Resource.ReservationInfo.DYNAMIC, role="ops")
    r.disk.persistence.id = "v"
    r.disk.volume.container_path = "data"
    r.disk.volume.mode = mesos_pb2.Volume.RW
    r.shared.SetInParent()
    return Resources.from_protos([r])


def test_shared_resources_count_copies() -> None:
    """A shared volume does not merge: a bag counts its copies (one per task using it), as
    Mesos's ``Resources`` does; the size stays that of one volume."""
    one = _shared_volume()
    two = one + one
    assert two.scalar("disk") == 8
    assert two.contains(one + one)
    assert not one.contains(two)
    assert two != one
    assert (two - one) == one
    assert not (two - one - one)
    assert str(two).endswith("<SHARED>:8<2>")
    assert describe(two) == "disk(reservations: [(DYNAMIC,ops)])[v:data]<SHARED>:8<2>"
    mixed = two + parse_resources("cpus:1")
    assert mixed.shared() == two
    assert mixed.non_shared() == parse_resources("cpus:1")
    assert mixed.allocated("ops").unallocated() == mixed
    (proto,) = one.to_protos(refinement=True)
    assert proto.HasField("shared")
    assert Resources.from_protos([proto]) == one
