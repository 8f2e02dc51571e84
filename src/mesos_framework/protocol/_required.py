"""The fast path of `decode()`'s required-field check.

Mesos refuses a message that lacks a required field; so does ``decode()``.  With upb the exact
answer is ``Message.IsInitialized()``, a reflective walk over every field of every sub-message
that costs more than the parse (240 us for an OFFERS event of 100 offers, 85 us to parse it).
The optional C extension ``_wirecheck`` answers from the wire bytes instead, using per-type
tables built here once from the descriptors: only the required fields and the message fields
that can lead to one.  Its answer is one-sided: ``True`` means every required field is there,
``False`` means "not proven", after which ``decode()`` asks ``IsInitialized()`` for the exact
answer and the error message.  Without the extension (no C compiler when the package was
installed) every message takes the ``IsInitialized()`` path: same results, slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from mesos_framework.protocol._compat import is_required

try:
    from mesos_framework.protocol import _wirecheck  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - the package was installed without a C compiler
    _wirecheck = None

__all__ = ["ACCELERATED", "complete_check", "tables"]

log = logging.getLogger(__name__)

#: Whether the C extension is there (``False``: every check goes through ``IsInitialized()``).
ACCELERATED: bool = _wirecheck is not None

Check = Callable[[bytes], bool]
Field = tuple[int, int, int, int, tuple[int, ...] | None]

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


def tables(root: Descriptor) -> tuple[tuple[tuple[Field, ...], ...], int] | None:
    """The extension's tables for ``root``: ``(types, root_index)``, or ``None`` if no message
    reachable from ``root`` has a required field.

    Each type is a tuple of ``(number, wire_type, bit, sub, enum_values)``: the required fields
    (``bit`` >= 0; a closed enum lists its known values, since the parser keeps an unknown one
    aside and leaves the field unset) and the message fields whose type can reach one (``sub``
    is that type's index).  Raises `Unsupported` for groups, extensions or limits the
    extension does not handle.
    """
    reachable: list[Descriptor] = []
    seen: set[str] = set()
    stack = [root]
    while stack:
        desc = stack.pop()
        if desc.full_name in seen:
            continue
        seen.add(desc.full_name)
        reachable.append(desc)
        if desc.extension_ranges:
            raise Unsupported(f"{desc.full_name} has extensions")
        for fd in desc.fields:
            if fd.type == _T.TYPE_GROUP:
                raise Unsupported(f"{fd.full_name} is a group")
            if fd.message_type is not None:
                stack.append(fd.message_type)

    # Which types lead to a required field (a fixpoint: the schema has cycles).
    needs = {d.full_name for d in reachable if any(is_required(fd) for fd in d.fields)}
    changed = True
    while changed:
        changed = False
        for desc in reachable:
            if desc.full_name not in needs and any(
                fd.message_type is not None and fd.message_type.full_name in needs for fd in desc.fields
            ):
                needs.add(desc.full_name)
                changed = True
    if root.full_name not in needs:
        return None

    order = [d for d in reachable if d.full_name in needs]
    index = {d.full_name: i for i, d in enumerate(order)}
    types: list[tuple[Field, ...]] = []
    for desc in order:
        fields: list[Field] = []
        bit = 0
        for fd in desc.fields:
            sub = index.get(fd.message_type.full_name, -1) if fd.message_type is not None else -1
            if not is_required(fd) and sub < 0:
                continue
            if fd.number > _MAX_NUMBER:
                raise Unsupported(f"{fd.full_name} has field number {fd.number}")
            enums: tuple[int, ...] | None = None
            enum = fd.enum_type
            if is_required(fd) and enum is not None and enum.is_closed:
                enums = tuple(sorted({v.number for v in enum.values}))
            fields.append((fd.number, _WIRE_TYPE[fd.type], bit if is_required(fd) else -1, sub, enums))
            if is_required(fd):
                bit += 1
        if bit > _MAX_REQUIRED:
            raise Unsupported(f"{desc.full_name} has {bit} required fields")
        types.append(tuple(fields))
    return tuple(types), index[root.full_name]


_CHECKS: dict[type[Message], Check] = {}


def complete_check(cls: type[Message]) -> Check:
    """A function telling whether wire bytes of ``cls`` provably hold every required field.

    ``False`` is not an error, only "ask ``IsInitialized()``".  Built once per class.
    """
    check = _CHECKS.get(cls)
    if check is not None:
        return check
    if _wirecheck is None:  # no C compiler at install time
        check = _never
    else:
        try:
            built = tables(cls.DESCRIPTOR)  # type: ignore[arg-type]  # upb's Descriptor is one
        except Unsupported as exc:
            log.debug("required-field check for %s stays IsInitialized(): %s", cls.DESCRIPTOR.full_name, exc)
            check = _never
        else:
            check = _always if built is None else _wirecheck.Checker(*built).complete
    _CHECKS[cls] = check
    return check
