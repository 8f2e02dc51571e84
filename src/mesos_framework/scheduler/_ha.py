"""Hot-standby high availability: ZooKeeper leader election and fencing for a `Scheduler`.

Run the same scheduler several times with `ha=`: every replica loads the fleet from the state
store and joins an election (kazoo's `Lock` recipe: an ephemeral sequential znode per
contender). The replica whose znode is first leads: it reloads the store, subscribes with the
stored framework ID (the master fails the previous subscription over), reconciles and acts.
The others wait.

Fencing: kazoo reports a lost connection (SUSPENDED) and an expired session (LOST) on its own
thread; the `Elector` then clears `leading` at once, on that thread, and the session's call
path checks it before every call (`NotLeader`), so no call leaves after the loss has been
seen. The term then ends: the subscription is closed, the pending store writes are dropped,
and the replica goes back to the election. A ZooKeeper state store writes in a transaction
that checks the leader's znode exists, so a deposed leader's write is refused by ZooKeeper
itself. A new leader is elected only once the old leader's session has expired on the server,
which happens after the old leader's client has already seen SUSPENDED (kazoo gives up on a
connection after two thirds of the session timeout): two leaders never act at once. What
might still be in flight is fenced by the master too: a new SUBSCRIBE with the framework ID
fails the old stream over, and the master refuses calls that name the old stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

from mesos_framework._redact import without_password
from mesos_framework.errors import (
    ConfigurationError,
    FrameworkFailedOver,
    FrameworkRemoved,
    MesosError,
    NotLeader,
)
from mesos_framework.tasks.records import TaskRecord

if TYPE_CHECKING:
    from mesos_framework._events import Events
    from mesos_framework.persistence.base import StateStore
    from mesos_framework.scheduler._fleet import Fleet
    from mesos_framework.scheduler._persist import Persister
    from mesos_framework.scheduler._session import Session
    from mesos_framework.scheduler.options import SchedulerOptions

__all__ = [
    "ENV_HA",
    "HA_EVENTS",
    "Elector",
    "HighAvailability",
    "LeadershipMixin",
    "parse_ha",
]

log = logging.getLogger("mesos_framework.scheduler")

T = TypeVar("T")

ENV_HA = "MESOS_FRAMEWORK_HA"
"""The environment variable the `ha` option is read from when not given (set by `run --ha`)."""

#: The events of leadership (emitted only with `ha=`).
HA_EVENTS = frozenset({"leader_elected", "became_standby", "leadership_lost"})

#: How long closing waits for kazoo (it may wait for its connection thread while ZooKeeper is down).
_CLOSE_WAIT = 5.0
#: How long a graceful stop waits for the leader's pending store writes before resigning.
_FLUSH_WAIT = 5.0
#: The pause before contending again after a term that could not begin.
_RETRY_PAUSE = 1.0


@dataclass(frozen=True, slots=True)
class HighAvailability:
    """Where the replicas of one framework elect their leader.

    Args:
        hosts: ZooKeeper's hosts, a kazoo host string (`"zk1:2181,zk2:2181"`).
        path: the election's znode (`/myframework/leader`); every replica of one framework
            uses the same one, and nothing else does.
        session_timeout: the ZooKeeper session timeout (seconds). A dead leader is replaced
            about this long after it stopped answering; a leader fences itself after two thirds
            of it without ZooKeeper.
        identifier: what this replica writes in its znode (default `host:pid`).
        auth: `"user:password"` for ZooKeeper's digest scheme.
    """

    hosts: str
    path: str
    session_timeout: float = 10.0
    identifier: str | None = None
    auth: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.hosts, str) or not self.hosts.strip():
            raise ConfigurationError(f"no ZooKeeper hosts given: {self.hosts!r}", option="ha.hosts")
        path = self.path
        if not isinstance(path, str) or not path.startswith("/") or path.endswith("/") or "//" in path:
            raise ConfigurationError(
                f"expected a znode path such as /myframework/leader, got {path!r}", option="ha.path"
            )
        timeout = self.session_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 600:
            raise ConfigurationError(
                f"expected a number of seconds from 1 to 600, got {timeout!r}", option="ha.session_timeout"
            )
        if self.identifier is not None and (not isinstance(self.identifier, str) or not self.identifier):
            raise ConfigurationError("expected a non-empty string", option="ha.identifier")
        if self.auth is not None and (not isinstance(self.auth, str) or ":" not in self.auth):
            raise ConfigurationError("ZooKeeper credentials must be 'user:password'", option="ha.auth")

    @classmethod
    def from_url(cls, url: str) -> HighAvailability:
        """`zk://[user:password@]host:port[,host:port...]/path[?session_timeout=seconds]`."""
        if not isinstance(url, str) or not url.strip().startswith("zk://"):
            shown = without_password(url) if isinstance(url, str) else url
            raise ConfigurationError(
                f"expected zk://host:port[,host:port...]/path, got {shown!r}", option="ha"
            )
        rest, _, query = url.strip()[len("zk://") :].partition("?")
        authority, slash, path = rest.partition("/")
        url = without_password(url)  # for the messages below
        path = "/" + path.rstrip("/")
        if not slash or path == "/":
            raise ConfigurationError(
                f"the election needs a znode path other than '/': {url!r} (e.g. zk://zk1:2181/myframework)",
                option="ha",
            )
        auth: str | None = None
        if "@" in authority:
            auth, _, authority = authority.rpartition("@")
        hosts = [h.strip() for h in authority.split(",") if h.strip()]
        if not hosts:
            raise ConfigurationError(f"no ZooKeeper hosts in {url!r}", option="ha")
        for host in hosts:
            name, colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
            if colon and (not name or not port.isdigit() or not 0 < int(port) < 65536):
                raise ConfigurationError(f"bad ZooKeeper host {host!r} in {url!r}", option="ha")
        kwargs: dict[str, Any] = {}
        for key, values in parse_qs(query, keep_blank_values=True).items():
            if key != "session_timeout":
                raise ConfigurationError(f"unknown parameter {key!r}; expected session_timeout", option="ha")
            try:
                kwargs["session_timeout"] = float(values[-1])
            except ValueError:
                raise ConfigurationError(
                    f"session_timeout must be a number of seconds, got {values[-1]!r}", option="ha"
                ) from None
        return cls(",".join(hosts), path, auth=auth, **kwargs)


def parse_ha(value: object) -> HighAvailability:
    """The `ha` option: a `HighAvailability` or its `zk://` URL."""
    if isinstance(value, HighAvailability):
        return value
    if isinstance(value, str):
        return HighAvailability.from_url(value)
    raise ConfigurationError(
        f"expected a HighAvailability or 'zk://host:port/path', got {type(value).__name__}", option="ha"
    )


async def _in_thread(fn: Callable[[], T], name: str) -> T:
    """Run blocking `fn` on a daemon thread of its own (never holds up the loop's shutdown)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the loop as it is
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(deliver, False, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, True, result)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


class Elector:
    """One replica's side of the election, and its fence.

    `leading` is True from the moment the lock is held until the ZooKeeper connection is seen
    lost (set False on kazoo's thread, before anything else runs); `check(call)` raises
    `NotLeader` when it is False. `lost` is set (on the event loop) when a term ends that way.
    """

    def __init__(self, ha: HighAvailability) -> None:
        self.ha = ha
        self.identifier = ha.identifier or f"{socket.gethostname()}:{os.getpid()}"
        self.leading = False
        #: The leader's znode (full path) during a term.
        self.node: str | None = None
        self.lost = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._client: Any = None
        self._lock: Any = None
        self._old_node: str | None = None
        self._closed = False

    # -------------------------------------------------------------- the fence
    def check(self, call: str) -> None:
        """Raise `NotLeader` unless this replica leads (called before every call it sends)."""
        if not self.leading:
            raise NotLeader(f"{call} not sent: this scheduler does not lead (hot standby)")

    def _fence(self, why: str) -> None:
        """End the term now (any thread): no call passes `check` after this."""
        if not self.leading:
            return
        self.leading = False
        log.warning("leadership lost (%s): no more calls until elected again", why)
        with contextlib.suppress(RuntimeError):  # the loop is closed
            self._loop.call_soon_threadsafe(self.lost.set)

    def _state_changed(self, state: str) -> bool | None:
        # kazoo's connection thread: must not block.
        if state in ("SUSPENDED", "LOST"):
            self._fence(f"ZooKeeper session {state.lower()}")
        return None

    def _node_watch(self, event: Any) -> None:
        if getattr(event, "type", None) == "DELETED" and event.path == self.node:
            self._fence(f"the leader znode {event.path} was deleted")

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect to ZooKeeper (kazoo retries for ever; waits until the first connection)."""
        from kazoo.client import KazooClient  # noqa: PLC0415 - kazoo loads only with ha=

        ha = self.ha
        self._client = KazooClient(
            hosts=ha.hosts,
            timeout=ha.session_timeout,
            connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
            command_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
            auth_data=[("digest", ha.auth)] if ha.auth else None,
        )
        self._client.add_listener(self._state_changed)
        client = self._client
        await _in_thread(lambda: client.start(timeout=3600.0), "mf-ha-start")

    async def campaign(self) -> str:
        """Wait until elected; returns the leader's znode (cancel to stop waiting)."""
        client = self._client
        assert client is not None
        self.lost.clear()
        lock = client.Lock(self.ha.path, self.identifier)
        self._lock = lock
        old, self._old_node = self._old_node, None

        def acquire() -> str:
            from kazoo.exceptions import NoNodeError  # noqa: PLC0415
            from kazoo.retry import KazooRetry  # noqa: PLC0415

            if old is not None:  # the last term's znode, if the session survived: not a contender now
                with contextlib.suppress(NoNodeError):
                    KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0, ignore_expire=True)(client.delete, old)
            lock.acquire()
            node = f"{self.ha.path}/{lock.node}"
            # Leading only while this session holds the znode: fence on its loss from here on.
            self.node = node
            self.leading = client.state == "CONNECTED"
            client.exists(node, watch=self._node_watch)
            if not client.exists(node):
                self.leading = False
            if not self.leading:
                raise NotLeader("the ZooKeeper session was lost while being elected")
            return node

        try:
            return await _in_thread(acquire, "mf-ha-elect")
        except asyncio.CancelledError:
            lock.cancel()
            raise

    def resign_later(self) -> None:
        """After a term: the znode is deleted before the next campaign (if the session kept it)."""
        self.leading = False
        if self.node is not None:
            self._old_node = self.node
        self.node = None

    async def close(self) -> None:
        """Resign (delete the znode, so a standby takes over at once) and disconnect."""
        if self._closed:
            return
        self._closed = True
        self.leading = False
        client, lock, self._client = self._client, self._lock, None
        node, old = self.node, self._old_node
        self.node = None
        if client is None:
            return

        def stop() -> None:
            if lock is not None:
                lock.cancel()
            for znode in (node, old):
                if znode is not None and client.connected:
                    with contextlib.suppress(Exception):
                        client.delete(znode)
            client.remove_listener(self._state_changed)
            client.stop()
            client.close()

        done = asyncio.ensure_future(_in_thread(stop, "mf-ha-stop"))
        await asyncio.wait({done}, timeout=_CLOSE_WAIT)
        if not done.done():
            log.info("the election's ZooKeeper client is still stopping; not waiting for it")
        else:
            with contextlib.suppress(Exception):
                done.result()


