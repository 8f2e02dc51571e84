"""The exception tree of mesos-framework.

Every error the library raises derives from `MesosError`:

    MesosError
    ├─ ConfigurationError        a bad option, environment variable or spec
    │  ├─ ScalingNotAllowed      scale() on a type without allow_scaling
    │  └─ UnknownTask            a task, instance or type the scheduler does not know
    ├─ MessageError              a message that does not fit the Mesos schema
    │                            (unknown field, wrong type, unknown enum name,
    │                            missing required field); ``path`` names the field
    ├─ ProtocolError             bad RecordIO framing, undecodable record,
    │  │                         unexpected content type, unusable redirect
    │  └─ InsecureRedirect       an https server redirected to plain http
    ├─ TransportError            the network failed (wraps the library's errors)
    │  ├─ ConnectError           no connection could be made
    │  │  └─ TLSError            the TLS handshake failed (not retried)
    │  ├─ CallTimeout            a call got no complete answer in time
    │  ├─ NoLeaderError          no leading master could be found
    │  └─ StreamClosed           the subscription stream ended
    │     └─ StreamDecodeError   ... because it carried undecodable data
    │                            (also a ProtocolError)
    ├─ APIError                  Mesos answered with an unexpected HTTP status
    │  ├─ BadRequest (400)       ├─ Unauthorized (401)
    │  ├─ Forbidden (403)        │  ├─ NotSubscribed  (403 "not subscribed")
    │  │                         │  └─ NotAuthorized  (403 authorization denied)
    │  ├─ NotFound (404)         ├─ MethodNotAllowed (405)
    │  ├─ NotAcceptable (406)    ├─ Conflict (409)
    │  ├─ UnsupportedMediaType (415)
    │  ├─ RateLimited (429)      retryable
    │  ├─ ServerError (5xx)      └─ Unavailable (503) retryable
    ├─ SubscriptionError
    │  ├─ SubscriptionLost       heartbeat timeout or ERROR event
    │  ├─ FrameworkRemoved       the master no longer knows the framework
    │  │  └─ FrameworkFailedOver another scheduler took the framework over
    │  └─ CallWhileDisconnected  a call could not be delivered in time
    │     └─ NotLeader           refused: this replica does not lead (hot standby)
    ├─ RestartsExhausted         an instance ran out of restarts (max_restarts)
    ├─ ResourceError             resources that cannot satisfy a task spec
    ├─ StateStoreError           persistence failed (or timed out)
    │  ├─ StateConflict          a versioned write lost a race
    │  └─ StateValueError        a value a store cannot hold (also a ValueError)
    └─ ExecutorEnvironmentError  a MESOS_* variable is missing or malformed
                                 (also a ConfigurationError)

Each error has a ``retryable`` attribute. ``asyncio.CancelledError`` is never
wrapped.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "BadRequest",
    "CallTimeout",
    "CallWhileDisconnected",
    "ConfigurationError",
    "Conflict",
    "ConnectError",
    "ExecutorEnvironmentError",
    "Forbidden",
    "FrameworkFailedOver",
    "FrameworkRemoved",
    "InsecureRedirect",
    "MesosError",
    "MessageError",
    "MethodNotAllowed",
    "NoLeaderError",
    "NotAcceptable",
    "NotAuthorized",
    "NotFound",
    "NotLeader",
    "NotSubscribed",
    "ProtocolError",
    "RateLimited",
    "ResourceError",
    "RestartsExhausted",
    "ScalingNotAllowed",
    "ServerError",
    "StateConflict",
    "StateStoreError",
    "StateValueError",
    "StreamClosed",
    "StreamDecodeError",
    "SubscriptionError",
    "SubscriptionLost",
    "TLSError",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UnknownTask",
    "UnsupportedMediaType",
    "api_error",
]


class MesosError(Exception):
    """Base class of every error raised by mesos-framework."""

    retryable: bool = False


class ConfigurationError(MesosError, ValueError):
    """An option, environment variable or task spec is invalid.

    ``option`` names what was wrong (e.g. ``"tasks.web.resources.cpus"``).
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(f"{option}: {message}" if option else message)
        self.option = option


