"""The calls connection: lean HTTP/1.1 keep-alive requests for non-streaming calls.

A scheduler sends one call per status update (``ACKNOWLEDGE``) plus one per
offer (``ACCEPT``/``DECLINE``): thousands of small ``POST``\\ s answered by an
empty ``202``.  A general HTTP client spends most of its time per request on
machinery these calls never use (cookie jars, URL objects, tracing hooks,
header multidicts, compression negotiation per request), which made each
call cost about 4x what the request itself needs.

This module keeps a few kept-alive connections per server and, per call,
writes one buffer (request head + body) and parses the answer with
``httptools`` (the llhttp parser in C, as used by uvicorn).  It is the
transport of `HttpClient.request`;
the long-lived ``SUBSCRIBE`` streams have connections of their own (``_stream``).

Nothing here knows about Mesos: `CallPool` answers a
`Response` (status, headers, body) or raises the library's typed
transport errors (`ConnectError`,
`TransportError`,
`ProtocolError`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import ssl
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar, cast

import httptools

from mesos_framework.errors import (
    CallTimeout,
    ConnectError,
    MesosError,
    ProtocolError,
    TLSError,
    TransportError,
)
from mesos_framework.transport.endpoint import Endpoint

__all__ = ["CallPool", "Response", "TLSError", "open_connection"]

log = logging.getLogger(__name__)

#: The size of a connection's read buffer (the most one read of the socket takes).
_READ_BUFFER = 64 * 1024

#: The longest the answers of a lazily read batch wait in the socket (seconds): they are read
#: at the pool's next `CallPool.read_answers()` (the caller is awake anyway) or after this.
LAZY_READ_WAIT = 0.5

#: The start of a plain ``202 Accepted`` answer, which `_Connection` takes without the parser.
_ACCEPTED = b"HTTP/1.1 202 Accepted\r\n"
_ACCEPTED_LEN = len(_ACCEPTED)

#: An injectable name lookup: ``(host, port) -> IP addresses``.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class Response:
    """A complete HTTP answer: status, headers (names lower case) and the decoded body.

    The headers may be given as read, ``(name, value)`` byte pairs: they are decoded
    into the dict only when asked for (most answers are a ``202`` read for its status).
    """

    __slots__ = ("_headers", "_raw", "body", "status")

    def __init__(self, status: int, headers: dict[str, str] | list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.body = body
        if isinstance(headers, dict):
            self._headers: dict[str, str] | None = headers
            self._raw: list[tuple[bytes, bytes]] = []
        else:
            self._headers = None
            self._raw = headers

    @property
    def headers(self) -> dict[str, str]:
        """Header names in lower case; a header given twice has its values joined by ``", "``."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _header_dict(self._raw)
        return headers

    @property
    def content_type(self) -> str:
        """The media type of the body without parameters, lower case (``""`` if none)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (self.status, self.headers, self.body) == (other.status, other.headers, other.body)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Response(status={self.status!r}, headers={self.headers!r}, body={self.body!r})"


def _header_dict(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers as read (``(name, value)`` bytes) as a dict: names in lower case, repeats joined."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = headers.get(key)
        headers[key] = text if previous is None else f"{previous}, {text}"
    return headers


class _Closed(TransportError):
    """Internal: the connection ended before a complete answer.

    ``answered`` is False when not one byte of the answer had arrived, so a
    request written to a kept-alive connection the server had just closed
    may be sent again on a fresh one.
    """

    def __init__(self, message: str, *, answered: bool, cause: Exception | None) -> None:
        super().__init__(message)
        self.answered = answered
        self.cause = cause


Answer = Response | BaseException
"""One request's answer: its `Response`, or what took its place (`_Closed`, a parse error)."""


