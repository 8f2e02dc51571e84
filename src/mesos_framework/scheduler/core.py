"""The `Scheduler`: a declarative Mesos framework on the v1 scheduler API."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any

from mesos_framework.errors import (
    APIError,
    CallWhileDisconnected,
    ConfigurationError,
    ConnectError,
    FrameworkRemoved,
    MesosError,
    NotSubscribed,
    StateStoreError,
    StreamClosed,
    SubscriptionLost,
    TransportError,
)
from mesos_framework.persistence.base import StateStore
from mesos_framework.persistence.zookeeper import ZooKeeperStore
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls
from mesos_framework.scheduler.emitter import Emitter, Listener
from mesos_framework.scheduler.options import SchedulerOptions, parse_options
from mesos_framework.tasks.matching import Launch, PendingQueue, match_offers, offer_ip
from mesos_framework.tasks.records import TaskRecord, TaskTable
from mesos_framework.tasks.spec import TaskSpec, id_safe, parse_task_id
from mesos_framework.tasks.state import TaskState
from mesos_framework.transport import Backoff, Credentials, HttpClient

__all__ = ["EVENTS", "FrameworkFailedOver", "ScalingNotAllowed", "Scheduler", "UnknownTask"]

log = logging.getLogger(__name__)

#: At most this many acknowledgements go out pipelined together.
_ACK_BATCH = 64

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event

#: Every event a `Scheduler` emits (plus ``sent_<call>`` for each call).
EVENTS = frozenset(
    {
        "ready",
        "subscribed",
        "offers",
        "inverse_offers",
        "rescind",
        "rescind_inverse_offer",
        "update",
        "update_operation_status",
        "message",
        "failure",
        "heartbeat",
        "error",
        "updated_task",
        "removed_task",
        "task_launched",
        "task_unhealthy",
        "disconnected",
        "framework_removed",
        "closed",
    }
)


#: Per event type number: (type name, payload field or None, default handler method name).
_EVENT_TABLE: dict[int, tuple[str, str | None, str]] = {
    number: (
        name,
        name.lower() if name.lower() in Event.DESCRIPTOR.fields_by_name else None,
        f"_default_{name.lower()}",
    )
    for name, number in Event.Type.items()
}
_UNKNOWN_EVENT: tuple[str, str | None, str] = ("UNKNOWN", None, "_default_unknown")


class _Watchdog:
    """Ends a stream read that waits too long, at the cost of a timestamp per event.

    One timer per stream instead of one per event: the timer re-arms itself for the deadline of the
    current wait and cancels the reading task only if that wait is still going on when it fires.
    """

    __slots__ = ("_handle", "_limit", "_loop", "_task", "expired", "since", "waiting")

    def __init__(self, limit: Callable[[], float]) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._limit = limit
        self.waiting = False
        self.since = self._loop.time()
        self.expired: float | None = None
        self._handle = self._loop.call_at(self.since + limit(), self._check)

    def _check(self) -> None:
        now = self._loop.time()
        limit = self._limit()
        if not self.waiting:
            self._handle = self._loop.call_at(now + limit, self._check)
            return
        deadline = self.since + limit
        if now < deadline:
            self._handle = self._loop.call_at(deadline, self._check)
            return
        self.expired = limit
        if self._task is not None:
            self._task.cancel()

    def spent(self) -> None:
        """The read ended otherwise although the watchdog fired: withdraw its cancellation."""
        if self.expired is not None and self._task is not None and self._task.cancelling():
            self._task.uncancel()

    def rearm(self) -> None:
        """Check again after the current limit (call when the limit may have become shorter)."""
        self._handle.cancel()
        self._handle = self._loop.call_at(self._loop.time() + self._limit(), self._check)

    def close(self) -> None:
        """Disarm the timer."""
        self._handle.cancel()


class ScalingNotAllowed(ConfigurationError):
    """``scale()`` on a task type whose spec does not set ``allow_scaling``."""


class FrameworkFailedOver(FrameworkRemoved):
    """Another scheduler subscribed with this framework's ID and took it over; never re-registered."""


class UnknownTask(ConfigurationError):
    """A task ID, instance name or task type the scheduler does not know."""


Slot = tuple[str, int]


