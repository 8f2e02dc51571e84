"""The stream connection: one HTTP/1.1 request whose answer is read as it arrives.

A ``SUBSCRIBE`` is answered by a chunked body that lasts as long as the
subscription.  This module sends the request on a connection of its own and
hands out the body's chunks as they come (``httptools`` decodes the chunked
framing, as it parses the answers on the calls connection).  It needs no
general HTTP client: a plain-HTTP scheduler loads neither aiohttp nor an SSL
context (building one reads the system's CA certificates: tens of
milliseconds), and the stream costs no per-chunk machinery it does not use.

Reading is flow-controlled: once more than `HIGH_WATER` bytes wait unread,
the socket is paused until the reader has taken them.  The socket is read
into one buffer of the connection's (`READ_BUFFER` bytes, an
`asyncio.BufferedProtocol`): asyncio's plain ``recv`` would allocate (and,
above the allocator's mmap threshold, map and unmap) 256 KiB per read.
"""

from __future__ import annotations

import asyncio
import collections
import math
import ssl
from collections.abc import Callable, Mapping
from typing import cast

import httptools

from mesos_framework.errors import ProtocolError, TLSError
from mesos_framework.transport._calls import Resolver, _decoded, _header_dict, open_connection
from mesos_framework.transport.endpoint import Endpoint

__all__ = ["BURST_REST", "HIGH_WATER", "READ_BUFFER", "StreamResponse", "open_stream"]

#: Unread bytes above which the socket stops being read.
HIGH_WATER = 4 * 1024 * 1024
#: The size of a connection's read buffer (the most one read of the socket takes).
READ_BUFFER = 256 * 1024
#: How long an event stream rests after a read that came in a burst (less than twice this long
#: after the previous read): its socket is not read meanwhile, so that the next read takes all
#: that arrived in between. A busy master sends a few events at a time, each a wake-up of the
#: process; resting makes it one wake-up per burst, for events handled at most this much later.
BURST_REST = 0.005


