"""The fast path of `decode()`'s required-field and UTF-8 checks.

Mesos refuses a message that lacks a required field; so does ``decode()``.  With upb the exact
answer is ``Message.IsInitialized()``, a reflective walk over every field of every sub-message
that costs more than the parse (240 us for an OFFERS event of 100 offers, 85 us to parse it).
The optional C extension ``_wirecheck`` answers from the wire bytes instead, using per-type
tables built here once from the descriptors: only the required fields and the message fields
that can lead to one.  Its answer is one-sided: ``True`` means every required field is there,
``False`` means "not proven", after which ``decode()`` asks ``IsInitialized()`` for the exact
answer and the error message.  Without the extension (no C compiler when the package was
installed) every message takes the ``IsInitialized()`` path: same results, slower.

The same scan checks that every string field holds valid UTF-8.  protobuf's proto2 parser keeps
a string that is not as ``bytes`` (a handler would get ``bytes`` where it expects ``str``, and
``to_json()`` fails much later); Mesos's JSON encoder refuses such a string.  When the scan finds
one (or cannot follow the bytes), `find_bad_string()` walks the parsed message to name the
field, and `decode()` raises `MessageError` with that path.  Without the extension, upb itself
checks the strings, parsing the bytes again with a copy of the schema that asks it to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from mesos_framework.protocol._compat import is_repeated, is_required

try:
    from mesos_framework.protocol import _wirecheck  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - the package was installed without a C compiler
    _wirecheck = None

__all__ = [
    "ACCELERATED",
    "BAD_UTF8",
    "INCOMPLETE",
    "UNSURE",
    "complete_check",
    "find_bad_string",
    "status_check",
    "tables",
]

log = logging.getLogger(__name__)

#: Whether the C extension is there (``False``: every check goes through ``IsInitialized()``).
ACCELERATED: bool = _wirecheck is not None

Check = Callable[[bytes], bool]
Status = Callable[[bytes], int]
Field = tuple[Any, ...]  # (number, wire_type, bit, sub, enum_values[, utf8])

#: `status_check()`'s answer: 0, or these bits.
INCOMPLETE = 1  # a required field is missing: IsInitialized() has the exact answer
BAD_UTF8 = 2  # a string field is not valid UTF-8 (the scan stopped there)
UNSURE = 4  # the scan could not follow the bytes (or there is no extension): nothing proven

_T = FieldDescriptor
_WIRE_TYPE = {
    _T.TYPE_INT32: 0, _T.TYPE_INT64: 0, _T.TYPE_UINT32: 0, _T.TYPE_UINT64: 0,
    _T.TYPE_SINT32: 0, _T.TYPE_SINT64: 0, _T.TYPE_BOOL: 0, _T.TYPE_ENUM: 0,
    _T.TYPE_FIXED64: 1, _T.TYPE_SFIXED64: 1, _T.TYPE_DOUBLE: 1,
    _T.TYPE_STRING: 2, _T.TYPE_BYTES: 2, _T.TYPE_MESSAGE: 2,
    _T.TYPE_FIXED32: 5, _T.TYPE_SFIXED32: 5, _T.TYPE_FLOAT: 5,
}  # fmt: skip

_MAX_REQUIRED = 64  # one bit per required field of a message type
_MAX_NUMBER = 65535


class Unsupported(Exception):
    """A schema the wire check does not cover (the caller keeps ``IsInitialized()``)."""


def _never(data: bytes) -> bool:
    return False


def _always(data: bytes) -> bool:
    return True


def _unsure(data: bytes) -> int:
    return UNSURE


def _sure(data: bytes) -> int:
    return 0


def tables(root: Descriptor, *, strings: bool = False) -> tuple[tuple[tuple[Field, ...], ...], int] | None:
    """The extension's tables for ``root``: ``(types, root_index)``, or ``None`` if no message
    reachable from ``root`` has a required field (nor, with ``strings``, a string field).

    Each type is a tuple of ``(number, wire_type, bit, sub, enum_values)``: the required fields
    (``bit`` >= 0; a closed enum lists its known values, since the parser keeps an unknown one
    aside and leaves the field unset) and the message fields whose type can reach one (``sub``
    is that type's index).  With ``strings``, string fields are listed too and every field has
    a sixth item, 1 for a string field (its bytes are checked as UTF-8).  Raises `Unsupported`
    for groups, extensions or limits the extension does not handle.
    """
    # Each reachable type's fields are read from the descriptors once, into plain tuples: every
    # attribute of a descriptor is a lookup in upb (this runs on the first decode, at start-up).
    reachable: list[tuple[Descriptor, str, list[tuple[FieldDescriptor, str | None, bool, bool]]]] = []
    seen: set[str] = set()
    stack = [root]
    while stack:
        desc = stack.pop()
        name = desc.full_name
        if name in seen:
            continue
        seen.add(name)
        if desc.extension_ranges:
            raise Unsupported(f"{name} has extensions")
        fields = []
        for fd in desc.fields:
            kind = fd.type
            if kind == _T.TYPE_GROUP:
                raise Unsupported(f"{fd.full_name} is a group")
            held = fd.message_type
            if held is not None:
                stack.append(held)
            required = is_required(fd)
            fields.append(
                (
                    fd,
                    held.full_name if held is not None else None,
                    required,
                    required or (strings and kind == _T.TYPE_STRING),
                )
            )
        reachable.append((desc, name, fields))

    # Which types lead to a checked field: those with one, and every type that holds one of them
    # (the schema has cycles, so backwards along the "holds" edges from the first).
    holders: dict[str, list[str]] = {}
    needs: set[str] = set()
    for _desc, name, fields in reachable:
        for _fd, sub_name, _required, checked in fields:
            if checked:
                needs.add(name)
            if sub_name is not None:
                holders.setdefault(sub_name, []).append(name)
    todo = list(needs)
    while todo:
        for holder in holders.get(todo.pop(), ()):
            if holder not in needs:
                needs.add(holder)
                todo.append(holder)
    if root.full_name not in needs:
        return None

    order = [entry for entry in reachable if entry[1] in needs]
    index = {name: i for i, (_desc, name, _fields) in enumerate(order)}
    types: list[tuple[Field, ...]] = []
    for _desc, name, fields in order:
        built: list[Field] = []
        bit = 0
        for fd, sub_name, required, checked in fields:
            sub = index.get(sub_name, -1) if sub_name is not None else -1
            if not checked and sub < 0:
                continue
            number = fd.number
            if number > _MAX_NUMBER:
                raise Unsupported(f"{fd.full_name} has field number {number}")
            kind = fd.type
            enums: tuple[int, ...] | None = None
            if required:
                enum = fd.enum_type
                if enum is not None and enum.is_closed:
                    enums = tuple(sorted({v.number for v in enum.values}))
            field: Field = (number, _WIRE_TYPE[kind], bit if required else -1, sub, enums)
            if strings:
                field = (*field, int(kind == _T.TYPE_STRING))
            built.append(field)
            if required:
                bit += 1
        if bit > _MAX_REQUIRED:
            raise Unsupported(f"{name} has {bit} required fields")
        types.append(tuple(built))
    return tuple(types), index[root.full_name]


_CHECKS: dict[type[Message], Check] = {}
_STATUS: dict[type[Message], Status] = {}


def _build(cls: type[Message]) -> tuple[Check, Status]:
    """Both answers for ``cls`` from one table (strings included)."""
    if _wirecheck is None:  # no C compiler at install time
        return _never, _python_status(cls)
    try:
        built = tables(cls.DESCRIPTOR, strings=True)  # type: ignore[arg-type]  # upb's Descriptor is one
    except Unsupported as exc:
        log.debug("required-field check for %s stays IsInitialized(): %s", cls.DESCRIPTOR.full_name, exc)
        return _never, _python_status(cls)
    if built is None:
        return _always, _sure
    checker = _wirecheck.Checker(*built)
    return checker.complete, checker.check


def complete_check(cls: type[Message]) -> Check:
    """A function telling whether wire bytes of ``cls`` provably hold every required field.

    ``False`` is not an error, only "ask ``IsInitialized()``".  Built once per class.
    """
    check = _CHECKS.get(cls)
    if check is None:
        check = _CHECKS[cls] = _build(cls)[0]
    return check


def status_check(cls: type[Message]) -> Status:
    """A function of wire bytes of ``cls``: 0 when proven complete with valid UTF-8 strings.

    Otherwise bits: `INCOMPLETE` (ask ``IsInitialized()``), `BAD_UTF8` or `UNSURE` (look for
    the string with `find_bad_string()`, then ask ``IsInitialized()``).  Built once per class.
    """
    status = _STATUS.get(cls)
    if status is None:
        status = _STATUS[cls] = _build(cls)[1]
    return status


# -- without the extension: upb checks the strings --------------------------------------------


def _python_status(cls: type[Message]) -> Status:
    """The status check without the extension: required fields always go to IsInitialized(); the
    strings are checked by parsing the bytes again with a copy of the schema in which upb verifies
    UTF-8 (protobuf editions' ``utf8_validation = VERIFY``, which proto2 files cannot ask for), at
    the C parser's speed.  Where that copy cannot be made (an older protobuf), every message gets
    the Python walk.
    """
    try:
        parse = _verifying_class(cls).FromString
    except Exception as exc:  # a protobuf without editions: slower, never wrong
        log.debug("no UTF-8-verifying copy of %s (%r); strings are walked", cls.DESCRIPTOR.full_name, exc)
        return _unsure

    def status(data: bytes) -> int:
        try:
            parse(data)
        except Exception:  # DecodeError: a string is not UTF-8 (the walk names it)
            return INCOMPLETE | UNSURE
        return INCOMPLETE

    return status


_VERIFYING_POOL: Any = None


def _verifying_class(cls: type[Message]) -> Any:
    """``cls`` from a copy of its schema files in editions form: proto2's rules, UTF-8 verified."""
    global _VERIFYING_POOL
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: PLC0415

    if _VERIFYING_POOL is None:
        _VERIFYING_POOL = descriptor_pool.DescriptorPool()
    pool = _VERIFYING_POOL
    features = descriptor_pb2.FeatureSet
    label = descriptor_pb2.FieldDescriptorProto

    def convert(message: Any) -> None:
        for field in message.field:
            if field.label == label.LABEL_REQUIRED:
                field.label = label.LABEL_OPTIONAL
                field.options.features.field_presence = features.LEGACY_REQUIRED
            if field.options.HasField("packed"):
                packed = field.options.packed
                field.options.ClearField("packed")
                field.options.features.repeated_field_encoding = (
                    features.PACKED if packed else features.EXPANDED
                )
        for nested in message.nested_type:
            convert(nested)

    def add(file: Any) -> None:
        try:
            pool.FindFileByName(file.name)
            return
        except KeyError:
            pass
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        if proto.syntax in ("", "proto2"):
            proto.syntax = "editions"
            proto.edition = descriptor_pb2.EDITION_2023
            options = proto.options.features
            options.enum_type = features.CLOSED
            options.repeated_field_encoding = features.EXPANDED
            options.utf8_validation = features.VERIFY
            options.json_format = features.LEGACY_BEST_EFFORT
            for message in proto.message_type:
                convert(message)
        pool.Add(proto)

    add(cls.DESCRIPTOR.file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(cls.DESCRIPTOR.full_name))


# -- naming the string field that is not UTF-8 ------------------------------------------------

_REACHES_STRING: dict[str, bool] = {}


def _reaches_string(desc: Descriptor) -> bool:
    """Whether a message of type ``desc`` can hold a string field anywhere inside it."""
    known = _REACHES_STRING.get(desc.full_name)
    if known is None:
        known = _REACHES_STRING[desc.full_name] = _search_string(desc, set())
    return known


def _search_string(desc: Descriptor, seen: set[str]) -> bool:
    if desc.full_name in seen:
        return False
    seen.add(desc.full_name)
    return any(
        fd.type == _T.TYPE_STRING or (fd.message_type is not None and _search_string(fd.message_type, seen))
        for fd in desc.fields
    )


def find_bad_string(msg: Message, path: str = "") -> str | None:
    """The path (``Event.update.status.message``) of a string field of ``msg`` holding bytes that
    are not UTF-8, or ``None``.  A Python walk over the fields set: the slow path."""
    name = path or msg.DESCRIPTOR.name
    for fd, value in msg.ListFields():
        if fd.type == _T.TYPE_STRING:
            if is_repeated(fd):
                for i, item in enumerate(value):
                    if type(item) is bytes:
                        return f"{name}.{fd.name}[{i}]"
            elif type(value) is bytes:
                return f"{name}.{fd.name}"
        elif fd.message_type is not None and _reaches_string(fd.message_type):
            if fd.message_type.GetOptions().map_entry:
                items = value.items()
                for key, item in items:
                    if type(key) is bytes:
                        return f"{name}.{fd.name}[{key!r}]"
                    if isinstance(item, Message):
                        found = find_bad_string(item, f"{name}.{fd.name}[{key!r}]")
                        if found:
                            return found
                    elif (
                        type(item) is bytes and fd.message_type.fields_by_name["value"].type == _T.TYPE_STRING
                    ):
                        return f"{name}.{fd.name}[{key!r}]"
            elif is_repeated(fd):
                for i, item in enumerate(value):
                    found = find_bad_string(item, f"{name}.{fd.name}[{i}]")
                    if found:
                        return found
            else:
                found = find_bad_string(value, f"{name}.{fd.name}")
                if found:
                    return found
    return None
