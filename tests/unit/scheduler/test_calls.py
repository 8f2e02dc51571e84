from __future__ import annotations

import pytest

from mesos_framework.errors import MessageError
from mesos_framework.protocol import ContentType, decode, encode
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls

Call = scheduler_pb2.Call


def roundtrip(call: scheduler_pb2.Call) -> scheduler_pb2.Call:
    assert decode(Call, encode(call, ContentType.PROTOBUF), ContentType.PROTOBUF) == call
    as_json = encode(call, ContentType.JSON)
    assert encode(decode(Call, as_json, ContentType.JSON), ContentType.JSON) == as_json
    return call


def test_every_call_type_has_a_builder() -> None:
    built = {
        calls.subscribe(mesos_pb2.FrameworkInfo(user="u", name="n")).type,
        calls.teardown().type,
        calls.accept(["o"], [calls.launch([])]).type,
        calls.decline(["o"], 5).type,
        calls.accept_inverse_offers(["o"]).type,
        calls.decline_inverse_offers(["o"]).type,
        calls.revive(["r"]).type,
        calls.kill("t", "a").type,
        calls.shutdown("e", "a").type,
        calls.acknowledge("a", "t", b"u").type,
        calls.acknowledge_operation_status("a", None, "op", b"u").type,
        calls.reconcile().type,
        calls.reconcile_operations().type,
        calls.message("a", "e", b"x").type,
        calls.request([]).type,
        calls.suppress().type,
        calls.update_framework(mesos_pb2.FrameworkInfo(user="u", name="n")).type,
    }
    assert built == set(Call.Type.values()) - {Call.UNKNOWN}


def test_acknowledge_uses_ids_not_strings_of_objects() -> None:
    # The seed passed the task_id/agent_id objects to string setters and threw on every update.
    status = mesos_pb2.TaskStatus(state=mesos_pb2.TASK_RUNNING, uuid=b"\x01\x02")
    status.task_id.value = "t1"
    status.agent_id.value = "a1"
    call = roundtrip(calls.acknowledge(status.agent_id, status.task_id, status.uuid))
    assert (call.acknowledge.task_id.value, call.acknowledge.agent_id.value, call.acknowledge.uuid) == (
        "t1",
        "a1",
        b"\x01\x02",
    )
    with pytest.raises(MessageError, match="uuid"):
        calls.acknowledge("a", "t", b"")


def test_message_keeps_binary_data() -> None:
    call = roundtrip(calls.message("a", "e", b"\xff\x00binary"))
    assert call.message.data == b"\xff\x00binary"
    assert calls.message("a", "e", "héllo").message.data == "héllo".encode()


def test_inverse_offer_filters_and_operation_status_ids() -> None:
    call = roundtrip(calls.decline_inverse_offers(["i1"], 30))
    assert call.decline_inverse_offers.filters.refuse_seconds == 30
    call = roundtrip(calls.acknowledge_operation_status("a", "rp", "op", b"u"))
    body = call.acknowledge_operation_status
    assert (body.resource_provider_id.value, body.operation_id.value) == ("rp", "op")


def test_reconcile_explicit_and_implicit() -> None:
    implicit = roundtrip(calls.reconcile())
    assert implicit.HasField("reconcile") and not implicit.reconcile.tasks
    explicit = roundtrip(calls.reconcile([("t1", "a1"), ("t2", None)]))
    assert [(t.task_id.value, t.agent_id.value) for t in explicit.reconcile.tasks] == [
        ("t1", "a1"),
        ("t2", ""),
    ]


def test_kill_with_grace_period_and_bad_ids() -> None:
    call = roundtrip(calls.kill("t", "a", grace_period=1.5))
    assert call.kill.kill_policy.grace_period.nanoseconds == 1_500_000_000
    with pytest.raises(MessageError, match=r"Call\.kill\.task_id"):
        calls.kill("")


def test_subscribe_with_id_and_suppressed_roles() -> None:
    info = mesos_pb2.FrameworkInfo(user="u", name="n")
    info.id.value = "fw"
    call = roundtrip(calls.subscribe(info, suppressed_roles=["r"]))
    assert call.framework_id.value == "fw" and list(call.subscribe.suppressed_roles) == ["r"]
