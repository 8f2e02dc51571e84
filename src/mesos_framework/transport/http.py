"""The HTTP client for the Mesos v1 scheduler and executor APIs.

`HttpClient` keeps two separate connection pools, as Mesos's own
libraries do: one for the long-lived ``SUBSCRIBE`` streams (a connection of
their own each, `mesos_framework.transport._stream`) and one for every other
call (lean kept-alive HTTP/1.1 connections, `mesos_framework.transport._calls`);
both parse answers with httptools. It follows the
master's ``307`` redirects to the leader, retries ``SUBSCRIBE`` with backoff
while no leader answers, and maps every HTTP failure to the typed errors of
`mesos_framework.errors`.

Redirects are followed with two safety rules (both for calls and for
``SUBSCRIBE``, in `HttpClient._redirect()` and `HttpClient._headers_for()`):

* never from ``https`` to plain ``http``: that raises
  `InsecureRedirect`;
* credentials (HTTP Basic or a bearer token) go only to the origins
  (scheme, host, port) of the masters the detector reported: the configured
  list, the leader found in ZooKeeper, the endpoint given. A redirect to any
  other origin is followed without the ``Authorization`` header, with a
  warning; the master then answers ``401`` if it needs credentials.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self

from google.protobuf.message import Message

from mesos_framework.errors import (
    CallTimeout,
    ConfigurationError,
    ConnectError,
    InsecureRedirect,
    MesosError,
    NoLeaderError,
    NotFound,
    ProtocolError,
    StreamDecodeError,
    TLSError,
    TransportError,
    Unavailable,
    api_error,
)
from mesos_framework.protocol import (
    DEFAULT_MAX_RECORD_SIZE,
    ContentType,
    encode,
)
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport._calls import LAZY_READ_WAIT, CallPool, Resolver, Response
from mesos_framework.transport._event_stream import E, EventStream
from mesos_framework.transport._stream import StreamResponse, open_stream
from mesos_framework.transport.backoff import Backoff
from mesos_framework.transport.config import Credentials, TLSConfig
from mesos_framework.transport.detector import MasterDetector, StaticDetector, detector_for
from mesos_framework.transport.endpoint import Endpoint, resolve_location

if TYPE_CHECKING:
    # aiohttp (and the SSL contexts it builds when imported) is loaded only by
    # HttpClient._session(), for the operator API's streams; a scheduler never needs it.
    import aiohttp

__all__ = [
    "DEFAULT_MAX_RECORD_SIZE",
    "CallTimeout",
    "EventStream",
    "HttpClient",
    "Resolver",
    "StreamDecodeError",
    "TLSError",
]

log = logging.getLogger(__name__)

_MAX_ERROR_BODY = 64 * 1024
_REDIRECTS = (307, 308)
_USER_AGENT = "mesos-framework-python"


_CALL_TYPES: dict[tuple[object, int], str | None] = {}


def _call_type(call: Message) -> str | None:
    """The name of a call's ``type`` (``"ACKNOWLEDGE"``), for error messages; cached per value."""
    number = getattr(call, "type", 0)
    key = (call.DESCRIPTOR, number)
    name = _CALL_TYPES.get(key, "")
    if name == "":
        field = call.DESCRIPTOR.fields_by_name.get("type")
        if field is None or field.enum_type is None:
            name = None
        else:
            value = field.enum_type.values_by_number.get(number)
            name = value.name if value is not None else str(number)
        _CALL_TYPES[key] = name
    return name


_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.S | re.I)


def _error_text(data: bytes, content_type: str) -> str:
    text = data.decode("utf-8", errors="replace")
    if content_type == "text/html" or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        text = " ".join(_TAGS.sub(" ", text).split())
        text = f"(HTML page) {text}" if text else "(empty HTML page)"
    if len(text) > 2000:
        text = text[:2000] + "..."
    return text


def _origin(endpoint: Endpoint) -> tuple[str, str, int]:
    """What credentials are scoped to, as browsers do: scheme, host (case-insensitive), port."""
    return endpoint.scheme, endpoint.host.lower(), endpoint.port


