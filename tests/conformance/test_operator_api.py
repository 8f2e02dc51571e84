"""The operator API's JSON shapes (the calls the local cluster implements)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.conformance.rawclient import RawScheduler, framework_info


async def operator(http: aiohttp.ClientSession, url: str, call: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with http.post(url + "/api/v1", json=call, headers=headers) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "application/json"
        body: dict[str, Any] = await r.json()
        return body


async def test_operator_reads(master_url: str, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("operator"))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "sleep 600"})
        while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
            await s.ack(st)
        assert await operator(http, master_url, {"type": "GET_HEALTH"}) == {
            "type": "GET_HEALTH",
            "get_health": {"healthy": True},
        }
        version = await operator(http, master_url, {"type": "GET_VERSION"})
        assert version["get_version"]["version_info"]["version"] == "1.11.0"
        frameworks = (await operator(http, master_url, {"type": "GET_FRAMEWORKS"}))["get_frameworks"]
        mine = [f for f in frameworks["frameworks"] if f["framework_info"]["id"]["value"] == s.framework_id]
        assert len(mine) == 1
        assert {"framework_info", "active", "connected", "recovered", "registered_time"} <= set(mine[0])
        assert mine[0]["active"] is True
        assert set(mine[0]["registered_time"]) == {"nanoseconds"}
        agents = (await operator(http, master_url, {"type": "GET_AGENTS"}))["get_agents"]["agents"]
        agent = next(a for a in agents if a["agent_info"]["id"] == offer["agent_id"])
        assert {"agent_info", "active", "pid", "registered_time", "total_resources", "version"} <= set(agent)
        assert agent["pid"].startswith("slave(")
        tasks = (await operator(http, master_url, {"type": "GET_TASKS"}))["get_tasks"]
        (task,) = [t for t in tasks["tasks"] if t["task_id"]["value"] == task_id]
        assert task["state"] == "TASK_RUNNING"
        assert task["framework_id"]["value"] == s.framework_id
        assert task["agent_id"] == offer["agent_id"]
        assert {"name", "resources", "statuses"} <= set(task)
        state = (await operator(http, master_url, {"type": "GET_STATE"}))["get_state"]
        assert {"get_tasks", "get_frameworks", "get_agents", "get_executors"} == set(state)
    finally:
        await s.teardown()


async def test_operator_errors(master_url: str, http: aiohttp.ClientSession) -> None:
    url = master_url + "/api/v1"
    async with http.get(url) as r:
        assert r.status == 405
    async with http.post(
        url, json={"type": "GET_HEALTH"}, headers={"Content-Type": "application/json", "Accept": "text/html"}
    ) as r:
        assert r.status == 406
        assert await r.text() == "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
    async with http.post(
        url,
        json={"type": "TEARDOWN", "teardown": {"framework_id": {"value": "nope"}}},
        headers={"Content-Type": "application/json"},
    ) as r:
        assert r.status == 400
        assert await r.text() == "No framework found with specified ID"


async def test_operator_subscribe_stream(master_url: str, http: aiohttp.ClientSession) -> None:
    resp = await http.post(
        master_url + "/api/v1",
        json={"type": "SUBSCRIBE"},
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=aiohttp.ClientTimeout(total=None),
    )
    s = RawScheduler(master_url, http)
    try:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"

        async def event() -> dict[str, Any]:
            size = int(await asyncio.wait_for(resp.content.readline(), 30))
            body: dict[str, Any] = json.loads(await resp.content.readexactly(size))
            return body

        first = await event()
        assert first["type"] == "SUBSCRIBED"
        assert first["subscribed"]["heartbeat_interval_seconds"] == 15.0
        assert "get_agents" in first["subscribed"]["get_state"]
        await s.subscribe(framework_info("operator-subscribe"))
        while (ev := await event())["type"] != "FRAMEWORK_ADDED":
            pass
        info = ev["framework_added"]["framework"]["framework_info"]
        assert info["id"]["value"] == s.framework_id
        assert info["name"] == "conformance-operator-subscribe"
        await s.teardown()
        while (ev := await event())["type"] != "FRAMEWORK_REMOVED":
            pass
        assert ev["framework_removed"]["framework_info"]["id"]["value"] == s.framework_id
    finally:
        await s.teardown()
        resp.close()