class _Batch:
    """Requests written together: their answers, in order, and one future for all of them
    (one wake-up per batch, not a future and a callback per request), or instead a function
    called with them (a batch written without waiting, see `CallPool.request_nowait`)."""

    __slots__ = ("answers", "count", "deadline", "done", "future", "lazy")

    def __init__(
        self,
        future: asyncio.Future[list[Answer]] | None,
        count: int,
        *,
        lazy: bool = False,
        done: Callable[[list[Answer]], None] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.future = future
        self.count = count
        self.lazy = lazy
        self.done = done
        self.deadline = deadline
        self.answers: list[Answer] = []

    def add(self, answer: Answer) -> bool:
        """Take the next answer; True once every request of the batch has one."""
        self.answers.append(answer)
        return len(self.answers) >= self.count

    def resolve(self) -> None:
        done = self.done
        if done is not None:
            self.done = None
            try:
                done(self.answers)
            except Exception:  # the caller's bug must not break the connection's reading
                log.exception("handling the answers of %d pipelined call(s) failed", self.count)
        elif self.future is not None and not self.future.done():
            self.future.set_result(self.answers)


class _Connection(asyncio.BufferedProtocol):
    """One HTTP/1.1 connection; requests may be pipelined, answers arrive in their order.

    The socket is read into a buffer of the connection's (asyncio's plain ``recv`` allocates
    256 KiB per read, which costs more than parsing a short answer).

    Batches sent ``lazy`` are read lazily: while only such batches wait for answers, reading
    is paused. Mesos answers each pipelined call with a packet of its own, and reading each as
    it arrives wakes the process once per call. The answers wait in the socket until the pool's
    `CallPool.read_answers()` (called when the process is awake for another reason) or the
    next tick, every `LAZY_READ_WAIT` while lazy answers are due, whichever comes first; the
    tick also fails the calls when the oldest lazy batch is past its ``timeout``. A lazy
    batch written when the tick is near does the tick's work at once and moves the tick on, so
    a process kept busy by other events never wakes for the tick alone. A batch
    that is not lazy has its answers read as they arrive, and so the lazy ones before it.
    ``paused`` is the pool's set of connections whose reading is paused.
    """

    def __init__(self, paused: set[_Connection], endpoint: Endpoint) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiters: collections.deque[_Batch] = collections.deque()
        self._headers: list[tuple[bytes, bytes]] = []  # as read; decoded only if asked for
        self._body: list[bytes] = []
        self._status = 0
        self._headers_done = False
        self._answered = False  # some of the oldest waiting request's answer has arrived
        self.keep_alive = True
        self.closed = False
        self.used = 0  # requests sent on this connection
        self._buffer = memoryview(bytearray(_READ_BUFFER))
        self._paused = paused  # the pool's: this connection is in it while its reading is paused
        self._endpoint = endpoint
        self._eager = 0  # batches waiting whose answers are read as they arrive (not lazy)
        self._keep_reading = False  # read_answers(eager=True): read on until nothing is due
        self._draining = False  # resumed by the tick; not paused again before it has read
        self._timer: asyncio.TimerHandle | None = None  # the tick, while lazy answers are due
        self._accepted_head = b""  # the headers of the last plain 202 taken, and its answer
        self._accepted = Response(202, {}, b"")

    # -- asyncio.Protocol --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any transport of the running loop (asyncio's or uvloop's, which does not subclass it).
        self._transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        # httptools hands out copies (`on_body`), so the buffer is free again on return.
        self.data_received(self._buffer[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        if not self._waiters:
            # Bytes nobody asked for: the connection is out of step; drop it.
            self.close()
            return
        if not self._answered and data[:_ACCEPTED_LEN] == _ACCEPTED:
            raw = bytes(data)
            taken = self._take_accepted(raw)
            data = raw[taken:] if taken else raw
            if data and not self._waiters:
                self.close()
                return
        try:
            if data:
                self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail_all(ProtocolError(f"malformed HTTP answer: {exc}"))
            self.close()
            return
        self._draining = False
        if not self._waiters:
            self._keep_reading = False
            self._stop_tick()
        elif not self._eager and not self._keep_reading and not self.closed:
            self._pause()  # what arrived was read; the rest waits for the next read_answers()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_tick()
        self._unpause()
        self._eager = 0
        if not self._waiters:
            return
        if self._headers_done and self._until_eof():
            self._finish()  # a body delimited by the end of the connection
        why = f": {exc!r}" if exc is not None else ""
        answered = self._answered
        while self._waiters:
            batch = self._waiters.popleft()
            done = False
            while not done:
                if answered:
                    message = f"the server closed the connection in the middle of its answer{why}"
                else:
                    message = f"the server closed the connection before answering{why}"
                done = batch.add(_Closed(message, answered=answered, cause=exc))
                answered = False
            batch.resolve()

    # -- httptools callbacks -------------------------------------------------

    def on_message_begin(self) -> None:
        self._answered = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._headers_done = True
        self.keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer: the real one follows
            self._headers = []
            self._headers_done = False
            return
        self._finish()

    # -- requests ------------------------------------------------------------

    def send(self, data: bytes, count: int = 1, *, lazy: bool = False) -> asyncio.Future[list[Answer]]:
        """Write ``count`` requests (already joined in ``data``); a future of their answers, in order.

        With ``lazy`` the answers are read only at the pool's next `CallPool.read_answers()` or
        the next tick (see the class).
        """
        future: asyncio.Future[list[Answer]] = asyncio.get_running_loop().create_future()
        self._write(data, _Batch(future, count, lazy=lazy))
        return future

    def send_then(
        self, data: bytes, count: int, done: Callable[[list[Answer]], None], timeout: float
    ) -> None:
        """Write ``count`` requests, read lazily; ``done`` is called with their answers, in order
        (with errors in place of those still due when the oldest waited over ``timeout`` s)."""
        deadline = asyncio.get_running_loop().time() + timeout
        self._write(data, _Batch(None, count, lazy=True, done=done, deadline=deadline))

    def _write(self, data: bytes, batch: _Batch) -> None:
        assert self._transport is not None
        self._waiters.append(batch)
        self.used += batch.count
        self._transport.write(data)
        if not batch.lazy:
            self._eager += 1
            self._unpause()
        elif not self._eager and not self._keep_reading and not self._draining:
            timer = self._timer
            if timer is not None and self in self._paused:
                loop = asyncio.get_running_loop()
                if timer.when() - loop.time() < LAZY_READ_WAIT / 2:
                    # Awake anyway and the tick is near: its work now, and the tick moves on (a
                    # busy process then never wakes for the tick alone).
                    timer.cancel()
                    self._tick()
                    return
            self._pause()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(LAZY_READ_WAIT, self._tick)

    def _pause(self) -> None:
        if self not in self._paused and self._transport is not None:
            self._paused.add(self)
            self._transport.pause_reading()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(LAZY_READ_WAIT, self._tick)

    def _unpause(self) -> None:
        if self in self._paused:
            self._paused.discard(self)
            if self._transport is not None and not self.closed:
                self._transport.resume_reading()

    def _stop_tick(self) -> None:
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def _tick(self) -> None:
        """Every `LAZY_READ_WAIT` while answers are due: read what waits; fail the calls when the
        oldest lazy batch is past its deadline."""
        self._timer = None
        if self.closed or not self._waiters:
            self._unpause()
            return
        loop = asyncio.get_running_loop()
        # The oldest batch past its deadline fails them all: later answers would be out of step.
        oldest = self._waiters[0]
        if oldest.lazy and oldest.deadline is not None and loop.time() > oldest.deadline:
            due = sum(batch.count - len(batch.answers) for batch in self._waiters)
            self._fail_all(CallTimeout(f"{due} pipelined call(s) to {self._endpoint}: no answer in time"))
            self.abort()
            return
        self._draining = self in self._paused
        self._unpause()
        self._timer = loop.call_later(LAZY_READ_WAIT, self._tick)

    def resume(self, *, eager: bool = False) -> None:
        """Read the answers waiting in the socket (a lazily read batch's); with ``eager`` read
        the rest of them too as they arrive (someone waits for this connection)."""
        if eager and self._waiters:
            self._keep_reading = True
        self._unpause()

    def close(self) -> None:
        self.closed = True
        self._stop_tick()
        self._unpause()
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self.closed = True
        self._stop_tick()
        self._unpause()
        if self._transport is not None:
            self._transport.abort()

    def _take_accepted(self, data: bytes) -> int:
        """Take the plain ``202 Accepted`` answers at the start of ``data`` (Mesos answers every
        call it accepted with one: the status line, ``Date`` and ``Content-Length: 0``) without
        the parser's callbacks; the number of bytes taken. Anything else, or an answer not
        complete yet, is left to the parser."""
        pos = 0
        while self._waiters and data.startswith(_ACCEPTED, pos):
            end = data.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = data[pos + _ACCEPTED_LEN : end]
            if head != self._accepted_head:  # answers of the same second are alike: one object
                headers: list[tuple[bytes, bytes]] = []
                empty = False
                for line in head.split(b"\r\n"):
                    if line == b"Content-Length: 0":
                        headers.append((b"Content-Length", b"0"))
                        empty = True
                    elif line.startswith(b"Date: "):
                        headers.append((b"Date", line[6:]))
                    else:
                        return pos
                if not empty:  # no length: the body would last until the end of the connection
                    return pos
                self._accepted_head = head
                self._accepted = Response(202, headers, b"")
            pos = end + 4
            self._deliver(self._accepted)
        return pos

    def _until_eof(self) -> bool:
        headers = _header_dict(self._headers)
        return "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "")

    def _finish(self) -> None:
        body = b"".join(self._body) if len(self._body) != 1 else self._body[0]
        response = Response(self._status, self._headers, body)
        self._headers = []
        self._body = []
        self._status = 0
        self._headers_done = False
        self._answered = False
        self._deliver(response)
        if not self.keep_alive:
            self.close()

    def _deliver(self, response: Response) -> None:
        """The oldest waiting request's answer."""
        if self._waiters:
            batch = self._waiters[0]
            if batch.add(response):
                self._waiters.popleft()
                if not batch.lazy:
                    self._eager -= 1
                batch.resolve()

    def _fail_all(self, error: Exception) -> None:
        self._eager = 0
        while self._waiters:
            batch = self._waiters.popleft()
            while not batch.add(error):
                pass
            batch.resolve()


class _Pipelined:
    """The answers of requests written by `CallPool.request_nowait`, handed to its ``done`` as
    responses or errors (the connection dropped when one failed).

    An object, not a closure: a batch's answers are read lazily, so what waits for them lives
    long enough to count for the garbage collector, and one object with slots weighs less
    than a closure's cells.
    """

    __slots__ = ("done", "endpoint", "lane", "method", "path")

    def __init__(
        self,
        lane: _Connection,
        method: str,
        endpoint: Endpoint,
        path: str,
        done: Callable[[list[Response | MesosError]], None],
    ) -> None:
        self.lane = lane
        self.method = method
        self.endpoint = endpoint
        self.path = path
        self.done = done

    def __call__(self, answers: list[Answer]) -> None:
        results, failed = CallPool._results(answers, self.method, self.endpoint, self.path)
        if failed and not self.lane.closed:
            self.lane.abort()
        self.done(results)


class CallPool:
    """Kept-alive HTTP/1.1 connections, at most ``limit`` per server, one request each at a time."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        limit: int,
        resolver: Resolver | None = None,
    ) -> None:
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._limit = limit
        self._resolver = resolver
        self._idle: dict[Endpoint, collections.deque[_Connection]] = {}
        self._slots: dict[Endpoint, asyncio.Semaphore] = {}
        self._busy: set[_Connection] = set()
        self._heads: dict[tuple[Endpoint, str, str, str | None], bytes] = {}
        self._paused: set[_Connection] = set()  # reading paused until read_answers() (lazy batches)
        self._lanes: dict[Endpoint, _Connection] = {}  # where request_nowait() pipelines its calls
        self._closed = False

    async def request(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        stream_id: str | None = None,
        cacheable: bool = False,
    ) -> Response:
        """Send one request to ``endpoint`` and return the complete answer.

        ``path`` is the path on the server (the endpoint's prefix is added);
        ``stream_id`` becomes the ``Mesos-Stream-Id`` header.  With
        ``cacheable`` the caller promises ``headers`` is always the same set,
        so the encoded request head is built once per server, path and stream
        id and reused (the body length is appended per call).  A request
        written to a kept-alive connection that the server closed before
        answering is sent once more on a new connection.
        """
        answer = (
            await self.request_many(
                endpoint, method, path, headers, [body], stream_id=stream_id, cacheable=cacheable
            )
        )[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def request_many(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        headers: Mapping[str, str],
        bodies: Sequence[bytes],
        *,
        stream_id: str | None = None,
        cacheable: bool = True,
        lazy: bool = False,
    ) -> list[Response | MesosError]:
        """Send several requests pipelined on one connection (one write); the answers in order.

        Each answer is a `Response` or the error that took its
        place: when the connection breaks after some answers, the rest are
        errors (their requests may or may not have been processed).  Errors
        that concern the whole batch (no connection, closed pool) are raised.
        Servers must answer pipelined requests in order, as HTTP/1.1 requires
        and both Mesos (libprocess) and aiohttp do. With ``lazy`` the answers
        are read at the next `read_answers()` or after `LAZY_READ_WAIT` (for
        calls whose answers nothing waits for at once, such as acknowledgements).
        """
        if self._closed:
            raise ConnectError("the client is closed")
        data = self._requests(
            endpoint, method, path, headers, bodies, stream_id=stream_id, cacheable=cacheable
        )
        slots = self._slots.get(endpoint)
        if slots is None:
            slots = self._slots[endpoint] = asyncio.Semaphore(self._limit)
        if slots.locked():
            self.read_answers(eager=True)  # waiting for a connection: a lazy batch must not hold it up
        async with slots:
            for attempt in (1, 2):
                conn = await self._connection(endpoint)
                reused = conn.used > 0
                self._busy.add(conn)
                try:
                    answers = await conn.send(data, len(bodies), lazy=lazy)
                    first = answers[0]
                    single = len(answers) == 1
                    if single and isinstance(first, BaseException) and not isinstance(first, _Closed):
                        raise first  # a single request's parse error is raised, as ever
                except BaseException:
                    conn.abort()  # cancelled, timed out or broken: answers may still come; never reuse
                    raise
                finally:
                    self._busy.discard(conn)
                if (
                    reused
                    and attempt == 1
                    and isinstance(first, _Closed)
                    and all(isinstance(a, _Closed) and not a.answered for a in answers)
                ):
                    conn.abort()
                    log.debug("kept-alive connection to %s was closed; sending again", endpoint)
                    continue
                results, failed = self._results(answers, method, endpoint, path)
                if conn.closed or self._closed or failed or len(results) != len(bodies):
                    conn.abort()
                else:
                    idle = self._idle.get(endpoint)
                    if idle is None:
                        idle = self._idle[endpoint] = collections.deque()
                    idle.append(conn)
                return results
        raise AssertionError("unreachable")  # pragma: no cover

    def request_nowait(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        headers: Mapping[str, str],
        bodies: Sequence[bytes],
        *,
        done: Callable[[list[Response | MesosError]], None],
        timeout: float,
        stream_id: str | None = None,
        cacheable: bool = True,
    ) -> bool:
        """Write requests now, pipelined on a connection already open to ``endpoint``; False
        (nothing written) when there is none, or the pool is closed.

        Nothing waits: the requests go out in the caller's own pass of the event loop, behind
        whatever the connection is already doing, and their answers are read lazily (see
        `request_many`). ``done`` is called with the answers, in order, each a `Response` or
        the error in its place (a `CallTimeout` for all that are due when the oldest got no
        answer within ``timeout`` seconds: the connection is then dropped). For calls that
        nobody awaits and that come one at a time, such as acknowledgements: writing each at
        once costs no task switch and no wait for the answers of the one before.
        """
        if self._closed:
            return False
        conn = self._lanes.get(endpoint)
        if conn is None or conn.closed:
            conn = None
            idle = self._idle.get(endpoint)
            while idle:
                if not idle[-1].closed:
                    conn = idle[-1]  # stays idle: other calls may pipeline behind these
                    break
                idle.pop()
            if conn is None:
                self._lanes.pop(endpoint, None)
                return False
            self._lanes[endpoint] = conn
        data = self._requests(
            endpoint, method, path, headers, bodies, stream_id=stream_id, cacheable=cacheable
        )
        conn.send_then(data, len(bodies), _Pipelined(conn, method, endpoint, path, done), timeout)
        return True

    @classmethod
    def _results(
        cls, answers: Sequence[Answer], method: str, endpoint: Endpoint, path: str
    ) -> tuple[list[Response | MesosError], bool]:
        """Each answer as a `Response` or the error in its place; True when some request failed."""
        results: list[Response | MesosError] = []
        failed = False
        for answer in answers:
            if type(answer) is Response and not answer.body:
                results.append(answer)  # a 202 without a body (every acknowledgement's answer)
                continue
            result = cls._result(answer, method, endpoint, path)
            failed = failed or not isinstance(result, Response)
            results.append(result)
        return results, failed

    def _requests(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        headers: Mapping[str, str],
        bodies: Sequence[bytes],
        *,
        stream_id: str | None,
        cacheable: bool,
    ) -> bytes:
        """The requests' bytes, one after the other, as written."""
        head = self._head(endpoint, method, path, headers, stream_id=stream_id, cacheable=cacheable)
        if len(bodies) == 1:
            return b"%s%d\r\n\r\n%s" % (head, len(bodies[0]), bodies[0])
        return b"".join([b"%s%d\r\n\r\n%s" % (head, len(body), body) for body in bodies])

    @staticmethod
    def _result(
        answer: Response | BaseException, method: str, endpoint: Endpoint, path: str
    ) -> Response | MesosError:
        what = f"{method} {endpoint.url(path)}"
        if isinstance(answer, Response):
            try:
                return _decoded(answer, endpoint, path)
            except ProtocolError as exc:
                return exc
        if isinstance(answer, _Closed):
            if isinstance(answer.cause, ssl.SSLError):  # e.g. TLS 1.3: our client certificate refused
                error: MesosError = TLSError(f"TLS with {endpoint} failed: {answer.cause}")
                error.__cause__ = answer.cause
                return error
            if answer.answered:
                return TransportError(f"{what}: answer cut off: {answer}")
            return ConnectError(f"{what} failed before an answer: {answer}")
        if isinstance(answer, MesosError):
            return answer
        raise answer  # not an HTTP failure: a bug or a cancellation, never swallowed

    def read_answers(self, *, eager: bool = False) -> None:
        """Read the answers of lazily sent batches now (the caller's process is awake anyway);
        with ``eager`` also the rest of them as they arrive (someone waits for them)."""
        if eager:
            for conn in [*self._busy, *self._lanes.values()]:
                conn.resume(eager=True)
        if self._paused:
            for conn in list(self._paused):
                conn.resume()

    async def close(self) -> None:
        """Close every connection (idempotent)."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        for conn in [*self._busy, *self._lanes.values()]:
            conn.abort()
        self._busy.clear()
        self._lanes.clear()

    # -- internals ----------------------------------------------------------

    def _head(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        headers: Mapping[str, str],
        *,
        stream_id: str | None,
        cacheable: bool,
    ) -> bytes:
        key = (endpoint, method, path, stream_id) if cacheable else None
        if key is not None:
            head = self._heads.get(key)
            if head is not None:
                return head
        lines = [f"{method} {endpoint.prefix}{path} HTTP/1.1", f"Host: {endpoint.netloc}"]
        fields = dict(headers)
        if stream_id is not None:
            fields["Mesos-Stream-Id"] = stream_id
        for name, value in fields.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise ProtocolError(f"invalid HTTP header {name!r}: {value!r}")
            lines.append(f"{name}: {value}")
        lines.append("Content-Length: ")
        head = "\r\n".join(lines).encode("latin-1")
        if key is not None:
            if len(self._heads) > 64:  # stream ids change on every resubscription
                self._heads.clear()
            self._heads[key] = head
        return head

    async def _connection(self, endpoint: Endpoint) -> _Connection:
        idle = self._idle.get(endpoint)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return await self._connect(endpoint)

    async def _connect(self, endpoint: Endpoint) -> _Connection:
        if endpoint.scheme == "https" and self._ssl is None:
            self._ssl = ssl.create_default_context()
        paused = self._paused
        return await open_connection(
            endpoint,
            lambda: _Connection(paused, endpoint),
            ssl_context=self._ssl,
            connect_timeout=self._connect_timeout,
            resolver=self._resolver,
        )


P = TypeVar("P", bound=asyncio.BaseProtocol)


async def open_connection(
    endpoint: Endpoint,
    protocol: Callable[[], P],
    *,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float,
    resolver: Resolver | None = None,
) -> P:
    """A new connection to ``endpoint`` (TLS with ``ssl_context`` if its scheme is ``https``).

    Tries each address ``resolver`` gives (or the host name as it is) in turn;
    raises `ConnectError` when none answers within ``connect_timeout`` and
    `TLSError` when the TLS handshake fails.  Sets ``TCP_NODELAY``.
    """
    loop = asyncio.get_running_loop()
    tls: ssl.SSLContext | None = None
    if endpoint.scheme == "https":
        tls = ssl_context if ssl_context is not None else ssl.create_default_context()
    hosts: Sequence[str] = [endpoint.host]
    if resolver is not None:
        try:
            hosts = await resolver(endpoint.host, endpoint.port)
        except OSError as exc:
            raise ConnectError(f"cannot connect to {endpoint}: {exc}") from exc
        if not hosts:
            raise ConnectError(f"cannot connect to {endpoint}: cannot resolve {endpoint.host!r}")
    last: Exception | None = None
    for host in hosts:
        try:
            async with asyncio.timeout(connect_timeout):
                transport, conn = await loop.create_connection(
                    protocol,
                    host,
                    endpoint.port,
                    ssl=tls,
                    server_hostname=endpoint.host if tls is not None else None,
                )
        except TimeoutError:
            last = ConnectError(f"cannot connect to {endpoint}: timed out after {connect_timeout:g}s")
            continue
        except ssl.SSLCertVerificationError as exc:
            raise TLSError(f"TLS certificate of {endpoint} not trusted: {exc.verify_message}") from exc
        except ssl.SSLError as exc:
            raise TLSError(f"TLS handshake with {endpoint} failed: {exc}") from exc
        except OSError as exc:
            last = ConnectError(f"cannot connect to {endpoint}: {exc}")
            continue
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn
    assert last is not None
    raise last


def _decoded(response: Response, endpoint: Endpoint, path: str) -> Response:
    if not response.body:  # e.g. every 202 of a call
        return response
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("identity", ""):
        return response
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ProtocolError(
            f"{endpoint.url(path)} answered with an unsupported Content-Encoding {encoding!r}"
        )
    try:
        if encoding == "deflate":
            try:
                body = zlib.decompress(response.body)
            except zlib.error:
                body = zlib.decompress(response.body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
        else:
            body = zlib.decompress(response.body, 16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise ProtocolError(f"{endpoint.url(path)} answered a corrupt {encoding} body: {exc}") from exc
    return Response(response.status, response.headers, body)
