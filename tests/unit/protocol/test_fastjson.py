"""The lenient JSON fast path agrees exactly with the reference walk.

``from_json(strict=False)`` (and so ``decode(..., JSON)``) first tries
``_fastjson.fast_from_json``; when that declines, the exact walk runs.  These
tests check, on valid and invalid inputs alike, that the fast path never
returns a message the exact walk would not build identically, and that the
public entry point gives identical messages or identical errors.

Every test runs twice: with the C converter (JSON to protobuf wire bytes, the
extension's ``JsonWire``) and with the pure-Python fallback of an installation
without the extension (msgspec's typed decoder and protobuf's constructor).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import msgspec
import orjson
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesos_framework.errors import MesosError, MessageError
from mesos_framework.protocol import ContentType, _fastjson, codec, decode, from_json, to_dict, to_json
from mesos_framework.protocol._fastjson import fast_from_json
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2, scheduler_pb2
from mesos_framework.protocol.jsoncodec import _exact_from_json
from tests.support.prereq import unavailable
from tests.unit.protocol.strategies import ALL_MESSAGE_CLASSES, messages

Event = scheduler_pb2.Event
TaskStatus = mesos_pb2.TaskStatus

UPDATE: dict[str, Any] = {
    "type": "UPDATE",
    "update": {
        "status": {
            "task_id": {"value": "web-1.5f3e1234-aaaa"},
            "state": "TASK_RUNNING",
            "source": "SOURCE_EXECUTOR",
            "agent_id": {"value": "S1"},
            "timestamp": 1724430012.5,
            "uuid": base64.b64encode(b"0123456789abcdef").decode(),
            "data": "aGVsbG8=",
            "container_status": {"container_id": {"value": "c1", "parent": {"value": "c0"}}},
            "labels": {"labels": [{"key": "k", "value": "v"}]},
        }
    },
}
OFFERS: dict[str, Any] = {
    "type": "OFFERS",
    "offers": {
        "offers": [
            {
                "id": {"value": "O1"},
                "framework_id": {"value": "F1"},
                "agent_id": {"value": "S1"},
                "hostname": "agent1",
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "role": "*"},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 1024}},
                    {
                        "name": "ports",
                        "type": "RANGES",
                        "ranges": {"range": [{"begin": 31000, "end": 32000}]},
                        "reservations": [{"type": "STATIC", "role": "r"}],
                    },
                ],
                "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}],
            }
        ]
    },
}
SUBSCRIBED: dict[str, Any] = {
    "type": "SUBSCRIBED",
    "subscribed": {
        "framework_id": {"value": "F1"},
        "heartbeat_interval_seconds": 15.0,
        "master_info": {"id": "m", "ip": 16777343, "port": 5050, "hostname": "m1", "version": "1.11.0"},
    },
}
TASK_INFO_LIMITS: dict[str, Any] = {
    "name": "t",
    "task_id": {"value": "t1"},
    "agent_id": {"value": "S1"},
    "limits": {"cpus": {"value": 1.5}, "mem": {"value": 64.0}},
}


#: Whether this installation has the C converter (read before any test patches the flag).
C_BUILT = _fastjson.ACCELERATED


@pytest.fixture(autouse=True, params=["C", "msgspec"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fast path under test: the C converter, or the fallback used without the extension."""
    if request.param == "C" and not C_BUILT:
        unavailable("the C extension was not built (no C compiler at install time)")
    if request.param == "msgspec":
        monkeypatch.setattr(_fastjson, "ACCELERATED", False)
    # Fresh caches of fast decoders (the real ones come back afterwards).
    monkeypatch.setattr(_fastjson, "_FAST", {})
    monkeypatch.setattr(codec, "_DECODERS", {})
    return str(request.param)


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        msg = fn(*args, **kwargs)
    except MesosError as exc:
        return ("error", (type(exc), str(exc), getattr(exc, "path", None)))
    return ("ok", (type(msg), msg.SerializePartialToString(deterministic=True)))