class StreamResponse(asyncio.BufferedProtocol):
    """The answer to one request: status and headers once they arrived, then the body in chunks.

    ``headers`` has lower-case names.  `read_chunk()` returns the body's next
    piece, ``None`` at its end, and raises `ConnectionResetError` when the
    connection ends before the body did.
    """

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._head: asyncio.Future[None] = self._loop.create_future()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._done = False  # the body is complete
        self._error: Exception | None = None
        self._header_list: list[tuple[bytes, bytes]] = []  # as read
        self.status = 0
        self.headers: dict[str, str] = {}
        self.closed = False
        self._buffer = memoryview(bytearray(READ_BUFFER))
        #: Called (after the bytes at hand were parsed) when body data arrived while a reader
        #: waits in `wait()`: the reader's owner may take the data at once (`take_chunk()`)
        #: instead of waking the reader, which costs an iteration of the event loop.
        self.on_data: Callable[[], None] | None = None
        self._arrived = False  # body data came in the bytes being parsed
        self._interrupted = False  # wake() was called: wait() returns without data
        #: Rest this long after a read that came in a burst (`BURST_REST`); 0: never rest.
        self.rest = 0.0
        self._resting = False
        self._last_read = -math.inf

    # -- the answer ------------------------------------------------------------

    @property
    def content_type(self) -> str:
        """The media type of the body without parameters, lower case (``""`` if none)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    async def read_chunk(self) -> bytes | None:
        """The next piece of the body; ``None`` once it ended."""
        while True:
            chunk = self.take_chunk()
            if chunk is not None:
                return chunk
            if self.ended:
                self.raise_error()
                return None
            await self.wait()

    def take_chunk(self) -> bytes | None:
        """The next piece of the body that has arrived, without waiting; ``None`` if none has."""
        if not self._chunks:
            return None
        chunk = self._chunks.popleft()
        self._taken(len(chunk))
        return chunk

    def take_all(self) -> bytes | None:
        """All of the body that has arrived, as one piece, without waiting; ``None`` if none has.

        For a reader that parses what arrives as one stream (RecordIO): one call per read of
        the socket, not one per chunk (Mesos sends each event as a chunk of its own).
        """
        chunks = self._chunks
        if not chunks:
            return None
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._taken(len(data))
        return data

    def _taken(self, size: int) -> None:
        """``size`` bytes of the body were taken: reading resumes once half the backlog is gone."""
        self._buffered -= size
        if self._paused and self._buffered <= HIGH_WATER // 2 and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    @property
    def ended(self) -> bool:
        """True once the body is complete, the connection closed or the answer broke (chunks
        may still wait; `raise_error()` tells whether it broke)."""
        return self._done or self.closed or self._error is not None

    def raise_error(self) -> None:
        """Raise what broke the answer (`ProtocolError`, `ConnectionResetError`), if anything did."""
        if self._error is not None:
            raise self._error

    async def wait(self) -> None:
        """Wait until more of the body, its end, an error or `wake()` (return at once if any is there)."""
        if self._chunks or self.ended:
            return
        if self._interrupted:
            self._interrupted = False
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None
            self._interrupted = False

    def wake(self) -> None:
        """Make the reader's `wait()` return (now, or at once next time if none waits)."""
        self._interrupted = True
        self._wake()

    async def read_limited(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the body (an error page); what arrived if the connection breaks.

        A ``gzip``/``deflate`` body is decoded (Mesos may compress error pages).
        """
        data = bytearray()
        try:
            while len(data) < limit:
                chunk = await self.read_chunk()
                if chunk is None:
                    break
                data += chunk
        except OSError:
            pass
        from mesos_framework.transport._calls import Response  # noqa: PLC0415 - a dataclass, loaded

        body = bytes(data[:limit])
        try:
            return _decoded(Response(self.status, self.headers, body), _NOWHERE, "").body
        except ProtocolError:
            return body

    def close(self) -> None:
        """Close the connection (idempotent); reading then ends."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()
        self._wake()

    # -- asyncio.BufferedProtocol -------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any transport of the running loop (asyncio's or uvloop's, which does not subclass it).
        self._transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        # httptools hands out copies (`on_body`), so the buffer is free again on return.
        self.data_received(self._buffer[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        if self.rest and not self._resting:
            self._rest_if_busy()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - never asked for
            self._fail(ProtocolError("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ProtocolError(f"malformed HTTP answer: {exc}"))
        if self._arrived:
            # Once the bytes at hand are parsed: what on_data runs never runs inside httptools.
            self._arrived = False
            on_data = self.on_data
            waiter = self._waiter
            if on_data is not None and waiter is not None and not waiter.done():
                on_data()
            else:
                self._wake()

    def _rest_if_busy(self) -> None:
        """Stop reading the socket for `rest` seconds when this read came soon after the previous one."""
        now = self._loop.time()
        transport = self._transport
        if now - self._last_read < 2 * self.rest and transport is not None:
            self._resting = True
            transport.pause_reading()
            self._loop.call_later(self.rest, self._rested)
        self._last_read = now

    def _rested(self) -> None:
        self._resting = False
        if not self._paused and not self.closed and self._transport is not None:
            self._transport.resume_reading()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._head.done():
            if isinstance(exc, ssl.SSLError):  # e.g. TLS 1.3: our client certificate refused
                error: Exception = TLSError(f"TLS failed: {exc}")
                error.__cause__ = exc
            else:
                why = f": {exc!r}" if exc is not None else ""
                error = ConnectionResetError(f"the server closed the connection before answering{why}")
            self._head.set_exception(error)
        elif not self._done and self._error is None:
            if self._until_eof():
                self._done = True  # a body delimited by the end of the connection
            else:
                why = f": {exc!r}" if exc is not None else ""
                self._error = ConnectionResetError(f"the connection ended in the middle of the body{why}")
        self._wake()

    # -- httptools callbacks -------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_list.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer: the real one follows
            self._header_list = []
            return
        self.status = status
        self.headers = _header_dict(self._header_list)
        if not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.status == 0:  # pragma: no cover - the body of an interim answer
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if not self._paused and self._buffered > HIGH_WATER and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._arrived = True  # data_received wakes the reader (or calls on_data) once parsed

    def on_message_complete(self) -> None:
        if self.status == 0:
            return
        self._done = True
        self._wake()
        if self._transport is not None:
            self._transport.close()

    # -- internals -----------------------------------------------------------

    def _until_eof(self) -> bool:
        return "content-length" not in self.headers and "chunked" not in self.headers.get(
            "transfer-encoding", ""
        )

    def _fail(self, error: Exception) -> None:
        if not self._head.done():
            self._head.set_exception(error)
        elif self._error is None:
            self._error = error
        if self._transport is not None:
            self._transport.abort()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


_NOWHERE = Endpoint("http", "localhost", 0)


async def open_stream(
    endpoint: Endpoint,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float,
    resolver: Resolver | None = None,
) -> StreamResponse:
    """Send one request on a new connection; return the answer once its head arrived.

    Raises the typed errors of `open_connection()` when the connection cannot
    be made, `ConnectionResetError` when it ends before an answer, and
    `ProtocolError` for an answer that is not HTTP.  The caller closes the
    answer.
    """
    lines = [f"{method} {endpoint.prefix}{path} HTTP/1.1", f"Host: {endpoint.netloc}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ProtocolError(f"invalid HTTP header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    response = await open_connection(
        endpoint, StreamResponse, ssl_context=ssl_context, connect_timeout=connect_timeout, resolver=resolver
    )
    try:
        assert response._transport is not None
        response._transport.write(request)
        await response._head
    except BaseException:
        response.close()
        raise
    return response
