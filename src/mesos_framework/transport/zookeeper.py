"""Master detection through ZooKeeper, the way Mesos masters publish their leader.

Masters create ephemeral sequential znodes ``<path>/json.info_<seq>`` holding
their ``MasterInfo`` as JSON; the lowest sequence number leads. kazoo runs in
its own threads: blocking reads go through `asyncio.to_thread()` and
kazoo's watch and state callbacks are handed to the event loop with
``call_soon_threadsafe``, so the loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    NoNodeError,
    SessionExpiredError,
)
from kazoo.retry import KazooRetry

from mesos_framework._tasks import cancel_and_wait
from mesos_framework.errors import ProtocolError
from mesos_framework.transport.endpoint import Endpoint

__all__ = ["MASTER_INFO_LABEL", "ZooKeeperDetector", "leader_child", "master_info_endpoint"]

log = logging.getLogger(__name__)

#: The label of the znodes Mesos masters create (``json.info_<sequence>``).
MASTER_INFO_LABEL = "json.info"

_CONNECTION_ERRORS = (ConnectionLoss, SessionExpiredError, ConnectionClosedError, OSError)

_CHILD = re.compile(r"^(?P<label>.*)_(?P<seq>\d+)$")


def master_info_endpoint(data: bytes, *, scheme: str = "http") -> Endpoint:
    """The HTTP endpoint of a master from its ZooKeeper ``MasterInfo`` JSON.

    Uses ``address`` (its ``ip``, else its ``hostname``) and falls back to the
    deprecated top-level ``ip`` (the IPv4 address in network byte order read
    as a little-endian integer, MESOS-1201) or ``hostname``, with ``port``.
    Raises `ProtocolError` on anything else.
    """
    try:
        info = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"MasterInfo in ZooKeeper is not JSON: {exc}") from exc
    if not isinstance(info, dict):
        raise ProtocolError(f"MasterInfo in ZooKeeper is not a JSON object: {data[:100]!r}")
    address = info.get("address")
    host: Any = None
    port: Any = None
    if isinstance(address, dict):
        host = address.get("ip") or address.get("hostname")
        port = address.get("port")
    if not host:
        ip = info.get("ip")
        if isinstance(ip, int) and not isinstance(ip, bool) and 0 < ip < 2**32:
            host = socket.inet_ntoa(struct.pack("<I", ip))
        else:
            host = info.get("hostname")
    if port is None:
        port = info.get("port")
    if not isinstance(host, str) or not host:
        raise ProtocolError(f"MasterInfo in ZooKeeper has no address, ip or hostname: {data[:200]!r}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ProtocolError(f"MasterInfo in ZooKeeper has no valid port: {data[:200]!r}")
    return Endpoint(scheme, host, port)


def leader_child(children: Sequence[str], label: str = MASTER_INFO_LABEL) -> str | None:
    """The child znode of the leading master: lowest sequence among ``<label>_<digits>``.

    Children with other labels (legacy ``info_``, ``log_replicas``, ...) are ignored.
    """
    best: tuple[int, str] | None = None
    for child in children:
        match = _CHILD.match(child)
        if match is None or match.group("label") != label:
            continue
        key = (int(match.group("seq")), child)
        if best is None or key < best:
            best = key
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class _Reading:
    """One look at the group: the leader's znode and endpoint, or why there is none."""

    child: str | None
    endpoint: Endpoint | None
    error: str | None = None


