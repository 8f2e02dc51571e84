"""The Mesos (stout) JSON rules, checked against what the protocol doc says Mesos writes/accepts."""

from __future__ import annotations

import base64
import math
from typing import Any

import orjson
import pytest

from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.protocol import from_dict, from_json, mesos, to_dict, to_json

MID = "7f1c2a9e-3b4d-4e5f-8a6b-0c1d2e3f4a5b"

# §27.2: the first record of a subscription, byte for byte as Mesos writes it.
SUBSCRIBED = (
    '{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"MID-0003"},"heartbeat_interval_seconds":15.0,'
    '"master_info":{"id":"' + MID + '","ip":184549386,"port":5050,"pid":"master@10.0.0.11:5050",'
    '"hostname":"m1.example.com","version":"1.11.0","address":{"hostname":"m1.example.com","ip":"10.0.0.11",'
    '"port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}]}}}'
)

# §27.3
OFFERS: dict[str, Any] = {
    "type": "OFFERS",
    "offers": {
        "offers": [
            {
                "id": {"value": "MID-O17"},
                "framework_id": {"value": "MID-0003"},
                "agent_id": {"value": "MID-S2"},
                "hostname": "a2.example.com",
                "url": {
                    "scheme": "http",
                    "address": {"hostname": "a2.example.com", "ip": "10.0.1.22", "port": 5051},
                    "path": "/slave(1)",
                },
                "allocation_info": {"role": "analytics"},
                "resources": [
                    {
                        "name": "cpus",
                        "type": "SCALAR",
                        "scalar": {"value": 4.0},
                        "role": "*",
                        "allocation_info": {"role": "analytics"},
                    },
                    {
                        "name": "mem",
                        "type": "SCALAR",
                        "scalar": {"value": 7782.0},
                        "role": "*",
                        "allocation_info": {"role": "analytics"},
                    },
                    {
                        "name": "disk",
                        "type": "SCALAR",
                        "scalar": {"value": 45000.0},
                        "role": "*",
                        "allocation_info": {"role": "analytics"},
                    },
                    {
                        "name": "ports",
                        "type": "RANGES",
                        "ranges": {"range": [{"begin": 31000, "end": 31499}, {"begin": 31501, "end": 32000}]},
                        "role": "*",
                        "allocation_info": {"role": "analytics"},
                    },
                ],
                "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r14"}}],
            }
        ]
    },
}

# §27.6
UPDATE: dict[str, Any] = {
    "type": "UPDATE",
    "update": {
        "status": {
            "task_id": {"value": "etl-shard-7.1"},
            "state": "TASK_RUNNING",
            "source": "SOURCE_EXECUTOR",
            "agent_id": {"value": "MID-S2"},
            "executor_id": {"value": "etl-shard-7.1"},
            "timestamp": 1724430012.481516,
            "uuid": "Wx48TZ8qTI631horPE1ebw==",
            "container_status": {"container_id": {"value": "5e0b8c1a-2f3d-4b6e-9a7c-8d1e2f3a4b5c"}},
        }
    },
}

# §27.4 (ACCEPT with LAUNCH, limits as a map of Value.Scalar)
ACCEPT: dict[str, Any] = {
    "framework_id": {"value": "MID-0003"},
    "type": "ACCEPT",
    "accept": {
        "offer_ids": [{"value": "MID-O17"}],
        "operations": [
            {
                "type": "LAUNCH",
                "launch": {
                    "task_infos": [
                        {
                            "name": "etl-shard-7",
                            "task_id": {"value": "etl-shard-7.1"},
                            "agent_id": {"value": "MID-S2"},
                            "command": {
                                "shell": True,
                                "value": "python3 -m etl --shard 7 --port $PORT0",
                                "environment": {"variables": [{"name": "PORT0", "value": "31005"}]},
                            },
                            "resources": [
                                {
                                    "name": "cpus",
                                    "type": "SCALAR",
                                    "scalar": {"value": 0.5},
                                    "role": "*",
                                    "allocation_info": {"role": "analytics"},
                                },
                                {
                                    "name": "ports",
                                    "type": "RANGES",
                                    "ranges": {"range": [{"begin": 31005, "end": 31005}]},
                                    "role": "*",
                                    "allocation_info": {"role": "analytics"},
                                },
                            ],
                            "limits": {"cpus": {"value": 1.0}, "mem": {"value": "Infinity"}},
                        }
                    ]
                },
            }
        ],
        "filters": {"refuse_seconds": 30.0},
    },
}