class FencedStore:
    """A state store that refuses writes unless this replica leads (and fences ZooKeeper's)."""

    def __init__(self, store: StateStore, elector: Elector) -> None:
        self.store = store
        self._elector = elector
        self.timeout = getattr(store, "timeout", None) or getattr(store, "operation_timeout", None)

    def _check(self, what: str) -> None:
        if not self._elector.leading:
            raise NotLeader(f"{what} refused: this scheduler does not lead")

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        await self.store.close()

    async def load_framework_id(self) -> str | None:
        return await self.store.load_framework_id()

    async def load_tasks(self) -> list[TaskRecord]:
        return await self.store.load_tasks()

    async def save_framework_id(self, framework_id: str) -> None:
        self._check("writing the framework ID")
        await self.store.save_framework_id(framework_id)

    async def clear_framework_id(self) -> None:
        self._check("clearing the framework ID")
        await self.store.clear_framework_id()

    async def save_task(self, record: TaskRecord) -> None:
        self._check(f"writing task {record.task_id}")
        await self.store.save_task(record)

    async def delete_task(self, task_id: str) -> None:
        self._check(f"deleting task {task_id}")
        await self.store.delete_task(task_id)


class LeadershipMixin:
    """The hot-standby side of a `Scheduler` (used only with the `ha` option)."""

    options: SchedulerOptions
    _events: Events
    _fleet: Fleet
    _session: Session | None
    _store: StateStore | None
    _persister: Persister | None
    _framework_id: str | None
    _recovered: bool
    _stopping: bool
    _fatal: BaseException | None
    _closed: asyncio.Event
    _elector: Elector | None
    _timer: asyncio.TimerHandle | None
    _timer_due: float | None

    # Provided by the Scheduler.
    def _make_fleet(self) -> Fleet:
        raise NotImplementedError

    def _start_session(self) -> Session:
        raise NotImplementedError

    def _listeners_changed(self, name: str) -> None:
        raise NotImplementedError

    async def _recover(self) -> None:
        raise NotImplementedError

    def _dispatch(self, event: Any) -> Awaitable[None] | None:
        raise NotImplementedError

    async def _register_anew(self) -> None:
        raise NotImplementedError

    def _report(self, exc: BaseException) -> None:
        raise NotImplementedError

    @property
    def leading(self) -> bool:
        """True on the replica that acts: always without `ha`; with it, while elected."""
        if self.options.ha is None:
            return True
        return self._elector is not None and self._elector.leading

    async def _load_standby(self) -> None:
        """A standby's view: the fleet as the store has it (nothing is written)."""
        store = self._store
        if store is None:
            return
        await store.open()
        stored = await store.load_framework_id()
        self._framework_id = self.options.framework_id or stored
        if self._framework_id:
            self._fleet.recover(await store.load_tasks())

    async def _ha_loop(self) -> None:
        """Stand by, lead when elected, stand by again when the term ends; until stopped."""
        ha = self.options.ha
        assert ha is not None
        elector = self._elector = Elector(ha)
        graceful = False
        try:
            try:
                await elector.start()
            except Exception as exc:  # e.g. a host string kazoo refuses: fatal, run() raises it
                self._fatal = (
                    exc
                    if isinstance(exc, MesosError)
                    else ConfigurationError(
                        f"cannot use ZooKeeper {ha.hosts!r} for the election: {exc!r}", option="ha"
                    )
                )
                self._report(self._fatal)
                return
            while not self._stopping:
                self._events.emit("became_standby")
                log.info("standing by: waiting to be elected at %s", ha.path)
                try:
                    node = await elector.campaign()
                except NotLeader as exc:
                    log.info("%s", exc)
                    elector.resign_later()
                    continue
                except Exception as exc:  # a ZooKeeper error kazoo does not retry (e.g. NoAuth)
                    self._report(NotLeader(f"the election at {ha.path} failed: {exc!r}"))
                    elector.resign_later()
                    await asyncio.sleep(_RETRY_PAUSE)
                    continue
                try:
                    await self._begin_term(elector)
                except MesosError as exc:
                    self._report(exc)
                    await self._end_term(elector, graceful=False)
                    await asyncio.sleep(_RETRY_PAUSE)
                    continue
                log.info("elected (%s); subscribing as framework %s", node, self._framework_id or "(new)")
                self._events.emit("leader_elected", node)
                ended = await self._run_term(elector)
                await self._end_term(elector, graceful=False)
                if ended == "fatal":
                    return
            graceful = True
        except asyncio.CancelledError:
            graceful = True
            raise
        finally:
            if elector.leading or self._session is not None:
                await self._end_term(elector, graceful=graceful)
            await elector.close()
            if not self._stopping:
                self._closed.set()

    async def _begin_term(self, elector: Elector) -> None:
        """Reload the store into a fresh fleet and open a session fenced by the election."""
        self._fleet = self._make_fleet()
        self._listeners_changed("offers")
        self._framework_id = self.options.framework_id
        self._recovered = False
        store = self._store
        if store is not None:
            fence = getattr(store, "fence", None)
            if callable(fence):
                fence(elector.node)  # ZooKeeper refuses this store's writes once the znode is gone
            self._store = FencedStore(store, elector)
            try:
                await self._recover()
            finally:
                self._store = store
        session = self._start_session()
        session.guard = elector.check
        self._fleet.fill()

    async def _run_term(self, elector: Elector) -> str:
        """Act until the term ends: "lost" (fenced or failed over), "fatal" or "closed"."""
        session = self._session
        assert session is not None
        main = asyncio.get_running_loop().create_task(self._term_events(session), name="mesos-scheduler")
        lost = asyncio.ensure_future(elector.lost.wait())
        try:
            await asyncio.wait({main, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not main.done():
                await session.close()  # the stream ends now; the calls are fenced already
                main.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await main
        if main.done() and not main.cancelled() and main.exception() is None:
            return main.result()
        return "lost"

    async def _term_events(self, session: Session) -> str:
        while True:
            try:
                async for event in session:
                    pending = self._dispatch(event)
                    if pending is not None:
                        await pending
                return "closed"
            except FrameworkFailedOver as exc:
                log.warning("%s: standing by", exc)  # another replica leads now
                return "lost"
            except FrameworkRemoved as exc:
                if not self.options.reregister_when_removed:
                    self._fatal = exc
                    return "fatal"
                await self._register_anew()

    async def _end_term(self, elector: Elector, *, graceful: bool) -> None:
        """Close the session and the writes of a term, then resign (the znode goes last)."""
        was_leading = elector.leading or self._session is not None
        elector_node = elector.node
        if not graceful:
            elector.leading = False  # nothing more leaves this replica
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_due = None
        persister, self._persister = self._persister, None
        if persister is not None:
            if graceful and elector.leading:
                await persister.flush(min(persister.timeout, _FLUSH_WAIT))
            await persister.close()
        elector.resign_later()
        fence = getattr(self._store, "fence", None)
        if callable(fence):
            fence(None)
        if was_leading and elector_node is not None:
            self._events.emit("leadership_lost", elector_node)


def check_ha_options(opts: SchedulerOptions) -> None:
    """What `ha` needs of the other options (called by `parse_options`)."""
    if opts.ha is None:
        return
    if opts.master == "local":
        raise ConfigurationError(
            "replicas must share a master: master='local' starts one cluster per process", option="ha"
        )
    if opts.state_store is None and not opts.use_zk and not opts.framework_id:
        raise ConfigurationError(
            "a standby takes the framework over from the state store: set state_store (e.g. the "
            "ZooKeeper one), use_zk or framework_id",
            option="ha",
        )
    if isinstance(opts.state_store, str) and opts.state_store.strip() == "memory":
        raise ConfigurationError("a memory store is not shared between replicas", option="ha")
