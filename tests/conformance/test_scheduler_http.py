"""HTTP-level behaviour of /api/v1/scheduler: status codes, bodies, headers."""

from __future__ import annotations

import json
import re
import uuid

import aiohttp
import pytest

from mesos_framework.protocol._schema import scheduler_pb2
from tests.conformance.rawclient import JSON, PROTOBUF, RawScheduler, b64uuid, framework_info

SCHED = "/api/v1/scheduler"
TEXT = "text/plain; charset=utf-8"


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes | str, headers: dict[str, str]
) -> tuple[int, str, str | None]:
    skip = [] if "Content-Type" in headers else ["Content-Type"]
    data = body.encode() if isinstance(body, str) else body
    async with http.post(url + SCHED, data=data, headers=headers, skip_auto_headers=skip) as resp:
        return resp.status, await resp.text(), resp.headers.get("Content-Type")


SUB = json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "n"}}})


@pytest.mark.parametrize(
    ("headers", "body", "status", "text"),
    [
        ({}, "{}", 400, "Expecting 'Content-Type' to be present"),
        (
            {"Content-Type": "text/plain"},
            "{}",
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        ),
        (
            {"Content-Type": "application/json; charset=utf-8"},
            "{}",
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        ),
        ({"Content-Type": JSON}, "{bad", 400, "Failed to parse body into JSON: "),
        (
            {"Content-Type": JSON},
            json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"name": "x"}}}),
            400,
            "Failed to convert JSON into Call protobuf: "
            "Missing required fields: subscribe.framework_info.user",
        ),
        (
            {"Content-Type": JSON},
            '{"type": "SUBSCRIBEX"}',
            400,
            "Failed to validate scheduler::Call: Expecting 'type' to be present",
        ),
        (
            {"Content-Type": JSON},
            '{"type": "SUBSCRIBE"}',
            400,
            "Failed to validate scheduler::Call: Expecting 'subscribe' to be present",
        ),
        (
            {"Content-Type": JSON},
            '{"type": "UNKNOWN"}',
            400,
            "Failed to validate scheduler::Call: Expecting 'framework_id' to be present",
        ),
        (
            {"Content-Type": JSON},
            '{"type": "KILL", "framework_id": {"value": "x"}}',
            400,
            "Failed to validate scheduler::Call: Expecting 'kill' to be present",
        ),
        (
            {"Content-Type": JSON},
            '{"type": "RECONCILE", "framework_id": {"value": "x"}}',
            400,
            "Failed to validate scheduler::Call: Expecting 'reconcile' to be present",
        ),
        (
            {"Content-Type": JSON},
            json.dumps(
                {
                    "type": "ACKNOWLEDGE",
                    "framework_id": {"value": "x"},
                    "acknowledge": {"agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "AAAA"},
                }
            ),
            400,
            "Failed to validate scheduler::Call: Not a valid UUID",
        ),
        (
            {"Content-Type": JSON},
            json.dumps(
                {
                    "type": "SUBSCRIBE",
                    "framework_id": {"value": "a"},
                    "subscribe": {"framework_info": {"user": "u", "name": "n", "id": {"value": "b"}}},
                }
            ),
            400,
            "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'",
        ),
        ({"Content-Type": PROTOBUF}, "garbage", 400, "Failed to parse body into Call protobuf"),
        (  # parses, but FrameworkInfo lacks its required user and name
            {"Content-Type": PROTOBUF},
            scheduler_pb2.Call(
                type=scheduler_pb2.Call.SUBSCRIBE,
                subscribe=scheduler_pb2.Call.Subscribe(framework_info={}),
            ).SerializePartialToString(),
            400,
            "Failed to parse body into Call protobuf",
        ),
        (
            {"Content-Type": JSON, "Accept": "text/html"},
            SUB,
            406,
            "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
        ),
        (
            {"Content-Type": JSON, "Mesos-Stream-Id": str(uuid.uuid4())},
            SUB,
            400,
            "Subscribe calls should not include the 'Mesos-Stream-Id' header",
        ),
        (
            {"Content-Type": JSON},
            json.dumps({"type": "TEARDOWN", "framework_id": {"value": "no-such-framework"}}),
            400,
            "Framework cannot be found",
        ),
    ],
)
async def test_malformed_calls(  # noqa: PLR0917
    master_url: str,
    http: aiohttp.ClientSession,
    headers: dict[str, str],
    body: str | bytes,
    status: int,
    text: str,
) -> None:
    got_status, got_text, ctype = await post(http, master_url, body, headers)
    assert got_status == status
    if text.endswith(": "):
        assert got_text.startswith(text)
    else:
        assert got_text == text
    assert ctype == TEXT


