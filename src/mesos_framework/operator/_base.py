"""What the master and agent operator clients share: one HTTP client, calls in, responses out."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

from google.protobuf.message import Message

from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.protocol import ContentType, decode
from mesos_framework.transport import Backoff, Credentials, Endpoint, HttpClient, MasterDetector, TLSConfig
from mesos_framework.transport.http import Resolver

C = TypeVar("C", bound=Message)
R = TypeVar("R", bound=Message)
E = TypeVar("E", bound=Message)
T = TypeVar("T", bound=Message)
# The parts of a ``Response`` both APIs have (``master.Response.GetHealth``, ``agent.Response...``).
HealthT = TypeVar("HealthT", bound=Message)
FlagsT = TypeVar("FlagsT", bound=Message)
VersionT = TypeVar("VersionT", bound=Message)
MetricsT = TypeVar("MetricsT", bound=Message)
LevelT = TypeVar("LevelT", bound=Message)
ListT = TypeVar("ListT", bound=Message)
ReadT = TypeVar("ReadT", bound=Message)
StateT = TypeVar("StateT", bound=Message)


def duration(seconds: float) -> dict[str, int]:
    """A ``DurationInfo`` (nanoseconds) as a dict."""
    return {"nanoseconds": round(seconds * 1e9)}


class OperatorClient(Generic[C, R, E]):
    """A client of one operator API (``POST /api/v1`` of a master or an agent)."""

    _call_type: type[C]
    _response_type: type[R]
    _event_type: type[E]

    def __init__(
        self,
        endpoint: str | Endpoint | MasterDetector,
        *,
        api_path: str,
        content_type: ContentType | str = ContentType.PROTOBUF,
        tls: TLSConfig | None = None,
        credentials: Credentials | None = None,
        token: str | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 75.0,
        backoff: Backoff | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.content_type = ContentType(content_type)
        self.http: HttpClient[E] = HttpClient(
            endpoint,
            api_path=api_path,
            content_type=self.content_type,
            event_type=self._event_type,
            tls=tls,
            credentials=credentials,
            token=token,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            backoff=backoff,
            resolver=resolver,
        )

    @property
    def leader(self) -> str | None:
        """Base URL of the server that answered last (``None`` before the first answer)."""
        return self.http.leader

    async def call(self, call: C) -> R | None:
        """Send one call; its decoded ``Response``, or ``None`` for calls answered without a body."""
        body = await self.http.send(call)
        if not body:
            return None
        return decode(self._response_type, body, self.content_type)

    def _make(self, kind: str, field: str | None = None, payload: Any = None) -> C:
        """A call of type ``kind`` with its ``field`` set from a message or dict."""
        # (as a plain factory: the protobuf stubs type a message's keyword arguments per class)
        factory: Callable[..., C] = self._call_type
        call = factory(type=kind)
        if field is not None:
            sub = getattr(call, field)
            if isinstance(payload, Message):
                sub.CopyFrom(payload)
            else:
                try:
                    sub.CopyFrom(type(sub)(**(payload or {})))
                except (ValueError, TypeError, AttributeError) as exc:
                    raise MessageError(field, f"not a valid {sub.DESCRIPTOR.full_name}: {exc}") from exc
            sub.SetInParent()  # present even when empty (Mesos requires e.g. 'get_metrics')
        return call

    async def _get(
        self, kind: str, answer: str, cls: type[T], field: str | None = None, payload: Any = None
    ) -> T:
        """Make a call whose answer is ``Response.<answer>``; return that part.

        Mesos leaves the part out when it would be empty (``GET_WEIGHTS``
        without weights): that reads as the empty message.
        """
        response = await self.call(self._make(kind, field, payload))
        if response is None:
            raise ProtocolError(f"{kind} to {self.leader}: the answer has no body")
        return cast(T, getattr(response, answer))

    async def _do(self, kind: str, field: str | None = None, payload: Any = None) -> None:
        """Make a call answered with an empty ``200``/``202``."""
        await self.call(self._make(kind, field, payload))

    async def close(self) -> None:
        """Close the connections (and any event stream)."""
        await self.http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.http.detector!r} {self.content_type.value}>"


class SharedCalls(
    OperatorClient[C, R, E],
    Generic[C, R, E, HealthT, FlagsT, VersionT, MetricsT, LevelT, ListT, ReadT, StateT],
):
    """The calls master and agent APIs share, typed by the parts of each API's ``Response``."""

    def _part(self, name: str) -> Any:
        return getattr(self._response_type, name)

    async def get_health(self) -> HealthT:
        """``GET_HEALTH``."""
        return cast(HealthT, await self._get("GET_HEALTH", "get_health", self._part("GetHealth")))

    async def get_flags(self) -> FlagsT:
        """``GET_FLAGS``: the command-line flags."""
        return cast(FlagsT, await self._get("GET_FLAGS", "get_flags", self._part("GetFlags")))

    async def get_version(self) -> VersionT:
        """``GET_VERSION``."""
        return cast(VersionT, await self._get("GET_VERSION", "get_version", self._part("GetVersion")))

    async def get_metrics(self, timeout: float | None = None) -> MetricsT:  # noqa: ASYNC109 - the call's field
        """``GET_METRICS`` (``timeout`` in seconds bounds the collection)."""
        payload = {"timeout": duration(timeout)} if timeout is not None else {}
        part = self._part("GetMetrics")
        return cast(MetricsT, await self._get("GET_METRICS", "get_metrics", part, "get_metrics", payload))

    async def get_logging_level(self) -> LevelT:
        """``GET_LOGGING_LEVEL`` (the glog verbosity)."""
        part = self._part("GetLoggingLevel")
        return cast(LevelT, await self._get("GET_LOGGING_LEVEL", "get_logging_level", part))

    async def set_logging_level(self, level: int, duration_seconds: float) -> None:
        """``SET_LOGGING_LEVEL``: verbosity ``level`` for ``duration_seconds``."""
        payload = {"level": level, "duration": duration(duration_seconds)}
        await self._do("SET_LOGGING_LEVEL", "set_logging_level", payload)

    async def list_files(self, path: str) -> ListT:
        """``LIST_FILES`` of a virtual path (``/master/log``, a task's sandbox)."""
        part = self._part("ListFiles")
        return cast(ListT, await self._get("LIST_FILES", "list_files", part, "list_files", {"path": path}))

    async def read_file(self, path: str, offset: int = 0, length: int | None = None) -> ReadT:
        """``READ_FILE``: up to ``length`` bytes from ``offset`` (its ``size`` is the file's size)."""
        payload: dict[str, Any] = {"path": path, "offset": offset}
        if length is not None:
            payload["length"] = length
        return cast(
            ReadT, await self._get("READ_FILE", "read_file", self._part("ReadFile"), "read_file", payload)
        )

    async def get_state(self) -> StateT:
        """``GET_STATE``: tasks, executors, frameworks (and, on a master, agents)."""
        return cast(StateT, await self._get("GET_STATE", "get_state", self._part("GetState")))