def test_subscribed_record_parses_and_writes_back_identically() -> None:
    event = from_json(mesos.scheduler.Event, SUBSCRIBED)
    assert event.type == mesos.scheduler.Event.SUBSCRIBED
    info = event.subscribed.master_info
    assert (info.ip, info.port, info.address.ip) == (184549386, 5050, "10.0.0.11")
    assert [c.type for c in info.capabilities] == [
        mesos.MasterInfo.Capability.AGENT_UPDATE,
        mesos.MasterInfo.Capability.AGENT_DRAINING,
        mesos.MasterInfo.Capability.QUOTA_V2,
    ]
    assert to_dict(event) == orjson.loads(SUBSCRIBED)


def test_heartbeat() -> None:
    event = from_json(mesos.scheduler.Event, b'{"type":"HEARTBEAT"}')
    assert event.type == mesos.scheduler.Event.HEARTBEAT
    assert to_json(event) == b'{"type":"HEARTBEAT"}'


def test_offers_payload() -> None:
    event = from_dict(mesos.scheduler.Event, OFFERS)
    offer = event.offers.offers[0]
    ports = offer.resources[3]
    assert ports.type == mesos.Value.RANGES
    assert [(r.begin, r.end) for r in ports.ranges.range] == [(31000, 31499), (31501, 32000)]
    assert offer.resources[0].role == "*"  # deprecated field, explicitly set
    assert offer.attributes[0].text.value == "r14"
    # Written back: the same, plus non-deprecated defaults that Mesos also writes.
    out = to_dict(event)
    assert out == OFFERS


def test_update_payload_bytes_uuid() -> None:
    event = from_dict(mesos.scheduler.Event, UPDATE)
    status = event.update.status
    assert status.uuid == base64.b64decode("Wx48TZ8qTI631horPE1ebw==")
    assert len(status.uuid) == 16
    assert status.state == mesos.TASK_RUNNING
    assert status.timestamp == 1724430012.481516
    assert to_dict(event) == UPDATE


def test_accept_payload_with_map_limits_and_infinity() -> None:
    call = from_dict(mesos.scheduler.Call, ACCEPT)
    task = call.accept.operations[0].launch.task_infos[0]
    assert task.limits["cpus"].value == 1.0
    assert math.isinf(task.limits["mem"].value)
    out = to_dict(call)
    assert out["accept"]["operations"][0]["launch"]["task_infos"][0]["limits"] == {
        "cpus": {"value": 1.0},
        "mem": {"value": "Infinity"},
    }
    # Environment.Variable.type has an explicit default (VALUE), so Mesos writes it too.
    variable = out["accept"]["operations"][0]["launch"]["task_infos"][0]["command"]["environment"][
        "variables"
    ][0]
    assert variable.pop("type") == "VALUE"
    assert out == ACCEPT


def test_implicit_reconcile_keeps_empty_submessage() -> None:
    call = from_json(
        mesos.scheduler.Call, '{"framework_id":{"value":"MID-0003"},"type":"RECONCILE","reconcile":{}}'
    )
    assert call.HasField("reconcile")
    assert to_json(call) == b'{"framework_id":{"value":"MID-0003"},"type":"RECONCILE","reconcile":{}}'


def test_executor_subscribe_empty_submessage() -> None:
    text = (
        '{"type":"SUBSCRIBE","framework_id":{"value":"MID-0003"},'
        '"executor_id":{"value":"pod-42-exec"},"subscribe":{}}'
    )
    call = from_json(mesos.executor.Call, text)
    assert call.HasField("subscribe")
    assert to_dict(call) == orjson.loads(text)


def test_operation_status_uuid_is_a_message() -> None:
    text = (
        '{"type":"UPDATE_OPERATION_STATUS","update_operation_status":{"status":{"operation_id":{"value":"reserve-1"},'
        '"state":"OPERATION_FINISHED","uuid":{"value":"Dp+Ke2xdTj+iscDZ6PemtQ=="},"agent_id":{"value":"MID-S2"}}}}'
    )
    event = from_json(mesos.scheduler.Event, text)
    assert len(event.update_operation_status.status.uuid.value) == 16
    assert to_dict(event) == orjson.loads(text)


