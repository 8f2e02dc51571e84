"""Sans-IO Mesos v1 protocol: messages, JSON/protobuf codecs, RecordIO, durations.

Nothing here does I/O: the functions take bytes or values and return values.

* `mesos` — every ``mesos.v1`` message and enum (``mesos.TaskID``,
  ``mesos.TaskState``), plus ``mesos.scheduler.*`` and ``mesos.executor.*``.
* `encode()` / `decode()` — one message to/from either
  `ContentType`.
* `to_dict()` / `from_dict()` / `to_json()` / `from_json()` —
  Mesos's own (stout) JSON rules.
* `RecordIODecoder` / `recordio_encode()` — the event-stream framing.
* `parse_duration()` / `format_duration()` — stout durations (``"5secs"``).
* `Builder` / `as_message()` — chainable construction by type name.

Errors: `MessageError` (a message that does not
fit the schema, with a field ``path``) and
`ProtocolError` (bytes that cannot be framed or
parsed at all).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from mesos_framework.protocol import mesos
    from mesos_framework.protocol.builder import Builder, as_message, message_class
    from mesos_framework.protocol.codec import ContentType, decode, decoder, encode
    from mesos_framework.protocol.duration import format_duration, parse_duration
    from mesos_framework.protocol.jsoncodec import check_initialized, from_dict, from_json, to_dict, to_json
    from mesos_framework.protocol.recordio import DEFAULT_MAX_RECORD_SIZE, RecordIODecoder, recordio_encode

__all__ = [
    "DEFAULT_MAX_RECORD_SIZE",
    "Builder",
    "ContentType",
    "RecordIODecoder",
    "as_message",
    "check_initialized",
    "decode",
    "decoder",
    "encode",
    "format_duration",
    "from_dict",
    "from_json",
    "get_mesos",
    "mesos",
    "message_class",
    "parse_duration",
    "recordio_encode",
    "to_dict",
    "to_json",
]

if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above (and so catch a misspelt name).
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.protocol.mesos": ["mesos"],
            "mesos_framework.protocol.builder": ["Builder", "as_message", "message_class"],
            "mesos_framework.protocol.codec": ["ContentType", "decode", "decoder", "encode"],
            "mesos_framework.protocol.duration": ["format_duration", "parse_duration"],
            "mesos_framework.protocol.jsoncodec": [
                "check_initialized",
                "from_dict",
                "from_json",
                "to_dict",
                "to_json",
            ],
            "mesos_framework.protocol.recordio": [
                "DEFAULT_MAX_RECORD_SIZE",
                "RecordIODecoder",
                "recordio_encode",
            ],
        },
    )


def get_mesos() -> ModuleType:
    """Return the `mesos` namespace (the JavaScript original's `Mesos.getMesos()`)."""
    from mesos_framework.protocol import mesos  # noqa: PLC0415 - loaded on first use

    return mesos
