"""Message encoding for the local cluster: JSON (stout rules) and protobuf.

A thin layer over `mesos_framework.protocol` that also implements the
HTTP content negotiation rules Mesos applies (exact ``Content-Type``
comparison, ``Accept`` with JSON winning whenever it is acceptable).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from google.protobuf.message import Message

from mesos_framework import protocol
from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.protocol._schema import mesos_pb2

#: The task states after which a task never changes again (master and agents alike).
TERMINAL_STATES = frozenset(
    {
        mesos_pb2.TASK_FINISHED,
        mesos_pb2.TASK_FAILED,
        mesos_pb2.TASK_KILLED,
        mesos_pb2.TASK_ERROR,
        mesos_pb2.TASK_LOST,
        mesos_pb2.TASK_DROPPED,
        mesos_pb2.TASK_GONE,
        mesos_pb2.TASK_GONE_BY_OPERATOR,
    }
)


def has_cap(info: mesos_pb2.FrameworkInfo, cap: int) -> bool:
    """Whether the framework declared a capability (master and agents alike)."""
    return any(c.type == cap for c in info.capabilities)


JSON = "application/json"
PROTOBUF = "application/x-protobuf"

M = TypeVar("M", bound=Message)


class BodyError(ValueError):
    """A request body that cannot be turned into the expected message.

    ``text`` is the exact response body Mesos gives for it.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def to_dict(msg: Message) -> dict[str, Any]:
    """The stout JSON form of ``msg`` as a dict."""
    return protocol.to_dict(msg)


def from_dict(cls: type[M], obj: Any) -> M:
    """Build ``cls`` from wire JSON, tolerant like Mesos (raises ``MessageError``).

    Unknown keys and unknown names of optional enums are ignored; a missing
    required field gives Mesos's ``Missing required fields: a.b.c`` reason.
    """
    if not isinstance(obj, dict):
        raise MessageError("", f"Expecting a JSON object, got {type(obj).__name__}")
    msg: M = protocol.from_dict(cls, obj, strict=False, partial=True)
    missing: list[str] = msg.FindInitializationErrors()  # type: ignore[attr-defined]
    if missing:
        raise MessageError("", "Missing required fields: " + ", ".join(missing))
    return msg


def encode(msg: Message, content_type: str) -> bytes:
    """Serialise ``msg`` as compact JSON or protobuf."""
    if content_type == PROTOBUF:
        return msg.SerializeToString()
    return orjson.dumps(to_dict(msg))


def encode_dict(obj: Any) -> bytes:
    """Compact JSON bytes of a plain dict (for state endpoints)."""
    return orjson.dumps(obj)


def parse_body(cls: type[M], body: bytes, content_type: str, what: str = "Call") -> M:
    """Parse a request body, raising `BodyError` with Mesos's message."""
    if content_type == PROTOBUF:
        try:
            return protocol.decode(cls, body)  # unparsable bytes or a missing required field
        except (ProtocolError, MessageError):
            raise BodyError(f"Failed to parse body into {what} protobuf") from None
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"Failed to parse body into JSON: {exc}") from None
    try:
        return from_dict(cls, obj)
    except MessageError as exc:
        raise BodyError(f"Failed to convert JSON into {what} protobuf: {_stout_reason(exc)}") from None


def _stout_reason(exc: MessageError) -> str:
    return exc.reason if not exc.path else str(exc)


def accepts(accept: str | None, media: str) -> bool:
    """Whether an ``Accept`` header value allows ``media`` (q=0 excludes)."""
    if accept is None or not accept.strip():
        return True
    main, _, _sub = media.partition("/")
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        candidate = fields[0].lower()
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if candidate in (media, "*/*", f"{main}/*"):
            return True
    return False


def negotiate(accept: str | None) -> str | None:
    """The response encoding for an ``Accept`` header, or None (-> 406)."""
    if accepts(accept, JSON):
        return JSON
    if accepts(accept, PROTOBUF):
        return PROTOBUF
    return None
