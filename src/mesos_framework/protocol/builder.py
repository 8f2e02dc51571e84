"""A chainable builder for Mesos messages, named by type string.

The JavaScript original offered ``new Builder("mesos.CommandInfo").setValue(..)``;
this is the Python equivalent, with the same validation as
`from_dict()` (strict: unknown fields and enum
names are errors that name the field path):

    cmd = (
        Builder("mesos.CommandInfo")
        .set_value("env && sleep 100")
        .set_shell(True)
        .add_uris({"value": "http://example.com/app.tgz", "extract": True})
        .build()
    )

Type names: ``"mesos.CommandInfo"``, ``"mesos.v1.CommandInfo"``,
``"mesos.scheduler.Call"``, ``"mesos.v1.scheduler.Call.Accept"``, or the class.
Methods: ``set_<field>(value)`` (or ``set_<field>(**fields)`` for message
fields), ``add_<repeated>(value)``, ``put_<map>(key, value)``,
``clear_<field>()``; the generic forms are `Builder.set()`,
`Builder.add()`, `Builder.put()` and `Builder.clear()`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from google.protobuf.message import Message

from mesos_framework.errors import MessageError
from mesos_framework.protocol import mesos as _mesos  # noqa: F401 - every message gets its JSON helpers
from mesos_framework.protocol._compat import is_repeated
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2, scheduler_pb2
from mesos_framework.protocol.jsoncodec import check_initialized, from_dict, to_dict

__all__ = ["Builder", "as_message", "message_class"]

M = TypeVar("M", bound=Message)
_MISSING: Any = object()


def message_class(name: str | type[Message]) -> type[Message]:
    """Return the message class for a type name such as ``"mesos.CommandInfo"``.

    Accepts ``mesos.X``, ``mesos.v1.X``, ``mesos.scheduler.X``,
    ``mesos.v1.scheduler.X``, ``mesos.executor.X`` (nested types with dots)
    and a bare ``X`` for ``mesos.v1``.  Raises `MessageError` for an
    unknown name.
    """
    if isinstance(name, type):
        if not issubclass(name, Message):
            raise TypeError(f"{name!r} is not a protobuf message class")
        return name
    parts = name.split(".")
    if parts[:1] == ["mesos"]:
        parts = parts[1:]
    if parts[:1] == ["v1"]:
        parts = parts[1:]
    module: Any = mesos_pb2
    if parts[:1] == ["scheduler"]:
        module, parts = scheduler_pb2, parts[1:]
    elif parts[:1] == ["executor"]:
        module, parts = executor_pb2, parts[1:]
    obj: Any = module
    for part in parts:
        obj = getattr(obj, part, None) if part and part[:1].isupper() else None
        if obj is None:
            break
    if not parts or not (isinstance(obj, type) and issubclass(obj, Message)):
        raise MessageError("", f"unknown Mesos message type {name!r}")
    return obj


class Builder(Generic[M]):
    """Build a Mesos message step by step; see the module docstring.

    ``Builder(type_name, **fields)`` starts from ``fields`` (as in
    `from_dict()`).  Every setter validates at
    once and returns the builder, so calls chain.  `build()` checks
    required fields and returns a new protobuf message.  Given a class
    (``Builder(mesos.CommandInfo)``) the builder is typed by it.
    """

    __slots__ = ("_cls", "_msg")

    @overload
    def __init__(self: Builder[M], type_name: type[M], /, **fields: Any) -> None: ...
    @overload
    def __init__(self: Builder[Any], type_name: str, /, **fields: Any) -> None: ...
    def __init__(self, type_name: str | type[M], /, **fields: Any) -> None:
        self._cls: type[M] = message_class(type_name)  # type: ignore[assignment]
        self._msg: M = self._cls()
        for name, value in fields.items():
            self.set(name, value)

    @property
    def message_type(self) -> type[M]:
        """The class of the message being built."""
        return self._cls

    def _field(self, name: str) -> Any:
        desc = self._cls.DESCRIPTOR
        fd = desc.fields_by_name.get(name)
        if fd is None:
            hint = difflib.get_close_matches(name, list(desc.fields_by_name), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            raise MessageError(
                f"{desc.name}.{name}", f"unknown field '{name}' of {desc.full_name}{suggestion}"
            )
        return fd

    def _merge(self, obj: dict[str, Any]) -> None:
        self._msg.MergeFrom(from_dict(self._cls, obj, strict=True, partial=True))

    def set(self, name: str, value: Any = _MISSING, /, **fields: Any) -> Builder[M]:
        """Set field ``name`` (replacing a repeated field's elements).

        ``value`` may be a plain value, a dict, a message or a Builder; for a
        message field, keyword arguments build the value. ``None`` clears.
        """
        fd = self._field(name)
        value = _value(value, fields)
        if value is None:
            self._msg.ClearField(name)
            return self
        if is_repeated(fd) and isinstance(value, Mapping) and not _is_map(fd):
            raise MessageError(f"{self._cls.DESCRIPTOR.name}.{name}", "expected a list for a repeated field")
        candidate = from_dict(self._cls, {name: _plain(value, is_repeated(fd))}, strict=True, partial=True)
        self._msg.ClearField(name)
        self._msg.MergeFrom(candidate)
        return self

    def add(self, name: str, value: Any = _MISSING, /, **fields: Any) -> Builder[M]:
        """Append one element to repeated field ``name``."""
        fd = self._field(name)
        if not is_repeated(fd) or _is_map(fd):
            raise MessageError(
                f"{self._cls.DESCRIPTOR.name}.{name}",
                "not a repeated field: use set_" + name
                if not _is_map(fd)
                else "a map field: use put_" + name,
            )
        value = _value(value, fields)
        index = len(getattr(self._msg, name))
        try:
            self._merge({name: [_plain(value, False)]})
        except MessageError as exc:
            prefix = f"{self._cls.DESCRIPTOR.name}.{name}[0]"
            if exc.path.startswith(prefix):
                raise MessageError(
                    f"{self._cls.DESCRIPTOR.name}.{name}[{index}]" + exc.path[len(prefix) :], exc.reason
                ) from None
            raise
        return self

    def put(self, name: str, key: str, value: Any = _MISSING, /, **fields: Any) -> Builder[M]:
        """Set ``key`` of map field ``name`` (e.g. ``put_limits("cpus", {"value": 2.0})``)."""
        fd = self._field(name)
        if not _is_map(fd):
            raise MessageError(f"{self._cls.DESCRIPTOR.name}.{name}", "not a map field")
        value = _value(value, fields)
        self._merge({name: {key: _plain(value, False)}})
        return self

    def clear(self, name: str) -> Builder[M]:
        """Unset field ``name``."""
        self._field(name)
        self._msg.ClearField(name)
        return self

    def __getattr__(self, attr: str) -> Callable[..., Builder[M]]:
        for prefix, method in (
            ("set_", self.set),
            ("add_", self.add),
            ("put_", self.put),
            ("clear_", self.clear),
        ):
            if attr.startswith(prefix) and len(attr) > len(prefix):
                field_name = attr[len(prefix) :]
                self._field(field_name)

                def call(
                    *args: Any, _m: Callable[..., Builder[M]] = method, _f: str = field_name, **kw: Any
                ) -> Builder[M]:
                    return _m(_f, *args, **kw)

                call.__name__ = attr
                return call
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def build(self, *, partial: bool = False) -> M:
        """Return a new message with the fields set so far.

        Raises `MessageError` naming the first missing required field,
        unless ``partial=True``.
        """
        msg = self._cls()
        msg.CopyFrom(self._msg)
        if not partial:
            check_initialized(msg)
        return msg

    def to_dict(self) -> dict[str, Any]:
        """The Mesos JSON dict of what has been set so far."""
        return to_dict(self._msg)

    def __repr__(self) -> str:
        return f"Builder({self._cls.DESCRIPTOR.full_name!r}, **{to_dict(self._msg)!r})"


def _is_map(fd: Any) -> bool:
    return bool(fd.message_type is not None and fd.message_type.GetOptions().map_entry)


def _value(value: Any, fields: dict[str, Any]) -> Any:
    if fields:
        if value is not _MISSING:
            raise TypeError("pass either a value or keyword fields, not both")
        return fields
    if value is _MISSING:
        raise TypeError("a value is required")
    return value


def _plain(value: Any, repeated: bool) -> Any:
    """Turn Builders (also inside a list) into messages."""
    if isinstance(value, Builder):
        return value.build(partial=True)
    if repeated and isinstance(value, list | tuple):
        return [v.build(partial=True) if isinstance(v, Builder) else v for v in value]
    return value


@overload
def as_message(obj: M) -> M: ...
@overload
def as_message(obj: Builder[Any] | Mapping[str, Any], cls: type[M]) -> M: ...
@overload
def as_message(obj: M | Builder[Any] | Mapping[str, Any], cls: type[M]) -> M: ...
@overload
def as_message(obj: Builder[M]) -> M: ...
def as_message(obj: Any, cls: type[Message] | None = None) -> Message:
    """Accept a message, a `Builder` or a dict where a message is expected.

    With ``cls`` the result must be (or is built as) that type; a dict needs
    ``cls`` and is parsed strictly with `from_dict()`.
    Raises `MessageError` for a message of the wrong type or missing
    required fields.
    """
    msg: Message
    if isinstance(obj, Builder):
        msg = obj.build()
    elif isinstance(obj, Message):
        msg = obj
    elif isinstance(obj, Mapping):
        if cls is None:
            raise TypeError("as_message(dict) needs the message class")
        return from_dict(cls, obj, strict=True)
    else:
        raise TypeError(f"expected a protobuf message, a Builder or a dict, got {type(obj).__name__}")
    if cls is not None and msg.DESCRIPTOR.full_name != cls.DESCRIPTOR.full_name:
        raise MessageError(
            cls.DESCRIPTOR.name, f"expected a {cls.DESCRIPTOR.full_name}, got a {msg.DESCRIPTOR.full_name}"
        )
    return msg
