"""The local cluster bounds what a client may send (issue 15 item 7)."""

from __future__ import annotations

import io
import json
import math

import aiohttp
import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.local._limits import INT64_MIN, MAX_BODY, fixed_point, scalar_problem
from tests.conformance.rawclient import RawScheduler, framework_info

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.mark.parametrize("path", ["/api/v1/scheduler", "/api/v1", "/slave(1)/api/v1/executor"])
async def test_a_body_over_the_bound_is_413(
    cluster: LocalCluster, http: aiohttp.ClientSession, path: str
) -> None:
    body = b'{"type":"SUBSCRIBE","x":"' + b"x" * MAX_BODY + b'"}'
    async with http.post(cluster.url + path, data=io.BytesIO(body), headers=JSON_HEADERS) as r:
        assert r.status == 413, await r.text()
    async with http.get(cluster.url + "/health") as r:
        assert r.status == 200


async def test_a_50_mb_framework_name_is_refused_and_the_master_goes_on(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info("x" * 50_000_000)}}
    body = io.BytesIO(json.dumps(call).encode())
    async with http.post(cluster.url + "/api/v1/scheduler", data=body, headers=JSON_HEADERS) as r:
        assert r.status == 413
    assert not cluster.master.frameworks
    s = RawScheduler(cluster.url, http)
    try:
        await s.subscribe(framework_info("after-a-huge-one"))
        assert await s.offers()
    finally:
        await s.teardown()


async def test_a_name_within_the_bound_is_accepted_as_mesos_accepts_it(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    """Real Mesos takes a 5 MB framework name; so does the local cluster (the body is under the bound)."""
    call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info("y" * 5_000_000)}}
    body = io.BytesIO(json.dumps(call).encode())
    async with http.post(cluster.url + "/api/v1/scheduler", data=body, headers=JSON_HEADERS) as r:
        assert r.status == 200
        assert r.headers["Mesos-Stream-Id"]
    (fw,) = cluster.master.frameworks.values()
    assert len(fw.info.name) == len("conformance-") + 5_000_000


def test_fixed_point_is_mesos_conversion_without_overflow() -> None:
    assert fixed_point(1.5) == 1500
    assert fixed_point(0.0004) == 0
    assert fixed_point(9e15) == 9_000_000_000_000_000_000
    for hostile in (1e16, 1e308, -1e308, math.inf, -math.inf, math.nan):
        assert fixed_point(hostile) == INT64_MIN
    assert scalar_problem(1.0) is None
    assert scalar_problem(-1.0) == "value < 0"
    assert scalar_problem(math.nan) == "value is NaN"
    assert scalar_problem(1e308) == "value 1e+308 is out of range"
    assert scalar_problem(math.inf) == "value inf is out of range"
