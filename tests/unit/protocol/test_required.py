"""The wire-level required-field check (``_required`` + the C extension ``_wirecheck``).

Its contract is one-sided: ``True`` only if the message parsed from the bytes has every required
field (so ``IsInitialized()`` is true); ``False`` sends ``decode()`` to ``IsInitialized()``.
The tests hold it to that against ``IsInitialized()`` on generated, damaged and hand-made
messages, and check that it does answer ``True`` for complete messages (else it buys nothing).
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesos_framework.errors import MessageError
from mesos_framework.protocol import ContentType, decode, decoder, mesos
from mesos_framework.protocol import _required as required
from mesos_framework.protocol._compat import is_repeated, is_required
from tests.support.prereq import unavailable
from tests.unit.protocol.strategies import ALL_MESSAGE_CLASSES, messages


@pytest.fixture(autouse=True)
def _wirecheck_built() -> None:
    if not required.ACCELERATED:
        unavailable("the C extension _wirecheck was not built (no C compiler at install time)")


Event = mesos.scheduler.Event


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    tag = _varint(number << 3 | wire_type)
    return tag + (_varint(len(payload)) + payload if wire_type == 2 else payload)


def _update(state: int = 1, *, task: bytes = b"t1") -> bytes:
    """An UPDATE event written by hand, so that fields can be left out or misspelt."""
    task_id = _field(1, 2, task)  # TaskID.value
    status = _field(1, 2, task_id) + _field(2, 0, _varint(state)) + _field(5, 1, b"\0" * 8)
    update = _field(1, 2, status)  # Event.Update.status
    return _field(1, 0, _varint(Event.UPDATE)) + _field(5, 2, update)


def _required_fields(msg: Message) -> list[tuple[Message, str]]:
    """Every (sub-message, required field name) pair set in ``msg``."""
    found: list[tuple[Message, str]] = []
    for fd in msg.DESCRIPTOR.fields:
        if is_required(fd) and msg.HasField(fd.name):
            found.append((msg, fd.name))
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            values = list(value.values()) if fd.message_type.fields_by_name["value"].message_type else []
        elif is_repeated(fd):
            values = list(value)
        else:
            values = [value]
        for sub in values:
            found.extend(_required_fields(sub))
    return found


def test_the_extension_is_built_in_ci() -> None:
    # CI must measure and test the fast path, not silently fall back to the slow one.
    assert required.ACCELERATED, "the C extension _wirecheck is missing: was the package built with gcc?"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_complete_messages_are_proven_complete(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(ALL_MESSAGE_CLASSES))
    msg = data.draw(messages(cls))
    raw = msg.SerializeToString()
    assert required.complete_check(cls)(raw), f"{cls.DESCRIPTOR.full_name}: {msg}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_missing_required_field_is_never_called_complete(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(ALL_MESSAGE_CLASSES))
    msg = data.draw(messages(cls))
    present = _required_fields(msg)
    if not present:
        return
    holder, name = data.draw(st.sampled_from(present))
    holder.ClearField(name)
    raw = msg.SerializePartialToString()
    assert not required.complete_check(cls)(raw), f"{holder.DESCRIPTOR.full_name}.{name} was cleared"
    with pytest.raises(MessageError, match="required field is missing"):
        decode(cls, raw)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_bytes_are_never_called_complete_when_incomplete(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(ALL_MESSAGE_CLASSES))
    raw = bytearray(data.draw(messages(cls)).SerializeToString())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        at = data.draw(st.integers(0, len(raw)))
        if op == "flip" and at < len(raw):
            raw[at] ^= data.draw(st.integers(1, 255))
        elif op == "delete":
            del raw[at : at + data.draw(st.integers(1, 8))]
        elif op == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del raw[at:]
    complete = required.complete_check(cls)(bytes(raw))  # must not crash on any bytes
    try:
        parsed = cls.FromString(bytes(raw))
    except DecodeError:
        return
    if complete:
        assert parsed.IsInitialized(), f"{cls.DESCRIPTOR.full_name} {bytes(raw)!r}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_encoders_required_check_agrees_with_is_initialized(data: st.DataObject) -> None:
    # decode() asks upb's encoder, not IsInitialized(), whether a message it could not prove
    # complete from the wire has every required field: the two must always agree.
    from mesos_framework.protocol import codec

    cls = data.draw(st.sampled_from(ALL_MESSAGE_CLASSES))
    msg = data.draw(messages(cls))
    present = _required_fields(msg)
    clear: bool = data.draw(st.booleans())
    if present and clear:
        holder, name = data.draw(st.sampled_from(present))
        holder.ClearField(name)
    assert codec._has_required(msg) == msg.IsInitialized(), f"{cls.DESCRIPTOR.full_name}: {msg}"


def test_an_unknown_required_enum_value_fails_the_encoders_check() -> None:
    from mesos_framework.protocol import codec

    assert codec._has_required(Event.FromString(_update()))
    assert not codec._has_required(Event.FromString(_update(state=99)))  # kept aside, field unset


@given(st.binary(max_size=64))
def test_any_bytes_get_an_answer(raw: bytes) -> None:
    for cls in (Event, mesos.scheduler.Call, mesos.TaskStatus, mesos.Offer):
        assert required.complete_check(cls)(raw) in (True, False)


def test_the_benchmark_stream_is_proven_complete() -> None:
    from bench.decode import synthesise

    events = synthesise(0.3)
    assert {e.type for e in events} >= {Event.SUBSCRIBED, Event.OFFERS, Event.UPDATE, Event.HEARTBEAT}
    check = required.complete_check(Event)
    assert all(check(e.SerializeToString()) for e in events)


def test_a_hand_written_update_is_complete() -> None:
    raw = _update()
    assert required.complete_check(Event)(raw)
    assert decode(Event, raw).update.status.task_id.value == "t1"


def test_an_unknown_required_enum_value_is_missing() -> None:
    # The parser keeps an unknown value of a closed enum aside: TaskStatus.state stays unset.
    raw = _update(state=99)
    assert not required.complete_check(Event)(raw)
    assert not Event.FromString(raw).IsInitialized()
    with pytest.raises(MessageError, match=r"state") as err:
        decode(Event, raw)
    assert "required field is missing" in str(err.value)
    # A known value sent after it does set the field.
    both = _update(state=99) + _field(5, 2, _field(1, 2, _field(2, 0, _varint(1))))
    assert Event.FromString(both).IsInitialized()


def test_a_required_field_with_the_wrong_wire_type_is_missing() -> None:
    task_id = _field(1, 0, _varint(7))  # TaskID.value as a varint: an unknown field to the parser
    status = _field(1, 2, task_id) + _field(2, 0, _varint(1))
    raw = _field(1, 0, _varint(Event.UPDATE)) + _field(5, 2, _field(1, 2, status))
    assert not Event.FromString(raw).IsInitialized()
    assert not required.complete_check(Event)(raw)
    with pytest.raises(MessageError, match="value"):
        decode(Event, raw)


def test_a_sub_message_split_in_two_is_left_to_is_initialized() -> None:
    # The parser merges two occurrences of a singular message field; each half lacks a required
    # field the other has.  The wire check cannot prove that, IsInitialized() can: decode() works.
    half_1 = _field(1, 2, _field(1, 2, b"t1"))  # TaskStatus.task_id
    half_2 = _field(2, 0, _varint(1))  # TaskStatus.state
    update = _field(1, 2, half_1) + _field(1, 2, half_2)
    raw = _field(1, 0, _varint(Event.UPDATE)) + _field(5, 2, update)
    assert not required.complete_check(Event)(raw)
    assert decode(Event, raw).update.status.state == mesos.TASK_RUNNING


def test_unknown_fields_and_large_numbers_are_skipped() -> None:
    extra = _field(1000, 2, b"whatever") + _field(70000, 0, _varint(5)) + _field(9, 5, b"abcd")
    raw = _update() + extra
    assert required.complete_check(Event)(raw)
    assert decode(Event, raw).update.status.task_id.value == "t1"


def test_malformed_tails_are_not_complete() -> None:
    raw = _update()
    for cut in (b"\x80", b"\x0a\x05ab", b"\x0b", b"\x00\x01"):  # open varint, short, group, field 0
        assert not required.complete_check(Event)(raw + cut)


def test_deep_nesting_is_not_proven() -> None:
    # A self-referencing type nested deeper than the extension's recursion limit.
    cls = _dynamic_type("Node", "optional Node child = 1; required int32 value = 2;")
    node: Any = cls(value=1)
    inner = node
    for _ in range(150):
        inner.child.value = 1
        inner = inner.child
    raw = node.SerializeToString()
    check = required.complete_check(cls)
    assert not check(raw)  # deeper than the extension's limit: IsInitialized() decides
    shallow = cls(value=1)
    shallow.child.value = 2
    assert check(shallow.SerializeToString())


def test_types_without_required_fields_are_always_complete() -> None:
    assert required.tables(mesos.Filters.DESCRIPTOR) is None
    assert required.complete_check(mesos.Filters)(b"\x09" + b"\0" * 8)


def test_tables_list_only_what_can_reach_a_required_field() -> None:
    built = required.tables(mesos.TaskStatus.DESCRIPTOR)
    assert built is not None
    types, root = built
    fields = {f[0]: f for f in types[root]}
    state = mesos.TaskStatus.DESCRIPTOR.fields_by_name["state"]
    _, wire_type, bit, sub, enums = fields[state.number]
    assert (wire_type, sub) == (0, -1) and bit >= 0
    assert enums is not None and mesos.TASK_RUNNING in enums and 99 not in enums
    message = mesos.TaskStatus.DESCRIPTOR.fields_by_name["message"]  # optional string
    assert message.number not in fields


def test_unsupported_schemas_fall_back_to_is_initialized() -> None:
    with pytest.raises(required.Unsupported, match="extensions"):
        required.tables(descriptor_pb2.FieldOptions.DESCRIPTOR)
    check = required.complete_check(descriptor_pb2.FieldOptions)
    assert not check(b"")
    assert decode(descriptor_pb2.FieldOptions, b"") == descriptor_pb2.FieldOptions()


def test_decoder_and_decode_agree() -> None:
    for raw in (_update(), _update(state=99)):
        results = []
        for fn in (lambda r: decode(Event, r), decoder(Event), decoder(Event, ContentType.PROTOBUF)):
            try:
                results.append(fn(raw))
            except MessageError as exc:
                results.append(str(exc))
        assert results[0] == results[1] == results[2]


def test_decode_without_the_extension_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from mesos_framework.protocol import codec

    monkeypatch.setattr(required, "_wirecheck", None)
    monkeypatch.setattr(required, "_CHECKS", {})
    monkeypatch.setattr(codec, "_DECODERS", {})
    assert not required.complete_check(Event)(_update())
    assert decode(Event, _update()).update.status.task_id.value == "t1"
    with pytest.raises(MessageError, match="state"):
        decode(Event, _update(state=99))
    with pytest.raises(MessageError, match="state"):
        decoder(Event)(_update(state=99))
    assert required._CHECKS[Event] is required._never


@pytest.mark.parametrize(
    ("types", "root", "error"),
    [
        ((), 0, ValueError),
        (((),), 1, ValueError),
        ([()], 0, TypeError),
        ((((1, 0, -1, -1),),), 0, TypeError),
        ((((0, 0, 0, -1, None),),), 0, ValueError),
        ((((1, 3, 0, -1, None),),), 0, ValueError),
        ((((1, 0, 64, -1, None),),), 0, ValueError),
        ((((1, 0, 0, 1, None),),), 0, ValueError),
        ((((1, 0, 0, 0, None),),), 0, ValueError),
        ((((1, 0, 0, -1, ()),),), 0, TypeError),
        ((((1, 0, 0, -1, (2**31,)),),), 0, ValueError),
        ((((1, 0, 0, -1, None), (1, 2, -1, -1, None)),), 0, ValueError),
        ((((1, 0, 0, -1, None), (2, 2, 0, -1, None)),), 0, ValueError),
    ],
)
def test_the_extension_rejects_bad_tables(types: Any, root: int, error: type[Exception]) -> None:
    assert required._wirecheck is not None
    with pytest.raises(error):
        required._wirecheck.Checker(types, root)


def _dynamic_type(name: str, body: str) -> Any:
    """A proto2 message type made at run time from ``body`` (field declarations)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"test_required_{name}.proto", package="t", syntax="proto2"
    )
    msg = proto.message_type.add(name=name)
    labels = {"optional": 1, "required": 2, "repeated": 3}
    kinds = {"int32": 5, "string": 9}
    for number_decl in body.strip().rstrip(";").split(";"):
        label, kind, field_name, _, number = number_decl.split()
        field = msg.field.add(name=field_name, number=int(number), label=labels[label])
        if kind in kinds:
            field.type = kinds[kind]  # type: ignore[assignment]
        else:
            field.type = 11  # type: ignore[assignment]  # TYPE_MESSAGE
            field.type_name = f".t.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"t.{name}"))


