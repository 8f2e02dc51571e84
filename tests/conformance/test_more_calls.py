"""More calls: UPDATE_FRAMEWORK, empty ACCEPT, invalid REVIVE roles,
RECONCILE_OPERATIONS, SHUTDOWN, and the executor endpoint's errors."""

from __future__ import annotations

import base64
import json
import uuid

import aiohttp

from tests.conformance.conftest import Factory
from tests.conformance.rawclient import framework_info


async def test_update_framework(scheduler: Factory) -> None:
    s = await scheduler("update", "MULTI_ROLE", roles=["a"])
    info = framework_info("update", "MULTI_ROLE", roles=["a", "b"], id={"value": s.framework_id})
    call = {
        "type": "UPDATE_FRAMEWORK",
        "framework_id": {"value": s.framework_id},
        "update_framework": {"framework_info": info},
    }
    assert await s.raw_call(call) == (200, "")
    bad = {**call, "update_framework": {"framework_info": {**info, "user": "someone-else"}}}
    status, body = await s.raw_call(bad)
    assert status == 400
    assert body.startswith("FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported")
    other = {**call, "update_framework": {"framework_info": {**info, "id": {"value": "other"}}}}
    assert await s.raw_call(other) == (
        400,
        "Failed to validate scheduler::Call: "
        "'framework_id' differs from 'update_framework.framework_info.id'",
    )
    roles = set()
    while roles != {"a", "b"}:
        for offer in await s.offers():
            roles.add(offer["allocation_info"]["role"])
            await s.decline([offer], refuse=0)


async def test_accept_without_operations_declines(scheduler: Factory) -> None:
    s = await scheduler("emptyaccept")
    offers = await s.offers()
    await s.call(
        "ACCEPT",
        accept={
            "offer_ids": [o["id"] for o in offers],
            "operations": [],
            "filters": {"refuse_seconds": 3600},
        },
    )
    assert await s.quiet(2.5, lambda e: e["type"] == "OFFERS") == []
    await s.call("REVIVE")
    assert await s.offers(within=10)


async def test_revive_with_unknown_role_is_dropped(scheduler: Factory) -> None:
    s = await scheduler("revivebad")
    offers = await s.offers()
    await s.call("SUPPRESS")
    await s.decline(offers, refuse=0)
    await s.call("REVIVE", revive={"roles": ["not-my-role"]})  # 202, then dropped whole
    assert await s.quiet(2.5, lambda e: e["type"] == "OFFERS") == []


async def test_shutdown_executor(scheduler: Factory, master_url: str) -> None:
    s = await scheduler("shutdown", "TASK_KILLING_STATE")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.ack(st)
    await s.call("SHUTDOWN", shutdown={"executor_id": {"value": task_id}, "agent_id": offer["agent_id"]})
    while (st := await s.update(task_id))["state"] not in ("TASK_KILLED", "TASK_FAILED"):
        await s.ack(st)
    assert st["state"] == "TASK_KILLED"
    await s.ack(st)


async def test_executor_endpoint_errors(master_url: str, http: aiohttp.ClientSession) -> None:
    url = f"{master_url}/slave(1)/api/v1/executor"

    async def post(body: object, headers: dict[str, str] | None = None) -> tuple[int, str]:
        h = {"Content-Type": "application/json"} if headers is None else headers
        data = json.dumps(body).encode()
        skip = [] if "Content-Type" in h else ["Content-Type"]
        async with http.post(url, data=data, headers=h, skip_auto_headers=skip) as r:
            return r.status, await r.text()

    ids = {"framework_id": {"value": "f"}, "executor_id": {"value": "e"}}
    async with http.get(url) as r:
        assert r.status == 405
        assert await r.text() == "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."
    assert await post({}, {}) == (400, "Expecting 'Content-Type' to be present")
    assert await post({}, {"Content-Type": "text/plain"}) == (
        415,
        "Expecting 'Content-Type' of application/json or application/x-protobuf",
    )
    status, body = await post({"type": "SUBSCRIBE"})
    assert status == 400
    assert body.startswith("Failed to convert JSON into Call protobuf: Missing required fields: ")
    assert await post({"type": "SUBSCRIBE", **ids}) == (
        400,
        "Failed to validate Executor::Call: Expecting 'subscribe' to be present",
    )
    assert await post({"type": "SUBSCRIBE", "subscribe": {}, **ids}) == (400, "Framework cannot be found")
    assert await post({"type": "HEARTBEAT", **ids}) == (202, "")
    bad_uuid = {
        "type": "UPDATE",
        **ids,
        "update": {
            "status": {
                "task_id": {"value": "t"},
                "state": "TASK_RUNNING",
                "source": "SOURCE_EXECUTOR",
                "uuid": base64.b64encode(b"x" * 37).decode(),
            }
        },
    }
    assert await post(bad_uuid) == (400, "Failed to validate Executor::Call: Not a valid UUID")
    no_uuid = {
        "type": "UPDATE",
        **ids,
        "update": {
            "status": {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR"}
        },
    }
    assert await post(no_uuid) == (400, "Failed to validate Executor::Call: Expecting 'uuid' to be present")
    staging = {
        "type": "UPDATE",
        **ids,
        "update": {
            "status": {
                "task_id": {"value": "t"},
                "state": "TASK_STAGING",
                "source": "SOURCE_EXECUTOR",
                "uuid": base64.b64encode(uuid.uuid4().bytes).decode(),
            }
        },
    }
    assert await post(staging) == (
        400,
        "Failed to validate Executor::Call: Received TASK_STAGING from executor e of framework f "
        "which is not allowed",
    )
    running = {**staging, "update": {"status": {**staging["update"]["status"], "state": "TASK_RUNNING"}}}
    master_source = {
        **running,
        "update": {"status": {**running["update"]["status"], "source": "SOURCE_MASTER"}},
    }
    assert await post(master_source) == (
        400,
        "Failed to validate Executor::Call: Received Call from executor e of framework f with "
        "invalid source, expecting 'SOURCE_EXECUTOR'",
    )
    assert await post(running) == (400, "Framework cannot be found")
    assert await post(
        {"type": "SUBSCRIBE", "subscribe": {}, **ids},
        {"Content-Type": "application/json", "Accept": "text/html"},
    ) == (406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