def _check_agrees(cls: type[Message], data: Any) -> bool:
    """Fast path is sound for ``data``; returns whether it decided (not declined)."""
    exact = _outcome(_exact_from_json, cls, data, strict=False, partial=False)
    fast = fast_from_json(cls, data)
    if fast is not None:
        assert fast.IsInitialized()
        assert exact == ("ok", (cls, fast.SerializePartialToString(deterministic=True))), (data, exact)
        assert exact[0] == "ok"
    assert _outcome(from_json, cls, data, strict=False) == exact
    if isinstance(data, bytes):
        assert _outcome(decode, cls, data, ContentType.JSON) == exact
    partial_exact = _outcome(_exact_from_json, cls, data, strict=False, partial=True)
    assert _outcome(from_json, cls, data, strict=False, partial=True) == partial_exact
    return fast is not None


# ---------------------------------------------------------------------------
# The fast path is really taken for ordinary wire events (else it is dead code).


@pytest.mark.parametrize("obj", [UPDATE, OFFERS, SUBSCRIBED, {"type": "HEARTBEAT"}], ids=lambda o: o["type"])
def test_fast_path_decides_ordinary_events(obj: dict[str, Any]) -> None:
    data = orjson.dumps(obj)
    assert _check_agrees(Event, data)
    assert fast_from_json(Event, data) == _exact_from_json(Event, data, strict=False, partial=False)


def test_fast_path_map_of_messages() -> None:
    data = orjson.dumps(TASK_INFO_LIMITS)
    assert _check_agrees(mesos_pb2.TaskInfo, data)


def test_fast_path_accepts_every_input_form() -> None:
    obj = orjson.loads(orjson.dumps(UPDATE))
    assert fast_from_json(Event, orjson.dumps(obj).decode()) is not None
    assert fast_from_json(Event, bytearray(orjson.dumps(obj))) is not None
    assert fast_from_json(Event, memoryview(orjson.dumps(obj))) is not None
    # Pretty-printed text is not re-encoded byte for byte, so it is validated again, still fast.
    assert fast_from_json(Event, orjson.dumps(obj, option=orjson.OPT_INDENT_2)) is not None


def test_the_c_converter_itself_decides_a_recorded_stream(implementation: str) -> None:
    """Every event of the benchmark's stream goes through C (not the msgspec fallback), exactly."""
    if implementation != "C":
        pytest.skip("about the C converter")
    from bench.peer_decode import make_records

    convert = _fastjson._wirecheck.JsonWire(*_fastjson.wire_tables(Event.DESCRIPTOR)).convert  # type: ignore[attr-defined]
    records = make_records(0.3)
    types = set()
    for record in records:
        wire = convert(record)
        assert wire is not None, record[:200]
        exact = _exact_from_json(Event, record, strict=False, partial=False)
        assert Event.FromString(wire) == exact
        assert decode(Event, record, ContentType.JSON) == exact
        types.add(exact.type)
    assert types >= {Event.SUBSCRIBED, Event.OFFERS, Event.UPDATE, Event.HEARTBEAT}


def test_the_c_converter_refuses_bad_tables() -> None:
    if not C_BUILT:
        unavailable("the C extension was not built (no C compiler at install time)")
    json_wire = _fastjson._wirecheck.JsonWire  # type: ignore[attr-defined]
    field = (b"a", 1, 0, 0, -1, -1, None)
    with pytest.raises(ValueError, match="root"):
        json_wire(((field,),), 1)
    with pytest.raises(ValueError, match="sorted"):
        json_wire(((field, field),), 0)
    with pytest.raises(ValueError, match="needs its type"):
        json_wire((((b"m", 1, 15, 0, -1, -1, None),),), 0)
    with pytest.raises(ValueError, match="needs its names"):
        json_wire((((b"e", 1, 14, 0, -1, -1, None),),), 0)
    with pytest.raises(TypeError):
        json_wire((("not a field",),), 0)
    assert json_wire(((field,),), 0).convert("text, not bytes") is None
    assert json_wire(((field,),), 0).convert(b'{"a":"x"}') == b"\x0a\x01x"


# ---------------------------------------------------------------------------
# Hand-picked inputs where a naive fast path would differ from the stout rules.


def _update_with(**status: Any) -> bytes:
    obj = orjson.loads(orjson.dumps(UPDATE))
    obj["update"]["status"].update(status)
    return _dumps(obj)