# --- output field selection (3.10) -------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        # failover_timeout (0.0) and checkpoint (false) have explicit defaults; role ("*") is deprecated.
        (
            mesos.FrameworkInfo(user="u", name="n"),
            {"user": "u", "name": "n", "failover_timeout": 0.0, "checkpoint": False},
        ),
        (mesos.CommandInfo(value="true"), {"value": "true", "shell": True}),
        (mesos.Filters(), {"refuse_seconds": 5.0}),
        (
            mesos.Resource(name="cpus", type="SCALAR", scalar={"value": 1}),
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}},
        ),
        (
            mesos.Resource(name="cpus", type="SCALAR", scalar={"value": 1}, role="*"),
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}, "role": "*"},
        ),
        (mesos.AgentInfo(hostname="h"), {"hostname": "h", "port": 5051}),
        (mesos.MasterInfo(id="i", ip=1, hostname="h"), {"id": "i", "ip": 1, "port": 5050, "hostname": "h"}),
        (mesos.TaskID(), {}),
        (mesos.Labels(labels=[]), {}),  # empty repeated omitted
    ],
)
def test_output_field_selection(msg: Any, expected: dict[str, Any]) -> None:
    assert to_dict(msg) == expected
    assert msg.to_dict() == expected


def test_int64_is_a_json_number_and_exact() -> None:
    ns = 1724430012481516123  # > 2**53
    msg = mesos.TimeInfo(nanoseconds=ns)
    assert to_json(msg) == b'{"nanoseconds":1724430012481516123}'
    assert from_json(mesos.TimeInfo, to_json(msg)).nanoseconds == ns
    assert from_dict(mesos.TimeInfo, {"nanoseconds": str(ns)}).nanoseconds == ns


def test_bytes_output_is_padded_standard_base64() -> None:
    msg = mesos.TaskStatus(task_id={"value": "t"}, state="TASK_RUNNING", data=b"\xfb\xff\xfe", uuid=b"a")
    out = to_dict(msg)
    assert out["data"] == "+//+"
    assert out["uuid"] == "YQ=="


# --- input rules -------------------------------------------------------------------

ACCEPTED_INPUTS = [
    # 3.2 unknown keys ignored (lenient); 3.3 null = unset
    (mesos.TaskID, {"value": "x", "extra": 1}, {"value": "x"}, False),
    (mesos.CommandInfo, {"value": "x", "shell": None}, {"value": "x", "shell": True}, True),
    (mesos.CommandInfo, {"value": "x", "uris": None}, {"value": "x", "shell": True}, True),
    (
        mesos.CommandInfo,
        {"value": "x", "arguments": ["a", None, "b"]},
        {"value": "x", "shell": True, "arguments": ["a", "b"]},
        True,
    ),
    # 3.4 unknown enum name dropped for optional fields when lenient
    (
        mesos.ContainerInfo.DockerInfo,
        {"image": "i", "network": "BRIDGED"},
        {"image": "i", "network": "HOST", "privileged": False},
        False,
    ),
    (
        mesos.FrameworkInfo,
        {"user": "u", "name": "n", "capabilities": [{"type": "NOPE"}]},
        {"user": "u", "name": "n", "failover_timeout": 0.0, "checkpoint": False, "capabilities": [{}]},
        False,
    ),
    # 3.5 base64 tolerance
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "aGVsbG8"},
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "aGVsbG8="},
        True,
    ),
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "aGVs\nbG8g\n d29y bGQ="},
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "aGVsbG8gd29ybGQ="},
        True,
    ),
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": ""},
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": ""},
        True,
    ),
    # 3.6 numeric strings for ints, doubles and bools
    (mesos.Value.Range, {"begin": "31000", "end": 32000}, {"begin": 31000, "end": 32000}, True),
    (mesos.Value.Range, {"begin": 31000.0, "end": "3.2e4"}, {"begin": 31000, "end": 32000}, True),
    (mesos.Value.Scalar, {"value": "0.5"}, {"value": 0.5}, True),
    (mesos.Value.Scalar, {"value": 2}, {"value": 2.0}, True),
    (mesos.CommandInfo, {"value": "x", "shell": "false"}, {"value": "x", "shell": False}, True),
    (mesos.CommandInfo, {"value": "x", "shell": "true"}, {"value": "x", "shell": True}, True),
    # 3.7 Infinity
    (mesos.Value.Scalar, {"value": "-Infinity"}, {"value": "-Infinity"}, True),
    # 3.9 maps with full message values
    (
        mesos.TaskInfo,
        {
            "name": "t",
            "task_id": {"value": "t"},
            "agent_id": {"value": "a"},
            "limits": {"cpus": {"value": "2"}},
        },
        {
            "name": "t",
            "task_id": {"value": "t"},
            "agent_id": {"value": "a"},
            "limits": {"cpus": {"value": 2.0}},
        },
        True,
    ),
]


