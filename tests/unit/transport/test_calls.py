"""The calls connection (``HttpClient.request``/``send``) against scripted raw HTTP servers on 127.0.0.1.

Each server here is a plain asyncio TCP server that reads requests and writes
exactly the bytes a test gives it, so the faults an HTTP library would hide
(a kept-alive connection closed by the server, an answer cut in the middle,
garbage instead of a status line, an answer that never comes) can be injected.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from mesos_framework.errors import BadRequest, ConnectError, MesosError, ProtocolError, TransportError
from mesos_framework.protocol import encode
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport import CallTimeout, HttpClient, _calls
from mesos_framework.transport.endpoint import parse_endpoint

ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


def decline() -> scheduler_pb2.Call:
    call = scheduler_pb2.Call(type=scheduler_pb2.Call.DECLINE)
    call.framework_id.value = "fw-1"
    call.decline.offer_ids.add(value="offer-1")
    return call


@dataclass
class Request:
    connection: int
    head: bytes
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        lines = self.head.decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines if line)}


Answer = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    """Answers each request with ``answer(request, writer)``; records requests and connections."""

    answer: Answer
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request = Request(number, head[:-4], b"")
                length = int(request.headers.get("content-length", "0"))
                request.body = await reader.readexactly(length)
                self.requests.append(request)
                await self.answer(request, writer)
                if writer.is_closing():
                    return
        finally:
            writer.close()


StartServer = Callable[[Answer], Awaitable[RawServer]]


@pytest.fixture
async def raw_server() -> AsyncIterator[StartServer]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> RawServer:
        raw = RawServer(answer)
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        servers.append(server)
        raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return raw

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def reply(data: bytes, *, then_close: bool = False) -> Answer:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then_close:
            writer.close()

    return answer


async def test_calls_share_one_kept_alive_connection_and_send_exact_headers(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        for _ in range(5):
            assert await client.send(decline(), stream_id="stream-1") == b""
    assert server.connections == 1
    assert len(server.requests) == 5
    first = server.requests[0]
    assert first.head.startswith(b"POST /api/v1/scheduler HTTP/1.1\r\n")
    assert first.headers["content-type"] == "application/x-protobuf"
    assert first.headers["accept"] == "application/x-protobuf"
    assert first.headers["mesos-stream-id"] == "stream-1"
    assert first.headers["host"] == server.url.removeprefix("http://")
    assert first.body == encode(decline())


async def test_a_kept_alive_connection_closed_by_the_server_is_replaced(raw_server: StartServer) -> None:
    # The server answers and then closes without saying so (no "Connection: close"),
    # as servers do after their keep-alive timeout: the next call must still go through.
    server = await raw_server(reply(ACCEPTED, then_close=True))
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
        await client.send(decline(), stream_id="s")
    assert [r.connection for r in server.requests] == [1, 2]


async def test_a_request_lost_on_a_stale_connection_is_sent_once_more(raw_server: StartServer) -> None:
    answered = 0

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        if request.connection == 1 and answered == 1:
            writer.close()  # the second request on connection 1 is dropped unanswered
            return
        answered += 1
        writer.write(ACCEPTED)
        await writer.drain()

    server = await raw_server(answer)
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        await client.send(decline(), stream_id="s")
    assert [r.connection for r in server.requests] == [1, 1, 2]
    assert answered == 2


async def test_a_fresh_connection_closed_before_an_answer_is_not_resent(raw_server: StartServer) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await raw_server(answer)
    async with HttpClient(server.url) as client:
        with pytest.raises(ConnectError, match="failed before an answer"):
            await client.send(decline(), stream_id="s")
    assert len(server.requests) == 1


async def test_an_answer_cut_off_is_a_transport_error(raw_server: StartServer) -> None:
    server = await raw_server(
        reply(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100\r\n\r\nFailed to", then_close=True)
    )
    async with HttpClient(server.url) as client:
        with pytest.raises(TransportError, match="answer cut off") as info:
            await client.send(decline(), stream_id="s")
    assert not isinstance(info.value, ConnectError)


async def test_garbage_instead_of_http_is_a_protocol_error(raw_server: StartServer) -> None:
    server = await raw_server(reply(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
    async with HttpClient(server.url) as client:
        with pytest.raises(ProtocolError, match="malformed HTTP answer"):
            await client.send(decline(), stream_id="s")


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdef", id="until-eof"),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef", id="interim"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
            % (len(zlib.compress(b"abcdef")), zlib.compress(b"abcdef")),
            id="deflate",
        ),
    ],
)
async def test_answer_bodies_in_every_http_framing(raw_server: StartServer, answer: bytes) -> None:
    server = await raw_server(reply(answer, then_close=b"Connection: close" in answer))
    async with HttpClient(server.url) as client:
        assert await client.request(b"x", call_type="TEST") == b"abcdef"
        assert await client.request(b"y", call_type="TEST") == b"abcdef"


async def test_unknown_content_encoding_is_a_protocol_error(raw_server: StartServer) -> None:
    server = await raw_server(
        reply(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc")
    )
    async with HttpClient(server.url) as client:
        with pytest.raises(ProtocolError, match="unsupported Content-Encoding 'br'"):
            await client.request(b"x")


async def test_a_timed_out_call_never_leaves_its_late_answer_to_the_next_call(
    raw_server: StartServer,
) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.body == b"slow":
            await asyncio.sleep(2.0)
            body = b"late"
        else:
            body = b"fast"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n" + body)
        await writer.drain()

    server = await raw_server(answer)
    async with HttpClient(server.url, request_timeout=0.5) as client:
        with pytest.raises(CallTimeout, match=r"no answer within 0\.5s"):
            await client.request(b"slow")
        assert await client.request(b"quick") == b"fast"
    assert [r.connection for r in server.requests] == [1, 2]


@pytest.mark.parametrize("connections", [1, 3])
async def test_call_connections_bounds_the_calls_in_flight(raw_server: StartServer, connections: int) -> None:
    in_flight = peak = 0

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.2)  # long enough for every connection to be opened and in use
        in_flight -= 1
        writer.write(ACCEPTED)
        await writer.drain()

    server = await raw_server(answer)
    async with HttpClient(server.url, call_connections=connections) as client:
        await asyncio.gather(*(client.send(decline(), stream_id="s") for _ in range(9)))
    assert peak == connections
    assert server.connections == connections
    assert len(server.requests) == 9


async def test_a_stream_id_that_would_inject_a_header_is_refused(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        with pytest.raises(ProtocolError, match="invalid HTTP header 'Mesos-Stream-Id'"):
            await client.send(decline(), stream_id="s\r\nX-Evil: 1")
    assert server.requests == []


async def test_a_closed_client_refuses_calls(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    client = HttpClient(server.url)
    await client.send(decline(), stream_id="s")
    await client.close()
    with pytest.raises(ConnectError, match="closed"):
        await client.send(decline(), stream_id="s")


def answer_by_body(answers: dict[bytes, bytes]) -> Answer:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(answers.get(request.body, ACCEPTED))
        await writer.drain()

    return answer


def call(n: int) -> scheduler_pb2.Call:
    c = scheduler_pb2.Call(type=scheduler_pb2.Call.ACKNOWLEDGE)
    c.framework_id.value = "fw-1"
    c.acknowledge.agent_id.value = "a1"
    c.acknowledge.task_id.value = f"t{n}"
    c.acknowledge.uuid = bytes([n]) * 16
    return c


async def redirecting(raw_server: StartServer) -> tuple[RawServer, RawServer, bytes]:
    """A leader, and an old master that redirects ``call(1)`` to it (and answers the rest)."""
    leader = await raw_server(reply(ACCEPTED))
    moved = encode(call(1))
    location = leader.url.removeprefix("http:") + "/api/v1/scheduler"
    old = await raw_server(
        answer_by_body(
            {
                moved: b"HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                % location.encode()
            }
        )
    )
    return leader, old, moved


async def dropping_at_call_1(request: Request, writer: asyncio.StreamWriter) -> None:
    """Answers ``call(0)`` (and others), then drops the connection when ``call(1)`` comes."""
    if request.body == encode(call(1)):
        writer.close()
        return
    writer.write(ACCEPTED)
    await writer.drain()


async def test_send_many_pipelines_calls_on_one_connection_in_order(raw_server: StartServer) -> None:
    bad = encode(call(2))
    server = await raw_server(
        answer_by_body({bad: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 13\r\n\r\nUnknown agent"})
    )
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")  # learns the leader
        results = await client.send_many([call(n) for n in range(5)], stream_id="s")
    assert results[:2] == [b"", b""] and results[3:] == [b"", b""]
    assert isinstance(results[2], BadRequest)
    assert "to ACKNOWLEDGE: Unknown agent" in str(results[2])
    assert [r.body for r in server.requests[1:]] == [encode(call(n)) for n in range(5)]
    assert {r.connection for r in server.requests} == {1}
    assert all(r.headers["mesos-stream-id"] == "s" for r in server.requests)


@pytest.mark.parametrize("lazy", [False, True], ids=["read-at-once", "read-lazily"])
async def test_send_many_reports_the_calls_a_broken_connection_left_unanswered(
    raw_server: StartServer, lazy: bool
) -> None:
    # Lazily read (acknowledgements), the broken connection is seen within LAZY_READ_WAIT.
    server = await raw_server(dropping_at_call_1)
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        async with asyncio.timeout(30):
            results = await client.send_many([call(n) for n in range(3)], stream_id="s", lazy=lazy)
        assert results[0] == b""
        assert all(isinstance(r, ConnectError) and "failed before an answer" in str(r) for r in results[1:])
        assert await client.send(decline(), stream_id="s") == b""  # a new connection for the next call
    assert server.connections == 2


async def test_send_many_follows_a_redirect_for_the_call_that_got_it(raw_server: StartServer) -> None:
    leader, old, moved = await redirecting(raw_server)
    async with HttpClient(old.url) as client:
        await client.send(decline(), stream_id="s")
        assert await client.send_many([call(n) for n in range(3)], stream_id="s") == [b"", b"", b""]
        assert client.leader == leader.url
    assert [r.body for r in leader.requests] == [moved]


async def test_send_many_before_the_leader_is_known_sends_one_by_one(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        assert await client.send_many([call(n) for n in range(3)], stream_id="s") == [b""] * 3
    assert len(server.requests) == 3


async def test_send_many_on_a_closed_client_raises(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        await client.close()
        with pytest.raises(ConnectError, match="closed"):
            await client.send_many([call(n) for n in range(3)], stream_id="s")


# -- lazily read answers (acknowledgements) ---------------------------------------------------


def counted(answer: Answer, count: int) -> tuple[Answer, asyncio.Event]:
    """``answer``, and an event set once it answered ``count`` requests."""
    done = asyncio.Event()
    seen = 0

    async def wrapped(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        await answer(request, writer)
        seen += 1
        if seen >= count:
            done.set()

    return wrapped, done


async def landed(done: asyncio.Event) -> None:
    """Until ``done``, and a little longer for the answers' bytes to reach the client's socket."""
    async with asyncio.timeout(30):
        await done.wait()
    await asyncio.sleep(0.2)


def acks(count: int, client: HttpClient, *, lazy: bool = True) -> asyncio.Future[list[bytes | MesosError]]:
    return asyncio.ensure_future(client.send_many([call(n) for n in range(count)], stream_id="s", lazy=lazy))


async def test_lazy_answers_wait_in_the_socket_until_read_answers(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 60.0)
    answer, done = counted(reply(ACCEPTED), 4)
    server = await raw_server(answer)
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")  # learns the leader
        sending = acks(3, client)
        await landed(done)
        assert not sending.done()  # answered, but not read: nothing woke for the answers
        client.read_answers()
        async with asyncio.timeout(30):
            assert await sending == [b"", b"", b""]
    assert {r.connection for r in server.requests} == {1}


async def test_answers_not_lazy_are_read_as_they_arrive(raw_server: StartServer) -> None:
    answer, done = counted(reply(ACCEPTED), 4)
    server = await raw_server(answer)
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        sending = acks(3, client, lazy=False)
        await landed(done)
        assert sending.done()


async def test_lazy_answers_are_read_after_the_wait_without_read_answers(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        async with asyncio.timeout(30):
            assert await acks(3, client) == [b""] * 3


async def test_a_call_waiting_for_the_connection_reads_lazy_answers_at_once(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 60.0)
    answer, done = counted(reply(ACCEPTED), 3)
    server = await raw_server(answer)
    async with HttpClient(server.url, call_connections=1) as client:
        await client.send(decline(), stream_id="s")
        sending = acks(2, client)
        await landed(done)
        async with asyncio.timeout(30):  # not held up by the acknowledgements' 60 s
            assert await client.send(decline(), stream_id="s") == b""
            assert await sending == [b"", b""]
    assert {r.connection for r in server.requests} == {1}


# -- calls written without waiting (send_nowait: acknowledgements) --------------------------------


def nowait(
    client: HttpClient, calls: list[scheduler_pb2.Call]
) -> tuple[bool, asyncio.Future[list[bytes | MesosError]]]:
    """``client.send_nowait(calls)``: whether it wrote them, and a future of what ``done`` got."""
    answered: asyncio.Future[list[bytes | MesosError]] = asyncio.get_running_loop().create_future()
    written = client.send_nowait(calls, answered.set_result, stream_id="s")
    return written, answered


async def test_send_nowait_needs_an_open_calls_connection(raw_server: StartServer) -> None:
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        written, _ = nowait(client, [call(0)])
        assert not written  # no leader known, no connection: the caller sends otherwise
        await client.send(decline(), stream_id="s")
        written, answered = nowait(client, [call(1), call(2)])
        assert written
        async with asyncio.timeout(30):
            assert await answered == [b"", b""]
        await client.close()
        assert not nowait(client, [call(3)])[0]
    assert [r.body for r in server.requests[1:]] == [encode(call(1)), encode(call(2))]
    assert {r.connection for r in server.requests} == {1}


async def test_send_nowait_writes_in_the_callers_pass_and_reads_the_answers_lazily(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 60.0)
    answer, done = counted(reply(ACCEPTED), 4)
    server = await raw_server(answer)
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        # Three writes, one after the other, none waiting for the answers of the one before.
        futures = [nowait(client, [call(n)])[1] for n in range(3)]
        await landed(done)
        assert [r.body for r in server.requests[1:]] == [encode(call(n)) for n in range(3)]
        assert not any(f.done() for f in futures)  # answered, but not read: nothing woke for them
        client.read_answers()
        async with asyncio.timeout(30):
            assert await asyncio.gather(*futures) == [[b""], [b""], [b""]]


async def test_send_nowait_answers_are_read_within_the_lazy_wait(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 0.2)
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        async with asyncio.timeout(30):
            for n in range(3):  # the tick goes on while answers are due, and stops after
                assert await nowait(client, [call(n)])[1] == [b""]


async def test_a_call_behind_calls_written_without_waiting_is_answered_at_once(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 60.0)
    server = await raw_server(reply(ACCEPTED))
    async with HttpClient(server.url, call_connections=1) as client:
        await client.send(decline(), stream_id="s")
        _, acked = nowait(client, [call(0), call(1)])
        async with asyncio.timeout(30):  # pipelined behind them, not held up by their 60 s
            assert await client.send(decline(), stream_id="s") == b""
            assert await acked == [b"", b""]
        # A write behind an awaited call does not pause the reading that call waits for.
        sending = asyncio.ensure_future(client.send(decline(), stream_id="s"))
        await asyncio.sleep(0)
        _, later = nowait(client, [call(2)])
        async with asyncio.timeout(30):
            assert await sending == b""
            client.read_answers()
            assert await later == [b""]
    assert {r.connection for r in server.requests} == {1}


async def test_send_nowait_reports_errors_in_place_and_keeps_the_connection(raw_server: StartServer) -> None:
    bad = encode(call(1))
    server = await raw_server(
        answer_by_body({bad: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 13\r\n\r\nUnknown agent"})
    )
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        async with asyncio.timeout(30):
            results = await nowait(client, [call(0), call(1), call(2)])[1]
            assert results[0] == b"" and results[2] == b""
            assert isinstance(results[1], BadRequest) and "Unknown agent" in str(results[1])
            assert await nowait(client, [call(3)])[1] == [b""]
    assert {r.connection for r in server.requests} == {1}


async def test_send_nowait_reports_the_calls_a_broken_connection_left_unanswered(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 0.2)
    server = await raw_server(dropping_at_call_1)
    async with HttpClient(server.url) as client:
        await client.send(decline(), stream_id="s")
        async with asyncio.timeout(30):
            results = await nowait(client, [call(0), call(1), call(2)])[1]
        assert results[0] == b""
        assert all(isinstance(r, ConnectError) and "failed before an answer" in str(r) for r in results[1:])
        assert not nowait(client, [call(3)])[0]  # that connection is gone; none other is open
        assert await client.send(decline(), stream_id="s") == b""
        assert nowait(client, [call(4)])[0]  # the new one takes them
    assert server.connections == 2


async def answering_declines_only(request: Request, writer: asyncio.StreamWriter) -> None:
    """Answers ``decline()``; never anything else."""
    if request.body == encode(decline()):
        writer.write(ACCEPTED)
        await writer.drain()
    else:
        await asyncio.Event().wait()


async def test_send_nowait_gives_calls_no_answer_came_for_a_timeout(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 0.1)
    server = await raw_server(answering_declines_only)
    async with HttpClient(server.url, request_timeout=2.5) as client:
        await client.send(decline(), stream_id="s")
        written, answered = nowait(client, [call(0), call(1)])
        assert written
        async with asyncio.timeout(30):
            results = await answered
        assert all(isinstance(r, CallTimeout) and "no answer in time" in str(r) for r in results)
        assert await client.send(decline(), stream_id="s") == b""  # on a new connection
    assert server.connections == 2


async def test_send_nowait_follows_a_redirect_for_the_call_that_got_it(raw_server: StartServer) -> None:
    leader, old, moved = await redirecting(raw_server)
    async with HttpClient(old.url) as client:
        await client.send(decline(), stream_id="s")
        async with asyncio.timeout(30):
            assert await nowait(client, [call(n) for n in range(3)])[1] == [b"", b"", b""]
        assert client.leader == leader.url
    assert [r.body for r in leader.requests] == [moved]
    assert leader.requests[0].headers["mesos-stream-id"] == "s"


def test_send_nowait_is_off_when_the_request_timeout_is_too_short_for_lazy_reads() -> None:
    async def main() -> bool:
        async with HttpClient("127.0.0.1:1", request_timeout=4 * _calls.LAZY_READ_WAIT) as client:
            return client.send_nowait([call(0)], lambda _: None)

    assert asyncio.run(main()) is False


# -- Mesos's plain 202 answers, taken without the parser -------------------------------------------

MESOS_ACCEPTED = b"HTTP/1.1 202 Accepted\r\nDate: Fri, 04 Dec 2026 18:37:25 GMT\r\nContent-Length: 0\r\n\r\n"


async def pool_answers(server: RawServer, count: int) -> list[_calls.Response | MesosError]:
    pool = _calls.CallPool(ssl_context=None, connect_timeout=5, limit=1)
    try:
        endpoint = parse_endpoint(server.url)
        async with asyncio.timeout(30):
            return await pool.request_many(endpoint, "POST", "/api", {}, [b"x"] * count)
    finally:
        await pool.close()


@pytest.mark.parametrize("split", [None, 1, 30, 71, 75], ids=lambda s: f"split-{s}")
async def test_mesos_202_answers_keep_their_headers_however_they_arrive(
    raw_server: StartServer, split: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    on_header = _calls._Connection.on_header

    def counting(self: _calls._Connection, name: bytes, value: bytes) -> None:
        parsed.append(name)
        on_header(self, name, value)

    monkeypatch.setattr(_calls._Connection, "on_header", counting)

    # Three pipelined answers in one go, or cut anywhere (inside the status line, a header,
    # the blank line): each is a 202 with its headers, and the connection stays in step.
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if request is server.requests[-1] and len(server.requests) == 3:
            data = MESOS_ACCEPTED * 3
            if split is None:
                writer.write(data)
            else:
                writer.write(data[:split])
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(data[split:])
            await writer.drain()

    server = await raw_server(answer)
    answers = await pool_answers(server, 3)
    assert [a.status for a in answers if isinstance(a, _calls.Response)] == [202, 202, 202]
    assert all(
        isinstance(a, _calls.Response)
        and a.body == b""
        and a.headers == {"date": "Fri, 04 Dec 2026 18:37:25 GMT", "content-length": "0"}
        for a in answers
    )
    if split is None:
        assert parsed == []  # all three taken without the parser


async def test_mesos_202_answers_of_another_second_carry_their_own_date(raw_server: StartServer) -> None:
    later = MESOS_ACCEPTED.replace(b"18:37:25", b"18:37:26")

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 4:
            writer.write(MESOS_ACCEPTED + MESOS_ACCEPTED + later + MESOS_ACCEPTED)
            await writer.drain()

    server = await raw_server(answer)
    answers = await pool_answers(server, 4)
    assert [a.headers["date"][-12:] for a in answers if isinstance(a, _calls.Response)] == [
        "18:37:25 GMT",
        "18:37:25 GMT",
        "18:37:26 GMT",
        "18:37:25 GMT",
    ]


@pytest.mark.parametrize(
    "other",
    [
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhello",  # a body
        b"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",  # another header
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ],
    ids=["body", "other-header", "chunked"],
)
async def test_other_202_answers_go_through_the_parser(raw_server: StartServer, other: bytes) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 3:
            writer.write(MESOS_ACCEPTED + other + MESOS_ACCEPTED)
            await writer.drain()

    server = await raw_server(answer)
    answers = await pool_answers(server, 3)
    assert all(isinstance(a, _calls.Response) and a.status == 202 for a in answers)
    assert [a.body for a in answers if isinstance(a, _calls.Response)] == [
        b"",
        b"hello" if b"hello" in other else b"",
        b"",
    ]


async def test_a_202_without_a_length_lasts_until_the_connection_ends(raw_server: StartServer) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 202 Accepted\r\nDate: x\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    server = await raw_server(answer)
    answers = await pool_answers(server, 1)
    assert isinstance(answers[0], _calls.Response) and answers[0].body == b"all of it"


async def test_calls_written_all_the_time_still_time_out_when_never_answered(
    raw_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A write near the tick does the tick's work and moves the tick on: writes that keep
    # coming must not keep the oldest call's deadline from being checked.
    monkeypatch.setattr(_calls, "LAZY_READ_WAIT", 0.1)
    server = await raw_server(answering_declines_only)
    async with HttpClient(server.url, request_timeout=2.5) as client:
        await client.send(decline(), stream_id="s")
        written, first = nowait(client, [call(0)])
        assert written
        async with asyncio.timeout(30):
            n = 1
            while not first.done():
                await asyncio.sleep(0.03)
                if not nowait(client, [call(n % 200)])[0]:
                    break  # the connection was dropped: the answer is on its way
                n += 1
            results = await first
    assert isinstance(results[0], CallTimeout)