def _offer_with_scalar(value_field: bytes) -> bytes:
    """An OFFERS event holding one offer with one SCALAR resource whose Scalar is ``value_field``."""
    resource = _field(1, 2, b"cpus") + _field(2, 0, _varint(mesos.Value.SCALAR)) + _field(3, 2, value_field)
    offer = (
        _field(1, 2, _field(1, 2, b"o1"))  # id
        + _field(2, 2, _field(1, 2, b"f1"))  # framework_id
        + _field(3, 2, _field(1, 2, b"a1"))  # agent_id
        + _field(4, 2, b"host")  # hostname
        + _field(5, 2, resource)  # resources
    )
    return _field(1, 0, _varint(Event.OFFERS)) + _field(3, 2, _field(1, 2, offer))


@pytest.mark.parametrize(
    ("value_field", "complete"),
    [
        (_field(1, 1, b"\0" * 8), True),  # Scalar.value: a double, fixed64 on the wire
        (_field(1, 5, b"\0" * 4), False),  # as fixed32: unknown to the parser
        (_field(1, 0, _varint(1)), False),  # as a varint
        (_field(1, 2, b"\0" * 8), False),  # as length-delimited bytes
    ],
)
def test_a_required_number_counts_only_with_its_wire_type(value_field: bytes, complete: bool) -> None:
    raw = _offer_with_scalar(value_field)
    assert Event.FromString(raw).IsInitialized() is complete
    assert required.complete_check(Event)(raw) is complete
    if not complete:
        with pytest.raises(MessageError, match="value"):
            decode(Event, raw)


