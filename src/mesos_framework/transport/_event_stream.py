"""`EventStream`: the decoded events of one ``SUBSCRIBE`` stream, read by a task or handed to a
sink as they arrive. `HttpClient.subscribe` (`mesos_framework.transport.http`) opens them."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self

from google.protobuf.message import Message
from typing_extensions import TypeVar

from mesos_framework.errors import MesosError, ProtocolError, StreamClosed, StreamDecodeError
from mesos_framework.protocol import ContentType, RecordIODecoder, decoder
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport._stream import BURST_REST, StreamResponse
from mesos_framework.transport.endpoint import Endpoint

__all__ = ["E", "EventStream"]

# The HTTP client's logger, as when this lived in `mesos_framework.transport.http`.
log = logging.getLogger("mesos_framework.transport.http")

#: The event class of a stream (scheduler ``Event`` unless an executor's).
E = TypeVar("E", bound=Message, default=scheduler_pb2.Event)


class EventStream(Generic[E]):
    """The events of one subscription, decoded.

    ``async for event in stream`` yields ``event_type`` messages until the
    stream ends; the end raises `StreamClosed` saying why (EOF, reset,
    undecodable data; the latter as `StreamDecodeError`). After
    `close()` iteration simply stops.
    """

    def __init__(
        self,
        response: StreamResponse,
        *,
        event_type: type[E],
        content_type: ContentType,
        leader: Endpoint,
        max_record_size: int,
        on_close: Callable[[EventStream[E]], None] | None = None,
    ) -> None:
        self._response = response
        response.rest = BURST_REST  # events come in bursts: one wake-up per burst
        self._event_type = event_type
        self._content_type = content_type
        self._decode = decoder(event_type, content_type)
        self._decoder = RecordIODecoder(max_record_size=max_record_size)
        self._pending: collections.deque[bytes] = collections.deque()
        self._closed = False
        self._error: StreamClosed | None = None
        self._on_close = on_close
        self._endpoint = leader
        #: The ``Mesos-Stream-Id`` of this subscription (``None`` on executor streams).
        self.stream_id: str | None = response.headers.get("mesos-stream-id")
        #: Base URL of the master/agent serving the stream, e.g. ``http://10.0.0.1:5050``.
        self.leader: str = leader.base_url
        #: How many events were yielded so far.
        self.events = 0
        self._sink: Callable[[E], bool] | None = None
        self._settle: Callable[[], None] | None = None
        self._returned: E | None = None  # an event the sink left to the reader
        self._failed: Exception | None = None  # what the stream or sink raised while handing over
        self._woken = False  # wake_reader() was called

    @property
    def endpoint(self) -> Endpoint:
        """The server of the stream as an `Endpoint`."""
        return self._endpoint

    @property
    def closed(self) -> bool:
        """True once the stream ended or was closed."""
        return self._closed or self._error is not None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        while True:
            event = await self.next_event()
            if event is not None:
                return event

    async def next_event(self) -> E | None:
        """The next event, waiting for it; ``None`` when the sink asked the reader to wake
        (`wake_reader()`).  Raises as iteration does: `StopAsyncIteration` after `close()`,
        `StreamClosed` (`StreamDecodeError`) when the stream ends or breaks."""
        response = self._response
        while True:
            returned = self._returned
            if returned is not None:
                self._returned = None
                return returned
            failed = self._failed
            if failed is not None:
                self._failed = None
                raise failed
            if self._woken:
                self._woken = False
                return None
            if self._closed:
                raise StopAsyncIteration
            if self._error is not None:
                raise self._error
            event = self._next_now()
            if event is not None:
                return event
            if response.ended:
                try:
                    response.raise_error()
                except (ProtocolError, OSError) as exc:
                    raise self._broken(exc) from exc
                self._end_of_stream()
            await response.wait()

    def _next_now(self) -> E | None:
        """The next event from what has arrived, without waiting; ``None`` until a whole one has."""
        pending = self._pending
        while not pending:
            data = self._response.take_all()
            if data is None:
                return None
            try:
                pending.extend(self._decoder.feed(data))
            except ProtocolError as exc:
                raise self._fail(
                    StreamDecodeError(f"event stream from {self.leader} is not valid RecordIO: {exc}"),
                    exc,
                ) from exc
        record = pending.popleft()
        try:
            event = self._decode(record)
        except MesosError as exc:
            raise self._fail(
                StreamDecodeError(
                    f"cannot decode event #{self.events + 1} from {self.leader} as "
                    f"{self._content_type.value}: {exc} (record starts {record[:60]!r})"
                ),
                exc,
            ) from exc
        self.events += 1
        return event

    def _broken(self, exc: BaseException) -> BaseException:
        if self._closed:
            return StopAsyncIteration()
        message = f"event stream from {self.leader} broke (connection reset): {exc!r}"
        return self._fail(StreamClosed(message), exc)

    # -- handing events over as they arrive ------------------------------------------------------

    def set_sink(self, sink: Callable[[E], bool] | None, settle: Callable[[], None] | None = None) -> None:
        """Hand the events that arrive while a reader waits to ``sink``, at once, in order.

        ``sink`` runs from the connection's callback, not from the reader's task, which saves
        the event loop an iteration and the reader a wake-up per burst of events. It returns
        True when it took the event, False to leave it (and every later one) to the reader; it
        may call `wake_reader()` to have the reader's `next_event()` return ``None`` (say, to
        await something before the next event). Whatever the stream or the sink raises is
        raised by the reader's next `next_event()`. ``None`` ends the handing over. ``settle``
        is called after each pass that handed events to the sink (say, to write the calls the
        sink gathered in one go).
        """
        self._sink = sink
        self._settle = settle if sink is not None else None
        self._response.on_data = self._arrived if sink is not None else None

    def wake_reader(self) -> None:
        """Make the waiting reader's `next_event()` return ``None`` (no later event goes to the sink
        until the reader waits again)."""
        self._woken = True
        self._response.wake()

    def _arrived(self) -> None:
        sink = self._sink
        try:
            while sink is not None and not self._woken:
                event = self._next_now()
                if event is None:
                    return  # the reader waits on
                if not sink(event):
                    self._returned = event
                    break
        except Exception as exc:  # the reader raises it, where it would have met it
            self._failed = exc
        finally:
            settle = self._settle
            if settle is not None:
                try:
                    settle()
                except Exception as exc:
                    self._failed = self._failed or exc
        self._response.wake()

    def _end_of_stream(self) -> None:
        try:
            self._decoder.close()
        except ProtocolError as exc:
            raise self._fail(
                StreamDecodeError(f"event stream from {self.leader} ended inside a record: {exc}"), exc
            ) from exc
        raise self._fail(StreamClosed(f"event stream from {self.leader} ended (EOF from the peer)"), None)

    def _fail(self, error: StreamClosed, cause: BaseException | None) -> StreamClosed:
        error.__cause__ = cause
        self._error = error
        self._release()
        log.info("%s", error)
        return error

    def _release(self) -> None:
        self._response.close()
        if self._on_close is not None:
            self._on_close(self)
            self._on_close = None

    async def close(self) -> None:
        """Close the stream's connection; iteration stops (idempotent)."""
        if not self._closed:
            self._closed = True
            self._release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<EventStream {self.leader} stream_id={self.stream_id} {state} events={self.events}>"