@pytest.mark.parametrize(("cls", "given", "written", "strict_ok"), ACCEPTED_INPUTS)
def test_accepted_inputs(cls: Any, given: dict[str, Any], written: dict[str, Any], strict_ok: bool) -> None:
    assert to_dict(from_dict(cls, given, strict=False)) == written
    if strict_ok:
        assert to_dict(from_dict(cls, given)) == written
    else:
        with pytest.raises(MessageError):
            from_dict(cls, given)


def test_input_dict_is_not_mutated() -> None:
    given = {"value": "x", "shell": None, "bogus": 1, "uris": [{"value": "u", "extract": "false"}]}
    snapshot = orjson.loads(orjson.dumps(given))
    from_dict(mesos.CommandInfo, given, strict=False)
    assert given == snapshot


def test_messages_and_raw_bytes_accepted_from_python() -> None:
    status = from_dict(
        mesos.TaskStatus,
        {
            "task_id": mesos.TaskID(value="t"),
            "state": "TASK_RUNNING",
            "data": b"raw",
            "uuid": bytearray(b"u"),
        },
    )
    assert (status.task_id.value, status.data, status.uuid) == ("t", b"raw", b"u")


REJECTED = [
    # (class, input, strict, path, reason fragment)
    (
        mesos.ContainerInfo,
        {"type": "DOCKER", "docker": {"image": "x", "network": "BRIDGED"}},
        True,
        "ContainerInfo.docker.network",
        "unknown enum value 'BRIDGED'",
    ),
    (
        mesos.Resource,
        {"name": "cpus", "type": "SCALARX"},
        False,
        "Resource.type",
        "unknown enum value 'SCALARX'",
    ),
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "RUNNING"},
        False,
        "TaskStatus.state",
        "unknown enum value 'RUNNING'",
    ),
    (mesos.Resource, {"name": "cpus", "type": 0}, False, "Resource.type", "expected an enum name string"),
    (mesos.CommandInfo, {"vaule": "x"}, True, "CommandInfo.vaule", "unknown field 'vaule'"),
    (
        mesos.CommandInfo,
        {"value": "x", "uris": [{"value": "u"}, {"valeu": "v"}]},
        True,
        "CommandInfo.uris[1].valeu",
        "did you mean 'value'?",
    ),
    (mesos.CommandInfo, {"value": 5}, False, "CommandInfo.value", "expected a JSON string, got number"),
    (mesos.CommandInfo, {"value": "x", "shell": 1}, False, "CommandInfo.shell", "expected a JSON boolean"),
    (mesos.CommandInfo, {"value": "x", "shell": "yes"}, False, "CommandInfo.shell", "got string 'yes'"),
    (mesos.CommandInfo, {"value": ["x"]}, False, "CommandInfo.value", "got array"),
    (
        mesos.CommandInfo,
        {"value": "x", "arguments": "a b"},
        False,
        "CommandInfo.arguments",
        "expected a JSON array, got string",
    ),
    (
        mesos.CommandInfo,
        {"value": "x", "environment": "PATH=/bin"},
        False,
        "CommandInfo.environment",
        "expected a JSON object, got string",
    ),
    (mesos.Value.Range, {"begin": True, "end": 1}, False, "Range.begin", "got boolean"),
    (mesos.Value.Range, {"begin": 1.5, "end": 2}, False, "Range.begin", "expected an integer, got 1.5"),
    (mesos.Value.Range, {"begin": "12abc", "end": 2}, False, "Range.begin", "cannot parse '12abc'"),
    (mesos.Value.Range, {"begin": -1, "end": 2}, False, "Range.begin", "out of range"),
    (mesos.Value.Range, {"begin": 2**64, "end": 2}, False, "Range.begin", "out of range"),
    (mesos.Address, {"port": 2**31}, False, "Address.port", "out of range"),
    (mesos.Value.Scalar, {"value": "lots"}, False, "Scalar.value", "cannot parse 'lots'"),
    (mesos.Value.Scalar, {"value": False}, False, "Scalar.value", "expected a JSON number, got boolean"),
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "aGVsbG8-_w"},
        False,
        "TaskStatus.data",
        "standard alphabet",
    ),
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "abcde"},
        False,
        "TaskStatus.data",
        "wrong length",
    ),
    (
        mesos.TaskStatus,
        {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": 12},
        False,
        "TaskStatus.data",
        "expected a base64 JSON string",
    ),
    (
        mesos.TaskInfo,
        {"name": "t", "task_id": {"value": "t"}, "agent_id": {"value": "a"}, "limits": {"cpus": 2.0}},
        False,
        "TaskInfo.limits['cpus']",
        "expected a JSON object",
    ),
    (
        mesos.TaskInfo,
        {"name": "t", "task_id": {"value": "t"}, "agent_id": {"value": "a"}, "limits": [{"key": "cpus"}]},
        False,
        "TaskInfo.limits",
        "expected a JSON object for a map",
    ),
    (
        mesos.TaskInfo,
        {
            "name": "t",
            "task_id": {"value": "t"},
            "agent_id": {"value": "a"},
            "limits": {"cpus": {"value": "x"}},
        },
        False,
        "TaskInfo.limits['cpus'].value",
        "cannot parse",
    ),
    (
        mesos.scheduler.Call,
        {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"name": "x"}}},
        False,
        "Call.subscribe.framework_info.user",
        "required field is missing",
    ),
    (mesos.TaskID, {}, False, "TaskID.value", "required field is missing"),
    (mesos.TaskInfo, {"name": "t"}, False, "TaskInfo.task_id", "also missing: agent_id"),
    (mesos.TaskID, {"value": None}, False, "TaskID.value", "required field is missing"),
    (mesos.TaskID, ["x"], False, "TaskID", "expected a JSON object, got array"),
    (
        mesos.TaskInfo,
        {"name": "t", "task_id": mesos.AgentID(value="a"), "agent_id": {"value": "a"}},
        False,
        "TaskInfo.task_id",
        "expected mesos.v1.TaskID, got a mesos.v1.AgentID message",
    ),
]


