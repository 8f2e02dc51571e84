"""Operator API and the JSON state endpoints."""

from __future__ import annotations

import asyncio
import gzip
import json

import aiohttp

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.local.conftest import Factory, until_running


async def op(http: aiohttp.ClientSession, url: str, call: dict, **headers: str) -> tuple[int, object]:
    h = {"Content-Type": "application/json", "Accept": "application/json", **headers}
    async with http.post(url + "/api/v1", json=call, headers=h) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_operator_calls(scheduler: Factory, cluster: LocalCluster, http: aiohttp.ClientSession) -> None:
    s = await scheduler("operator")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    url = cluster.url
    assert await op(http, url, {"type": "GET_HEALTH"}) == (
        200,
        {"type": "GET_HEALTH", "get_health": {"healthy": True}},
    )
    status, body = await op(http, url, {"type": "GET_VERSION"})
    assert status == 200 and body["get_version"]["version_info"]["version"] == "1.11.0"  # type: ignore[index]
    status, body = await op(http, url, {"type": "GET_FRAMEWORKS"})
    frameworks = body["get_frameworks"]["frameworks"]  # type: ignore[index]
    assert [f["framework_info"]["id"]["value"] for f in frameworks] == [s.framework_id]
    assert frameworks[0]["active"] is True
    status, body = await op(http, url, {"type": "GET_AGENTS"})
    agents = body["get_agents"]["agents"]  # type: ignore[index]
    assert agents[0]["agent_info"]["id"] == offer["agent_id"]
    assert agents[0]["pid"] == f"slave(1)@127.0.0.1:{cluster.port}"
    status, body = await op(http, url, {"type": "GET_TASKS"})
    tasks = body["get_tasks"]["tasks"]  # type: ignore[index]
    assert tasks[0]["task_id"]["value"] == task_id
    assert tasks[0]["state"] == "TASK_RUNNING"
    status, body = await op(http, url, {"type": "GET_STATE"})
    assert set(body["get_state"]) == {"get_tasks", "get_executors", "get_frameworks", "get_agents"}  # type: ignore[index]
    assert await op(http, url, {"type": "GET_HEALTH"}, Accept="text/html") == (
        406,
        "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
    )
    status, text = await op(http, url, {"type": "TEARDOWN", "teardown": {"framework_id": {"value": "nope"}}})
    assert (status, text) == (400, "No framework found with specified ID")
    status, text = await op(
        http, url, {"type": "TEARDOWN", "teardown": {"framework_id": {"value": s.framework_id}}}
    )
    assert status == 200
    await s.closed.wait()


async def test_state_endpoints(
    scheduler: Factory, cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    s = await scheduler("state")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    await until_running(s, task_id)
    async with http.get(cluster.url + "/master/state") as r:
        state = await r.json()
    assert state["version"] == "1.11.0"
    assert state["activated_slaves"] == 1
    assert state["leader"] == f"master@127.0.0.1:{cluster.port}"
    (fw,) = state["frameworks"]
    assert fw["id"] == s.framework_id
    assert fw["tasks"][0]["id"] == task_id
    assert fw["tasks"][0]["state"] == "TASK_RUNNING"
    async with http.get(cluster.url + "/state") as r:
        assert (await r.json())["id"] == state["id"]
    async with http.get(cluster.url + "/master/slaves") as r:
        (agent,) = (await r.json())["slaves"]
    assert agent["used_resources"]["cpus"] == 0.1
    async with http.get(cluster.url + "/slave(1)/containers") as r:
        (container,) = await r.json()
    assert container["executor_id"] == task_id
    async with http.get(cluster.url + "/slave(1)/state") as r:
        astate = await r.json()
    (executor,) = astate["frameworks"][0]["executors"]
    async with http.get(
        cluster.url + "/files/read",
        params={"path": executor["directory"] + "/stdout", "offset": "0", "length": "100"},
    ) as r:
        assert r.status == 200
        assert (await r.json())["offset"] == 0
    async with http.get(cluster.url + "/files/read", params={"path": "/etc/passwd", "offset": "0"}) as r:
        assert r.status == 404
    async with http.get(cluster.url + "/version") as r:
        assert (await r.json())["version"] == "1.11.0"


async def test_large_bodies_are_gzipped(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        async with raw.get(cluster.url + "/master/state", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.headers.get("Content-Encoding") == "gzip"
            assert gzip.decompress(await r.read()).startswith(b"{")
        async with raw.get(cluster.url + "/master/state", headers={"Accept-Encoding": "identity"}) as r:
            assert "Content-Encoding" not in r.headers
        async with raw.get(cluster.url + "/version", headers={"Accept-Encoding": "gzip"}) as r:
            assert "Content-Encoding" not in r.headers  # under 1 KiB


async def test_operator_subscribe(cluster: LocalCluster, http: aiohttp.ClientSession) -> None:
    resp = await http.post(
        cluster.url + "/api/v1",
        json={"type": "SUBSCRIBE"},
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=aiohttp.ClientTimeout(total=None),
    )
    try:
        assert resp.status == 200
        assert "Mesos-Stream-Id" not in resp.headers

        async def event() -> dict:
            size = int(await asyncio.wait_for(resp.content.readline(), 30))
            return json.loads(await resp.content.readexactly(size))

        first = await event()
        assert first["type"] == "SUBSCRIBED"
        assert first["subscribed"]["heartbeat_interval_seconds"] == 15.0
        assert len(first["subscribed"]["get_state"]["get_agents"]["agents"]) == 1
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("opsub"))
        added = await event()
        assert added["type"] == "FRAMEWORK_ADDED"
        assert added["framework_added"]["framework"]["framework_info"]["id"]["value"] == s.framework_id
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "exit 0"})
        kinds = []
        while True:
            ev = await event()
            kinds.append(ev["type"])
            if ev["type"] == "TASK_UPDATED":
                assert ev["task_updated"]["framework_id"] == {"value": s.framework_id}
                if ev["task_updated"]["state"] == "TASK_STARTING":
                    break
        assert kinds[0] == "TASK_ADDED"
        await s.teardown()
        while (ev := await event())["type"] != "FRAMEWORK_REMOVED":
            pass
        assert ev["framework_removed"]["framework_info"]["id"]["value"] == s.framework_id
        assert task_id
    finally:
        resp.close()
