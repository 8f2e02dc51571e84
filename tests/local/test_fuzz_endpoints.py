"""Fuzzing the local cluster's HTTP endpoints: hostile requests get a 4xx, never a 5xx, and the
cluster still serves afterwards.

One local cluster serves a whole module of hypothesis examples; it runs on an event loop in a
background thread, and each (synchronous) example drives it through that loop with plain
aiohttp requests.  Covered: the scheduler endpoint (``/api/v1/scheduler``) with garbage and
with calls of a subscribed framework, ACCEPTs of real offers carrying hostile tasks, the
agent's executor endpoint and the operator endpoint (``/api/v1``), in both content types.
After every example ``/health`` must answer 200; at the end a new framework must still
subscribe and get offers (the allocator survived whatever was accepted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesos_framework.local import LocalCluster
from mesos_framework.protocol import from_dict
from mesos_framework.protocol._schema import executor_pb2, scheduler_pb2
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.support.fuzz import HOSTILE_NUMBERS, HOSTILE_TEXT, fuzz, json_values

T = TypeVar("T")
JSON = "application/json"
PROTOBUF = "application/x-protobuf"
CONTENT_TYPES = [JSON, PROTOBUF]

SCHEDULER_CALLS = [n for n in scheduler_pb2.Call.Type.keys() if n not in ("SUBSCRIBE", "TEARDOWN")]  # noqa: SIM118
OPERATOR_CALLS = [
    "UNKNOWN", "GET_HEALTH", "GET_FLAGS", "GET_VERSION", "GET_METRICS", "GET_LOGGING_LEVEL",
    "SET_LOGGING_LEVEL", "LIST_FILES", "READ_FILE", "GET_STATE", "GET_AGENTS", "GET_FRAMEWORKS",
    "GET_EXECUTORS", "GET_OPERATIONS", "GET_TASKS", "GET_ROLES", "GET_WEIGHTS", "UPDATE_WEIGHTS",
    "GET_MASTER", "RESERVE_RESOURCES", "UNRESERVE_RESOURCES", "CREATE_VOLUMES", "DESTROY_VOLUMES",
    "GROW_VOLUME", "SHRINK_VOLUME", "GET_MAINTENANCE_STATUS", "GET_MAINTENANCE_SCHEDULE",
    "UPDATE_MAINTENANCE_SCHEDULE", "START_MAINTENANCE", "STOP_MAINTENANCE", "DRAIN_AGENT",
    "DEACTIVATE_AGENT", "REACTIVATE_AGENT", "GET_QUOTA", "UPDATE_QUOTA", "SET_QUOTA", "REMOVE_QUOTA",
    "MARK_AGENT_GONE", "NOT_A_CALL",
]  # fmt: skip
KEYS = sorted(
    {"type", "value", "framework_id", "agent_id", "task_id", "executor_id", "name", "role", "resources",
     "scalar", "ranges", "range", "begin", "end", "labels", "key", "offer_ids", "operations", "launch",
     "task_infos", "command", "uuid", "status", "state", "filters", "refuse_seconds", "path", "offset",
     "length", "level", "duration", "nanoseconds", "timeout", "subscribe", "update", "message", "data"}
)  # fmt: skip


class Live:
    """A local cluster on an event loop in a thread, and a way to run coroutines there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-cluster", daemon=True)
        self.thread.start()
        self.cluster = LocalCluster(allocation_interval=0.2, status_update_retry=5.0)
        self.run(self.cluster.__aenter__())
        self.http: aiohttp.ClientSession = self.run(self._session())

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    @property
    def url(self) -> str:
        return self.cluster.url

    def post(
        self, path: str, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST and return (status, body); a 200 stream is closed at once."""

        async def go() -> tuple[int, str]:
            async with self.http.post(
                self.url + path,
                data=body,
                headers={"Content-Type": ctype, "Accept": ctype, **(headers or {})},
            ) as resp:
                if resp.status == 200 and resp.headers.get("Transfer-Encoding") == "chunked":
                    return resp.status, ""
                return resp.status, (await resp.read()).decode("utf-8", "replace")

        return self.run(go())

    def healthy(self) -> None:
        async def go() -> int:
            async with self.http.get(self.url + "/health") as resp:
                return resp.status

        assert self.run(go()) == 200

    def close(self) -> None:
        self.run(self.http.close())
        self.run(self.cluster.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    cluster = Live()
    yield cluster
    cluster.close()


@pytest.fixture
def framework(live: Live) -> Iterator[RawScheduler]:
    """A framework subscribed for one test function (torn down after, releasing its offers)."""
    fw = RawScheduler(live.url, live.http)
    live.run(fw.subscribe(framework_info("fuzz")))
    yield fw
    live.run(fw.teardown())


def _encode(cls: type[Any], call: dict[str, Any], ctype: str) -> bytes | None:
    """``call`` in ``ctype``; None when it cannot be a protobuf message at all."""
    if ctype == JSON:
        return json.dumps(call).encode()
    try:
        return from_dict(cls, call, strict=False, partial=True).SerializePartialToString()  # type: ignore[no-any-return]
    except Exception:
        return None


def _assert_client_error(status: int, text: str, what: object) -> None:
    assert 400 <= status < 500, (status, text[:300], what)


def _assert_not_server_error(status: int, text: str, what: object) -> None:
    """Below 500; except the 501 Mesos itself answers to a call of type UNKNOWN."""
    if isinstance(what, bytes):
        with contextlib.suppress(ValueError):
            what = json.loads(what)
    unknown = isinstance(what, dict) and what.get("type") == "UNKNOWN"
    assert status < 500 or (unknown and status == 501), (status, text[:300], what)


garbage = st.one_of(
    st.binary(max_size=120),
    json_values(KEYS).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"{", b"null", b"[]", b'{"type":"SUBSCRIBE"}', b"\x08\x01", b"\xff" * 8]),
)


@pytest.mark.parametrize("path", ["/api/v1/scheduler", "/slave(1)/api/v1/executor"])
@pytest.mark.parametrize("ctype", CONTENT_TYPES)
@fuzz(40)
@given(body=garbage)
def test_scheduler_and_executor_endpoints_garbage(live: Live, ctype: str, path: str, body: bytes) -> None:
    status, text = live.post(path, body, ctype)
    _assert_client_error(status, text, body)
    live.healthy()


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
@fuzz(60)
@given(
    kind=st.sampled_from(SCHEDULER_CALLS), payload=st.dictionaries(st.sampled_from(KEYS), json_values(KEYS))
)
def test_scheduler_calls_of_a_subscribed_framework(
    live: Live, framework: RawScheduler, ctype: str, kind: str, payload: dict[str, Any]
) -> None:
    fw = framework
    call: dict[str, Any] = {"type": kind, "framework_id": {"value": fw.framework_id}}
    field = kind.lower()
    call[field] = payload
    body = _encode(scheduler_pb2.Call, call, ctype)
    if body is None:
        return
    assert fw.stream_id is not None
    status, text = live.post("/api/v1/scheduler", body, ctype, {"Mesos-Stream-Id": fw.stream_id})
    _assert_not_server_error(status, text, call)
    live.healthy()


scalars = st.one_of(HOSTILE_NUMBERS, st.sampled_from([0.01, 0.1, 1.0]))
hostile_resource = st.one_of(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["cpus", "mem", "disk", "gpus", "x"]), "type": st.just("SCALAR"),
         "scalar": st.fixed_dictionaries({"value": scalars})}
    ),
    st.fixed_dictionaries(
        {"name": st.just("ports"), "type": st.just("RANGES"),
         "ranges": st.fixed_dictionaries({"range": st.lists(
             st.fixed_dictionaries({"begin": HOSTILE_NUMBERS, "end": HOSTILE_NUMBERS}), max_size=2)})}
    ),
)  # fmt: skip


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
@fuzz(25)
@given(
    resources=st.lists(hostile_resource, min_size=1, max_size=3),
    name=HOSTILE_TEXT,
    label=HOSTILE_TEXT,
    refuse=st.one_of(st.none(), HOSTILE_NUMBERS),
)
def test_accept_of_a_real_offer_with_a_hostile_task(  # noqa: PLR0917
    live: Live,
    framework: RawScheduler,
    ctype: str,
    resources: list[dict[str, Any]],
    name: str,
    label: str,
    refuse: float | None,
) -> None:
    """Found the 500 of issue 15 (a scalar of 1e308); now TASK_ERROR like Mesos."""
    fw = framework
    offer = live.run(fw.offers(within=60))[0]
    for r in resources:
        if r["type"] == "RANGES":
            r["ranges"]["range"] = [{k: int(v) for k, v in rg.items()} for rg in r["ranges"]["range"]]
    task = {
        "name": name,
        "task_id": {"value": f"fuzz-{abs(hash((name, label, json.dumps(resources))))}"},
        "agent_id": offer["agent_id"],
        "resources": resources,
        "command": {"value": "true"},
        "labels": {"labels": [{"key": label, "value": label}]},
    }
    accept: dict[str, Any] = {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
    }
    if refuse is not None:
        accept["filters"] = {"refuse_seconds": refuse}
    call = {"type": "ACCEPT", "framework_id": {"value": fw.framework_id}, "accept": accept}
    body = _encode(scheduler_pb2.Call, call, ctype)
    assert fw.stream_id is not None
    if body is None:  # not a protobuf message at all (a number out of its field's range)
        live.run(fw.decline([offer]))
        return
    status, text = live.post("/api/v1/scheduler", body, ctype, {"Mesos-Stream-Id": fw.stream_id})
    _assert_not_server_error(status, text, call)
    live.healthy()
    if status != 202:  # refused before it used the offer: give it back
        live.run(fw.decline([offer]))
    # hostile filters must not starve the next example
    live.run(fw.call("REVIVE"))


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
@fuzz(40)
@given(
    body=st.one_of(
        garbage,
        st.fixed_dictionaries(
            {"type": st.sampled_from(list(executor_pb2.Call.Type.keys())),
             "framework_id": st.fixed_dictionaries({"value": HOSTILE_TEXT}),
             "executor_id": st.fixed_dictionaries({"value": HOSTILE_TEXT})},
            optional={k: json_values(KEYS) for k in ("subscribe", "update", "message")},
        ).map(lambda v: json.dumps(v).encode()),
    )
)  # fmt: skip
def test_executor_endpoint(live: Live, ctype: str, body: bytes) -> None:
    if ctype == PROTOBUF and body.startswith(b'{"type"'):
        converted = _encode(executor_pb2.Call, json.loads(body), PROTOBUF)
        body = body if converted is None else converted
    status, text = live.post("/slave(1)/api/v1/executor", body, ctype)
    # a well-formed call of an unknown executor may be accepted (a HEARTBEAT is), never a 5xx
    _assert_not_server_error(status, text, body)
    live.healthy()


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
@fuzz(50)
@given(
    body=st.one_of(
        garbage,
        st.builds(
            lambda kind, payload: json.dumps({"type": kind, kind.lower(): payload}).encode(),
            st.sampled_from(OPERATOR_CALLS),
            json_values(KEYS),
        ),
    )
)
def test_operator_endpoint(live: Live, ctype: str, body: bytes) -> None:
    status, text = live.post("/api/v1", body, ctype)
    _assert_not_server_error(status, text, body)
    live.healthy()


def test_the_cluster_still_serves_after_the_fuzzing(live: Live) -> None:
    """Run last in the module: a new framework subscribes and is offered the agent."""

    async def go() -> list[dict[str, Any]]:
        fresh = RawScheduler(live.url, live.http)
        await fresh.subscribe(framework_info("after-fuzz"))
        try:
            return await fresh.offers(within=60)
        finally:
            await fresh.teardown()

    assert live.run(go())