class Scheduler:
    """A Mesos framework scheduler: keeps the declared tasks running.

    Options (all keyword, snake_case; the JavaScript library's names map one
    to one and its camelCase spellings are rejected with a pointer here):

    | option | seed name | meaning (default) |
    |---|---|---|
    | ``master`` | ``masterUrl`` + ``port`` | ``"host[:port]"``, ``"h1:5050,h2:5050"``, ``"http(s)://..."``, ``"zk://.../mesos"``, a DNS name, or ``"local"`` (start a `LocalCluster` in-process) (``"127.0.0.1"``) |
    | ``port`` | ``port`` | port for host names without one (5050) |
    | ``framework_name`` | ``frameworkName`` | spaces become ``-``; required with persistence (random otherwise) |
    | ``user`` | ``user`` | ``FrameworkInfo.user`` (``"root"``) |
    | ``role`` / ``roles`` | ``role`` | one role, or several (MULTI_ROLE) |
    | ``restart_states`` | ``restartStates`` | terminal states that relaunch a task |
    | ``restart_backoff_minimum``, ``..._maximum``, ``..._factor`` | (none) | per-instance restart backoff (1 s, 60 s, 2); ``max_restarts`` (unlimited) |
    | ``master_connection_timeout`` | ``masterConnectionTimeout`` | connect timeout, and the wait for SUBSCRIBED (10 s) |
    | ``framework_failover_timeout`` | ``frameworkFailoverTimeout`` | seconds; 0 is allowed (1 week) |
    | ``exponential_backoff_factor``, ``..._minimum``, ``..._maximum`` | ``exponentialBackoff*`` | resubscribe backoff (1.5, 1 s, 15 s), jittered |
    | ``tasks`` | ``tasks`` | ``{"web": {...}}`` or ``[TaskSpec, ...]`` |
    | ``handlers`` | ``handlers`` | ``{"UPDATE": fn(scheduler, payload)}`` replaces that default handler |
    | ``static_ports`` | ``staticPorts`` | allow ``fixed_ports`` in specs (False) |
    | ``serial_numbered_tasks`` | ``serialNumberedTasks`` | ``-N`` in Mesos task names and the ``TASK_<TYPE>_SERIAL_NUMBER`` env (True) |
    | ``kill_unknown_tasks`` | ``killUnknownTasks`` | kill running tasks found by reconciliation that are not ours (False) |
    | ``use_zk``, ``zk_url``, ``zk_prefix`` | ``useZk``, ``zkUrl``, ``zkPrefix`` | ZooKeeper persistence under ``zk_prefix + framework_name`` |
    | ``state_store`` | (``zkClient``) | any `StateStore` instead of ZK |
    | ``logging`` | ``logging`` | ``{level, path, file_name}``; a file is written only when path/file_name is given |
    | ``framework_id`` | ``frameworkId`` (branch) | re-attach to this framework |
    | ``checkpoint`` | (unsupported) | ``FrameworkInfo.checkpoint`` (True) |
    | ``capabilities`` | (unsupported) | names (TASK_KILLING_STATE; MULTI_ROLE and GPU_RESOURCES are added when needed) |
    | ``principal``, ``secret``, ``token``, ``tls`` | (unsupported) | authentication; ``tls`` a TLSConfig |
    | ``labels``, ``hostname``, ``webui_url`` | (``$HOST``, ``$PORT0``) | FrameworkInfo fields |
    | ``content_type`` | (JSON only) | ``"protobuf"`` (default) or ``"json"`` |
    | ``heartbeat_misses`` | (none) | missed heartbeats before the connection counts as lost (2) |
    | ``call_timeout`` | (none) | how long a call waits for a subscription (30 s) |
    | ``refuse_seconds``, ``idle_refuse_seconds`` | (none) | decline filters while work is pending (5 s) and when idle (300 s) |
    | ``reconcile_interval`` | (none) | periodic implicit reconciliation (900 s) |
    | ``auto_acknowledge`` | (none) | acknowledge updates after handling (True) |
    | ``reregister_when_removed`` | (none) | register anew if the master removed the framework (False: stop and report) |

    Events (``scheduler.on(name, fn)``; ``fn`` may be sync or async):
    ``ready``, ``subscribed`` (``Event.Subscribed``), ``offers``,
    ``inverse_offers``, ``rescind``, ``rescind_inverse_offer``, ``update``,
    ``update_operation_status``, ``message``, ``failure`` (their ``Event``
    payloads), ``heartbeat`` (time), ``error`` (an exception),
    ``updated_task`` / ``removed_task`` / ``task_launched`` /
    ``task_unhealthy`` (a `TaskRecord`), ``disconnected``,
    ``framework_removed``, ``closed``, and ``sent_<call>`` (the ``Call``)
    after each successful call.

    Lifecycle: ``await start()`` recovers persisted state, emits ``ready`` and
    keeps a subscription up (resubscribing with the framework ID after any
    loss, with capped jittered backoff); ``await stop()`` closes it (the
    framework fails over; its tasks keep running); ``run()`` does both and
    blocks. If the master removed the framework (`FrameworkRemoved`)
    or another scheduler took it over (`FrameworkFailedOver`), the
    scheduler reports it, ``wait_closed()`` returns and ``run()`` raises;
    ``register_new_framework()`` (or ``reregister_when_removed=True``, never
    for a take-over) starts again as a new framework.

    Calls (``accept``, ``kill``, ``reconcile``...) made while disconnected wait
    up to ``call_timeout`` for the subscription, then raise
    `CallWhileDisconnected`; other failures
    raise their typed error. Nothing is dropped silently.
    """  # noqa: E501 - a Markdown table cannot wrap

    def __init__(self, options: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        self.options: SchedulerOptions = parse_options({**(options or {}), **kwargs})
        self._emitter = Emitter(EVENTS, prefixes=("sent_",), suffixes=("task_unhealthy",))
        opts = self.options
        self._specs: dict[str, TaskSpec] = {s.name: s for s in opts.tasks}
        self._id_names: dict[str, str] = {id_safe(s.name): s.name for s in opts.tasks}
        self._desired: dict[str, int] = {s.name: s.instances for s in opts.tasks}
        self._pending = PendingQueue(opts.tasks)
        self._tasks = TaskTable()
        self._templates: dict[str, bytes] = {}
        # Instances that ended for good (finished, killed on request, given up): not relaunched.
        # The value is the task ID whose terminal record marks it in the store (None: not yet).
        self._completed: dict[Slot, str | None] = {}
        self._restarts: dict[Slot, int] = {}
        self._delayed: dict[Slot, asyncio.TimerHandle] = {}
        self._to_kill: list[TaskRecord] = []
        self._unreconciled: dict[str, str | None] = {}
        self._recovered = False
        self.framework_id: str | None = opts.framework_id
        self.stream_id: str | None = None
        self.heartbeat_interval: float | None = None
        self.last_heartbeat: float | None = None
        self.master_info: mesos_pb2.MasterInfo | None = None
        self.leader: str | None = None
        self._connected = asyncio.Event()
        self._closed = asyncio.Event()
        self._suppressed = False
        self._stopping = False
        self._tearing_down = False
        self._started = False
        self._fatal: BaseException | None = None
        self._client: HttpClient | None = None
        self._store: StateStore | None = None
        self._local: Any = None
        self._main: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._subscription_tasks: set[asyncio.Task[Any]] = set()
        self._stream: Any = None
        self._log_handler: logging.Handler | None = None
        self._launch_lock = asyncio.Lock()
        self._stop_task: asyncio.Task[None] | None = None
        self._reconciling = False
        self._registered_anew = False
        # Per event type: (type name, payload field, emitted name, default handler or None).
        self._event_table: dict[int, tuple[str, str | None, str, Any]] = {
            number: (name, field, name.lower(), getattr(self, default, None))
            for number, (name, field, default) in _EVENT_TABLE.items()
        }
        self._unknown_event = (*_UNKNOWN_EVENT[:2], "unknown", None)
        # Acknowledgements of the current subscription, sent in order by its sender task.
        self._acks: asyncio.Queue[mesos_pb2.TaskStatus] | None = None

    # ------------------------------------------------------------------ events
    def on(self, name: str, listener: Listener) -> Listener:
        """Call ``listener`` on every ``name`` event (sync or async); returns it (usable as a decorator)."""
        return self._emitter.on(name, listener)

    def once(self, name: str, listener: Listener) -> Listener:
        """Call ``listener`` on the next ``name`` event only."""
        return self._emitter.once(name, listener)

    def off(self, name: str, listener: Listener) -> None:
        """Remove a listener."""
        self._emitter.off(name, listener)

    async def wait_for(
        self,
        name: str,
        predicate: Callable[..., bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[Any, ...]:
        """Wait for the next ``name`` event matching ``predicate``; return its payload."""
        return await self._emitter.wait_for(name, predicate, timeout=timeout)

    def emit(self, name: str, *payload: Any) -> None:
        """Deliver an event to its listeners (used by helpers such as `TaskHealthHelper`)."""
        self._emitter.emit(name, *payload)

    def add_event_names(self, *names: str) -> None:
        """Allow listeners for custom event names (e.g. a health helper's own ``error_event``)."""
        self._emitter.add_names(names)

    def _emit(self, name: str, *args: Any) -> None:
        self._emitter.emit(name, *args)

    def _report(self, exc: BaseException) -> None:
        log.error("%s", exc)
        self._emit("error", exc)

    # --------------------------------------------------------------- lifecycle
    @property
    def connected(self) -> bool:
        """True while subscribed."""
        return self._connected.is_set()

    def run(self) -> None:
        """Run until `stop()` or SIGINT/SIGTERM (blocks); re-raises a fatal error."""
        asyncio.run(self._run_blocking())

    async def _run_blocking(self) -> None:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, lambda: self._spawn(self.stop()))
                installed.append(sig)
        try:
            await self.start()
            await self.wait_closed()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()
        if self._fatal is not None:
            raise self._fatal

    async def start(self) -> None:
        """Recover persisted state, emit ``ready`` and start subscribing (returns at once after that)."""
        if self._started:
            return
        self._started = True
        opts = self.options
        self._configure_logging()
        master = opts.master
        if master == "local":
            from mesos_framework.local import LocalCluster  # noqa: PLC0415 - only for master="local"

            self._local = LocalCluster()
            await self._local.__aenter__()
            master = self._local.url
        credentials = Credentials(opts.principal, opts.secret) if opts.principal and opts.secret else None
        self._client = HttpClient(
            master,
            content_type=opts.content_type,
            tls=opts.tls,
            credentials=credentials,
            token=opts.token,
            connect_timeout=opts.master_connection_timeout,
            request_timeout=opts.request_timeout,
            backoff=self._new_backoff(),
        )
        if opts.use_zk:
            hosts = opts.zk_url.removeprefix("zk://").rstrip("/")
            self._store = ZooKeeperStore(hosts, opts.zk_path)
        else:
            self._store = opts.state_store
        try:
            await self._recover()
        except BaseException:
            await self._close_resources()
            raise
        for spec in opts.tasks:
            for serial in range(1, self._desired[spec.name] + 1):
                slot = (spec.name, serial)
                if not self._occupied(slot) and slot not in self._completed:
                    self._pending.push(*slot)
        self._emit("ready")
        self._main = asyncio.get_running_loop().create_task(self._connection_loop(), name="mesos-scheduler")

    async def stop(self) -> None:
        """Close the subscription and release everything; the framework fails over, its tasks keep running.

        Safe to call from listeners and handlers, and more than once.
        """
        if self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(
                self._do_stop(), name="mesos-scheduler-stop"
            )
        await asyncio.shield(self._stop_task)

    async def _do_stop(self) -> None:
        self._stopping = True
        try:
            for handle in self._delayed.values():
                handle.cancel()
            self._delayed.clear()
            if self._main is not None:
                self._main.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._main
            await self._cancel(self._subscription_tasks)
            await self._cancel(self._background)
            self._emitter.cancel_pending()
            await self._close_resources()
        finally:
            self._connected.clear()
            self._closed.set()
        self._emit("closed")

    async def wait_closed(self) -> None:
        """Return once the scheduler has stopped (by `stop()` or a fatal error)."""
        await self._closed.wait()

    async def __aenter__(self) -> Scheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _close_resources(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                await self._stream.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        if self._store is not None:
            with contextlib.suppress(Exception):
                await self._store.close()
        if self._local is not None:
            with contextlib.suppress(Exception):
                await self._local.__aexit__(None, None, None)
            self._local = None
        if self._log_handler is not None:
            logging.getLogger("mesos_framework").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    @staticmethod
    async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
        for task in list(tasks):
            task.cancel()
        for task in list(tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        tasks.clear()

    def _configure_logging(self) -> None:
        opts = self.options
        logger = logging.getLogger("mesos_framework")
        if opts.log_level is not None:
            logger.setLevel(opts.log_level)
        if opts.log_file is not None:
            handler = logging.FileHandler(opts.log_file)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
            self._log_handler = handler

    def _new_backoff(self) -> Backoff:
        opts = self.options
        return Backoff(
            minimum=opts.exponential_backoff_minimum,
            maximum=opts.exponential_backoff_maximum,
            factor=opts.exponential_backoff_factor,
        )

    def _spawn(self, coro: Coroutine[Any, Any, Any], *, subscription: bool = False) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        bucket = self._subscription_tasks if subscription else self._background
        bucket.add(task)
        task.add_done_callback(bucket.discard)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if isinstance(exc, MesosError):
            self._report(exc)
        else:
            log.error("background task failed", exc_info=exc)
            self._emit("error", exc)

    # ---------------------------------------------------------------- recovery
    async def _recover(self) -> None:
        store = self._store
        if store is None:
            return
        await store.open()
        stored_id = await store.load_framework_id()
        if stored_id and self.framework_id and stored_id != self.framework_id:
            log.warning("framework_id option %s overrides stored %s", self.framework_id, stored_id)
        elif stored_id:
            self.framework_id = stored_id
        if not self.framework_id:
            return
        records = await store.load_tasks()
        self._recovered = True
        for rec in sorted(records, key=lambda r: (r.state.is_active is False, r.serial)):
            type_name = self._id_names.get(id_safe(rec.type_name), None)
            if rec.state.is_terminal:
                # A completed instance's marker (see _task_ended): keep it while the instance is declared.
                slot = (type_name, rec.serial) if type_name is not None else None
                if slot is not None and self._in_spec(slot) and slot not in self._completed:
                    self._completed[slot] = rec.task_id
                else:
                    await self._forget(rec)
                continue
            slot_taken = type_name is not None and self._occupied((type_name, rec.serial))
            if type_name is not None:
                rec.type_name = type_name
            if type_name is None or rec.serial > self._desired.get(type_name, 0) or slot_taken:
                log.info("recovered task %s is no longer wanted; it will be killed", rec.task_id)
                # Tracked (and kept in the store) until Mesos confirms its end.
                rec.killing = rec.restarting = True
                self._to_kill.append(rec)
            self._tasks.add(rec)
        log.info(
            "recovered framework %s: %d task(s) to reconcile, %d to kill",
            self.framework_id,
            len(self._tasks),
            len(self._to_kill),
        )

    async def _persist(self, rec: TaskRecord) -> None:
        if self._store is None:
            return
        try:
            await self._store.save_task(rec)
        except StateStoreError as exc:
            self._report(exc)

    async def _forget(self, rec: TaskRecord | str) -> None:
        if self._store is None:
            return
        try:
            await self._store.delete_task(rec if isinstance(rec, str) else rec.task_id)
        except StateStoreError as exc:
            self._report(exc)

    # -------------------------------------------------------------- connection
    async def _connection_loop(self) -> None:
        assert self._client is not None
        backoff = self._new_backoff()
        try:
            while not self._stopping:
                call = calls.subscribe(
                    self.options.framework_info(self.framework_id),
                    suppressed_roles=() if self._wants_offers() else self.options.roles,
                )
                try:
                    stream = await self._client.subscribe(call)
                except asyncio.CancelledError:
                    raise
                except MesosError as exc:
                    self._report(exc)
                    await asyncio.sleep(backoff.next())
                    continue
                self._stream = stream
                self.stream_id = stream.stream_id
                self.leader = stream.leader
                self._emit("sent_subscribe", call)
                self._spawn(self._watch_leader(stream), subscription=True)
                acks: asyncio.Queue[mesos_pb2.TaskStatus] = asyncio.Queue()
                self._acks = acks
                self._spawn(self._send_acknowledgements(acks), subscription=True)
                try:
                    await self._consume(stream, backoff)
                except FrameworkRemoved as exc:
                    self._connected.clear()
                    self._emit("framework_removed", exc)
                    self._report(exc)
                    if isinstance(exc, FrameworkFailedOver) or not self.options.reregister_when_removed:
                        self._fatal = exc
                        break
                    await self._register_anew()
                except (StreamClosed, SubscriptionLost, TransportError) as exc:
                    if self._tearing_down:  # the master closes the stream after TEARDOWN
                        log.info("framework torn down; the master closed the stream")
                        break
                    log.warning("subscription lost: %s", exc)
                except Exception as exc:
                    # A bug here must not end the scheduler: report it and resubscribe.
                    log.exception("event loop failed; resubscribing")
                    self._emit("error", exc)
                finally:
                    self._connected.clear()
                    self._acks = None  # the agents resend what this stream left unacknowledged
                    await self._cancel(self._subscription_tasks)
                    with contextlib.suppress(Exception):
                        await stream.close()
                    self._stream = None
                    self.stream_id = None
                if self._stopping:
                    break
                self._emit("disconnected")
                self._client.forget_leader()
                delay = backoff.next()
                log.info("resubscribing in %.2fs", delay)
                await asyncio.sleep(delay)
        finally:
            if not self._stopping:
                # A fatal end (e.g. FrameworkRemoved): run() and wait_closed() return; the caller
                # either stops or calls register_new_framework().
                self._connected.clear()
                self._closed.set()

    def _event_wait_limit(self) -> float:
        """Seconds without an event after which the subscription counts as lost."""
        if self.heartbeat_interval and self._connected.is_set():
            return self.heartbeat_interval * self.options.heartbeat_misses + 1.0
        return self.options.master_connection_timeout

    async def _consume(self, stream: Any, backoff: Backoff) -> None:
        it = stream.__aiter__()
        loop = asyncio.get_running_loop()
        watchdog = _Watchdog(self._event_wait_limit)
        task = asyncio.current_task()
        try:
            while True:
                watchdog.since = loop.time()
                watchdog.waiting = True
                try:
                    event = await it.__anext__()
                except asyncio.CancelledError:
                    if watchdog.expired is None or task is None or task.uncancel() > 0:
                        raise
                    raise SubscriptionLost(
                        f"no event from {stream.leader} for {watchdog.expired:g}s "
                        f"(heartbeat interval {self.heartbeat_interval or 'unknown'}s)"
                    ) from None
                except StopAsyncIteration:
                    watchdog.spent()
                    raise StreamClosed(f"event stream from {stream.leader} was closed") from None
                except BaseException:
                    watchdog.spent()
                    raise
                finally:
                    watchdog.waiting = False
                if event.type == Event.SUBSCRIBED:
                    backoff.reset()
                    await self._dispatch(event)
                    watchdog.rearm()  # the heartbeat interval is known now
                    continue
                await self._dispatch(event)
        finally:
            watchdog.close()

    async def _register_anew(self) -> None:
        """Forget the removed framework (its tasks are gone) and subscribe as a new one."""
        log.warning("registering as a new framework (the master removed %s)", self.framework_id)
        self.framework_id = None
        if self._store is not None:
            try:
                await self._store.clear_framework_id()
            except StateStoreError as exc:
                self._report(exc)
        for rec in list(self._tasks):
            self._tasks.remove(rec.task_id)
            await self._forget(rec)
            self._emit("removed_task", rec)
        self._to_kill.clear()
        self._unreconciled.clear()
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        self._restarts.clear()
        for spec in self._specs.values():
            for serial in range(1, self._desired[spec.name] + 1):
                if (spec.name, serial) not in self._pending and (spec.name, serial) not in self._completed:
                    self._pending.push(spec.name, serial)

    async def register_new_framework(self) -> None:
        """After `FrameworkRemoved`: forget the old framework and start again as a new one."""
        if self._main is not None and not self._main.done():
            raise ConfigurationError("the scheduler is still subscribed", option="register_new_framework")
        if self._stop_task is not None:
            raise ConfigurationError(
                "the scheduler was stopped; create a new one", option="register_new_framework"
            )
        await self._register_anew()
        self._fatal = None
        self._closed.clear()
        self._main = asyncio.get_running_loop().create_task(self._connection_loop(), name="mesos-scheduler")

    # ----------------------------------------------------------------- dispatch
    async def _dispatch(self, event: scheduler_pb2.Event) -> None:
        type_name, field, emit_name, default = self._event_table.get(event.type, self._unknown_event)
        payload: Any = getattr(event, field) if field is not None else None
        if type_name == "SUBSCRIBED":
            await self._on_subscribed_core(payload)
        elif type_name == "HEARTBEAT":
            self.last_heartbeat = time.time()
        custom = self.options.handlers.get(type_name)
        try:
            if custom is not None:
                result = custom(self, payload)
                if inspect.isawaitable(result):
                    await result
            elif default is not None:
                await default(payload)
            else:
                log.debug("%s event: %s", type_name, payload)
        except asyncio.CancelledError:
            raise
        except MesosError as exc:
            self._report(exc)
        except Exception as exc:
            log.exception("handler for %s raised", type_name)
            self._emit("error", exc)
        self._emit_event(type_name, emit_name, payload)
        if type_name == "UPDATE" and self.options.auto_acknowledge:
            self._queue_acknowledge(payload.status)
        elif type_name == "SUBSCRIBED":
            self._after_subscribed()
        elif type_name == "ERROR":
            message = payload.message
            low = message.lower()
            if "failed over" in low:
                raise FrameworkFailedOver(
                    f"another scheduler took over framework {self.framework_id}: {message}"
                )
            if "removed" in low or "torn down" in low:
                raise FrameworkRemoved(f"Mesos removed framework {self.framework_id}: {message}")
            lost = SubscriptionLost(f"Mesos sent ERROR: {message}")
            self._report(lost)  # unlike a routine reconnect, an ERROR from Mesos is reported
            raise lost

    def _emit_event(self, type_name: str, emit_name: str, payload: Any) -> None:
        if type_name == "HEARTBEAT":
            self._emit("heartbeat", self.last_heartbeat)
        elif type_name == "ERROR":
            pass  # reported as an exception by _dispatch
        elif type_name == "UNKNOWN":
            log.warning("ignoring an event of a type this library does not know")
        else:
            self._emit(emit_name, payload)

    async def _on_subscribed_core(self, sub: scheduler_pb2.Event.Subscribed) -> None:
        new_id = sub.framework_id.value
        # Subscribed without a framework id: Mesos registered a new framework, which has no tasks.
        self._registered_anew = not self.framework_id
        if self.framework_id and new_id != self.framework_id:
            log.warning("master assigned framework id %s instead of %s", new_id, self.framework_id)
        changed = new_id != self.framework_id
        self.framework_id = new_id
        self.heartbeat_interval = (
            sub.heartbeat_interval_seconds if sub.HasField("heartbeat_interval_seconds") else None
        )
        self.master_info = sub.master_info if sub.HasField("master_info") else None
        self.last_heartbeat = time.time()
        self._suppressed = not self._wants_offers()
        if self._store is not None and (changed or not self._recovered):
            try:
                await self._store.save_framework_id(new_id)
                self._recovered = True
            except StateStoreError as exc:
                self._report(exc)
        self._connected.set()
        log.info("subscribed as framework %s (stream %s)", new_id, self.stream_id)

    def _after_subscribed(self) -> None:
        # Taken now, before any offer of this subscription launches something: a task whose
        # ACCEPT is still on its way would be reported lost by an explicit reconciliation.
        self._unreconciled = {r.task_id: r.agent_id for r in self._tasks if not r.state.is_terminal}
        # A framework Mesos has just registered has no tasks to find: an implicit reconciliation
        # would only be answered (after the first launches) with a TASK_STAGING per new task.
        implicit = not (self._registered_anew and not self._unreconciled)
        if implicit or self._unreconciled:
            self._spawn(self._reconcile_known(implicit=implicit, retried=False), subscription=True)
        self._spawn(self._periodic_reconcile(), subscription=True)
        if self._to_kill:
            to_kill, self._to_kill = self._to_kill, []
            self._spawn(self._kill_records(to_kill), subscription=True)

    async def _kill_records(self, records: Sequence[TaskRecord]) -> None:
        for rec in records:
            await self._persist(rec)
            try:
                await self._send(calls.kill(rec.task_id, rec.agent_id), wait=False)
            except MesosError as exc:
                self._report(exc)
                self._to_kill.append(rec)

    async def _reconcile_known(self, *, implicit: bool = True, retried: bool = True) -> None:
        """Explicit reconciliation of every known task, retried with backoff until each is answered.

        ``implicit`` adds one implicit reconciliation to the first round. ``retried`` means the
        first round was already sent by the caller (or the call's fate is being settled): only
        the retries are left.
        """
        self._reconciling = True
        try:
            await self._reconcile_rounds(implicit, retried)
        finally:
            self._reconciling = False

    async def _reconcile_rounds(self, implicit: bool, retried: bool) -> None:
        delay = self.options.reconcile_retry_minimum
        first = implicit
        if retried:  # the first round was just sent, or the call's fate is being settled
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.options.reconcile_retry_maximum)
        while self._unreconciled or first:
            try:
                async with self._launch_lock:  # never overtake an ACCEPT in flight
                    if self._unreconciled:
                        pairs = list(self._unreconciled.items())
                        for start in range(0, len(pairs), 1000):
                            await self._send(calls.reconcile(pairs[start : start + 1000]), wait=False)
                    if first:
                        # Implicit: the master answers for every task it knows, which finds tasks
                        # launched but not recorded (the scheduler died between ACCEPT and its write).
                        await self._send(calls.reconcile(), wait=False)
                        first = False
            except MesosError as exc:
                self._report(exc)  # retried below
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.options.reconcile_retry_maximum)

    async def _periodic_reconcile(self) -> None:
        interval = self.options.reconcile_interval
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            try:
                await self._send(calls.reconcile(), wait=False)
            except MesosError as exc:
                self._report(exc)

    # ------------------------------------------------------------------- calls
    async def _send(self, call: scheduler_pb2.Call, *, wait: bool = True) -> None:
        """Send a call; wait (bounded by ``call_timeout``) for a subscription unless ``wait`` is False."""
        name = Call.Type.Name(call.type)
        if self._client is None:
            raise CallWhileDisconnected(f"{name} not sent: the scheduler is not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.call_timeout
        while True:
            if not self._connected.is_set():
                if not wait or self._stopping:
                    raise CallWhileDisconnected(f"{name} not sent: not subscribed to a master")
                try:
                    async with asyncio.timeout(max(0.0, deadline - loop.time())):
                        await self._connected.wait()
                except TimeoutError:
                    raise CallWhileDisconnected(
                        f"{name} not sent: no subscription within {self.options.call_timeout:g}s"
                    ) from None
            if self.framework_id:
                call.framework_id.value = self.framework_id
            try:
                await self._client.send(call, stream_id=self.stream_id)
            except (NotSubscribed, ConnectError) as exc:
                # Retried only when the master cannot have acted on the call (refused, or never
                # reached), so an ACCEPT is never sent twice.
                if not wait or loop.time() >= deadline or self._stopping:
                    raise
                log.info("%s failed (%s); retrying", name, exc)
                await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
                continue
            self._emit(f"sent_{name.lower()}", call)
            return

    async def subscribe(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Start (if needed) and wait until subscribed."""
        await self.start()
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def sync(self) -> None:
        """Reconcile: explicitly every known task (retried until answered) and implicitly all others.

        The seed's ``sync()``; the scheduler already does this on every (re)subscription.
        """
        pairs = {r.task_id: r.agent_id for r in self._tasks if not r.state.is_terminal}
        async with self._launch_lock:
            if pairs:
                await self._send(calls.reconcile(list(pairs.items())))
            await self._send(calls.reconcile())
        self._unreconciled.update(pairs)
        if not self._reconciling and pairs:
            self._spawn(self._reconcile_known(implicit=False, retried=True), subscription=True)

    async def teardown(self) -> None:
        """TEARDOWN: end the framework (Mesos kills all its tasks), clear persisted state and stop."""
        self._tearing_down = True
        try:
            await self._send(calls.teardown())
        except BaseException:
            self._tearing_down = False
            raise
        if self._store is not None:
            try:
                for rec in list(self._tasks):
                    await self._store.delete_task(rec.task_id)
                await self._store.clear_framework_id()
            except StateStoreError as exc:
                self._report(exc)
        self._spawn(self.stop())

    async def accept(
        self,
        offer_ids: Iterable[str | mesos_pb2.OfferID],
        operations: Iterable[mesos_pb2.Offer.Operation] | mesos_pb2.Offer.Operation,
        refuse_seconds: float | None = None,
    ) -> None:
        """ACCEPT offers with operations."""
        ops = [operations] if isinstance(operations, mesos_pb2.Offer.Operation) else list(operations)
        await self._send(calls.accept(offer_ids, ops, refuse_seconds))

    async def decline(
        self, offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
    ) -> None:
        """DECLINE offers."""
        await self._send(calls.decline(offer_ids, refuse_seconds))

    async def accept_inverse_offers(
        self, inverse_offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
    ) -> None:
        """ACCEPT_INVERSE_OFFERS."""
        await self._send(calls.accept_inverse_offers(inverse_offer_ids, refuse_seconds))

    async def decline_inverse_offers(
        self, inverse_offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
    ) -> None:
        """DECLINE_INVERSE_OFFERS."""
        await self._send(calls.decline_inverse_offers(inverse_offer_ids, refuse_seconds))

    async def revive(self, roles: Iterable[str] = ()) -> None:
        """REVIVE offers."""
        await self._send(calls.revive(roles))
        self._suppressed = False

    async def suppress(self, roles: Iterable[str] = ()) -> None:
        """SUPPRESS offers."""
        await self._send(calls.suppress(roles))
        self._suppressed = True

    async def kill(
        self,
        task_id: str | mesos_pb2.TaskID,
        agent_id: str | mesos_pb2.AgentID | None = None,
        *,
        grace_period: float | None = None,
    ) -> None:
        """KILL a task (the raw call; see `kill_task()` for the managed version)."""
        await self._send(calls.kill(task_id, agent_id, grace_period=grace_period))

    async def shutdown(
        self, executor_id: str | mesos_pb2.ExecutorID, agent_id: str | mesos_pb2.AgentID
    ) -> None:
        """SHUTDOWN an executor."""
        await self._send(calls.shutdown(executor_id, agent_id))

    async def acknowledge(
        self,
        status_or_task_id: mesos_pb2.TaskStatus | str | mesos_pb2.TaskID,
        agent_id: str | mesos_pb2.AgentID | None = None,
        uuid: bytes | None = None,
    ) -> None:
        """ACKNOWLEDGE a status update: pass the ``TaskStatus``, or task ID, agent ID and uuid."""
        if isinstance(status_or_task_id, mesos_pb2.TaskStatus):
            status = status_or_task_id
            await self._send(calls.acknowledge(status.agent_id, status.task_id, status.uuid))
        else:
            if agent_id is None or uuid is None:
                raise ConfigurationError("needs agent_id and uuid with a task ID", option="acknowledge")
            await self._send(calls.acknowledge(agent_id, status_or_task_id, uuid))

    async def acknowledge_operation_status(
        self,
        agent_id: str | mesos_pb2.AgentID | None,
        resource_provider_id: str | mesos_pb2.ResourceProviderID | None,
        operation_id: str | mesos_pb2.OperationID,
        uuid: bytes,
    ) -> None:
        """ACKNOWLEDGE_OPERATION_STATUS."""
        await self._send(
            calls.acknowledge_operation_status(agent_id, resource_provider_id, operation_id, uuid)
        )

    async def reconcile(
        self, tasks: Iterable[tuple[str | mesos_pb2.TaskID, str | mesos_pb2.AgentID | None]] = ()
    ) -> None:
        """RECONCILE the given ``(task_id, agent_id)`` pairs, or all tasks (implicit) when none."""
        await self._send(calls.reconcile(tasks))

    async def reconcile_operations(
        self,
        operations: Iterable[
            tuple[
                str | mesos_pb2.OperationID,
                str | mesos_pb2.AgentID | None,
                str | mesos_pb2.ResourceProviderID | None,
            ]
        ] = (),
    ) -> None:
        """RECONCILE_OPERATIONS."""
        await self._send(calls.reconcile_operations(operations))

    async def message(
        self, agent_id: str | mesos_pb2.AgentID, executor_id: str | mesos_pb2.ExecutorID, data: bytes | str
    ) -> None:
        """MESSAGE an executor (bytes are sent unchanged)."""
        await self._send(calls.message(agent_id, executor_id, data))

    async def request(self, requests: Iterable[mesos_pb2.Request] | mesos_pb2.Request) -> None:
        """REQUEST resources."""
        reqs = [requests] if isinstance(requests, mesos_pb2.Request) else list(requests)
        await self._send(calls.request(reqs))

    async def update_framework(
        self,
        framework_info: mesos_pb2.FrameworkInfo | None = None,
        *,
        suppressed_roles: Sequence[str] | None = None,
    ) -> None:
        """UPDATE_FRAMEWORK (defaults to the current info and suppression)."""
        info = framework_info or self.options.framework_info(self.framework_id)
        if self.framework_id and not info.HasField("id"):
            info.id.value = self.framework_id
        roles = (
            suppressed_roles
            if suppressed_roles is not None
            else (self.options.roles if self._suppressed else ())
        )
        await self._send(calls.update_framework(info, suppressed_roles=roles))

    # ---------------------------------------------------------- default handlers
    async def _default_offers(self, payload: scheduler_pb2.Event.Offers) -> None:
        offers = list(payload.offers)
        if not offers:
            return
        opts = self.options
        if not self._pending:
            await self._decline_quietly([o.id for o in offers], opts.idle_refuse_seconds)
            await self._update_suppression(wait=False)
            return
        result = match_offers(
            offers,
            self._pending,
            framework_name=opts.framework_name,
            roles=opts.roles,
            serial_numbered=opts.serial_numbered_tasks,
            templates=self._templates,
        )
        now = time.time()
        async with self._launch_lock:
            await self._launch(result.launches, now)
        if result.unused:
            refuse = opts.refuse_seconds if self._pending else opts.idle_refuse_seconds
            await self._decline_quietly([o.id for o in result.unused], refuse)
        await self._update_suppression(wait=False)

    async def _launch(self, launches_by_offer: Mapping[str, Sequence[Launch]], now: float) -> None:
        opts = self.options
        for offer_id, launches in launches_by_offer.items():
            records = []
            for launch in launches:
                offer = launch.offer
                rec = TaskRecord(
                    launch.task_id,
                    launch.spec.name,
                    launch.serial,
                    agent_id=offer.agent_id.value,
                    hostname=offer.hostname,
                    ip=offer_ip(offer),
                    ports=tuple(launch.ports),
                    updated_at=now,
                )
                self._tasks.add(rec)
                records.append(rec)
            # Record before launching: a scheduler killed after ACCEPT still knows its tasks.
            await asyncio.gather(*(self._persist(rec) for rec in records))
            try:
                await self._send(
                    calls.accept(
                        [offer_id],
                        [calls.launch(launch.task_info for launch in launches)],
                        opts.refuse_seconds,
                    ),
                    wait=False,
                )
            except (CallWhileDisconnected, APIError, ConnectError) as exc:
                # The master never acted on it: the instances go back to waiting (with the
                # restart backoff, so a call that keeps failing cannot spin).
                self._report(exc)
                for rec in records:
                    self._tasks.remove(rec.task_id)
                    await self._forget(rec)
                    slot = (rec.type_name, rec.serial)
                    if not self._schedule_restart(slot, rec):
                        self._completed[slot] = None
                continue
            except MesosError as exc:
                # The tasks may or may not have reached the master: reconciliation decides.
                self._report(exc)
                for rec in records:
                    self._unreconciled[rec.task_id] = rec.agent_id
                if not self._reconciling:
                    self._spawn(self._reconcile_known(implicit=False, retried=True), subscription=True)
                continue
            for rec in records:
                log.info("launching %s as %s on %s", rec.name, rec.task_id, rec.hostname)

    async def _decline_quietly(self, offer_ids: list[mesos_pb2.OfferID], refuse: float) -> None:
        try:
            await self._send(calls.decline(offer_ids, refuse), wait=False)
        except MesosError as exc:
            self._report(exc)

    def _wants_offers(self) -> bool:
        return bool(self._pending)

    async def _update_suppression(self, *, wait: bool = True) -> None:
        want = self._wants_offers()
        try:
            if want and self._suppressed:
                await self._send(calls.revive(), wait=wait)
                self._suppressed = False
            elif not want and not self._suppressed:
                await self._send(calls.suppress(), wait=wait)
                self._suppressed = True
        except CallWhileDisconnected:
            pass  # the next SUBSCRIBE sets suppression from the pending work
        except MesosError as exc:
            self._report(exc)

    async def _default_update(self, payload: scheduler_pb2.Event.Update) -> None:
        status = payload.status
        task_id = status.task_id.value
        state = TaskState(status.state)
        self._unreconciled.pop(task_id, None)
        rec = self._tasks.get(task_id)
        if rec is None:
            await self._unknown_task(status, state)
            return
        changed = rec.state != state
        rec.state = state
        rec.updated_at = time.time()
        if status.HasField("agent_id") and status.agent_id.value:
            rec.agent_id = status.agent_id.value
        if status.HasField("executor_id"):
            rec.executor_id = status.executor_id.value
        if status.HasField("healthy"):
            was = rec.healthy
            rec.healthy = status.healthy
            changed = changed or was != rec.healthy
            if was is not False and rec.healthy is False:
                self._emit("task_unhealthy", rec)
        if not state.is_terminal:
            if rec.killing and status.reason == mesos_pb2.TaskStatus.REASON_RECONCILIATION:
                # Still alive although we asked for its end: the KILL was lost; ask again.
                try:
                    await self._send(calls.kill(rec.task_id, rec.agent_id), wait=False)
                except MesosError as exc:
                    self._report(exc)
            if state == TaskState.TASK_RUNNING and not rec.launched:
                rec.launched = True
                rec.started_at = time.time()
                changed = True
                self._emit("task_launched", rec)
            if changed:
                await self._persist(rec)
                self._emit("updated_task", rec)
            return
        await self._task_ended(rec, state, status)

    async def _task_ended(self, rec: TaskRecord, state: TaskState, status: mesos_pb2.TaskStatus) -> None:
        self._tasks.remove(rec.task_id)
        slot = (rec.type_name, rec.serial)
        log.info("task %s (%s) ended: %s %s", rec.name, rec.task_id, state.name, status.message)
        completed = False
        if self._occupied(slot) or slot in self._pending or slot in self._delayed:
            pass  # another task holds the instance, or a replacement is coming
        elif slot in self._completed:
            completed = self._in_spec(slot) and self._completed[slot] is None  # kill_task(): mark it
        elif not self._slot_wanted(slot):
            pass
        elif rec.killing or rec.restarting:
            self._make_pending(slot)  # restart_task(), or a replaced task whose replacement is gone
        elif self.options.restart.should_restart(state):
            completed = not self._schedule_restart(slot, rec)
        else:
            completed = True  # e.g. FINISHED: the instance is done (the seed's semantics)
        if completed:
            # The terminal record stays in the store so a restarted scheduler does not relaunch it.
            self._completed[slot] = rec.task_id
            await self._persist(rec)
        else:
            await self._forget(rec)
        self._emit("removed_task", rec)

    def _in_spec(self, slot: Slot) -> bool:
        return slot[0] in self._specs and slot[1] <= self._desired.get(slot[0], 0)

    async def _uncomplete(self, slot: Slot) -> None:
        marker = self._completed.pop(slot, None)
        if marker is not None:
            await self._forget(marker)

    def _occupied(self, slot: Slot) -> bool:
        """True when a task that is not being replaced holds the instance."""
        return any(not r.restarting for r in self._tasks.by_name(*slot))

    def _slot_wanted(self, slot: Slot) -> bool:
        return (
            slot[0] in self._specs
            and slot[1] <= self._desired.get(slot[0], 0)
            and slot not in self._completed
        )

    def _schedule_restart(self, slot: Slot, rec: TaskRecord) -> bool:
        """Relaunch an instance after its backoff; False when its restarts are used up."""
        policy = self.options.restart
        ran = time.time() - rec.started_at if rec.started_at else 0.0
        count = 1 if ran >= policy.reset_after else self._restarts.get(slot, 0) + 1
        self._restarts[slot] = count
        if policy.max_restarts is not None and count > policy.max_restarts:
            self._report(
                ConfigurationError(
                    f"gave up on {rec.name} after {policy.max_restarts} restarts", option="max_restarts"
                )
            )
            return False
        delay = policy.delay(count)
        log.info("restarting %s in %.2fs (restart #%d)", rec.name, delay, count)
        handle = asyncio.get_running_loop().call_later(delay, self._restart_due, slot)
        old = self._delayed.pop(slot, None)
        if old is not None:
            old.cancel()
        self._delayed[slot] = handle
        return True

    def _restart_due(self, slot: Slot) -> None:
        self._delayed.pop(slot, None)
        if self._slot_wanted(slot) and not self._occupied(slot):
            self._make_pending(slot)

    def _make_pending(self, slot: Slot) -> None:
        if slot in self._pending:
            return
        self._pending.push(*slot)
        if self._started and not self._stopping:
            self._spawn(self._update_suppression(wait=False))

    async def _unknown_task(self, status: mesos_pb2.TaskStatus, state: TaskState) -> None:
        task_id = status.task_id.value
        if not state.is_active:
            if task_id not in self._completed.values():  # keep completion markers
                await self._forget(task_id)
            return
        parsed = parse_task_id(task_id, self.options.framework_name)
        if parsed is not None:
            type_name = self._id_names.get(parsed[0])
            slot = (type_name, parsed[1]) if type_name else None
            if (
                slot is not None
                and type_name is not None
                and self._slot_wanted(slot)
                and not self._occupied(slot)
            ):
                rec = TaskRecord(
                    task_id,
                    type_name,
                    slot[1],
                    state=state,
                    agent_id=status.agent_id.value or None,
                    updated_at=time.time(),
                    launched=state == TaskState.TASK_RUNNING,
                    started_at=time.time() if state == TaskState.TASK_RUNNING else None,
                )
                self._tasks.add(rec)
                self._pending.remove(*slot)
                handle = self._delayed.pop(slot, None)
                if handle is not None:
                    handle.cancel()
                await self._persist(rec)
                log.info("adopted running task %s as %s", task_id, rec.name)
                if rec.launched:
                    self._emit("task_launched", rec)
                self._emit("updated_task", rec)
                return
        if parsed is not None or self.options.kill_unknown_tasks:
            log.info("killing unwanted task %s (%s)", task_id, state.name)
            try:
                await self._send(
                    calls.kill(task_id, status.agent_id if status.agent_id.value else None), wait=False
                )
            except MesosError as exc:
                self._report(exc)

    def _queue_acknowledge(self, status: mesos_pb2.TaskStatus) -> None:
        """Hand an update's acknowledgement to this subscription's sender (after its handlers ran)."""
        if not status.uuid:
            return
        if self._acks is None:
            log.info(
                "update for %s not acknowledged (disconnected); Mesos will resend it", status.task_id.value
            )
            return
        self._acks.put_nowait(status)

    async def _send_acknowledgements(self, acks: asyncio.Queue[mesos_pb2.TaskStatus]) -> None:
        """Send one subscription's acknowledgements in order, off the event path.

        What queued up while the previous ones were on the wire goes out
        together, pipelined on the calls connection (one write, one wake-up
        for the answers): under a burst of updates this costs a fraction of
        one request per acknowledgement, and the agents get their
        acknowledgements (and send the tasks' next updates) sooner.
        """
        while True:
            batch = [await acks.get()]
            while len(batch) < _ACK_BATCH and not acks.empty():
                batch.append(acks.get_nowait())
            try:
                await self._acknowledge_many(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not stop the later acknowledgements
                log.exception("acknowledging %d update(s) failed", len(batch))
                self._emit("error", exc)

    async def _acknowledge_many(self, statuses: Sequence[mesos_pb2.TaskStatus]) -> None:
        """ACKNOWLEDGE these updates: pipelined when there are several (``HttpClient.send_many``)."""
        client = self._client
        if client is None or not self._connected.is_set():
            log.info("%d updates not acknowledged (disconnected); Mesos will resend them", len(statuses))
            return
        batch = [calls.acknowledge(s.agent_id, s.task_id, s.uuid) for s in statuses]
        if self.framework_id:
            for call in batch:
                call.framework_id.value = self.framework_id
        results = await client.send_many(batch, stream_id=self.stream_id)
        failed: list[MesosError] = []
        for call, result in zip(batch, results, strict=True):
            if isinstance(result, MesosError):
                failed.append(result)
            else:
                self._emit("sent_acknowledge", call)
        if failed:
            # One report for the batch: when the connection breaks every call in it fails alike.
            if len(failed) > 1:
                log.info(
                    "%d of %d acknowledgements failed; Mesos will resend those updates",
                    len(failed),
                    len(batch),
                )
            self._report(failed[0])

    async def _default_update_operation_status(
        self, payload: scheduler_pb2.Event.UpdateOperationStatus
    ) -> None:
        status = payload.status
        log.info(
            "operation %s: %s %s",
            status.operation_id.value or "-",
            mesos_pb2.OperationState.Name(status.state),
            status.message,
        )
        if not (self.options.auto_acknowledge and status.HasField("uuid") and status.operation_id.value):
            return
        try:
            await self._send(
                calls.acknowledge_operation_status(
                    status.agent_id if status.HasField("agent_id") else None,
                    status.resource_provider_id if status.HasField("resource_provider_id") else None,
                    status.operation_id,
                    status.uuid.value,
                ),
                wait=False,
            )
        except MesosError as exc:
            self._report(exc)

    async def _watch_leader(self, stream: Any) -> None:
        """Close the stream when the detector sees a new leading master (resubscribe there)."""
        assert self._client is not None
        await self._client.leader_changed()
        log.warning("leading master changed; resubscribing")
        await stream.close()

    async def _default_subscribed(self, payload: scheduler_pb2.Event.Subscribed) -> None:
        log.debug("SUBSCRIBED %s", payload.framework_id.value)

    async def _default_failure(self, payload: scheduler_pb2.Event.Failure) -> None:
        log.warning(
            "failure: agent %s executor %s status %s",
            payload.agent_id.value,
            payload.executor_id.value or "-",
            payload.status if payload.HasField("status") else "-",
        )

    # ----------------------------------------------------- scaling and restarts
    @property
    def tasks(self) -> list[TaskRecord]:
        """Every tracked (launched, not ended) task."""
        return list(self._tasks)

    def task_records(self, type_name: str | None = None) -> list[TaskRecord]:
        """Tracked tasks, optionally of one type."""
        return self._tasks.of_type(type_name) if type_name else list(self._tasks)

    @property
    def launched_tasks(self) -> list[TaskRecord]:
        """Launched tasks not yet ended nor being replaced (what `TaskHealthHelper` checks)."""
        return [r for r in self._tasks if not r.restarting and not r.state.is_terminal]

    def running_tasks(self) -> list[TaskRecord]:
        """Tracked tasks in TASK_RUNNING (the seed's ``getRunningTasks``, working)."""
        return [r for r in self._tasks if r.state == TaskState.TASK_RUNNING]

    @property
    def pending(self) -> list[tuple[str, int]]:
        """Instances waiting for offers, as ``(type, serial)``, in launch order."""
        return self._pending.items()

    def instances(self, type_name: str) -> int:
        """The desired instance count of a type."""
        self._spec(type_name)
        return self._desired[type_name]

    def _spec(self, type_name: str) -> TaskSpec:
        spec = self._specs.get(type_name)
        if spec is None:
            raise UnknownTask(f"no task type {type_name!r}", option="type")
        return spec

    def _find(self, task: str | TaskRecord) -> TaskRecord:
        if isinstance(task, TaskRecord):
            return task
        rec = self._tasks.get(task)
        if rec is not None:
            return rec
        type_name, _, serial = task.rpartition("-")
        if serial.isdigit():
            found = [r for r in self._tasks.by_name(type_name, int(serial)) if not r.restarting]
            if found:
                return found[0]
        raise UnknownTask(
            f"no tracked task {task!r} (give a task ID or an instance name like web-1)", option="task"
        )

    async def scale(self, type_name: str, instances: int) -> None:
        """Run ``instances`` instances of a type whose spec has ``allow_scaling``.

        Scaling up queues the new instances (and revives offers); scaling down
        drops pending instances and kills the highest-numbered running ones.
        """
        spec = self._spec(type_name)
        if not spec.allow_scaling:
            raise ScalingNotAllowed(f"task type {type_name!r} does not allow scaling", option="allow_scaling")
        if isinstance(instances, bool) or not isinstance(instances, int) or instances < 0:
            raise ConfigurationError(f"expected a whole number >= 0, got {instances!r}", option="instances")
        old = self._desired[type_name]
        self._desired[type_name] = instances
        for serial in range(instances + 1, max(old, instances) + 1):
            self._pending.remove(type_name, serial)
            handle = self._delayed.pop((type_name, serial), None)
            if handle is not None:
                handle.cancel()
            await self._uncomplete((type_name, serial))
        for serial in range(1, instances + 1):
            slot = (type_name, serial)
            await self._uncomplete(slot)
            if not self._occupied(slot) and slot not in self._delayed and slot not in self._pending:
                self._pending.push(*slot)
        victims = sorted(
            (r for r in self._tasks.of_type(type_name) if r.serial > instances), key=lambda r: -r.serial
        )
        for rec in victims:
            rec.killing = True
            await self._persist(rec)
            await self._send(calls.kill(rec.task_id, rec.agent_id))
        await self._update_suppression()

    async def kill_task(self, task: str | TaskRecord, *, restart: bool = False) -> None:
        """Kill a task by ID or instance name; relaunch its instance only with ``restart=True``."""
        rec = self._find(task)
        if not restart:
            self._completed.setdefault((rec.type_name, rec.serial), None)
        rec.killing = True
        await self._persist(rec)
        await self._send(calls.kill(rec.task_id, rec.agent_id))

    async def restart_task(self, task: str | TaskRecord) -> None:
        """Kill a task and relaunch its instance as soon as it has ended (no backoff)."""
        await self.kill_task(task, restart=True)

    async def rolling_restart(
        self,
        type_name: str,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109
        healthy: bool | None = None,
    ) -> None:
        """Replace every running instance of a type, one at a time.

        For each instance a replacement is launched first; only when it is
        RUNNING (and healthy, when the spec has a health check or
        ``healthy=True``) is the old task killed. Raises ``TimeoutError`` if a
        replacement does not come up within ``timeout`` seconds (the old task
        is then left running).
        """
        spec = self._spec(type_name)
        need_health = healthy if healthy is not None else spec.health_check is not None
        for old in self._tasks.of_type(type_name):
            if old.restarting or old.state.is_terminal:
                continue
            slot = (old.type_name, old.serial)
            old_ids = {r.task_id for r in self._tasks.by_name(*slot)}

            def ready(rec: TaskRecord, slot: Slot = slot, old_ids: set[str] = old_ids) -> bool:
                return (
                    (rec.type_name, rec.serial) == slot
                    and rec.task_id not in old_ids
                    and rec.state == TaskState.TASK_RUNNING
                    and (not need_health or rec.healthy is True)
                )

            waiter = asyncio.ensure_future(self.wait_for("updated_task", ready, timeout=timeout))
            try:
                self._pending.push(*slot)
                await self._update_suppression()
                await waiter
            except BaseException:
                waiter.cancel()
                self._pending.remove(*slot)
                raise
            old.restarting = True
            await self._persist(old)
            await self._send(calls.kill(old.task_id, old.agent_id))
