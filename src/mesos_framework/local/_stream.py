"""An outgoing RecordIO event stream (scheduler, executor or operator)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from google.protobuf.message import Message

from mesos_framework import protocol
from mesos_framework.errors import MessageError
from mesos_framework.local import _codec

log = logging.getLogger(__name__)


def recordio(record: bytes) -> bytes:
    """Frame one record as ``<length>\\n<bytes>``."""
    return protocol.recordio_encode(record)


class EventStream:
    """Events queued for one open HTTP streaming response.

    The HTTP handler drains `queue`; ``None`` ends the response.
    ``on_lost`` runs once when the client goes away (not when we close).
    """

    def __init__(self, content_type: str, stream_id: str | None = None) -> None:
        self.id = stream_id or str(uuid.uuid4())
        self.content_type = content_type
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False
        self.on_lost: Callable[[], None] | None = None
        self.heartbeat: asyncio.Task[None] | None = None
        #: The message type of events given as dicts (operator API), for protobuf streams.
        self.dict_type: type[Message] | None = None

    def send(self, msg: Message) -> None:
        """Queue one event (dropped once the stream is closed)."""
        if not self.closed:
            self.queue.put_nowait(recordio(_codec.encode(msg, self.content_type)))

    def send_dict(self, obj: object) -> None:
        """Queue one event given as a dict in its JSON shape (operator API)."""
        if not self.closed:
            if self.dict_type is not None and self.content_type == _codec.PROTOBUF:
                try:
                    data = _codec.from_dict(self.dict_type, obj).SerializeToString()
                except MessageError:  # a bug here must not break the master's own work
                    log.exception("operator event does not fit %s", self.dict_type.DESCRIPTOR.full_name)
                    return
            else:
                data = _codec.encode_dict(obj)
            self.queue.put_nowait(recordio(data))

    def close(self) -> None:
        """End the response after the queued events."""
        if not self.closed:
            self.closed = True
            if self.heartbeat is not None:
                self.heartbeat.cancel()
            self.queue.put_nowait(None)

    def lost(self) -> None:
        """The client went away: mark closed and tell the owner once."""
        if self.closed:
            return
        self.closed = True
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        callback, self.on_lost = self.on_lost, None
        if callback is not None:
            callback()
