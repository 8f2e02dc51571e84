"""Mesos JSON <-> protobuf, following stout's rules (not the proto3 JSON mapping).

What Mesos does (``stout/protobuf.hpp``), and so what this module does:

* keys are the ``.proto`` field names in snake_case; ``null`` means unset;
* enums are written as their name; on input a JSON number for an enum is an
  error, and an unknown name is dropped for optional/repeated fields but an
  error for required ones;
* ``bytes`` are standard base64 with padding on output; input tolerates
  missing padding and whitespace but rejects the URL-safe alphabet;
* 64-bit integers are JSON numbers; numeric strings (``"31000"``) are accepted
  for integer and double fields, ``"true"``/``"false"`` for bools, and
  ``"Infinity"``/``"-Infinity"`` for doubles;
* repeated fields are arrays (an empty one is omitted on output), map fields
  are objects whose values use the full message encoding;
* output contains the set fields plus every unset field that has an explicit
  proto2 default and is not deprecated (``CommandInfo.shell`` is written as
  ``true``, ``Filters.refuse_seconds`` as ``5.0``);
* decoding checks required fields.

Strictness.  Mesos silently ignores unknown keys, which turns a misspelt key
into a lost value.  Messages a user builds are therefore parsed **strictly** by
default (:func:`from_dict`, :func:`from_json`): an unknown field name or an
unknown enum name is a :class:`~mesos_framework.errors.MessageError` naming
the path, e.g. ``ContainerInfo.docker.network: unknown enum value 'BRIDGED'``.
Messages read from the wire use ``strict=False`` (Mesos's own tolerance), so a
newer master can add fields and enum values without breaking old clients.

Errors: :class:`~mesos_framework.errors.MessageError` (``path``, ``reason``)
for JSON that does not fit the schema, :class:`~mesos_framework.errors.ProtocolError`
for bytes that are not JSON at all.

Decoding is compiled: a converter per message type is built on first use and
cached, and only values that need converting are copied before protobuf's C
constructor builds the message.  Lenient decoding of JSON text
(``from_json(strict=False)``, which :func:`~mesos_framework.protocol.decode`
uses for the event stream) first tries a faster path in C (msgspec's typed
decoder, see ``_fastjson``) that takes only input this walk would accept
unchanged; everything else comes here, so messages and errors are the same.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.protocol._fastjson import fast_from_json

__all__ = ["check_initialized", "from_dict", "from_json", "to_dict", "to_json"]

M = TypeVar("M", bound=Message)

_DROP: Any = object()  # a converter's answer for "leave this field unset"
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOAT_TYPES = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_SPECIAL_FLOATS = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
_B64_ALPHABET = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


class _PathError(Exception):
    """Internal: a conversion failed; ``segments`` collects the path bottom-up."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments: list[str] = []


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _path(desc: Any, err: _PathError) -> str:
    return str(desc.name) + "".join(reversed(err.segments))


# ---------------------------------------------------------------------------
# Decoding: JSON values -> constructor keyword arguments


Conv = Callable[[Any, bool], Any]


