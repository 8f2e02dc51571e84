"""The static base type of every generated Mesos message class.

At runtime the generated classes derive directly from protobuf's message
class; `mesos_framework.protocol.mesos` attaches `from_dict()`,
`from_json()`, `to_dict()` and `to_json()` to each of them when it
is imported.  The generated ``.pyi`` stubs name `MesosMessage` as the
base class so that type checkers know about those helpers.  Never instantiate
or subclass it yourself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from google.protobuf.message import Message


class MesosMessage(Message):
    """Typing-only base of the generated classes; see the module docstring."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], *, strict: bool = True) -> Self:
        """Build a message from a dict using the Mesos (stout) JSON rules.

        ``strict=True`` (the default) rejects unknown field names and unknown
        enum names with a `MessageError`;
        ``strict=False`` ignores them as Mesos does.
        """
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: str | bytes | bytearray | memoryview, *, strict: bool = True) -> Self:
        """Parse Mesos JSON text into a message (see `from_dict()`)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Return the message as a JSON-ready dict, exactly as Mesos writes it."""
        raise NotImplementedError

    def to_json(self) -> bytes:
        """Return the message as compact Mesos JSON (UTF-8 bytes)."""
        raise NotImplementedError