def test_a_required_enum_sent_length_delimited_is_missing() -> None:
    task_id = _field(1, 2, _field(1, 2, b"t1"))
    status = task_id + _field(2, 2, _varint(1))  # TaskStatus.state as a one-element packed list
    raw = _field(1, 0, _varint(Event.UPDATE)) + _field(5, 2, _field(1, 2, status))
    assert required.complete_check(Event)(raw) is Event.FromString(raw).IsInitialized()


# -- strings that are not UTF-8 ------------------------------------------------------------------


def _offers(hostnames: list[bytes]) -> bytes:
    """An OFFERS event written by hand with these hostnames (Offer.hostname is a string field)."""
    offers = b""
    for i, hostname in enumerate(hostnames):
        offer = (
            _field(1, 2, _field(1, 2, b"O%d" % i))  # id
            + _field(2, 2, _field(1, 2, b"F"))  # framework_id
            + _field(3, 2, _field(1, 2, b"S"))  # agent_id
            + _field(4, 2, hostname)
        )
        offers += _field(1, 2, offer)
    return _field(1, 0, _varint(Event.OFFERS)) + _field(3, 2, offers)


@pytest.fixture(params=["extension", "pure Python"])
def checks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """decode() with the C scan, and as installed without the extension (a Python walk)."""
    from mesos_framework.protocol import codec

    if request.param == "pure Python":
        monkeypatch.setattr(required, "_wirecheck", None)
    monkeypatch.setattr(required, "_STATUS", {})
    monkeypatch.setattr(required, "_CHECKS", {})
    monkeypatch.setattr(codec, "_DECODERS", {})
    return str(request.param)