@pytest.mark.parametrize(("cls", "given", "strict", "path", "reason"), REJECTED)
def test_rejected_inputs(cls: Any, given: Any, strict: bool, path: str, reason: str) -> None:
    with pytest.raises(MessageError) as info:
        from_dict(cls, given, strict=strict)
    assert info.value.path == path
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{path}: ")


def test_issue_example_message() -> None:
    with pytest.raises(MessageError, match=r"^ContainerInfo\.docker\.network: unknown enum value 'BRIDGED'"):
        mesos.ContainerInfo.from_dict({"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGED"}})


@pytest.mark.parametrize("text", [b"", b"{", b"not json", b'{"value": "x"', b"\xff"])
def test_invalid_json_is_a_protocol_error(text: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"invalid JSON for mesos\.v1\.TaskID"):
        from_json(mesos.TaskID, text)


@pytest.mark.parametrize(
    ("text", "kind"), [(b"[]", "array"), (b"3", "number"), (b"null", "null"), (b'"x"', "string")]
)
def test_json_that_is_not_an_object(text: bytes, kind: str) -> None:
    with pytest.raises(MessageError, match=f"expected a JSON object, got {kind}"):
        from_json(mesos.TaskID, text)


def test_partial_skips_required_check() -> None:
    assert not from_dict(mesos.TaskInfo, {"name": "t"}, partial=True).IsInitialized()


def test_non_finite_doubles_round_trip() -> None:
    for value, text in ((math.inf, "Infinity"), (-math.inf, "-Infinity")):
        msg = mesos.Value.Scalar(value=value)
        assert to_dict(msg) == {"value": text}
        assert from_json(mesos.Value.Scalar, to_json(msg)).value == value
    nan = from_dict(mesos.Value.Scalar, {"value": "NaN"})
    assert math.isnan(nan.value)
    assert to_dict(nan) == {"value": "NaN"}


def test_class_helpers() -> None:
    tid = mesos.TaskID.from_json('{"value": "x"}')
    assert isinstance(tid, mesos.TaskID)
    assert tid.to_json() == b'{"value":"x"}'
    assert mesos.TaskID.from_dict({"value": "y"}).to_dict() == {"value": "y"}
    assert mesos.scheduler.Call.Accept.from_dict({"offer_ids": [{"value": "o"}]}).offer_ids[0].value == "o"
    with pytest.raises(MessageError):
        mesos.TaskID.from_dict({"value": "x", "other": 1})
    assert mesos.TaskID.from_dict({"value": "x", "other": 1}, strict=False).value == "x"