class ZooKeeperDetector:
    """The leading master as published in ZooKeeper (``zk://`` specs).

    ``hosts`` is kazoo's host list (``"h1:2181,h2:2181"``), ``path`` the group
    znode (``/mesos``), ``auth`` an optional ``"user:password"`` for the
    ``digest`` scheme. The connection starts on the first `detect()` and
    survives ZooKeeper restarts and session expiry (watches are set again).
    """

    def __init__(
        self,
        hosts: str,
        path: str,
        *,
        auth: str | None = None,
        scheme: str = "http",
        session_timeout: float = 10.0,
        initial_wait: float | None = None,
    ) -> None:
        self.hosts = hosts
        self.path = path.rstrip("/") or "/"
        self.scheme = scheme
        self.session_timeout = session_timeout
        self.initial_wait = session_timeout if initial_wait is None else initial_wait
        self._auth = auth
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._change = asyncio.Event()
        self._reading = _Reading(None, None, "not read yet")
        self._generation = 0
        self._seen = 0
        self._closed = False

    @property
    def leader(self) -> Endpoint | None:
        """The leader from the latest reading (``None`` if none is known)."""
        return self._reading.endpoint

    @property
    def error(self) -> str | None:
        """Why no leader is known, when none is."""
        return self._reading.error

    async def detect(self) -> list[Endpoint]:
        """``[leader]``, or ``[]`` when no leader is published (or ZooKeeper is unreachable).

        The first call connects and waits up to ``initial_wait`` seconds for
        the first reading.
        """
        if self._closed:
            return []
        await self._start()
        if not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.initial_wait):
                    await self._ready.wait()
            if not self._ready.is_set() and self._reading.endpoint is None:
                self._reading = _Reading(
                    None, None, f"no answer from ZooKeeper at {self.hosts} within {self.initial_wait:g} s"
                )
        self._seen = self._generation
        endpoint = self._reading.endpoint
        if endpoint is None:
            log.info("no leading master in ZooKeeper %s%s: %s", self.hosts, self.path, self._reading.error)
            return []
        return [endpoint]

    async def changed(self) -> None:
        """Return once the leader differs from the one the last `detect()` returned."""
        while not self._closed and self._generation == self._seen:
            await self._change.wait()

    async def close(self) -> None:
        """Stop watching and disconnect from ZooKeeper."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(_stop_client, client)
        self._signal_change()

    # -- internals -------------------------------------------------------------

    async def _start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        auth_data = [("digest", self._auth)] if self._auth else None
        retry = KazooRetry(max_tries=-1, delay=0.1, backoff=2, max_delay=min(2.0, self.session_timeout))
        client = KazooClient(
            hosts=self.hosts,
            timeout=self.session_timeout,
            auth_data=auth_data,
            connection_retry=retry,
            command_retry=KazooRetry(max_tries=0),
        )
        client.add_listener(self._on_state)
        self._client = client
        await asyncio.to_thread(client.start_async)
        self._task = asyncio.create_task(self._watch(), name=f"zk-detector {self.hosts}{self.path}")

    def _wake_from_thread(self, *_args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._wake.set)

    def _on_state(self, state: str) -> None:
        # Called on kazoo's thread; must not block.
        if state == KazooState.LOST:
            log.warning("ZooKeeper session to %s expired; leader unknown until re-read", self.hosts)
        elif state == KazooState.SUSPENDED:
            log.info("ZooKeeper connection to %s suspended", self.hosts)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._state_changed, state)

    def _state_changed(self, state: str) -> None:
        if state == KazooState.LOST and not self._closed:
            self._ready.set()
            self._publish(_Reading(None, None, "ZooKeeper session expired"))
        self._wake.set()

    async def _watch(self) -> None:
        while not self._closed:
            self._wake.clear()
            try:
                reading = await asyncio.to_thread(self._read)
            except _CONNECTION_ERRORS as exc:
                # Not connected (or the session just expired): wait for the next
                # state change, and poll now and then in case one was missed.
                log.debug("ZooKeeper read failed: %r", exc)
                await self._pause()
                continue
            except KazooException as exc:
                # E.g. NoAuthError: report it, and look again later.
                self._ready.set()
                self._publish(_Reading(None, None, f"cannot read {self.path}: {type(exc).__name__} {exc}"))
                await self._pause()
                continue
            self._ready.set()
            self._publish(reading)
            await self._wake.wait()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._wake.wait()

    def _read(self) -> _Reading:
        # Runs on a worker thread: blocking kazoo calls are fine here.
        client = self._client
        if client is None:
            raise ConnectionClosedError("detector closed")
        while True:
            try:
                children = client.get_children(self.path, watch=self._wake_from_thread)
            except NoNodeError:
                if client.exists(self.path, watch=self._wake_from_thread) is None:
                    return _Reading(None, None, f"znode {self.path} does not exist")
                continue  # created meanwhile
            child = leader_child(children)
            if child is None:
                return _Reading(None, None, f"no {MASTER_INFO_LABEL}_ members under {self.path}")
            try:
                data, _stat = client.get(f"{self.path}/{child}")
            except NoNodeError:
                continue  # that master left meanwhile; look again
            try:
                return _Reading(child, master_info_endpoint(data, scheme=self.scheme))
            except ProtocolError as exc:
                return _Reading(child, None, f"{self.path}/{child}: {exc}")

    def _publish(self, reading: _Reading) -> None:
        before = self._reading
        self._reading = reading
        if reading.endpoint != before.endpoint:
            self._generation += 1
            if reading.endpoint is None:
                log.warning("leading master lost (%s)", reading.error)
            else:
                log.info("leading master is %s (%s/%s)", reading.endpoint, self.path, reading.child)
            self._signal_change()
        elif reading.error and reading.error != before.error:
            log.error("cannot use ZooKeeper leader: %s", reading.error)

    def _signal_change(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    def __repr__(self) -> str:
        return f"ZooKeeperDetector(zk://{self.hosts}{self.path}, leader={self.leader})"


def _stop_client(client: Any) -> None:
    try:
        client.stop()
        client.close()
    except KazooException as exc:  # pragma: no cover - best effort at shutdown
        log.debug("stopping ZooKeeper client: %r", exc)
