"""Fast path for lenient (wire) JSON decoding, with the exact walk as the authority.

`from_json()` with ``strict=False``
first tries `fast_from_json()`.  It either returns exactly the message the
exact path (`from_dict()`) would
build, or ``None``; on ``None`` the caller runs the exact path, which then
produces the message or the precise error.  This module therefore never
raises for bad input and never decides what an error says.

How: per message type we derive a ``TypedDict`` schema from the descriptor
and let msgspec's C decoder parse and type-check the JSON in one pass:
strings, booleans (JSON ``true``/``false`` only), integers (JSON integers
only, within the field's range), doubles (JSON numbers), enum names
(``Literal`` of the value names), ``bytes`` (padded standard base64),
nested messages, arrays and string-keyed maps.  Everything the stout rules
also allow but this schema does not (numeric strings, ``"Infinity"``,
``"true"``, ``null``, floats for integers, unknown enum names, unpadded or
spaced base64) makes msgspec reject the document, and the exact path handles
it.  Required fields are required keys of the schema, so a missing one also
hands the input over.  The dict msgspec returns has only known keys and
values that protobuf's C constructor takes as they are, so the message is
built without a Python walk and needs no ``IsInitialized`` pass.

One gap is closed explicitly: msgspec skips the values of unknown keys
without fully validating them (invalid UTF-8, numbers that overflow a double,
nesting deeper than orjson allows), where the exact path's ``orjson.loads``
rejects the whole document.  So unless re-encoding the decoded dict gives the
input back byte for byte (then nothing was skipped and the text is valid
JSON), the input is also checked with ``orjson.loads``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mesos_framework.protocol._compat import is_repeated, is_required

__all__ = ["fast_from_json"]

logger = logging.getLogger(__name__)

_INT64_MAX = 2**63 - 1
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), _INT64_MAX),
    FieldDescriptor.TYPE_SINT64: (-(2**63), _INT64_MAX),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), _INT64_MAX),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOAT_TYPES = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)

_Decode = Callable[[Any], Any]
_typed_dict: Any = TypedDict  # called with names and fields known only at run time
_SCHEMAS: dict[Any, Any] = {}
_DECODERS: dict[Any, _Decode] = {}
_encode = msgspec.json.Encoder().encode


def _schema(desc: Any) -> Any:
    """The ``TypedDict`` for a message type (required fields are its required keys), built once."""
    schema = _SCHEMAS.get(desc)
    if schema is None:
        schema = _typed_dict(f"_{desc.full_name.replace('.', '_')}", {}, total=False)
        _SCHEMAS[desc] = schema  # registered before filling: ContainerID.parent is recursive
        hints = {fd.name: _field_type(fd) for fd in desc.fields}
        required = frozenset(fd.name for fd in desc.fields if is_required(fd))
        schema.__annotations__.update(hints)
        schema.__required_keys__ = required
        schema.__optional_keys__ = frozenset(hints) - required
    return schema


def _field_type(fd: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        key_fd = fd.message_type.fields_by_name["key"]
        value = _scalar_type(fd.message_type.fields_by_name["value"])
        if key_fd.type != FieldDescriptor.TYPE_STRING:
            # JSON keys are strings; integer-keyed maps need the exact path's conversion.
            return Literal["\x00never a map"]
        return dict[str, value]  # type: ignore[valid-type]
    scalar = _scalar_type(fd)
    return list[scalar] if is_repeated(fd) else scalar  # type: ignore[valid-type]


def _scalar_type(fd: Any) -> Any:
    t = fd.type
    if t == FieldDescriptor.TYPE_STRING:
        return str
    if t == FieldDescriptor.TYPE_BOOL:
        return bool
    if t in _FLOAT_TYPES:
        return float
    if t in _INT_RANGES:
        lo, hi = _INT_RANGES[t]
        if hi > _INT64_MAX:  # msgspec bounds stop at int64; protobuf rejects bigger values itself
            return Annotated[int, msgspec.Meta(ge=lo)]
        return Annotated[int, msgspec.Meta(ge=lo, le=hi)]
    if t == FieldDescriptor.TYPE_BYTES:
        return bytes
    if t == FieldDescriptor.TYPE_ENUM:
        return Literal[tuple(fd.enum_type.values_by_name)]
    if t == FieldDescriptor.TYPE_MESSAGE:
        return _schema(fd.message_type)
    raise TypeError(f"unsupported field type {t} for {fd.full_name}")  # pragma: no cover


class _Declined(Exception):
    """Internal: no fast decoder could be built for this message type."""


def _decline(data: Any) -> Any:
    raise _Declined


def _decoder(desc: Any) -> _Decode:
    dec = _DECODERS.get(desc)
    if dec is None:
        try:
            dec = msgspec.json.Decoder(_schema(desc)).decode
        except Exception:  # a msgspec that rejects the schema costs speed, never correctness
            logger.warning("no fast JSON decoder for %s; using the exact path", desc.full_name, exc_info=True)
            dec = _decline
        _DECODERS[desc] = dec
    return dec


def fast_from_json(cls: type[Message], data: Any) -> Message | None:
    """The message the lenient exact path would build from ``data``, or ``None``.

    Required fields are checked (they are required keys of the schema, so a
    message built here is always initialized).  ``None`` means "not decided
    here": the caller must run the exact path, which builds the message or
    raises the precise error.
    """
    desc = cls.DESCRIPTOR
    dec = _DECODERS.get(desc)
    try:
        if dec is None:
            dec = _decoder(desc)
        kwargs = dec(data)
        if _encode(kwargs) != data:
            orjson.loads(data)  # anything skipped must still be JSON that orjson accepts
        return cls(**kwargs)
    except Exception:  # whatever went wrong, the exact path decides and explains
        return None