def _is_auth(name: str) -> bool:
    return name.lower() == "authorization"


def _call_results(
    calls: Sequence[Message], answers: Sequence[Response | MesosError], url: str
) -> tuple[list[bytes | MesosError], list[int]]:
    """Pipelined calls' answers: each call's body or error, and which were answered by a
    redirect (their places hold the redirect's body until they are sent again)."""
    results: list[bytes | MesosError] = []
    redirected: list[int] = []
    for n, answer in enumerate(answers):
        if isinstance(answer, MesosError):
            results.append(answer)
        elif answer.status in (200, 202):
            results.append(answer.body)
        elif answer.status in _REDIRECTS:
            redirected.append(n)
            results.append(answer.body)
        else:
            results.append(_failure(answer, _call_type(calls[n]), url))
    return results, redirected


def _failure(response: Response, call_type: str | None, url: str) -> MesosError:
    """The typed error for a call's answer that is neither a success nor a redirect."""
    return api_error(response.status, _error_text(response.body, response.content_type), call_type, url=url)


class HttpClient(Generic[E]):
    """A client of one Mesos v1 API (scheduler by default, or an agent's executor API).

    ``endpoint`` is a master spec for `detector_for()` (``"h1:5050,h2:5050"``,
    ``"http://..."``, ``"zk://..."``), an `Endpoint` or a
    `MasterDetector`. For executors pass the agent and
    ``api_path="/slave(1)/api/v1/executor"``, ``event_type=executor_pb2.Event``
    and the ``token`` from ``MESOS_EXECUTOR_AUTHENTICATION_TOKEN``.

    Requests carry the bare ``Content-Type``/``Accept`` of ``content_type``;
    the stream asks for no compression, calls accept gzip (decoded here).
    ``resolver`` replaces DNS lookups (names are looked up again for every
    new connection; nothing is cached).
    """

    def __init__(
        self,
        endpoint: str | Endpoint | MasterDetector,
        *,
        api_path: str = "/api/v1/scheduler",
        content_type: ContentType = ContentType.PROTOBUF,
        event_type: type[E] = scheduler_pb2.Event,  # type: ignore[assignment]
        tls: TLSConfig | None = None,
        credentials: Credentials | None = None,
        token: str | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 75.0,
        backoff: Backoff | None = None,
        max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
        max_redirects: int = 5,
        resolver: Resolver | None = None,
        call_connections: int = 1,
        subscribe_timeout: float | None = None,
    ) -> None:
        if credentials is not None and token is not None:
            raise ConfigurationError("give credentials or a token, not both", option="token")
        if not api_path.startswith("/"):
            raise ConfigurationError(f"must start with '/': {api_path!r}", option="api_path")
        if connect_timeout <= 0 or request_timeout <= 0:
            raise ConfigurationError("timeouts must be > 0", option="connect_timeout/request_timeout")
        if call_connections < 1:
            raise ConfigurationError("must be >= 1", option="call_connections")
        self.content_type = ContentType(content_type)
        self.api_path = api_path
        self.event_type = event_type
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        #: How long a SUBSCRIBE waits for the answer's headers (``request_timeout`` unless given).
        self.subscribe_timeout = subscribe_timeout if subscribe_timeout is not None else request_timeout
        self.max_record_size = max_record_size
        self.max_redirects = max_redirects
        self._scheme = "https" if tls is not None else "http"
        if isinstance(endpoint, str):
            self.detector: MasterDetector = detector_for(endpoint, scheme=self._scheme)
        elif isinstance(endpoint, Endpoint):
            self.detector = StaticDetector([endpoint])
        else:
            self.detector = endpoint
        self._ssl: ssl.SSLContext | bool = tls.ssl_context() if tls is not None else True
        self._backoff = backoff if backoff is not None else Backoff()
        self._resolver = resolver
        self._call_connections = call_connections
        self._auth: str | None = None
        if credentials is not None:
            self._auth = credentials.authorization()
        elif token is not None:
            self._auth = f"Bearer {token}"
        self._leader: tuple[Endpoint, str] | None = None
        #: Origins (scheme, host, port) of the masters the detector reported: credentials go there only.
        self._masters: set[tuple[str, str, int]] = set()
        self._warned: set[tuple[str, str, int]] = set()
        self._stream_session: aiohttp.ClientSession | None = None
        self._call_pool: CallPool | None = None
        self._call_headers = self._headers(stream=False)
        self._streams: set[EventStream[E]] = set()
        self._redirected: set[asyncio.Task[None]] = set()  # send_nowait()'s calls sent again
        self._closed = False

    # -- public API ------------------------------------------------------------

    @property
    def leader(self) -> str | None:
        """Base URL of the master the client talks to now (``None`` before the first answer)."""
        return self._leader[0].base_url if self._leader else None

    async def leader_changed(self) -> None:
        """Return when the detector reports a new leader (never, for a fixed list)."""
        await self.detector.changed()

    def forget_leader(self) -> None:
        """Drop the remembered leader: the next call detects the master again."""
        self._leader = None

    async def subscribe(self, call: Message, *, give_up_after: float | None = None) -> EventStream[E]:
        """POST the ``SUBSCRIBE`` call and return the open event stream.

        Detects the master on every attempt, follows redirects and remembers
        the master that answered for later `send()` calls. ``503``,
        ``404`` and connection failures are retried with backoff; after
        ``give_up_after`` seconds (forever when ``None``) gives up with
        `NoLeaderError` or `ConnectError`. Other HTTP statuses
        raise their `APIError` at once; a
        ``200`` that is not an event stream raises `ProtocolError`.
        """
        self._check_open()
        body = encode(call, self.content_type)
        call_type = _call_type(call)
        loop = asyncio.get_running_loop()
        deadline = None if give_up_after is None else loop.time() + give_up_after
        self._backoff.reset()
        attempts = 0
        while True:
            attempts += 1
            last: MesosError
            candidates = await self._detect(deadline)
            if not candidates:
                last = NoLeaderError(f"no master detected by {self.detector!r}{_why(self.detector)}")
            for candidate in candidates:
                try:
                    stream = await self._subscribe_once(candidate, body, call_type)
                except (Unavailable, NotFound) as exc:
                    log.info("SUBSCRIBE to %s: %s; will retry", candidate, exc)
                    last = exc
                except ConnectError as exc:
                    if not exc.retryable:
                        raise
                    log.info("SUBSCRIBE to %s: %s; will retry", candidate, exc)
                    last = exc
                else:
                    self._backoff.reset()
                    return stream
            delay = self._backoff.next()
            if deadline is not None and loop.time() + delay > deadline:
                raise self._give_up(last, attempts, give_up_after) from last
            log.warning("no master accepted SUBSCRIBE (%s); retrying in %.2fs", last, delay)
            await asyncio.sleep(delay)

    async def send(self, call: Message, stream_id: str | None = None) -> bytes:
        """Make a non-streaming call on the calls connection; return the body of the ``200``/``202``.

        Goes to the remembered leader (or the detected masters, in turn, when
        none is known yet), follows redirects, sends ``Mesos-Stream-Id`` when
        given. Other statuses raise `api_error()`;
        no retries here.
        """
        self._check_open()
        return await self.request(
            encode(call, self.content_type), call_type=_call_type(call), stream_id=stream_id
        )

    async def send_many(
        self, calls: Sequence[Message], stream_id: str | None = None, *, lazy: bool = False
    ) -> list[bytes | MesosError]:
        """Send several calls pipelined on one calls connection; each call's answer body or error.

        The calls are written in one go and answered in order, which costs
        far less per call than `send()` when a scheduler has many to make
        at once (a burst of acknowledgements). Failures are returned in the
        call's place, not raised, since the others may have succeeded. Before
        the leader is known the calls go one by one through `send()`; a call
        answered by a redirect is sent again alone, following it. With
        ``lazy`` the answers are read at the next `read_answers()` (or within
        half a second), not as each arrives: for calls nothing waits on, such
        as acknowledgements, so that their answers do not wake the process.
        """
        self._check_open()
        if self._leader is None:
            results: list[bytes | MesosError] = []
            for call in calls:
                try:
                    results.append(await self.send(call, stream_id=stream_id))
                except MesosError as exc:
                    results.append(exc)
            return results
        endpoint, path = self._leader
        bodies = [encode(call, self.content_type) for call in calls]
        headers = self._headers_for(endpoint, self._call_headers)
        try:
            async with asyncio.timeout(self.request_timeout):
                answers = await self._calls().request_many(
                    endpoint,
                    "POST",
                    path,
                    headers,
                    bodies,
                    stream_id=stream_id,
                    cacheable=headers is self._call_headers,
                    lazy=lazy and self.request_timeout > 4 * LAZY_READ_WAIT,
                )
        except TimeoutError:
            timeout = CallTimeout(
                f"{len(calls)} calls to {endpoint}: no answer within {self.request_timeout:g}s"
            )
            return [timeout] * len(calls)
        except MesosError as exc:
            return [exc] * len(calls)
        results, redirected = _call_results(calls, answers, endpoint.url(path))
        if redirected:
            await self._follow([(n, calls[n], bodies[n]) for n in redirected], results, stream_id)
        return results

    def send_nowait(
        self,
        calls: Sequence[Message],
        done: Callable[[list[bytes | MesosError]], None],
        stream_id: str | None = None,
    ) -> bool:
        """Write calls now, pipelined on the open calls connection to the leader, without waiting;
        False (nothing sent) when the leader is not known yet or no calls connection is open.

        ``done`` is called with each call's answer body or error, in order, as `send_many()`
        returns them. The answers are read lazily (at the next `read_answers()` or within half
        a second), and a call answered by a redirect is sent again alone, following it. For
        calls that nobody awaits and that a busy scheduler makes one at a time, as it
        acknowledges updates: they go out in the caller's own pass of the event loop, with no
        task switch and no wait for the answers to the calls before them. Calls to a master
        that answers none of them within ``request_timeout`` get `CallTimeout`.
        """
        pool = self._call_pool
        if (
            self._closed
            or self._leader is None
            or pool is None
            or self.request_timeout <= 4 * LAZY_READ_WAIT  # too short for answers read lazily
        ):
            return False
        endpoint, path = self._leader
        content_type = self.content_type
        bodies = [encode(call, content_type) for call in calls]
        headers = self._headers_for(endpoint, self._call_headers)
        return pool.request_nowait(
            endpoint,
            "POST",
            path,
            headers,
            bodies,
            done=_Answered(self, calls, endpoint.url(path), stream_id, done),
            timeout=self.request_timeout,
            stream_id=stream_id,
            cacheable=headers is self._call_headers,
        )

    def _follow_then(
        self,
        redirected: Sequence[tuple[int, Message, bytes]],
        results: list[bytes | MesosError],
        stream_id: str | None,
        done: Callable[[list[bytes | MesosError]], None],
    ) -> None:
        """`_follow` in a task of its own, then ``done`` with the results (for `send_nowait`)."""

        async def follow() -> None:
            await self._follow(redirected, results, stream_id)
            done(results)

        task = asyncio.get_running_loop().create_task(follow())
        self._redirected.add(task)
        task.add_done_callback(self._redirected.discard)

    async def _follow(
        self,
        redirected: Sequence[tuple[int, Message, bytes]],
        results: list[bytes | MesosError],
        stream_id: str | None,
    ) -> None:
        """Calls that were answered by a redirect (`_call_results`): each sent again alone,
        following it; its answer takes its place in ``results``."""
        for n, call, body in redirected:
            try:
                results[n] = await self.request(body, call_type=_call_type(call), stream_id=stream_id)
            except MesosError as exc:
                results[n] = exc

    async def request(
        self,
        body: bytes,
        *,
        call_type: str | None = None,
        stream_id: str | None = None,
        method: str = "POST",
        headers: Mapping[str, str | None] | None = None,
    ) -> bytes:
        """Send already-encoded bytes like `send()` (the low-level form of it).

        ``headers`` change the defaults: a value of ``None`` removes that
        header (e.g. ``{"Content-Type": None}``). ``call_type`` only labels
        errors. Useful to forward pre-encoded calls or to probe a master.
        """
        self._check_open()
        call_headers: Mapping[str, str] = self._call_headers
        if headers:
            changed = dict(call_headers)
            for name, value in headers.items():
                if value is None:
                    changed.pop(name, None)
                else:
                    changed[name] = value
            call_headers = changed
        if self._leader is not None:
            targets = [self._leader]
        else:
            targets = [(endpoint, self.api_path) for endpoint in self._known(await self.detector.detect())]
            if not targets:
                raise NoLeaderError(
                    f"cannot send {call_type}: no master detected by {self.detector!r}{_why(self.detector)}"
                )
        pool = self._calls()
        last: ConnectError | None = None
        for target, target_path in targets:
            endpoint, path = target, target_path
            try:
                async with asyncio.timeout(self.request_timeout):
                    endpoint, path, response = await self._call(
                        pool,
                        (target, target_path),
                        method,
                        call_headers,
                        body,
                        stream_id=stream_id,
                        cacheable=not headers,
                        call_type=call_type,
                    )
            except TimeoutError as exc:
                raise CallTimeout(
                    f"{call_type} to {endpoint}: no answer within {self.request_timeout:g}s"
                ) from exc
            except ConnectError as exc:
                if not exc.retryable or len(targets) == 1:
                    raise
                last = exc
                continue
            if response.status in (200, 202):
                self._leader = (endpoint, path)
                return response.body
            raise _failure(response, call_type, endpoint.url(path))
        assert last is not None
        raise last

    async def close(self) -> None:
        """Close open streams, both connection pools and the detector (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._redirected):
            task.cancel()
        for stream in list(self._streams):
            await stream.close()
        if self._stream_session is not None:
            await self._stream_session.close()
        self._stream_session = None
        if self._call_pool is not None:
            await self._call_pool.close()
        self._call_pool = None
        await self.detector.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"<HttpClient {self.detector!r} {self.api_path} {self.content_type.value} leader={self.leader}>"
        )

    # -- internals ----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectError("the client is closed")

    async def _detect(self, deadline: float | None) -> list[Endpoint]:
        if deadline is None:
            return self._known(await self.detector.detect())
        try:
            async with asyncio.timeout_at(deadline):
                return self._known(await self.detector.detect())
        except TimeoutError:
            return []

    def _known(self, endpoints: list[Endpoint]) -> list[Endpoint]:
        """Remember the origins of detected masters (they may receive credentials); ``endpoints``."""
        self._masters.update(_origin(endpoint) for endpoint in endpoints)
        return endpoints

    def _headers_for(self, endpoint: Endpoint, headers: Mapping[str, str]) -> Mapping[str, str]:
        """``headers`` for a request to ``endpoint``: no ``Authorization`` unless it is a known master."""
        if _origin(endpoint) in self._masters or not any(_is_auth(name) for name in headers):
            return headers
        origin = _origin(endpoint)
        if origin not in self._warned:
            self._warned.add(origin)
            log.warning(
                "not sending credentials to %s: redirected there, but it is not one of the masters "
                "the detector reported (list every master in the master spec, or use zk://)",
                endpoint,
            )
        return {name: value for name, value in headers.items() if not _is_auth(name)}

    def _give_up(self, last: MesosError, attempts: int, timeout: float | None) -> TransportError:
        what = f"after {attempts} attempt(s) in {timeout:g}s" if timeout is not None else ""
        if isinstance(last, ConnectError):
            return ConnectError(f"cannot reach a master {what}: {last}")
        return NoLeaderError(f"no leading master {what}: {last}")

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": self.content_type.value,
            "Accept": self.content_type.value,
            # Streams must arrive as sent; plain bodies may be gzipped by Mesos
            # (>= 1 KiB) and are decoded here.
            "Accept-Encoding": "identity" if stream else "gzip",
            "User-Agent": _USER_AGENT,
        }
        if self._auth is not None:
            headers["Authorization"] = self._auth
        return headers

    def read_answers(self, *, eager: bool = False) -> None:
        """Read the answers of calls sent with ``send_many(lazy=True)`` now (see there); with
        ``eager`` also the rest of them as they arrive, until those calls are answered."""
        pool = self._call_pool
        if pool is not None:
            pool.read_answers(eager=eager)

    def _calls(self) -> CallPool:
        pool = self._call_pool
        if pool is None:
            pool = self._call_pool = CallPool(
                ssl_context=self._ssl if isinstance(self._ssl, ssl.SSLContext) else None,
                connect_timeout=self.connect_timeout,
                limit=self._call_connections,
                resolver=self._resolver,
            )
        return pool

    async def _call(
        self,
        pool: CallPool,
        target: tuple[Endpoint, str],
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        stream_id: str | None,
        cacheable: bool,
        call_type: str | None,
    ) -> tuple[Endpoint, str, Response]:
        """One call on the calls connection, following redirects; the final server, path and answer."""
        endpoint, path = target
        hops = 0
        while True:
            hop_headers = self._headers_for(endpoint, headers)
            response = await pool.request(
                endpoint,
                method,
                path,
                hop_headers,
                body,
                stream_id=stream_id,
                cacheable=cacheable and hop_headers is headers,
            )
            if response.status not in _REDIRECTS:
                return endpoint, path, response
            url = endpoint.url(path)
            hops += 1
            endpoint, path = self._redirect(
                url, endpoint, response.status, response.headers.get("location"), hops
            )
            log.info("%s %s redirected to %s", call_type or method, url, endpoint.url(path))

    def _redirect(
        self, url: str, endpoint: Endpoint, status: int, location: str | None, hops: int
    ) -> tuple[Endpoint, str]:
        """Where the ``hops``-th redirect of a request (from ``url`` on ``endpoint``) points."""
        if not location:
            raise ProtocolError(f"{url} answered {status} without a Location header")
        if hops > self.max_redirects:
            raise ProtocolError(f"more than {self.max_redirects} redirects, last from {url} to {location}")
        target, path = resolve_location(endpoint, location)
        if endpoint.scheme == "https" and target.scheme != "https":
            raise InsecureRedirect(
                f"{url} redirected to {location!r}: not following a redirect from https to plain http "
                f"(the call and its credentials would travel unencrypted)"
            )
        return target, path

    def _session(self) -> aiohttp.ClientSession:
        """An aiohttp session for other streaming APIs (the operator API's); not used by SUBSCRIBE."""
        session = self._stream_session
        if session is not None:
            return session
        global aiohttp  # bound on the first stream (see the TYPE_CHECKING import)
        import aiohttp  # noqa: PLC0415

        from mesos_framework.transport._aiohttp import FunctionResolver  # noqa: PLC0415

        resolver = FunctionResolver(self._resolver) if self._resolver is not None else None
        connector = aiohttp.TCPConnector(
            ssl=self._ssl,
            use_dns_cache=False,
            resolver=resolver,
            # Each stream has a connection of its own, closed with it; calls
            # go over the separate CallPool.
            force_close=True,
            limit=0,
        )
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.connect_timeout, connect=self.connect_timeout
        )
        session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=True, skip_auto_headers=("User-Agent",)
        )
        self._stream_session = session
        return session

    async def _post(
        self,
        endpoint: Endpoint,
        path: str,
        body: bytes,
        headers: dict[str, str],
    ) -> tuple[Endpoint, str, StreamResponse]:
        """POST a ``SUBSCRIBE``, following redirects; returns the final server, path and answer.

        Each request goes on a connection of its own (`open_stream()`), kept
        by the event stream for as long as it lasts.
        """
        hops = 0
        while True:
            url = endpoint.url(path)
            try:
                response = await open_stream(
                    endpoint,
                    "POST",
                    path,
                    self._headers_for(endpoint, headers),
                    body,
                    ssl_context=self._tls_context(endpoint),
                    connect_timeout=self.connect_timeout,
                    resolver=self._resolver,
                )
            except OSError as exc:  # the connection ended before an answer
                raise ConnectError(f"POST {url} failed before an answer: {exc}") from exc
            if response.status not in _REDIRECTS:
                return endpoint, path, response
            location = response.headers.get("location")
            response.close()
            hops += 1
            endpoint, path = self._redirect(url, endpoint, response.status, location, hops)
            log.info("%s redirected to %s", url, endpoint.url(path))

    def _tls_context(self, endpoint: Endpoint) -> ssl.SSLContext | None:
        """The SSL context for a connection to ``endpoint``: ``None`` for plain HTTP (none is built)."""
        if endpoint.scheme != "https":
            return None
        if not isinstance(self._ssl, ssl.SSLContext):
            self._ssl = ssl.create_default_context()  # an https master without a TLSConfig
        return self._ssl

    async def _subscribe_once(
        self, candidate: Endpoint, body: bytes, call_type: str | None
    ) -> EventStream[E]:
        try:
            async with asyncio.timeout(self.subscribe_timeout):
                endpoint, path, response = await self._post(
                    candidate, self.api_path, body, self._headers(stream=True)
                )
                if response.status != 200:
                    try:
                        data = await response.read_limited(_MAX_ERROR_BODY)
                    finally:
                        response.close()
                    raise api_error(
                        response.status,
                        _error_text(data, response.content_type),
                        call_type,
                        url=endpoint.url(path),
                    )
        except TimeoutError as exc:
            raise ConnectError(
                f"{call_type} to {candidate}: no answer within {self.subscribe_timeout:g}s"
            ) from exc
        if response.content_type != self.content_type.value:
            try:
                async with asyncio.timeout(1.0):
                    head = await response.read_limited(200)
            except TimeoutError:
                head = b""
            response.close()
            raise ProtocolError(
                f"{call_type} to {endpoint.url(path)} answered 200 with Content-Type "
                f"{response.headers.get('content-type', '(none)')!r}, expected an event stream of "
                f"{self.content_type.value!r}; body starts {head[:200]!r}"
            )
        self._leader = (endpoint, path)
        stream: EventStream[E] = EventStream(
            response,
            event_type=self.event_type,
            content_type=self.content_type,
            leader=endpoint,
            max_record_size=self.max_record_size,
            on_close=self._streams.discard,
        )
        self._streams.add(stream)
        log.info("subscribed at %s (stream id %s)", endpoint.url(path), stream.stream_id)
        return stream