class MessageError(MesosError, ValueError):
    """A message does not fit the Mesos schema.

    ``path`` is the dotted field path from the top message, e.g.
    ``"ContainerInfo.docker.network"``; ``reason`` is what was wrong there.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class ProtocolError(MesosError):
    """The peer broke the wire protocol (framing, encoding, content type)."""


class InsecureRedirect(ProtocolError):
    """A server reached over https redirected to a plain ``http://`` URL; not followed.

    Following it would send the call, and any credentials, in clear text.
    """


class TransportError(MesosError):
    """The network failed; the cause is chained as ``__cause__``."""

    retryable = True


class ConnectError(TransportError):
    """No connection could be established to the master or agent."""


class TLSError(ConnectError):
    """The TLS handshake failed (untrusted or mismatched certificate); not retried."""

    retryable = False


class CallTimeout(TransportError):
    """A call got no complete answer within ``request_timeout``."""


class NoLeaderError(TransportError):
    """No leading master could be detected."""


class StreamClosed(TransportError):
    """A subscription stream ended."""


class StreamDecodeError(StreamClosed, ProtocolError):
    """The stream carried something that is not a RecordIO stream of events.

    Both a `StreamClosed` (the stream is over) and a
    `ProtocolError` (the peer broke the protocol).
    """


class APIError(MesosError):
    """Mesos answered a call with an unexpected HTTP status.

    Carries ``status``, the response ``body`` (decoded text) and the
    ``call_type`` (e.g. ``"ACCEPT"``) that was being made.
    """

    def __init__(
        self, status: int, body: str, call_type: str | None = None, *, url: str | None = None
    ) -> None:
        where = f" to {call_type}" if call_type else ""
        text = body.strip() or "(empty body)"
        super().__init__(f"HTTP {status}{where}: {text}")
        self.status = status
        self.body = body
        self.call_type = call_type
        self.url = url


class BadRequest(APIError):
    """400: the call was malformed or failed validation."""


class Unauthorized(APIError):
    """401: authentication is required or failed."""


class Forbidden(APIError):
    """403: the call was refused."""


class NotSubscribed(Forbidden):
    """403 "Framework is not subscribed" / "Executor is not subscribed"."""

    retryable = True


class NotAuthorized(Forbidden):
    """403 because the principal is not authorized for the call."""


class NotFound(APIError):
    """404: the endpoint does not exist here (often a master still starting)."""

    retryable = True


class MethodNotAllowed(APIError):
    """405: only POST is allowed."""


class NotAcceptable(APIError):
    """406: the Accept header allows no encoding the peer speaks."""


class Conflict(APIError):
    """409: the call conflicts with the current state."""


class UnsupportedMediaType(APIError):
    """415: the Content-Type is not one Mesos accepts."""


class RateLimited(APIError):
    """429: too many requests; retry later."""

    retryable = True


class ServerError(APIError):
    """5xx: the peer failed."""


class Unavailable(ServerError):
    """503: no leader elected, or the master/agent is still recovering."""

    retryable = True


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    415: UnsupportedMediaType,
    429: RateLimited,
    503: Unavailable,
}


def api_error(status: int, body: str, call_type: str | None = None, *, url: str | None = None) -> APIError:
    """Build the typed `APIError` for an HTTP status and body.

    Mesos answers 403 both for "not subscribed" and for denied authorization;
    the body tells them apart.
    """
    cls: type[APIError]
    if status == 403:
        cls = NotSubscribed if "not subscribed" in body.lower() else NotAuthorized
    elif status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif status >= 500:
        cls = ServerError
    else:
        cls = APIError
    return cls(status, body, call_type, url=url)


class SubscriptionError(MesosError):
    """The subscription with the master or agent is not usable."""


class SubscriptionLost(SubscriptionError):
    """The stream went silent past the heartbeat deadline or carried ERROR."""

    retryable = True


class FrameworkRemoved(SubscriptionError):
    """The master has removed the framework (torn down or failed over)."""


class FrameworkFailedOver(FrameworkRemoved):
    """Another scheduler subscribed with this framework's ID and took it over; never re-registered."""


class CallWhileDisconnected(SubscriptionError):
    """A call could not be sent because no subscription came up in time."""

    retryable = True


class NotLeader(CallWhileDisconnected):
    """A call refused because this replica does not lead: a hot standby, or a leader that lost
    its ZooKeeper session (it is fenced at once and never acts again until re-elected)."""

    retryable = False


class ScalingNotAllowed(ConfigurationError):
    """``scale()`` on a task type whose spec does not set ``allow_scaling``."""


class UnknownTask(ConfigurationError):
    """A task ID, instance name or task type the scheduler does not know."""


class RestartsExhausted(MesosError):
    """An instance failed more often than ``max_restarts`` allows; it was given up (stopped)."""


class ResourceError(MesosError):
    """Resources are invalid or cannot satisfy a task spec."""


class StateStoreError(MesosError):
    """The persistent state store failed."""

    retryable = True


class StateConflict(StateStoreError):
    """A versioned write lost a race with another writer."""

    retryable = False


class StateValueError(StateStoreError, ValueError):
    """A value given to a store (or read from it) that it cannot hold: an empty
    framework ID, a task ID with ``/``, something that is not a task record."""

    retryable = False


class ExecutorEnvironmentError(ConfigurationError):
    """A ``MESOS_*`` variable an executor needs is missing or malformed."""