async def test_get_is_405(master_url: str, http: aiohttp.ClientSession) -> None:
    for path in (SCHED, "/master/api/v1/scheduler"):
        async with http.get(master_url + path) as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "POST"
            assert (
                await resp.text()
                == "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."
            )


async def test_subscribe_json_stream(master_url: str, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(master_url, http)
    try:
        first = await s.subscribe(framework_info("subscribe"))
        assert s.response is not None
        headers = s.response.headers
        assert headers["Content-Type"] == JSON
        assert headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in headers
        assert str(uuid.UUID(s.stream_id or "")) == s.stream_id
        sub = first["subscribed"]
        assert sub["heartbeat_interval_seconds"] == 15.0
        info = sub["master_info"]
        assert re.fullmatch(re.escape(info["id"]) + r"-\d{4}", sub["framework_id"]["value"])
        assert info["version"] == "1.11.0"
        assert info["address"]["ip"] == "127.0.0.1"
        assert info["ip"] == 16777343
        assert info["pid"] == f"master@127.0.0.1:{info['port']}"
        assert info["port"] == int(master_url.rsplit(":", 1)[1])
        # The heartbeat is sent right away (an OFFERS event may race ahead of it).
        following = [await s.next_event(skip_heartbeats=False) for _ in range(2)]
        assert {"type": "HEARTBEAT"} in following
    finally:
        await s.teardown()


async def test_subscribe_protobuf(master_url: str, http: aiohttp.ClientSession) -> None:
    call = scheduler_pb2.Call(type=scheduler_pb2.Call.SUBSCRIBE)
    call.subscribe.framework_info.user = "nobody"
    call.subscribe.framework_info.name = "conformance-protobuf"
    headers = {"Content-Type": PROTOBUF, "Accept": PROTOBUF}
    resp = await http.post(
        master_url + SCHED,
        data=call.SerializeToString(),
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=None),
    )
    try:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == PROTOBUF
        events = []
        for _ in range(3):  # SUBSCRIBED, then HEARTBEAT right away (OFFERS may race ahead of it)
            size = int(await resp.content.readline())
            event = scheduler_pb2.Event()
            event.ParseFromString(await resp.content.readexactly(size))
            events.append(event)
            if event.type == scheduler_pb2.Event.HEARTBEAT:
                break
        assert events[0].type == scheduler_pb2.Event.SUBSCRIBED
        assert events[-1].type == scheduler_pb2.Event.HEARTBEAT
        fid = events[0].subscribed.framework_id.value
        teardown = scheduler_pb2.Call(type=scheduler_pb2.Call.TEARDOWN)
        teardown.framework_id.value = fid
        async with http.post(
            master_url + SCHED,
            data=teardown.SerializeToString(),
            headers={"Content-Type": PROTOBUF, "Mesos-Stream-Id": resp.headers["Mesos-Stream-Id"]},
        ) as r:
            assert r.status == 202
            assert await r.read() == b""
    finally:
        resp.close()


async def test_accept_json_wins(master_url: str, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(master_url, http)
    call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info("accept")}}
    resp = await http.post(
        master_url + SCHED,
        data=json.dumps(call),
        headers={"Content-Type": JSON, "Accept": "application/x-protobuf, application/json;q=0.1"},
        timeout=aiohttp.ClientTimeout(total=None),
    )
    try:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == JSON
        size = int(await resp.content.readline())
        first = json.loads(await resp.content.readexactly(size))
        s.framework_id = first["subscribed"]["framework_id"]["value"]
        s.stream_id = resp.headers["Mesos-Stream-Id"]
        assert (await s.raw_call({"type": "TEARDOWN", "framework_id": {"value": s.framework_id}}))[0] == 202
    finally:
        resp.close()


async def test_stream_id_checks(master_url: str, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("streamid"))
        call = {"type": "REVIVE", "framework_id": {"value": s.framework_id}}
        assert await s.raw_call(call, stream_id=None) == (
            400,
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
        )
        other = str(uuid.uuid4())
        assert await s.raw_call(call, stream_id=other) == (
            400,
            f"The stream ID '{other}' included in this request didn't match the stream ID currently "
            f"associated with framework ID {s.framework_id}",
        )
        assert await s.raw_call(call) == (202, "")
        status, body = await s.raw_call(
            {
                "type": "ACKNOWLEDGE",
                "framework_id": {"value": s.framework_id},
                "acknowledge": {"agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": b64uuid()},
            }
        )
        assert (status, body) == (202, "")
    finally:
        await s.teardown()


async def test_refused_subscription_is_error_event(master_url: str, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(master_url, http)
    info = framework_info("refused", "MULTI_ROLE", role="web")
    first = await s.subscribe(info, expect_subscribed=False)
    assert first == {
        "type": "ERROR",
        "error": {"message": "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"},
    }
    await s.closed.wait()
    await s.close()
