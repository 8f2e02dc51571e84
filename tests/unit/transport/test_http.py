"""HttpClient and EventStream against real aiohttp servers on 127.0.0.1 that inject faults."""

from __future__ import annotations

import asyncio
import gzip
import logging
import random
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from mesos_framework.errors import (
    APIError,
    BadRequest,
    ConfigurationError,
    ConnectError,
    MethodNotAllowed,
    NoLeaderError,
    NotAuthorized,
    NotSubscribed,
    ProtocolError,
    ServerError,
    StreamClosed,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from mesos_framework.protocol import ContentType, decode, encode, recordio_encode
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2, scheduler_pb2
from mesos_framework.transport import (
    Backoff,
    CallTimeout,
    Credentials,
    Endpoint,
    HttpClient,
    StreamDecodeError,
)
from tests.unit.transport.conftest import Serve

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event
PB = ContentType.PROTOBUF
JSON = ContentType.JSON
STREAM_ID = "5c0b0e3a-8a1b-4a52-9d1f-0123456789ab"


def subscribe_call() -> scheduler_pb2.Call:
    call = Call(type=Call.SUBSCRIBE)
    call.subscribe.framework_info.user = "tester"
    call.subscribe.framework_info.name = "transport-test"
    return call


def decline_call() -> scheduler_pb2.Call:
    call = Call(type=Call.DECLINE)
    call.framework_id.value = "fw-1"
    call.decline.offer_ids.add(value="offer-1")
    return call


def subscribed(framework_id: str = "fw-1") -> scheduler_pb2.Event:
    event = Event(type=Event.SUBSCRIBED)
    event.subscribed.framework_id.value = framework_id
    event.subscribed.heartbeat_interval_seconds = 15.0
    return event


def heartbeat() -> scheduler_pb2.Event:
    return Event(type=Event.HEARTBEAT)


def quick_backoff(seed: int = 1) -> Backoff:
    return Backoff(minimum=0.001, maximum=0.004, rng=random.Random(seed))


async def open_stream(
    request: web.Request,
    chunks: list[bytes],
    *,
    content_type: str = PB.value,
    stream_id: str | None = STREAM_ID,
    hold: asyncio.Event | None = None,
) -> web.StreamResponse:
    """Answer like a master: 200, chunked, then the given chunks; EOF unless ``hold`` is given."""
    response = web.StreamResponse(status=200)
    response.content_type = content_type
    if stream_id:
        response.headers["Mesos-Stream-Id"] = stream_id
    response.enable_chunked_encoding()
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    if hold is not None:
        await hold.wait()
    await response.write_eof()
    return response


def records(*events: scheduler_pb2.Event, content_type: ContentType = PB) -> bytes:
    return b"".join(recordio_encode(encode(e, content_type)) for e in events)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- subscribe and calls --------------------------------------------------------


@pytest.mark.parametrize("content_type", [PB, JSON])
async def test_subscribe_sends_exact_headers_and_decodes_split_records(
    serve: Serve, content_type: ContentType
) -> None:
    seen: dict[str, str] = {}
    bodies: list[bytes] = []
    data = records(subscribed(), heartbeat(), content_type=content_type)

    async def master(request: web.Request) -> web.StreamResponse:
        seen.update(request.headers)
        seen["path"] = request.path
        seen["method"] = request.method
        bodies.append(await request.read())
        # One byte per chunk: every record is split across many chunks.
        return await open_stream(
            request, [data[i : i + 1] for i in range(len(data))], content_type=content_type
        )

    url = await serve(master)
    async with HttpClient(url, content_type=content_type) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.stream_id == STREAM_ID
        assert stream.leader == url
        assert client.leader == url
        events = []
        with pytest.raises(StreamClosed, match="EOF") as info:
            async for event in stream:
                events.append(event)
        assert not isinstance(info.value, ProtocolError)
    assert [e.type for e in events] == [Event.SUBSCRIBED, Event.HEARTBEAT]
    assert events[0].subscribed.framework_id.value == "fw-1"
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/v1/scheduler"
    assert seen["Content-Type"] == content_type.value
    assert seen["Accept"] == content_type.value
    assert seen["Accept-Encoding"] == "identity"
    assert "Mesos-Stream-Id" not in seen
    assert "Authorization" not in seen
    assert bodies[0] == encode(subscribe_call(), content_type)


async def test_several_records_in_one_chunk_and_events_count(serve: Serve) -> None:
    async def master(request: web.Request) -> web.StreamResponse:
        return await open_stream(request, [records(subscribed(), heartbeat(), heartbeat())])

    async with HttpClient(await serve(master)) as client:
        stream = await client.subscribe(subscribe_call())
        got = [await anext(stream) for _ in range(3)]
        assert [e.type for e in got] == [Event.SUBSCRIBED, Event.HEARTBEAT, Event.HEARTBEAT]
        assert stream.events == 3
        with pytest.raises(StreamClosed):
            await anext(stream)
        with pytest.raises(StreamClosed):  # stays ended
            await anext(stream)
        assert stream.closed


async def test_a_timed_out_read_leaves_the_stream_usable(serve: Serve) -> None:
    # A heartbeat watchdog wraps anext() in a timeout; cancelling a read must not break the stream.
    more = asyncio.Event()

    async def late_master(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_type = PB.value
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(records(subscribed()))
        await more.wait()
        await response.write(records(heartbeat()))
        await response.write_eof()
        return response

    async with HttpClient(await serve(late_master)) as client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == Event.SUBSCRIBED
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), 0.05)
        assert not stream.closed
        more.set()
        assert (await anext(stream)).type == Event.HEARTBEAT


