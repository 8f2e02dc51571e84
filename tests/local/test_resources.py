"""Resource arithmetic and the --resources syntax."""

from __future__ import annotations

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.local.resources import parse_resources


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
