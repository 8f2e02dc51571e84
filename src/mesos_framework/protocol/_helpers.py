"""Attach the Mesos-JSON helpers to the generated message classes."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from google.protobuf.message import Message

from mesos_framework.protocol import jsoncodec

__all__ = ["attach_helpers", "iter_message_classes"]


def _from_dict(cls: type[Message], obj: Mapping[str, Any], *, strict: bool = True) -> Message:
    return jsoncodec.from_dict(cls, obj, strict=strict)


def _from_json(
    cls: type[Message], data: str | bytes | bytearray | memoryview, *, strict: bool = True
) -> Message:
    return jsoncodec.from_json(cls, data, strict=strict)


def _to_dict(self: Message) -> dict[str, Any]:
    return jsoncodec.to_dict(self)


def _to_json(self: Message) -> bytes:
    return jsoncodec.to_json(self)


_from_dict.__doc__ = "Build this message from a dict (stout JSON rules; strict by default)."
_from_json.__doc__ = "Parse Mesos JSON text into this message (strict by default)."
_to_dict.__doc__ = "Return the message as a JSON-ready dict, exactly as Mesos writes it."
_to_json.__doc__ = "Return the message as compact Mesos JSON (UTF-8 bytes)."


def iter_message_classes(*modules: ModuleType) -> list[type[Message]]:
    """Every message class (nested ones included, map entries excluded) of the modules."""
    found: list[type[Message]] = []

    def walk(cls: type[Message]) -> None:
        found.append(cls)
        for nested in cls.DESCRIPTOR.nested_types:
            if not nested.GetOptions().map_entry:
                walk(getattr(cls, nested.name))

    for module in modules:
        for name in module.DESCRIPTOR.message_types_by_name:
            walk(getattr(module, name))
    return found


def attach_helpers(*modules: ModuleType) -> None:
    """Give every message class of ``modules`` from_dict/from_json/to_dict/to_json."""
    for cls in iter_message_classes(*modules):
        if "from_dict" in cls.__dict__:
            continue
        cls.from_dict = classmethod(_from_dict)  # type: ignore[attr-defined]
        cls.from_json = classmethod(_from_json)  # type: ignore[attr-defined]
        cls.to_dict = _to_dict  # type: ignore[attr-defined]
        cls.to_json = _to_json  # type: ignore[attr-defined]