async def test_calls_use_their_own_connection_and_carry_the_stream_id(serve: Serve) -> None:
    peers: dict[str, set[object]] = {"subscribe": set(), "call": set()}
    call_headers: list[dict[str, str]] = []
    hold = asyncio.Event()

    async def master(request: web.Request) -> web.StreamResponse:
        body = decode(Call, await request.read(), PB)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if body.type == Call.SUBSCRIBE:
            peers["subscribe"].add(peer)
            return await open_stream(request, [records(subscribed())], hold=hold)
        peers["call"].add(peer)
        call_headers.append(dict(request.headers))
        return web.Response(status=202)

    async with HttpClient(await serve(master)) as client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == Event.SUBSCRIBED
        assert await client.send(decline_call(), stream_id=stream.stream_id) == b""
        assert await client.send(decline_call(), stream_id=stream.stream_id) == b""
        hold.set()
        await stream.close()
    assert len(peers["subscribe"]) == 1
    assert len(peers["call"]) == 1  # both calls reused one keep-alive connection
    assert peers["subscribe"].isdisjoint(peers["call"])
    assert call_headers[0]["Mesos-Stream-Id"] == STREAM_ID
    assert call_headers[0]["Content-Type"] == "application/x-protobuf"
    assert call_headers[0]["Accept"] == "application/x-protobuf"


async def test_call_bodies_may_be_gzipped(serve: Serve) -> None:
    payload = b"x" * 4096

    async def master(request: web.Request) -> web.StreamResponse:
        assert request.headers["Accept-Encoding"] == "gzip"
        return web.Response(status=200, body=gzip.compress(payload), headers={"Content-Encoding": "gzip"})

    async with HttpClient(await serve(master)) as client:
        assert await client.send(decline_call(), stream_id="s") == payload


# -- redirects ----------------------------------------------------------------------