class _MsgIn:
    """Per-message-type input converter.

    ``fields`` maps a JSON key to ``(fast_type, sub, names, conv)``: a value
    whose exact type is ``fast_type`` is passed to protobuf unchanged; a dict
    for a message field goes straight to ``sub``; a string in ``names`` (the
    enum's value names) is passed unchanged; anything else goes to ``conv``.
    """

    __slots__ = ("convert", "desc", "fields")

    def __init__(self, desc: Any) -> None:
        self.desc = desc
        self.fields: dict[str, _FieldIn] = {}
        #: The entry point (a bound method stored once: saves a lookup per call).
        self.convert: Callable[[Any, bool], dict[str, Any]] = self.slow

    def slow(self, obj: Any, strict: bool) -> dict[str, Any]:
        """Convert ``obj`` field by field, copying only what changes."""
        if type(obj) is not dict:
            if isinstance(obj, Mapping):
                obj = dict(obj)
            else:
                raise _PathError(f"expected a JSON object, got {_json_type(obj)}")
        fields = self.fields
        out: dict[str, Any] | None = None
        key = ""
        try:
            for key, val in obj.items():
                f = fields.get(key)
                if f is None:
                    if strict:
                        raise _PathError(self._unknown(key))
                    if out is None:
                        out = dict(obj)
                    del out[key]
                    continue
                fast, sub, names, conv = f
                if type(val) is fast:
                    continue
                if sub is not None and type(val) is dict:
                    new = sub.convert(val, strict)
                elif names is not None and type(val) is str and val in names:
                    continue
                elif val is None:
                    new = _DROP
                else:
                    new = conv(val, strict)
                if new is not val:
                    if out is None:
                        out = dict(obj)
                    if new is _DROP:
                        del out[key]
                    else:
                        out[key] = new
        except _PathError as err:
            err.segments.append(f".{key}")
            raise
        return obj if out is None else out

    def _unknown(self, key: object) -> str:
        if not isinstance(key, str):
            return f"field names must be strings, got {key!r}"
        names = list(self.fields)
        hint = difflib.get_close_matches(key, names, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"unknown field '{key}' of {self.desc.full_name}{suggestion}"


_FieldIn = tuple[type | None, "_MsgIn | None", frozenset[str] | None, Conv]
_IN_CACHE: dict[Any, _MsgIn] = {}


def _msg_in(desc: Any) -> _MsgIn:
    spec = _IN_CACHE.get(desc)
    if spec is None:
        spec = _MsgIn(desc)
        _IN_CACHE[desc] = spec  # registered before filling: recursive types
        for fd in desc.fields:
            spec.fields[fd.name] = _field_in(fd)
    return spec


def _field_in(fd: Any) -> _FieldIn:
    if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        return None, None, None, _map_in(fd)
    conv, fast = _scalar_in(fd)
    if fd.is_repeated:
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            return None, None, None, _repeated_msg_in(_msg_in(fd.message_type), conv)
        return None, None, None, _repeated_in(conv, fast)
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return None, _msg_in(fd.message_type), None, conv
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return None, None, frozenset(fd.enum_type.values_by_name), conv
    return fast, None, None, conv


def _repeated_msg_in(sub: _MsgIn, conv: Conv) -> Conv:
    def repeated_messages(val: Any, strict: bool) -> Any:
        if type(val) is not list:
            if isinstance(val, tuple):
                val = list(val)
            else:
                raise _PathError(f"expected a JSON array, got {_json_type(val)}")
        out: list[Any] | None = None
        i = 0
        try:
            for i, item in enumerate(val):
                if type(item) is dict:
                    new = sub.convert(item, strict)
                elif item is None:
                    new = _DROP
                else:
                    new = conv(item, strict)
                if new is not item and out is None:
                    out = val[:i]
                if out is not None and new is not _DROP:
                    out.append(new)
        except _PathError as err:
            err.segments.append(f"[{i}]")
            raise
        return val if out is None else out

    return repeated_messages


def _repeated_in(conv: Conv, fast: type | None) -> Conv:
    def repeated(val: Any, strict: bool) -> Any:
        if type(val) is not list:
            if isinstance(val, tuple):
                val = list(val)
            else:
                raise _PathError(f"expected a JSON array, got {_json_type(val)}")
        out: list[Any] | None = None
        i = 0
        try:
            for i, item in enumerate(val):
                if type(item) is fast:
                    if out is not None:
                        out.append(item)
                    continue
                new = _DROP if item is None else conv(item, strict)
                if new is not item and out is None:
                    out = val[:i]
                if out is not None and new is not _DROP:
                    out.append(new)
        except _PathError as err:
            err.segments.append(f"[{i}]")
            raise
        return val if out is None else out

    return repeated


def _map_in(fd: Any) -> Conv:
    key_fd = fd.message_type.fields_by_name["key"]
    value_fd = fd.message_type.fields_by_name["value"]
    key_conv, _ = _scalar_in(key_fd)
    value_conv, value_fast = _scalar_in(value_fd)
    is_string_key = key_fd.type == FieldDescriptor.TYPE_STRING

    def mapping(val: Any, strict: bool) -> Any:
        if not isinstance(val, Mapping):
            raise _PathError(f"expected a JSON object for a map, got {_json_type(val)}")
        out: dict[Any, Any] = {}
        key: Any = ""
        try:
            for key, item in val.items():
                if item is None:
                    continue
                k = key if is_string_key and type(key) is str else key_conv(key, strict)
                v = item if type(item) is value_fast else value_conv(item, strict)
                if v is not _DROP and k is not _DROP:
                    out[k] = v
        except _PathError as err:
            err.segments.append(f"[{key!r}]")
            raise
        return out

    return mapping


def _scalar_in(fd: Any) -> tuple[Conv, type | None]:
    t = fd.type
    if t == FieldDescriptor.TYPE_STRING:
        return _string_in, str
    if t == FieldDescriptor.TYPE_BOOL:
        return _bool_in, bool
    if t in _FLOAT_TYPES:
        return _float_in, float
    if t in _INT_RANGES:
        lo, hi = _INT_RANGES[t]
        return _int_in(lo, hi), None
    if t == FieldDescriptor.TYPE_BYTES:
        return _bytes_in, None
    if t == FieldDescriptor.TYPE_ENUM:
        return _enum_in(fd), None
    if t == FieldDescriptor.TYPE_MESSAGE:
        return _message_in(fd.message_type), None
    raise TypeError(f"unsupported field type {t} for {fd.full_name}")  # pragma: no cover


def _string_in(val: Any, strict: bool) -> Any:
    if isinstance(val, str):
        return str(val)
    raise _PathError(f"expected a JSON string, got {_describe(val)}")


def _bool_in(val: Any, strict: bool) -> Any:
    if val is True or val is False:
        return val
    if val == "true" and isinstance(val, str):
        return True
    if val == "false" and isinstance(val, str):
        return False
    raise _PathError(f'expected a JSON boolean (or "true"/"false"), got {_describe(val)}')


def _float_in(val: Any, strict: bool) -> Any:
    if isinstance(val, int | float) and not isinstance(val, bool):
        return val
    if isinstance(val, str):
        special = _SPECIAL_FLOATS.get(val)
        if special is not None:
            return special
        if _JSON_NUMBER.fullmatch(val):
            return float(val)
        raise _PathError(f"cannot parse {val!r} as a number")
    raise _PathError(f"expected a JSON number, got {_describe(val)}")


def _int_in(lo: int, hi: int) -> Conv:
    def integer(val: Any, strict: bool) -> Any:
        if type(val) is int:
            result = val
        elif isinstance(val, bool):
            raise _PathError(f"expected a JSON number, got {_describe(val)}")
        elif isinstance(val, int):
            result = int(val)
        elif isinstance(val, float):
            if not val.is_integer():
                raise _PathError(f"expected an integer, got {val!r}")
            result = int(val)
        elif isinstance(val, str):
            m = _JSON_NUMBER.fullmatch(val)
            if m is None:
                raise _PathError(f"cannot parse {val!r} as an integer")
            if m.group(1) is None and m.group(2) is None:
                result = int(val)
            else:
                number = float(val)
                if not number.is_integer():
                    raise _PathError(f"expected an integer, got {val!r}")
                result = int(number)
        else:
            raise _PathError(f"expected a JSON number, got {_describe(val)}")
        if not lo <= result <= hi:
            raise _PathError(f"integer {result} out of range [{lo}, {hi}]")
        return result

    return integer


def _bytes_in(val: Any, strict: bool) -> Any:
    if isinstance(val, bytes | bytearray | memoryview):
        return bytes(val)  # Python callers may pass raw bytes
    if not isinstance(val, str):
        raise _PathError(f"expected a base64 JSON string, got {_describe(val)}")
    try:
        raw = val.encode("ascii")
    except UnicodeEncodeError:
        raise _PathError(f"invalid base64 {_short(val)}: non-ASCII characters") from None
    if any(c in raw for c in b" \t\r\n"):
        raw = b"".join(raw.split())
    if not _B64_ALPHABET.fullmatch(raw):
        raise _PathError(
            f"invalid base64 {_short(val)}: only the standard alphabet A-Z a-z 0-9 + / is allowed"
        )
    stripped = raw.rstrip(b"=")
    if len(stripped) % 4 == 1:
        raise _PathError(f"invalid base64 {_short(val)}: wrong length")
    try:
        return base64.b64decode(stripped + b"=" * (-len(stripped) % 4), validate=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above catch these
        raise _PathError(f"invalid base64 {_short(val)}: {exc}") from None


def _enum_in(fd: Any) -> Conv:
    enum = fd.enum_type
    names = frozenset(enum.values_by_name)
    required = fd.is_required
    enum_name = enum.full_name

    def enumeration(val: Any, strict: bool) -> Any:
        if type(val) is str:
            if val in names:
                return val
            if required or strict:
                raise _PathError(f"unknown enum value {val!r} for {enum_name}")
            return _DROP
        if isinstance(val, str):
            return enumeration(str(val), strict)
        raise _PathError(f"expected an enum name string for {enum_name}, got {_describe(val)}")

    return enumeration


def _message_in(desc: Any) -> Conv:
    spec: list[_MsgIn] = []

    def message(val: Any, strict: bool) -> Any:
        if isinstance(val, Message):
            if val.DESCRIPTOR.full_name != desc.full_name:
                raise _PathError(f"expected {desc.full_name}, got a {val.DESCRIPTOR.full_name} message")
            return val
        if not spec:
            spec.append(_msg_in(desc))
        return spec[0].convert(val, strict)

    return message


def _describe(val: Any) -> str:
    kind = _json_type(val)
    if kind in ("number", "boolean", "string"):
        return f"{kind} {_short(val)}"
    return kind


def _short(val: Any) -> str:
    text = repr(val)
    return text if len(text) <= 60 else text[:57] + "..."


def check_initialized(msg: Message) -> None:
    """Raise :class:`MessageError` if required fields are missing (path of the first)."""
    if msg.IsInitialized():
        return
    missing: list[str] = msg.FindInitializationErrors()  # type: ignore[attr-defined]
    name = msg.DESCRIPTOR.name
    first = f"{name}.{missing[0]}"
    others = ", ".join(missing[1:])
    reason = "required field is missing" + (f" (also missing: {others})" if others else "")
    raise MessageError(first, reason)


def from_dict(cls: type[M], obj: Mapping[str, Any], *, strict: bool = True, partial: bool = False) -> M:
    """Build a ``cls`` message from a JSON-style dict using the stout rules.

    ``strict=True`` (default; for messages you write) rejects unknown field
    names and unknown enum names; ``strict=False`` ignores them like Mesos
    does (use it for data from the wire).  Required fields are checked unless
    ``partial=True``.  Values may also be message instances, raw ``bytes``
    for bytes fields and tuples for arrays.

    Raises :class:`MessageError` whose ``path`` names the offending field,
    e.g. ``ContainerInfo.docker.network``.
    """
    desc = cls.DESCRIPTOR
    try:
        kwargs = _msg_in(desc).convert(obj, strict)
    except _PathError as err:
        raise MessageError(_path(desc, err), err.reason) from None
    try:
        msg = cls(**kwargs)
    except (TypeError, ValueError) as exc:  # pragma: no cover - the converters should catch all
        raise MessageError(desc.name, str(exc)) from None
    if not partial:
        check_initialized(msg)
    return msg


def from_json(
    cls: type[M], data: str | bytes | bytearray | memoryview, *, strict: bool = True, partial: bool = False
) -> M:
    """Parse Mesos JSON text into a ``cls`` message (see :func:`from_dict`).

    Text that is not JSON raises :class:`~mesos_framework.errors.ProtocolError`;
    JSON that is not an object, or does not fit the schema, raises
    :class:`MessageError`.

    With ``strict=False`` a compiled fast path (msgspec's typed JSON decoder
    feeding protobuf's C constructor, see ``_fastjson``) handles well-formed
    input; anything it does not accept as it stands goes through the exact
    walk below, so results and errors are the same either way.
    """
    if not strict and not partial:
        msg = fast_from_json(cls, data)
        if msg is not None:
            return msg  # type: ignore[return-value]
    return _exact_from_json(cls, data, strict=strict, partial=partial)


def _exact_from_json(
    cls: type[M], data: str | bytes | bytearray | memoryview, *, strict: bool, partial: bool
) -> M:
    """:func:`from_json` without the fast path: the reference semantics."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"invalid JSON for {cls.DESCRIPTOR.full_name}: {exc}") from None
    if type(obj) is not dict:
        raise MessageError(cls.DESCRIPTOR.name, f"expected a JSON object, got {_json_type(obj)}")
    return from_dict(cls, obj, strict=strict, partial=partial)


# ---------------------------------------------------------------------------
# Encoding: message -> JSON-ready dict

OutConv = Callable[[Any], Any] | None


class _MsgOut:
    __slots__ = ("convs", "defaults")

    def __init__(self) -> None:
        self.convs: dict[str, OutConv] = {}
        self.defaults: list[tuple[str, Any]] = []

    def convert(self, msg: Message) -> dict[str, Any]:
        convs = self.convs
        out: dict[str, Any] = {}
        for fd, val in msg.ListFields():
            conv = convs[fd.name]
            out[fd.name] = val if conv is None else conv(val)
        for name, default in self.defaults:
            if name not in out:
                out[name] = default
        return out


_OUT_CACHE: dict[Any, _MsgOut] = {}


def _msg_out(desc: Any) -> _MsgOut:
    spec = _OUT_CACHE.get(desc)
    if spec is None:
        spec = _MsgOut()
        _OUT_CACHE[desc] = spec
        for fd in desc.fields:
            spec.convs[fd.name] = _field_out(fd)
            if not fd.is_repeated and fd.has_default_value and not fd.GetOptions().deprecated:
                scalar = _scalar_out(fd)
                dv = fd.default_value
                spec.defaults.append((fd.name, dv if scalar is None else scalar(dv)))
    return spec


def _field_out(fd: Any) -> OutConv:
    if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        value_conv = _scalar_out(fd.message_type.fields_by_name["value"])
        if value_conv is None:
            return dict
        vc = value_conv
        return lambda m: {k: vc(v) for k, v in m.items()}
    conv = _scalar_out(fd)
    if not fd.is_repeated:
        return conv
    if conv is None:
        return list
    c = conv
    return lambda vals: [c(v) for v in vals]


def _scalar_out(fd: Any) -> OutConv:
    t = fd.type
    if t == FieldDescriptor.TYPE_MESSAGE:
        desc = fd.message_type
        holder: list[_MsgOut] = []

        def message(msg: Message) -> dict[str, Any]:
            if not holder:
                holder.append(_msg_out(desc))
            return holder[0].convert(msg)

        return message
    if t == FieldDescriptor.TYPE_ENUM:
        names = {v.number: v.name for v in fd.enum_type.values}
        return names.__getitem__
    if t == FieldDescriptor.TYPE_BYTES:
        return _bytes_out
    if t in _FLOAT_TYPES:
        return _float_out
    return None


def _bytes_out(val: bytes) -> str:
    return base64.b64encode(val).decode("ascii")


def _float_out(val: float) -> float | str:
    if val - val == 0.0:  # finite
        return val
    if math.isnan(val):
        return "NaN"
    return "Infinity" if val > 0 else "-Infinity"


def to_dict(msg: Message) -> dict[str, Any]:
    """Return ``msg`` as a JSON-ready dict exactly as Mesos writes it.

    Set fields plus unset non-deprecated fields with an explicit proto2
    default; enums as names, bytes as base64, non-finite doubles as
    ``"Infinity"``/``"-Infinity"``/``"NaN"``.  Required fields are not checked
    (use :func:`check_initialized` or :func:`~mesos_framework.protocol.encode`).
    """
    return _msg_out(msg.DESCRIPTOR).convert(msg)


def to_json(msg: Message) -> bytes:
    """Return ``msg`` as compact Mesos JSON (UTF-8 bytes); see :func:`to_dict`.

    A string field holding bytes that are not UTF-8 (protobuf's proto2 parser keeps them as
    ``bytes``) cannot be written as JSON: :class:`MessageError`.
    """
    try:
        return orjson.dumps(_msg_out(msg.DESCRIPTOR).convert(msg))
    except orjson.JSONEncodeError as exc:
        raise MessageError(
            msg.DESCRIPTOR.name, f"cannot be written as JSON ({exc}; a string that is not UTF-8?)"
        ) from None