def test_a_string_that_is_not_utf8_is_a_decode_error_naming_the_field(checks: str) -> None:
    update = Event(type=Event.UPDATE)
    update.update.status.task_id.value = "t1"
    update.update.status.state = mesos.TASK_RUNNING
    update.update.status.message = "ok"
    raw = update.SerializeToString().replace(b"\x02ok", b"\x02\xc3(")
    kept: object = Event.FromString(raw).update.status.message
    assert kept == b"\xc3("  # what protobuf keeps
    for decode_event in (lambda r: decode(Event, r), decoder(Event)):
        with pytest.raises(MessageError, match="not valid UTF-8") as caught:
            decode_event(raw)
        assert caught.value.path == "Event.update.status.message"


@pytest.mark.parametrize(
    "bad",
    [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ab\xe2\x82", b"\x80"],
    ids=["ff", "overlong", "surrogate", "above-10ffff", "cut-short", "lone-continuation"],
)
def test_every_kind_of_bad_utf8_in_a_repeated_message_is_named(checks: str, bad: bytes) -> None:
    raw = _offers([b"agent-1", "h\u00f4te-\u2603-\U0001f600".encode(), bad])
    with pytest.raises(MessageError, match="not valid UTF-8") as caught:
        decode(Event, raw)
    assert caught.value.path == "Event.offers.offers[2].hostname"


def test_valid_strings_of_every_width_decode(checks: str) -> None:
    raw = _offers([b"", b"plain", "h\u00f4te \u2603 \U0001f600 \U0010ffff".encode()])
    if checks == "extension":
        assert required.status_check(Event)(raw) == 0  # proven at once, no walk
    offers = decode(Event, raw).offers.offers
    assert [o.hostname for o in offers] == ["", "plain", "h\u00f4te \u2603 \U0001f600 \U0010ffff"]


def test_a_bad_string_later_replaced_is_not_an_error(checks: str) -> None:
    # A singular field sent twice keeps its last value: only that one has to be UTF-8.
    status = _field(1, 2, _field(1, 2, b"t1")) + _field(2, 0, _varint(1)) + _field(4, 2, b"\xff")
    status += _field(4, 2, b"fine")  # TaskStatus.message again
    raw = _field(1, 0, _varint(Event.UPDATE)) + _field(5, 2, _field(1, 2, status))
    assert decode(Event, raw).update.status.message == "fine"


def test_a_bad_string_and_a_missing_field_together(checks: str) -> None:
    status = _field(1, 2, _field(1, 2, b"\xfe"))  # TaskID.value not UTF-8; state missing
    raw = _field(1, 0, _varint(Event.UPDATE)) + _field(5, 2, _field(1, 2, status))
    with pytest.raises(MessageError, match="not valid UTF-8") as caught:
        decode(Event, raw)
    assert caught.value.path == "Event.update.status.task_id.value"


def test_the_scan_reports_what_it_found() -> None:
    check = required.status_check(Event)
    assert check(_update()) == 0
    assert check(_update(state=99)) == required.INCOMPLETE
    assert check(_update(task=b"\xff")) == required.BAD_UTF8
    assert check(_update() + b"\x0f") == required.UNSURE  # a group tag
    assert required.complete_check(Event)(_update(task=b"\xff")) is False
    with pytest.raises(ValueError, match="string field has wire type 2"):
        required._wirecheck.Checker((((1, 0, -1, -1, None, 1),),), 0)  # type: ignore[attr-defined]


def test_without_the_extension_upb_checks_the_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    status = required._python_status(Event)
    assert status(_update()) == required.INCOMPLETE  # IsInitialized() decides the rest
    assert status(_update(task=b"\xff")) & required.UNSURE  # then the walk names the field
    # A protobuf that cannot make the verifying copy: every message is walked (same answers).
    monkeypatch.setattr(required, "_verifying_class", lambda cls: 1 / 0)
    assert required._python_status(Event) is required._unsure
