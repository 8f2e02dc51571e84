"""encode()/decode() for both content types, and ContentType."""

from __future__ import annotations

import pytest

from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.protocol import Builder, ContentType, decode, encode, mesos


def test_content_type_values() -> None:
    assert str(ContentType.JSON) == "application/json"
    assert str(ContentType.PROTOBUF) == "application/x-protobuf"
    assert ContentType("application/json") is ContentType.JSON


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/json", ContentType.JSON),
        ("application/json; charset=utf-8", ContentType.JSON),
        ("Application/X-Protobuf", ContentType.PROTOBUF),
    ],
)
def test_content_type_from_header(header: str, expected: ContentType) -> None:
    assert ContentType.from_header(header) is expected


@pytest.mark.parametrize("header", [None, "", "text/plain; charset=utf-8", "application/recordio"])
def test_content_type_from_header_rejects(header: str | None) -> None:
    with pytest.raises(ProtocolError, match="unexpected Content-Type"):
        ContentType.from_header(header)


def test_protobuf_round_trip_and_bytes() -> None:
    call = mesos.scheduler.Call(
        type="DECLINE", framework_id={"value": "f"}, decline={"offer_ids": [{"value": "o"}]}
    )
    data = encode(call, ContentType.PROTOBUF)
    assert data == call.SerializeToString()
    assert decode(mesos.scheduler.Call, data, ContentType.PROTOBUF) == call
    assert decode(mesos.scheduler.Call, bytearray(data)) == call
    assert decode(mesos.scheduler.Call, memoryview(data), "application/x-protobuf") == call


def test_json_encode_is_compact_stout_json() -> None:
    call = mesos.scheduler.Call(
        type="SUPPRESS", framework_id={"value": "MID-0003"}, suppress={"roles": ["analytics"]}
    )
    assert encode(call, ContentType.JSON) == (
        b'{"framework_id":{"value":"MID-0003"},"type":"SUPPRESS","suppress":{"roles":["analytics"]}}'
    )


def test_encode_checks_required_fields_in_both_encodings() -> None:
    call = mesos.scheduler.Call(type="SUBSCRIBE", subscribe={"framework_info": {"name": "x"}})
    for ct in ContentType:
        with pytest.raises(MessageError) as info:
            encode(call, ct)
        assert info.value.path == "Call.subscribe.framework_info.user"


def test_encode_accepts_a_builder() -> None:
    builder = Builder("mesos.TaskID").set_value("t")
    assert encode(builder) == mesos.TaskID(value="t").SerializeToString()
    assert encode(builder, "application/json") == b'{"value":"t"}'


def test_encode_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="protobuf message or a Builder"):
        encode({"value": "x"})


def test_unsupported_content_type() -> None:
    with pytest.raises(ProtocolError, match="unsupported content type 'text/plain'"):
        encode(mesos.TaskID(value="t"), "text/plain")
    with pytest.raises(ProtocolError, match="unsupported content type"):
        decode(mesos.TaskID, b"", "application/json; charset=utf-8")


def test_protobuf_decode_checks_required_fields() -> None:
    data = mesos.TaskStatus(task_id={"value": "t"}).SerializePartialToString()
    with pytest.raises(MessageError) as info:
        decode(mesos.TaskStatus, data)
    assert (info.value.path, info.value.reason) == ("TaskStatus.state", "required field is missing")


def test_protobuf_decode_of_garbage_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match=r"cannot parse 2 bytes as mesos.v1.scheduler.Event"):
        decode(mesos.scheduler.Event, b"\xff\xff")


def test_protobuf_unknown_fields_are_preserved() -> None:
    known = mesos.TaskID(value="t").SerializeToString()
    unknown = bytes([15 << 3 | 0, 7])  # field 15 (not in TaskID), varint 7
    msg = decode(mesos.TaskID, known + unknown)
    assert msg.value == "t"
    assert encode(msg) == known + unknown


def test_json_decode_is_lenient_by_default_and_strict_on_request() -> None:
    text = b'{"type":"HEARTBEAT","brand_new_field":{"x":1},"also_new":"NEW_ENUM"}'
    assert decode(mesos.scheduler.Event, text, ContentType.JSON).type == mesos.scheduler.Event.HEARTBEAT
    with pytest.raises(MessageError, match=r"unknown field '(also_new|brand_new_field)'"):
        decode(mesos.scheduler.Event, text, ContentType.JSON, strict=True)
    # A newer master's event type: optional enum, dropped, as Mesos would.
    event = decode(mesos.scheduler.Event, b'{"type":"SOMETHING_NEW"}', ContentType.JSON)
    assert not event.HasField("type")


def test_json_decode_errors() -> None:
    with pytest.raises(ProtocolError, match="invalid JSON"):
        decode(mesos.scheduler.Event, b'{"type":', ContentType.JSON)
    with pytest.raises(MessageError, match=r"^Event\.update\.status\.state: unknown enum value 'TASK_BOGUS'"):
        decode(
            mesos.scheduler.Event,
            b'{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_BOGUS"}}}',
            ContentType.JSON,
        )