async def test_redirect_chain_is_followed_with_the_same_body_and_remembered(serve: Serve) -> None:
    leader_log: list[tuple[str, bytes]] = []
    hold = asyncio.Event()

    async def leader(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        leader_log.append((request.path, body))
        if decode(Call, body, PB).type == Call.SUBSCRIBE:
            return await open_stream(request, [records(subscribed())], hold=hold)
        return web.Response(status=202)

    leader_url = await serve(leader)
    leader_port = leader_url.rsplit(":", 1)[1]
    middle_bodies: list[bytes] = []

    async def middle(request: web.Request) -> web.StreamResponse:
        middle_bodies.append(await request.read())
        return web.Response(
            status=307, headers={"Location": f"//127.0.0.1:{leader_port}/master/api/v1/scheduler"}
        )

    middle_url = await serve(middle)

    async def first(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": f"{middle_url}/master/api/v1/scheduler"})

    async with HttpClient(await serve(first)) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == leader_url
        assert client.leader == leader_url
        await client.send(decline_call(), stream_id=stream.stream_id)
        hold.set()
        await stream.close()
    expected = encode(subscribe_call(), PB)
    assert middle_bodies == [expected]
    assert leader_log[0] == ("/master/api/v1/scheduler", expected)
    # Later calls go straight to the leader, on the redirected path.
    assert leader_log[1] == ("/master/api/v1/scheduler", encode(decline_call(), PB))
    assert len(middle_bodies) == 1


async def test_redirect_to_an_ipv6_location(serve: Serve) -> None:
    try:
        leader_url = await serve(lambda r: open_stream(r, [records(subscribed())]), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = leader_url.rsplit(":", 1)[1]

    async def follower(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": f"//[::1]:{port}/master/api/v1/scheduler"})

    async with HttpClient(await serve(follower)) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == leader_url
        assert (await anext(stream)).type == Event.SUBSCRIBED


async def test_redirect_without_location_and_redirect_loops_are_protocol_errors(serve: Serve) -> None:
    async def no_location(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307)

    async with HttpClient(await serve(no_location)) as client:
        with pytest.raises(ProtocolError, match="without a Location"):
            await client.subscribe(subscribe_call())
        with pytest.raises(ProtocolError, match="without a Location"):
            await client.send(decline_call(), stream_id="s")

    async def loop(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": f"//{request.host}/master/api/v1/scheduler"})

    async with HttpClient(await serve(loop), max_redirects=3) as client:
        with pytest.raises(ProtocolError, match="more than 3 redirects"):
            await client.send(decline_call(), stream_id="s")
        with pytest.raises(ProtocolError, match="more than 3 redirects"):
            await client.subscribe(subscribe_call())


# -- retries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text"), [(503, "No leader elected"), (503, "Master has not finished recovery"), (404, "")]
)
async def test_subscribe_retries_503_and_404_then_succeeds(serve: Serve, status: int, text: str) -> None:
    attempts = 0

    async def master(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            return web.Response(status=status, text=text)
        return await open_stream(request, [records(subscribed())])

    async with HttpClient(await serve(master), backoff=quick_backoff()) as client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == Event.SUBSCRIBED
    assert attempts == 3


async def test_subscribe_gives_up_with_no_leader_error(serve: Serve) -> None:
    attempts = 0

    async def master(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        return web.Response(status=503, text="No leader elected")

    async with HttpClient(await serve(master), backoff=quick_backoff()) as client:
        with pytest.raises(NoLeaderError, match="No leader elected") as info:
            await client.subscribe(subscribe_call(), give_up_after=0.3)
    assert isinstance(info.value.__cause__, Unavailable)
    assert attempts >= 2


async def test_subscribe_gives_up_with_connect_error_and_tries_every_master(serve: Serve) -> None:
    from tests.support.ports import free_port

    dead = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    async with HttpClient(",".join(dead), backoff=quick_backoff()) as client:
        with pytest.raises(ConnectError, match="cannot reach a master") as info:
            await client.subscribe(subscribe_call(), give_up_after=0.05)
    assert isinstance(info.value.__cause__, ConnectError)


async def test_first_dead_master_then_the_next_in_the_list(serve: Serve) -> None:
    from tests.support.ports import free_port

    live = await serve(lambda r: open_stream(r, [records(subscribed())]))
    spec = f"127.0.0.1:{free_port()},{live}"
    async with HttpClient(spec, backoff=Backoff(minimum=60, maximum=60)) as client:  # never sleeps
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == live


async def test_send_before_any_subscription_tries_the_masters_in_turn(serve: Serve) -> None:
    from tests.support.ports import free_port

    live = await serve(lambda r: asyncio.sleep(0, web.Response(status=202)))
    async with HttpClient(f"127.0.0.1:{free_port()},{live}") as client:
        assert client.leader is None
        assert await client.send(decline_call(), stream_id="s") == b""
        assert client.leader == live
        client.forget_leader()
        assert client.leader is None


async def test_subscribe_without_an_answer_in_time_is_retried_then_given_up(serve: Serve) -> None:
    never = asyncio.Event()
    attempts = 0

    async def silent(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        await never.wait()
        return web.Response(status=503)

    async with HttpClient(await serve(silent), request_timeout=0.1, backoff=quick_backoff()) as client:
        with pytest.raises(ConnectError, match="no answer within") as info:
            await client.subscribe(subscribe_call(), give_up_after=0.5)
    assert info.value.retryable
    assert attempts >= 2


async def test_names_are_resolved_again_on_every_attempt(serve: Serve) -> None:
    url = await serve(lambda r: open_stream(r, [records(subscribed())]))
    port = int(url.rsplit(":", 1)[1])
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        # First answer: an address where nothing listens (the server is bound
        # to 127.0.0.1 only); then the right one.
        return ["127.0.0.2"] if len(lookups) == 1 else ["127.0.0.1"]

    async with HttpClient(f"leader.test:{port}", resolver=resolver, backoff=quick_backoff()) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == f"http://leader.test:{port}"
    assert lookups == ["leader.test", "leader.test"]


# -- typed errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, "Failed to validate scheduler::Call: Expecting 'framework_id' to be present", BadRequest),
        (401, "", Unauthorized),
        (403, "Framework is not subscribed", NotSubscribed),
        (403, "Not authorized to ...", NotAuthorized),
        (405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.", MethodNotAllowed),
        (415, "Expecting 'Content-Type' of application/json or application/x-protobuf", UnsupportedMediaType),
        (500, "boom", ServerError),
        (503, "Agent has not finished recovery", Unavailable),
        (418, "teapot", APIError),
    ],
)
async def test_call_statuses_become_typed_errors(
    serve: Serve, status: int, body: str, error: type[APIError]
) -> None:
    async def master(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=body)

    async with HttpClient(await serve(master)) as client:
        with pytest.raises(error) as info:
            await client.send(decline_call(), stream_id="s")
    assert type(info.value) is error
    assert info.value.status == status
    assert info.value.body == body
    assert info.value.call_type == "DECLINE"
    assert info.value.url is not None
    assert info.value.url.endswith("/api/v1/scheduler")


async def test_subscribe_non_retryable_status_is_raised_at_once(serve: Serve) -> None:
    attempts = 0

    async def master(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        return web.Response(
            status=400, text="Failed to validate scheduler::Call: Expecting 'subscribe' to be present"
        )

    async with HttpClient(await serve(master), backoff=quick_backoff()) as client:
        with pytest.raises(BadRequest, match="Expecting 'subscribe' to be present") as info:
            await client.subscribe(subscribe_call())
    assert info.value.call_type == "SUBSCRIBE"
    assert attempts == 1


async def test_html_error_pages_are_summarised(serve: Serve) -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title><style>b{}</style></head>"
        "<body><h1>Bad Gateway</h1></body></html>"
    )

    async def proxy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=502, text=page, content_type="text/html")

    async with HttpClient(await serve(proxy)) as client:
        with pytest.raises(ServerError) as info:
            await client.send(decline_call(), stream_id="s")
    assert str(info.value) == "HTTP 502 to DECLINE: (HTML page) 502 Bad Gateway Bad Gateway"


async def _hang_up_mid_record(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200)
    response.content_type = PB.value
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"100\nabc")
    assert request.transport is not None
    request.transport.abort()  # connection reset without the chunked terminator
    return response


GARBAGE: list[tuple[str, Handler, type[Exception], str]] = [
    (
        "html on a 200",
        lambda r: open_stream(r, [b"<html>hello</html>"], content_type="text/html"),
        ProtocolError,
        "answered 200 with Content-Type 'text/html'",
    ),
    (
        "json when protobuf was asked",
        lambda r: open_stream(r, [b"2\n{}"], content_type=JSON.value),
        ProtocolError,
        "expected an event stream of 'application/x-protobuf'",
    ),
    ("not recordio", lambda r: open_stream(r, [b"hello world\n"]), StreamDecodeError, "not valid RecordIO"),
    (
        "undecodable record",
        lambda r: open_stream(r, [b"3\n\xff\xff\xff"]),
        StreamDecodeError,
        "cannot decode event #1",
    ),
    (
        "eof inside a record",
        lambda r: open_stream(r, [b"10\nabc"]),
        StreamDecodeError,
        "ended inside a record",
    ),
    ("reset mid-record", _hang_up_mid_record, StreamClosed, "connection reset"),
]


@pytest.mark.parametrize(("name", "handler", "error", "message"), GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_garbage_answers_become_typed_errors(
    serve: Serve, name: str, handler: Handler, error: type[Exception], message: str
) -> None:
    async with HttpClient(await serve(handler), backoff=quick_backoff()) as client:
        with pytest.raises(error, match=message):
            stream = await client.subscribe(subscribe_call())
            async for _ in stream:
                pass


async def test_json_garbage_record(serve: Serve) -> None:
    async def master(request: web.Request) -> web.StreamResponse:
        return await open_stream(
            request, [records(subscribed(), content_type=JSON) + b"5\n{nope"], content_type=JSON.value
        )

    async with HttpClient(await serve(master), content_type=JSON) as client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == Event.SUBSCRIBED
        with pytest.raises(StreamDecodeError, match="cannot decode event #2") as info:
            await anext(stream)
        assert isinstance(info.value, StreamClosed)
        assert isinstance(info.value, ProtocolError)


async def test_call_timeout(serve: Serve) -> None:
    never = asyncio.Event()

    async def stuck(request: web.Request) -> web.StreamResponse:
        await never.wait()
        return web.Response(status=202)

    async with HttpClient(await serve(stuck), request_timeout=0.2) as client:
        with pytest.raises(CallTimeout, match=r"no answer within 0\.2s"):
            await client.send(decline_call(), stream_id="s")


async def test_closing_stops_iteration_and_the_client_closes_open_streams(serve: Serve) -> None:
    hold = asyncio.Event()

    async def master(request: web.Request) -> web.StreamResponse:
        return await open_stream(request, [records(subscribed())], hold=hold)

    client = HttpClient(await serve(master))
    stream = await client.subscribe(subscribe_call())
    assert (await anext(stream)).type == Event.SUBSCRIBED
    waiter = asyncio.create_task(anext(stream))
    await asyncio.sleep(0)
    await client.close()
    with pytest.raises(StopAsyncIteration):
        await waiter
    assert stream.closed
    with pytest.raises(ConnectError, match="closed"):
        await client.send(decline_call())
    hold.set()


# -- authentication and the executor API ----------------------------------------


async def test_basic_auth_header(serve: Serve) -> None:
    seen: list[str] = []

    async def master(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Authorization", ""))
        if decode(Call, await request.read(), PB).type == Call.SUBSCRIBE:
            return await open_stream(request, [records(subscribed())])
        return web.Response(status=202)

    async with HttpClient(await serve(master), credentials=Credentials("fw-principal", "s3cret")) as client:
        await client.subscribe(subscribe_call())
        await client.send(decline_call(), stream_id=STREAM_ID)
    assert seen == ["Basic ZnctcHJpbmNpcGFsOnMzY3JldA=="] * 2
    assert "s3cret" not in repr(Credentials("p", "s3cret"))


async def test_401_with_challenge(serve: Serve) -> None:
    async def master(request: web.Request) -> web.StreamResponse:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="mesos-master-scheduler"'})

    async with HttpClient(await serve(master), credentials=Credentials("p", "wrong")) as client:
        with pytest.raises(Unauthorized):
            await client.subscribe(subscribe_call())


async def test_executor_client_with_bearer_token(serve: Serve) -> None:
    seen: list[tuple[str, str]] = []
    executor_event = executor_pb2.Event(type=executor_pb2.Event.SUBSCRIBED)
    executor_event.subscribed.executor_info.executor_id.value = "e1"
    executor_event.subscribed.executor_info.framework_id.value = "fw-1"
    executor_event.subscribed.framework_info.user = "u"
    executor_event.subscribed.framework_info.name = "n"
    executor_event.subscribed.agent_info.hostname = "h"
    executor_event.subscribed.container_id.value = "c1"

    async def agent(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, request.headers.get("Authorization", "")))
        call = decode(executor_pb2.Call, await request.read(), JSON)
        if call.type == executor_pb2.Call.SUBSCRIBE:
            data = recordio_encode(encode(executor_event, JSON))
            return await open_stream(request, [data], content_type=JSON.value, stream_id=None)
        return web.Response(status=202)

    url = await serve(agent)
    endpoint = Endpoint("http", "127.0.0.1", int(url.rsplit(":", 1)[1]))
    call = executor_pb2.Call(type=executor_pb2.Call.SUBSCRIBE)
    call.executor_id.value = "e1"
    call.framework_id.value = "fw-1"
    call.subscribe.SetInParent()
    async with HttpClient(
        endpoint,
        api_path="/slave(1)/api/v1/executor",
        content_type=JSON,
        event_type=executor_pb2.Event,
        token="jwt.token.here",
    ) as client:
        stream = await client.subscribe(call)
        assert stream.stream_id is None
        event = await anext(stream)
        assert isinstance(event, executor_pb2.Event)
        assert event.subscribed.container_id.value == "c1"
        message = executor_pb2.Call(type=executor_pb2.Call.MESSAGE)
        message.executor_id.value = "e1"
        message.framework_id.value = "fw-1"
        message.message.data = b"hi"
        await client.send(message)
    assert seen == [("/slave(1)/api/v1/executor", "Bearer jwt.token.here")] * 2


async def test_request_sends_raw_bytes_with_changed_headers(serve: Serve) -> None:
    seen: list[tuple[str, str | None, str | None, bytes]] = []

    async def master(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        seen.append(
            (request.method, request.headers.get("Content-Type"), request.headers.get("X-Probe"), body)
        )
        return web.Response(status=400, text="Expecting 'Content-Type' to be present")

    async with HttpClient(await serve(master)) as client:
        with pytest.raises(BadRequest, match="to TEARDOWN: Expecting 'Content-Type' to be present"):
            await client.request(b"{}", call_type="TEARDOWN", headers={"Content-Type": None, "X-Probe": "1"})
        with pytest.raises(BadRequest):
            await client.request(b"", method="GET")
    assert seen == [("POST", None, "1", b"{}"), ("GET", "application/x-protobuf", None, b"")]


async def test_long_error_bodies_arrive_whole(serve: Serve) -> None:
    text = "Failed to validate scheduler::Call: " + "x" * 1500

    async def master(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=400)
        response.content_type = "text/plain"
        await response.prepare(request)
        for i in range(0, len(text), 100):
            await response.write(text[i : i + 100].encode())
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    async with HttpClient(await serve(master)) as client:
        with pytest.raises(BadRequest) as info:
            await client.subscribe(subscribe_call())
    assert info.value.body == text


def test_credentials_and_token_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        HttpClient("m1:5050", credentials=Credentials("p", "s"), token="t")
    with pytest.raises(ConfigurationError):
        Credentials("a:b", "s")
    with pytest.raises(ConfigurationError):
        HttpClient("m1:5050", api_path="api")


async def test_retries_are_logged(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    attempts = 0

    async def master(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return web.Response(status=503, text="No leader elected")
        return await open_stream(request, [records(subscribed())])

    with caplog.at_level(logging.WARNING, logger="mesos_framework.transport.http"):
        async with HttpClient(await serve(master), backoff=quick_backoff()) as client:
            await client.subscribe(subscribe_call())
    assert "No leader elected" in caplog.text
    _ = mesos_pb2