def _dumps(obj: Any, *, ascii_only: bool = False) -> bytes:
    """Compact JSON like Mesos writes; unlike orjson, also integers beyond 64 bits."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=False).encode()


def _raw_update(extra: bytes) -> bytes:
    """UPDATE text with ``extra`` spliced in as the first member of the status object."""
    text = orjson.dumps(UPDATE)
    return text.replace(b'"status":{', b'"status":{' + extra + b",", 1)


TRICKY: list[tuple[str, type[Message], bytes]] = [
    ("bool for double", Event, _update_with(timestamp=True)),
    ("bool for int", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":true')),
    ("float for int", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":5050.0')),
    ("float 1e3 for int", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":1e3')),
    ("fraction for int", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":50.5')),
    ("numeric string for int", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":"5050"')),
    ("int out of range", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":4294967296')),
    ("negative uint", Event, orjson.dumps(SUBSCRIBED).replace(b'"ip":16777343', b'"ip":-1')),
    ("huge int", Event, orjson.dumps(SUBSCRIBED).replace(b'"ip":16777343', b'"ip":' + b"9" * 40)),
    ("number for enum", Event, _update_with(state=1)),
    ("unknown optional enum", Event, _update_with(source="SOURCE_NEW")),
    ("unknown required enum", Event, _update_with(state="TASK_NEW")),
    ("unknown top-level enum", Event, b'{"type":"SOMETHING_NEW"}'),
    ("int for bool", Event, _update_with(healthy=1)),
    ("string bool", Event, _update_with(healthy="true")),
    ("Infinity", Event, _update_with(timestamp="Infinity")),
    ("-Infinity", Event, _update_with(timestamp="-Infinity")),
    ("NaN string", Event, _update_with(timestamp="NaN")),
    ("numeric string double", Event, _update_with(timestamp="1.5")),
    ("int for double", Event, _update_with(timestamp=17)),
    ("big int for double", Event, _update_with(timestamp=2**64 + 1)),
    ("null field", Event, _update_with(healthy=None)),
    ("null message", Event, _update_with(container_status=None)),
    ("null required", Event, _update_with(state=None)),
    ("null in list", Event, _update_with(labels={"labels": [None, {"key": "a"}]})),
    ("dict for list", Event, _update_with(labels={"labels": {"key": "a"}})),
    ("string for list", Event, orjson.dumps({"type": "SUBSCRIBED", "subscribed": {"framework_id": "x"}})),
    ("list for message", Event, _update_with(container_status=[])),
    ("string for string list", mesos_pb2.CommandInfo, b'{"arguments":"abc"}'),
    ("dict for string list", mesos_pb2.CommandInfo, b'{"arguments":{"a":1}}'),
    ("string for bytes ok", Event, _update_with(data="aGk=")),
    ("base64 no padding", Event, _update_with(data="aGk")),
    ("base64 whitespace", Event, _update_with(data="aG k=\n")),
    ("base64 url-safe", Event, _update_with(data="-_-_")),
    ("base64 four pads", Event, _update_with(data="====")),
    ("base64 bad length", Event, _update_with(data="aGkxa")),
    ("base64 inner padding", Event, _update_with(data="aQ==aQ==")),
    ("base64 trailing bits", Event, _update_with(data="QR==")),
    ("base64 non-ascii", Event, _update_with(data="aGk\u00e9")),
    ("number for bytes", Event, _update_with(data=5)),
    ("unknown key", Event, _update_with(brand_new={"x": [1, 2, {"y": None}]})),
    ("unknown key top", Event, b'{"type":"HEARTBEAT","future":1}'),
    ("missing required", Event, b'{"update":{"status":{"task_id":{"value":"t"}}}}'),
    ("missing required deep", Event, _update_with(task_id={})),
    ("not an object", Event, b"[1,2]"),
    ("string document", Event, b'"x"'),
    ("invalid json", Event, b'{"type":'),
    ("trailing garbage", Event, b'{"type":"HEARTBEAT"} x'),
    ("BOM", Event, b'\xef\xbb\xbf{"type":"HEARTBEAT"}'),
    ("NaN literal", Event, _raw_update(b'"timestamp":NaN')),
    ("duplicate key", Event, _raw_update(b'"state":"TASK_LOST"')),
    ("duplicate key, first bad", Event, _raw_update(b'"state":7')),
    ("overflowing number in unknown key", Event, _raw_update(b'"future":1e999')),
    ("long integer in unknown key", Event, _raw_update(b'"future":' + b"9" * 400)),
    ("invalid UTF-8 in unknown value", Event, _raw_update(b'"future":"\xff\xfe"')),
    ("invalid UTF-8 in unknown key", Event, _raw_update(b'"fu\xffture":1')),
    ("encoded surrogate in unknown value", Event, _raw_update(b'"future":"\xed\xa0\x80"')),
    ("lone surrogate escape", Event, _raw_update(b'"future":"\\ud800"')),
    ("lone low surrogate escape", Event, _raw_update(b'"future":"\\udc00x"')),
    ("bad escape in unknown", Event, _raw_update(b'"future":"\\q"')),
    ("control char in unknown", Event, _raw_update(b'"future":"a\x01"')),
    ("leading zero in unknown", Event, _raw_update(b'"future":01')),
    ("deep unknown value 1000", Event, _raw_update(b'"future":' + b"[" * 1000 + b"]" * 1000)),
    ("deep unknown value 1030", Event, _raw_update(b'"future":' + b"[" * 1030 + b"]" * 1030)),
    ("deep unknown value 5000", Event, _raw_update(b'"future":' + b"[" * 5000 + b"]" * 5000)),
    ("invalid UTF-8 in string field", Event, _raw_update(b'"message":"\xc3\x28"')),
    ("non-ascii string", Event, _update_with(message="caf\u00e9 \u2603 \U0001f600")),
    ("escaped string", Event, _raw_update(b'"message":"a\\u00e9\\n\\"\\/"')),
    ("negative zero int", Event, orjson.dumps(SUBSCRIBED).replace(b'"port":5050', b'"port":-0')),
    ("negative zero double", Event, _update_with(timestamp=-0.0)),
    ("subnormal double", Event, _update_with(timestamp=5e-324)),
    ("underflow double", Event, _raw_update(b'"timestamp":1e-400')),
    ("overflow double", Event, _raw_update(b'"timestamp":1e400')),
    ("map null value", mesos_pb2.TaskInfo, orjson.dumps({**TASK_INFO_LIMITS, "limits": {"cpus": None}})),
    ("map bad value", mesos_pb2.TaskInfo, orjson.dumps({**TASK_INFO_LIMITS, "limits": {"cpus": 1}})),
    ("map of strings", mesos_pb2.Volume.Source.CSIVolume.StaticProvisioning, b'{"volume_context":{"a":"b"}}'),
    (
        "recursive ContainerID",
        mesos_pb2.ContainerID,
        b'{"value":"a","parent":{"value":"b","parent":{"value":"c"}}}',
    ),
    (
        "recursive ContainerID missing",
        mesos_pb2.ContainerID,
        b'{"value":"a","parent":{"parent":{"value":"c"}}}',
    ),
]


@pytest.mark.parametrize(("cls", "data"), [(c, d) for _, c, d in TRICKY], ids=[n for n, _, _ in TRICKY])
def test_tricky_inputs_agree(cls: type[Message], data: bytes) -> None:
    _check_agrees(cls, data)


def test_tricky_inputs_the_fast_path_must_decline(implementation: str) -> None:
    """Inputs the exact path rejects or rewrites: the fast path must hand them over.

    (The C converter reads ``null`` as "unset" itself, as the exact path does.)
    """
    rejected_or_rewritten = {
        "bool for double",
        "bool for int",
        "number for enum",
        "unknown optional enum",
        "int for bool",
        "null field",
        "null in list",
        "dict for list",
        "string for string list",
        "dict for string list",
        "base64 url-safe",
        "base64 four pads",
        "overflowing number in unknown key",
        "long integer in unknown key",
        "invalid UTF-8 in unknown value",
        "invalid UTF-8 in unknown key",
        "encoded surrogate in unknown value",
        "deep unknown value 1030",
        "missing required",
        "missing required deep",
        "null required",
        "recursive ContainerID missing",
    }
    if implementation == "C":
        rejected_or_rewritten -= {"null field", "null in list"}
    for name, cls, data in TRICKY:
        if name in rejected_or_rewritten:
            assert fast_from_json(cls, data) is None, name


# ---------------------------------------------------------------------------
# Random inputs: valid messages of every type, then mutated.

_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(
        [
            "Infinity",
            "-Infinity",
            "NaN",
            "true",
            "false",
            "31000",
            "1.5",
            "1e3",
            "-0",
            "0x10",
            "aGk=",
            "aGk",
            "aG k=",
            "-_-_",
            "====",
            "QR==",
            "TASK_RUNNING",
            "SCALAR",
            "UPDATE",
            "SOURCE_EXECUTOR",
            "UNKNOWN",
            "",
        ]
    ),
)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _mutate(obj: Any, data: st.DataObject, budget: list[int]) -> Any:
    """Randomly replace, drop or add members somewhere inside a JSON value."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, val in obj.items():
            action = data.draw(st.integers(0, 9)) if budget[0] > 0 else 9
            if action == 0:
                budget[0] -= 1
                out[key] = data.draw(_JSON_VALUES)
            elif action == 1:
                budget[0] -= 1
                continue
            elif action == 2:
                budget[0] -= 1
                out[data.draw(st.sampled_from(["future", "type", "value", "labels", "x"]))] = data.draw(
                    _JSON_VALUES
                )
                out[key] = _mutate(val, data, budget)
            else:
                out[key] = _mutate(val, data, budget)
        return out
    if isinstance(obj, list):
        items = [_mutate(v, data, budget) for v in obj]
        if budget[0] > 0 and data.draw(st.integers(0, 5)) == 0:
            budget[0] -= 1
            items.append(data.draw(_JSON_VALUES))
        return items
    return obj


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_mutations_agree(data: st.DataObject) -> None:
    cls = data.draw(
        st.sampled_from([Event, TaskStatus, executor_pb2.Event, scheduler_pb2.Call, *ALL_MESSAGE_CLASSES])
    )
    msg = data.draw(messages(cls))
    obj = _mutate(to_dict(msg), data, [data.draw(st.integers(0, 3))])
    _check_agrees(cls, _dumps(obj, ascii_only=data.draw(st.booleans())))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_valid_messages_take_the_fast_path(data: st.DataObject) -> None:
    """Everything the writer produces is decided by the fast path (non-finite doubles aside)."""
    cls = data.draw(st.sampled_from(ALL_MESSAGE_CLASSES))
    msg = data.draw(messages(cls))
    text = to_json(msg)
    decided = _check_agrees(cls, text)
    finite = all(not isinstance(v, float) or math.isfinite(v) for v in _leaves(to_dict(msg)))
    has_special = b'"Infinity"' in text or b'"-Infinity"' in text or b'"NaN"' in text
    if finite and not has_special:
        assert decided, text


def _leaves(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [leaf for v in obj.values() for leaf in _leaves(v)]
    if isinstance(obj, list):
        return [leaf for v in obj for leaf in _leaves(v)]
    return [obj]


def test_schema_msgspec_cannot_build_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, implementation: str
) -> None:
    if implementation == "C":
        pytest.skip("about the msgspec path")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("unsupported schema")

    cls = mesos_pb2.CommandInfo
    monkeypatch.setattr(_fastjson, "_DECODERS", {})  # a fresh cache, the real one comes back afterwards
    monkeypatch.setattr(msgspec.json, "Decoder", refuse)
    data = b'{"value":"echo hi","future":1}'
    with caplog.at_level("WARNING", logger="mesos_framework.protocol._fastjson"):
        assert fast_from_json(cls, data) is None
        assert fast_from_json(cls, data) is None  # the failure is remembered, not retried
    assert caplog.text.count("no fast JSON decoder for mesos.v1.CommandInfo") == 1
    assert from_json(cls, data, strict=False) == cls(value="echo hi")
    with pytest.raises(MessageError, match=r"CommandInfo\.value: expected a JSON string"):
        decode(cls, b'{"value":5}', ContentType.JSON)