def _why(detector: object) -> str:
    """``": <reason>"`` when the detector knows why it found no master (ZooKeeper does)."""
    error = getattr(detector, "error", None)
    return f": {error}" if isinstance(error, str) and error else ""


class _Answered:
    """The answers of calls written by `HttpClient.send_nowait`, as bodies or errors, handed to
    its ``done`` (after sending again, in a task, those answered by a redirect).

    An object, not a closure: the answers are read lazily, so what waits for them lives long
    enough to count for the garbage collector, and one object with slots weighs less than a
    closure's cells (it keeps the calls, not their encodings: a redirect is rare).
    """

    __slots__ = ("calls", "client", "done", "stream_id", "url")

    def __init__(
        self,
        client: HttpClient[Any],
        calls: Sequence[Message],
        url: str,
        stream_id: str | None,
        done: Callable[[list[bytes | MesosError]], None],
    ) -> None:
        self.client = client
        self.calls = calls
        self.url = url
        self.stream_id = stream_id
        self.done = done

    def __call__(self, answers: list[Response | MesosError]) -> None:
        calls = self.calls
        results, redirected = _call_results(calls, answers, self.url)
        if not redirected:
            self.done(results)
            return
        client = self.client
        content_type = client.content_type
        again = [(n, calls[n], encode(calls[n], content_type)) for n in redirected]  # rare: encoded anew
        client._follow_then(again, results, self.stream_id, self.done)
