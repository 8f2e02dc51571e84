"""Fast path for lenient (wire) JSON decoding, with the exact walk as the authority.

`from_json()` with ``strict=False``
first tries `fast_from_json()`.  It either returns exactly the message the
exact path (`from_dict()`) would
build, or ``None``; on ``None`` the caller runs the exact path, which then
produces the message or the precise error.  This module therefore never
raises for bad input and never decides what an error says.

With the package's C extension (``_wirecheck.JsonWire``), the JSON text is
converted in C straight into protobuf wire bytes, which protobuf's own parser
(upb, C) turns into the message: no Python object is made on the way.  The
converter is built per message type from tables this module derives from the
descriptors (`wire_tables()`); it takes only input that the exact path would
accept unchanged (see the C source for the list) and answers ``None`` for
everything else, required fields included; what it declines goes to the
msgspec path below, then to the exact path.

Without the extension (no C compiler at install time), and for ``str`` input:
per message type we derive a ``TypedDict`` schema from the descriptor and
let msgspec's C decoder parse and type-check the JSON in one pass:
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

try:
    from mesos_framework.protocol import _wirecheck  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - the package was installed without a C compiler
    _wirecheck = None

__all__ = ["ACCELERATED", "fast_from_json", "fast_json_decoder", "wire_tables"]

#: Whether JSON is converted to wire bytes in C (``False``: msgspec and protobuf's constructor).
ACCELERATED: bool = _wirecheck is not None and hasattr(_wirecheck, "JsonWire")

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


# -- the C converter ------------------------------------------------------------------------

_F = FieldDescriptor
#: The converter's kinds of field (the order of the enum in _wirecheck.c).
_KINDS = {
    _F.TYPE_STRING: 0, _F.TYPE_BYTES: 1, _F.TYPE_BOOL: 2, _F.TYPE_DOUBLE: 3,
    _F.TYPE_INT32: 4, _F.TYPE_INT64: 5, _F.TYPE_UINT32: 6, _F.TYPE_UINT64: 7,
    _F.TYPE_SINT32: 8, _F.TYPE_SINT64: 9, _F.TYPE_FIXED32: 10, _F.TYPE_FIXED64: 11,
    _F.TYPE_SFIXED32: 12, _F.TYPE_SFIXED64: 13, _F.TYPE_ENUM: 14, _F.TYPE_MESSAGE: 15,
}  # fmt: skip
#: Fields the converter hands to the exact path when present: float (its rounding and range are
#: protobuf's business), maps (string keys to convert) and groups.
_UNSUPPORTED = 16
_MAX_REQUIRED = 64
_MAX_FIELDS = 256

WireTables = tuple[tuple[tuple[tuple[bytes, int, int, int, int, int, Any], ...], ...], int]


class Unsupported(Exception):
    """A message type the C converter does not take (the msgspec path serves it)."""


def wire_tables(root: Any) -> WireTables:
    """The C converter's tables for ``root``: ``(types, root_index)``.

    Each type is a tuple of its fields sorted by name: ``(name, number, kind, repeated,
    required_bit, sub, enums)``, ``sub`` the index of a message field's type and ``enums`` the
    sorted ``(name, number)`` pairs of an enum field's type.
    """
    order: list[Any] = []
    index: dict[str, int] = {}
    stack = [root]
    while stack:
        desc = stack.pop()
        if desc.full_name in index:
            continue
        index[desc.full_name] = len(order)
        order.append(desc)
        for fd in desc.fields:
            if fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
                stack.append(fd.message_type)
    types = []
    for desc in order:
        if len(desc.fields) > _MAX_FIELDS:
            raise Unsupported(f"{desc.full_name} has {len(desc.fields)} fields")
        fields = []
        bit = 0
        for fd in sorted(desc.fields, key=lambda f: f.name.encode()):
            kind = _KINDS.get(fd.type, _UNSUPPORTED)
            sub = -1
            if fd.type == _F.TYPE_MESSAGE:
                if fd.message_type.GetOptions().map_entry:
                    kind = _UNSUPPORTED
                else:
                    sub = index[fd.message_type.full_name]
            required = -1
            if is_required(fd):
                required, bit = bit, bit + 1
                if bit > _MAX_REQUIRED:
                    raise Unsupported(f"{desc.full_name} has more than {_MAX_REQUIRED} required fields")
            enums = None
            if kind == 14:
                enums = tuple(sorted((v.name.encode(), v.number) for v in fd.enum_type.values))
            fields.append((fd.name.encode(), fd.number, kind, int(is_repeated(fd)), required, sub, enums))
        types.append(tuple(fields))
    return tuple(types), index[root.full_name]


_FAST: dict[Any, Callable[[Any], Message | None]] = {}


def fast_json_decoder(cls: type[Message]) -> Callable[[Any], Message | None]:
    """`fast_from_json()` bound to ``cls``: a function of the JSON text, built once per class."""
    fast = _FAST.get(cls)
    if fast is not None:
        return fast
    convert = None
    if ACCELERATED:
        try:
            convert = _wirecheck.JsonWire(*wire_tables(cls.DESCRIPTOR)).convert
        except Exception:  # a schema the converter does not take costs speed, never correctness
            logger.debug("no C JSON converter for %s", cls.DESCRIPTOR.full_name, exc_info=True)
    if convert is not None:
        parse = cls.FromString
        wire_convert = convert

        def fast_c(data: Any) -> Message | None:
            if type(data) is str:  # text, not bytes: msgspec reads it as it is
                return _msgspec_from_json(cls, data)
            wire = wire_convert(data)
            if wire is None:
                # Declined (a map or float field, or input the exact path must judge): the
                # msgspec path takes what it can, the exact path the rest.
                return _msgspec_from_json(cls, data)
            try:
                return parse(wire)
            except Exception:  # pragma: no cover - the converter wrote bytes upb refuses: a bug
                logger.warning("JSON converted for %s does not parse", cls.DESCRIPTOR.full_name)
                return None

        fast = fast_c
    else:

        def fast_msgspec(data: Any) -> Message | None:
            return _msgspec_from_json(cls, data)

        fast = fast_msgspec
    _FAST[cls] = fast
    return fast


def fast_from_json(cls: type[Message], data: Any) -> Message | None:
    """The message the lenient exact path would build from ``data``, or ``None``.

    Required fields are checked (a message built here is always initialized).  ``None``
    means "not decided here": the caller must run the exact path, which builds the message
    or raises the precise error.
    """
    fast = _FAST.get(cls)
    if fast is None:
        fast = fast_json_decoder(cls)
    return fast(data)


def _msgspec_from_json(cls: type[Message], data: Any) -> Message | None:
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
