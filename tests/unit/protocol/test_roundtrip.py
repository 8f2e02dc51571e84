"""Every Mesos message type round-trips through protobuf and through Mesos JSON."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesos_framework.protocol import ContentType, decode, encode, from_dict, to_dict
from tests.unit.protocol.strategies import ALL_MESSAGE_CLASSES, messages


def test_all_types_are_covered() -> None:
    names = {cls.DESCRIPTOR.full_name for cls in ALL_MESSAGE_CLASSES}
    # 227 messages in the inventory (nested included; map entries are not messages of their own).
    assert len(names) == 227
    assert {"mesos.v1.scheduler.Call", "mesos.v1.executor.Event", "mesos.v1.Value.Range"} <= names


@pytest.mark.parametrize("cls", ALL_MESSAGE_CLASSES, ids=lambda c: c.DESCRIPTOR.full_name)
def test_round_trip(cls: type[Message]) -> None:
    @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(msg=messages(cls))
    def check(msg: Message) -> None:
        assert msg.IsInitialized()
        wire = encode(msg, ContentType.PROTOBUF)
        assert decode(cls, wire, ContentType.PROTOBUF) == msg
        text = encode(msg, ContentType.JSON)
        back = decode(cls, text, ContentType.JSON)
        # JSON output adds non-deprecated defaults, so compare the JSON forms.
        assert to_dict(back) == to_dict(msg)
        assert to_dict(from_dict(cls, to_dict(msg))) == to_dict(msg)
        # The strict parser accepts everything the writer produces.
        assert decode(cls, text, ContentType.JSON, strict=True) == back

    check()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_round_trip_random_types(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(ALL_MESSAGE_CLASSES))
    msg = data.draw(messages(cls))
    assert decode(cls, encode(msg)) == msg
    assert to_dict(decode(cls, encode(msg, "application/json"), "application/json")) == to_dict(msg)
