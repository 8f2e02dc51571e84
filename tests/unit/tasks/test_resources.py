from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesos_framework.errors import ResourceError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import Resources


def test_parse_and_totals() -> None:
    r = Resources.parse("cpus:4;mem:4096;ports:[31000-31009,32000-32000];cpus(web):1.5")
    assert r.scalar("cpus") == 5.5
    assert r.reserved().scalar("cpus") == 1.5
    assert r.unreserved().scalar("cpus") == 4
    assert r.ranges("ports") == ((31000, 31009), (32000, 32000))
    assert r.reserved("web").scalar("cpus") == 1.5
    assert r.reserved("db").scalar("cpus") == 0


def test_scalars_are_exact() -> None:
    total = Resources()
    for _ in range(10):
        total = total + Resources.of(cpus=0.1)
    assert total == Resources.of(cpus=1.0)
    assert total.scalar("cpus") == 1.0


def test_subtract_more_than_held_is_an_error() -> None:
    with pytest.raises(ResourceError, match="not contained"):
        Resources.of(cpus=1) - Resources.of(cpus=2)
    with pytest.raises(ResourceError):
        Resources.of(ports=[(1, 5)]) - Resources.of(ports=[(6, 6)])


def test_reserved_and_unreserved_stay_apart() -> None:
    r = Resources.parse("cpus:1;cpus(web):1")
    assert len(r) == 2
    assert not r.contains(Resources.parse("cpus(web):2"))
    assert r.contains(Resources.parse("cpus:1"))


def test_allocation_roles_stay_apart() -> None:
    a = Resources.parse("cpus:1", allocation_role="a")
    b = Resources.parse("cpus:1", allocation_role="b")
    both = a + b
    assert both.allocated_to("a") == a
    assert both.allocated_to("b").scalar("cpus") == 1
    assert both.allocated_to("c").scalar("cpus") == 0


def test_round_trip_through_protos_keeps_reservations() -> None:
    res = mesos_pb2.Resource(name="cpus", type=mesos_pb2.Value.SCALAR)
    res.scalar.value = 2
    res.allocation_info.role = "web"
    res.reservations.add(type=mesos_pb2.Resource.ReservationInfo.DYNAMIC, role="web", principal="ops")
    r = Resources.from_protos([res])
    (out,) = r.to_protos()
    assert out == res
    assert r.reserved("web").scalar("cpus") == 2


def test_usable_by_filters_foreign_reservations_and_special_disks() -> None:
    mount = mesos_pb2.Resource(name="disk", type=mesos_pb2.Value.SCALAR)
    mount.scalar.value = 100
    mount.disk.source.type = mesos_pb2.Resource.DiskInfo.Source.MOUNT
    mount.disk.source.mount.root = "/mnt"
    r = Resources.parse("cpus:1;cpus(web):2;cpus(db):4;mem(web/api):10") + Resources.from_protos([mount])
    usable = r.usable_by(["web/api"])
    # Reservations for a parent role are usable by its children, never the reverse.
    assert usable.scalar("cpus") == 3
    assert usable.scalar("mem") == 10
    assert r.usable_by(["web"]).scalar("mem") == 0
    usable2 = r.usable_by(["web"])
    assert usable2.scalar("cpus") == 3
    assert usable2.scalar("disk") == 0


def test_str_is_readable() -> None:
    assert str(Resources.parse("cpus:1;ports:[1-2]")) == "cpus:1;ports:[1-2]"


res_st = st.builds(
    lambda c, m, p: Resources.of(cpus=c, mem=m, ports=[(p, p + 3)]),
    st.integers(0, 8000).map(lambda x: x / 1000),
    st.integers(0, 4096),
    st.integers(1, 60000),
)


@given(res_st, res_st)
def test_add_then_subtract_is_identity(a: Resources, b: Resources) -> None:
    total = a + b
    assert total.contains(a)
    assert total.contains(b)
    assert (total - b).scalar("cpus") == a.scalar("cpus")
    assert (total - b).scalar("mem") == a.scalar("mem")
    assert total - Resources() == total
