"""Bad wire input end to end (RecordIO, then decode()): each gives its typed error and a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.protocol import ContentType, RecordIODecoder, decode, mesos, recordio_encode

JSON = ContentType.JSON
PB = ContentType.PROTOBUF


def _decode_stream(stream: bytes, content_type: ContentType, *, max_record_size: int = 1 << 20) -> list[Any]:
    dec = RecordIODecoder(max_record_size=max_record_size)
    events = [decode(mesos.scheduler.Event, r, content_type) for r in dec.feed(stream)]
    dec.close()
    return events


BAD = [
    # (stream, content type, error type, message fragment)
    (
        recordio_encode(b'{"type":"HEARTBEAT"'),
        JSON,
        ProtocolError,
        "invalid JSON for mesos.v1.scheduler.Event",
    ),
    (recordio_encode(b"[1, 2]"), JSON, MessageError, "Event: expected a JSON object, got array"),
    (recordio_encode(b'{"type":7}'), JSON, MessageError, "Event.type: expected an enum name string"),
    (
        recordio_encode(b'{"type":"OFFERS","offers":{"offers":[{"id":{"value":1}}]}}'),
        JSON,
        MessageError,
        "Event.offers.offers[0].id.value: expected a JSON string, got number 1",
    ),
    (
        recordio_encode(
            b'{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNIN"}}}'
        ),
        JSON,
        MessageError,
        "Event.update.status.state: unknown enum value 'TASK_RUNNIN'",
    ),
    (
        recordio_encode(b'{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"}}}}'),
        JSON,
        MessageError,
        "Event.update.status.state: required field is missing",
    ),
    (
        recordio_encode(
            b'{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING",'
            b'"uuid":"W_48TZ8q"}}}'
        ),
        JSON,
        MessageError,
        "Event.update.status.uuid: invalid base64",
    ),
    (recordio_encode(b"\x08\x01\x12"), PB, ProtocolError, "cannot parse 3 bytes as mesos.v1.scheduler.Event"),
    (recordio_encode(b'{"type":"HEARTBEAT"}'), PB, ProtocolError, "cannot parse 20 bytes"),
    (
        b"20\n" + b'{"type":"HEART',
        JSON,
        ProtocolError,
        "stream ended inside a record: got 14 of 20 payload bytes",
    ),
    (b"20\r\n" + b'{"type":"HEARTBEAT"}', JSON, ProtocolError, "malformed RecordIO length prefix at byte 0"),
    (b"2000000\n{", JSON, ProtocolError, "announces 2000000 bytes, more than max_record_size=1048576"),
    (
        recordio_encode(b'{"type":"HEARTBEAT"}') + b"2",
        JSON,
        ProtocolError,
        "stream ended inside a length prefix b'2' (at byte 23)",
    ),
]


@pytest.mark.parametrize(("stream", "content_type", "error", "message"), BAD)
def test_bad_wire_input(
    stream: bytes, content_type: ContentType, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        _decode_stream(stream, content_type)
    assert message in str(info.value)


def test_good_stream_for_contrast() -> None:
    events = _decode_stream(recordio_encode(b'{"type":"HEARTBEAT","future_field":1}'), JSON)
    assert events == [mesos.scheduler.Event(type="HEARTBEAT")]
