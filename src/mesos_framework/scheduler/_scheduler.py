"""The `Scheduler` facade: a `Session` feeding a `Fleet`, with a state store and reconciliation.

Each event goes one way: the session yields it, the facade hands it to the
fleet (a pure decision step), then carries out the actions the fleet returned
(persist, launch, kill, decline, emit) and keeps the master's offer
suppression in line with what the fleet wants. This module holds the
lifecycle (start, stop, recovery, the main loop, subscriptions); the event
handling and the actions are in `_dispatch`, instance control in `_control`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

from mesos_framework._events import Events
from mesos_framework._tasks import cancel_and_wait, report_failure
from mesos_framework.errors import (
    CallWhileDisconnected,
    ConfigurationError,
    FrameworkFailedOver,
    FrameworkRemoved,
)
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls
from mesos_framework.scheduler._calls import CallsMixin
from mesos_framework.scheduler._control import FleetControl
from mesos_framework.scheduler._dispatch import EventDispatch
from mesos_framework.scheduler._fleet import (
    Fleet,
)
from mesos_framework.scheduler._ha import Elector, LeadershipMixin
from mesos_framework.scheduler._listen import SchedulerEvents
from mesos_framework.scheduler._persist import Persister
from mesos_framework.scheduler._reconcile import Reconciler
from mesos_framework.scheduler._resources import (
    LogState,
    configure_logging,
    open_local_cluster,
    open_state_store,
    restore_logging,
)
from mesos_framework.scheduler._session import Session
from mesos_framework.scheduler.options import (
    SchedulerKwargs,
    SchedulerOptions,
    options_from_js,
    parse_options,
)
from mesos_framework.tasks.records import TaskRecord

if TYPE_CHECKING:
    from mesos_framework.persistence.base import StateStore

__all__ = ["EVENTS", "Scheduler"]

log = logging.getLogger("mesos_framework.scheduler")

Event = scheduler_pb2.Event

#: Every event a `Scheduler` emits (plus `sent_<call>` for each call).
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
        # hot standby (`ha`): see _ha.HA_EVENTS
        "leader_elected",
        "became_standby",
        "leadership_lost",
    }
)

#: How long `stop()` waits for pending state store writes to land (seconds; none while failing).
_FLUSH_WAIT = 5.0


#: Stores still closing after `stop()` stopped waiting for them (kept referenced until done).
_closing: set[asyncio.Future[None]] = set()


def _store_closed(future: asyncio.Future[None]) -> None:
    _closing.discard(future)
    if not future.cancelled() and future.exception() is not None:
        log.warning("closing the state store failed: %r", future.exception())


class Scheduler(SchedulerEvents, EventDispatch, FleetControl, CallsMixin, LeadershipMixin):
    """A Mesos framework scheduler: keeps the declared tasks running.

    The keyword options are described on the *Scheduler options* page of the documentation, the
    events on the *Events* page (`scheduler.on(name, fn)`, `fn` sync or async, or
    `@scheduler.on(name)` as a decorator).

    Lifecycle: `await start()` recovers persisted state, emits `ready` and keeps a subscription
    up (resubscribing after any loss, with capped jittered backoff); `await stop()` closes it
    (the framework fails over; its tasks keep running); `await run()` does both and returns
    once stopped (by `stop()`, SIGINT or SIGTERM); `run_blocking()` is `asyncio.run(run())`.
    If the master removed the framework (`FrameworkRemoved`) or another scheduler took it over
    (`FrameworkFailedOver`), the scheduler reports it, `wait_closed()` returns and `run()`
    raises; `register_new_framework()` (or `reregister_when_removed=True`, never for a
    take-over) starts again as a new framework.

    A scheduler that re-attaches to a framework (a `framework_id` given, or one found in its
    state store) reconciles first and launches only the instances the master does not run.

    With `ha=` the scheduler is one hot-standby replica: it subscribes only while elected leader
    in ZooKeeper (`leading`), and is fenced (`NotLeader`) the moment it loses its session; see
    the *High availability* page.
    """

    def __init__(self, **options: Unpack[SchedulerKwargs]) -> None:
        self.options: SchedulerOptions = parse_options(options)
        opts = self.options
        self._events = Events(
            EVENTS, prefixes=("sent_",), suffixes=("task_unhealthy",), on_change=self._listeners_changed
        )
        #: `offers` listeners that only observe (metrics): not the framework's own offer logic.
        self._offer_observers: list[Callable[..., Any]] = []
        self._fleet = self._make_fleet()
        if any(spec.reserve for spec in opts.tasks) and "RESERVATION_REFINEMENT" not in opts.capabilities:
            raise ConfigurationError(
                "tasks with reservations or volumes need capabilities=['RESERVATION_REFINEMENT'] "
                "(reservations are made in Mesos's refined format)",
                option="capabilities",
            )
        self._fleet.offers_wanted_elsewhere = "OFFERS" in opts.handlers
        self._elector: Elector | None = None
        self._admin: Any = None
        self._master_url = opts.master
        self._framework_id: str | None = opts.framework_id
        self._session: Session | None = None
        self._store: StateStore | None = None
        self._persister: Persister | None = None
        self._local: Any = None
        self._recovered = False
        self._closed = asyncio.Event()
        self._stopping = False
        self._started = False
        self._fatal: BaseException | None = None
        self._main: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._launch_lock = asyncio.Lock()
        self._accepting = 0  # ACCEPTs written without waiting, not answered yet
        self._accepts_answered = asyncio.Event()
        self._accepts_answered.set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        self._offers_on = False  # what the master was last told: offers wanted (revived) or not
        self._suppression: asyncio.Task[None] | None = None
        self._log_state: LogState | None = None
        self._reconciler: Reconciler | None = None
        self._reconciled = False  # this subscription's first reconciliation round has settled
        self._build_dispatch_table()

    def _make_fleet(self) -> Fleet:
        opts = self.options
        return Fleet(
            opts.tasks,
            framework_name=opts.framework_name,
            roles=opts.roles,
            restart=opts.restart,
            serial_numbered=opts.serial_numbered_tasks,
            kill_unknown_tasks=opts.kill_unknown_tasks,
            refuse_seconds=opts.refuse_seconds,
            idle_refuse_seconds=opts.idle_refuse_seconds,
            principal=opts.principal,
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Scheduler:
        """A scheduler from an options dict, the JavaScript library's camelCase names accepted.

        The one adapter for such dicts (a JSON or YAML file, a port from the JavaScript
        library); keyword arguments are the typed way. `{"masterUrl": ..., "frameworkName": ...}`
        and `{"master": ..., "framework_name": ...}` mean the same.
        """
        return cls(**options_from_js(options))

    # ------------------------------------------------------------------ events
    def _report(self, exc: BaseException) -> None:
        log.error("%s", exc)
        self._events.emit("error", exc)

    def _listeners_changed(self, name: str) -> None:
        if name != "offers":
            return
        # With no task types of its own, an `offers` listener is the framework's offer logic.
        own = self._events.listener_count("offers") - len(self._offer_observers)
        self._fleet.offers_wanted_elsewhere = "OFFERS" in self.options.handlers or (
            not self._fleet.specs and own > 0
        )
        self._after_change()

    def _observe_offers(self, listener: Callable[..., Any], *, attach: bool = True) -> None:
        """Add (or remove) an `offers` listener that only observes: it never counts as offer logic."""
        if attach:
            self._offer_observers.append(listener)
            self._events.on("offers", listener)
        else:
            with contextlib.suppress(ValueError):
                self._offer_observers.remove(listener)
            self._events.off("offers", listener)
        self._listeners_changed("offers")

    @property
    def admin(self) -> Any:
        """The `AdminServer` the `admin_port` option started (None without it, or before `start()`)."""
        return self._admin

    # --------------------------------------------------------------- state
    @property
    def framework_id(self) -> str | None:
        """The framework's ID (None until known)."""
        return self._session.framework_id if self._session is not None else self._framework_id

    @property
    def connected(self) -> bool:
        """True while subscribed."""
        return self._session is not None and self._session.connected

    @property
    def session(self) -> Session | None:
        """The connection to the master (None before `start()`)."""
        return self._session

    @property
    def stream_id(self) -> str | None:
        """The current subscription's stream ID."""
        return self._session.stream_id if self._session is not None else None

    @property
    def leader(self) -> str | None:
        """The master serving the subscription."""
        return self._session.leader if self._session is not None else None

    @property
    def heartbeat_interval(self) -> float | None:
        """The master's heartbeat interval (seconds)."""
        return self._session.heartbeat_interval if self._session is not None else None

    @property
    def last_heartbeat(self) -> float | None:
        """`time.time()` of the last heartbeat (or SUBSCRIBED)."""
        return self._session.last_heartbeat if self._session is not None else None

    @property
    def master_info(self) -> mesos_pb2.MasterInfo | None:
        """The master's info from SUBSCRIBED."""
        return self._session.master_info if self._session is not None else None

    # --------------------------------------------------------------- lifecycle
    async def run(self) -> None:
        """Start, then return once stopped (by `stop()`, SIGINT or SIGTERM); re-raises a fatal error."""
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

    def run_blocking(self) -> None:
        """`asyncio.run(self.run())`: for a program with no event loop of its own."""
        asyncio.run(self.run())

    async def start(self) -> None:
        """Recover persisted state, emit `ready` and start subscribing (returns at once after that)."""
        if self._started:
            return
        self._started = True
        opts = self.options
        self._log_state = configure_logging(opts)
        try:
            if opts.master == "local":
                self._local = await open_local_cluster()
                self._master_url = self._local.url
            self._store = open_state_store(opts)
            if opts.ha is None:
                await self._recover()
            else:
                await self._load_standby()  # a standby writes nothing: the leader reloads on election
            if opts.admin_port is not None:
                admin = importlib.import_module("mesos_framework.admin")
                self._admin = admin.AdminServer(
                    self, host=opts.admin_host, port=opts.admin_port, token=opts.admin_token
                )
                await self._admin.start()
        except BaseException:
            await self._stop_admin()
            await self._close_resources()
            raise
        if opts.ha is None:
            self._start_session()
            self._fleet.fill()
            main = self._main_loop()
        else:
            main = self._ha_loop()
        self._events.emit("ready")
        self._main = asyncio.get_running_loop().create_task(main, name="mesos-scheduler")

    async def _stop_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.stop()

    def _start_session(self) -> Session:
        """A session (and its reconciler) for a subscription: once, or per leadership term."""
        opts = self.options
        session = Session(
            self._master_url,
            opts.framework_info(None),
            framework_id=self._framework_id,
            suppressed_roles=self._subscribe_suppressed,
            events=self._events,
            content_type=opts.content_type,
            tls=opts.tls,
            principal=opts.principal,
            secret=opts.secret,
            token=opts.token,
            connect_timeout=opts.master_connection_timeout,
            request_timeout=opts.request_timeout,
            call_timeout=opts.call_timeout,
            heartbeat_misses=opts.heartbeat_misses,
            backoff_minimum=opts.exponential_backoff_minimum,
            backoff_maximum=opts.exponential_backoff_maximum,
            backoff_factor=opts.exponential_backoff_factor,
        )
        # Events are handled as they arrive where they can be (no wake-up of the reading task).
        session.direct = self._dispatch
        self._session = session
        self._reconciler = Reconciler(
            send=session.send,
            spawn=session.spawn,
            report=self._report_routine,
            lock=self._launch_lock,
            launches_answered=self._launches_answered,
            retry_minimum=opts.reconcile_retry_minimum,
            retry_maximum=opts.reconcile_retry_maximum,
            interval=opts.reconcile_interval,
            on_settled=self._settled,
        )
        self._reconciled = False
        self._offers_on = False
        self._suppression = None
        return session

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
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._session is not None:
                await self._session.end_subscription_tasks()
            if self._main is not None:
                await cancel_and_wait([self._main])
            await self._cancel(self._background)
            self._events.cancel_pending()
            await self._close_resources()
        finally:
            self._closed.set()
        self._events.emit("closed")
        await self._stop_admin()

    async def wait_closed(self) -> None:
        """Return once the scheduler has stopped (by `stop()` or a fatal error)."""
        await self._closed.wait()

    async def __aenter__(self) -> Scheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _close_resources(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
        await self._close_store()
        if self._local is not None:
            with contextlib.suppress(Exception):
                await self._local.__aexit__(None, None, None)
            self._local = None
        restore_logging(self._log_state)
        self._log_state = None

    @staticmethod
    async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
        await cancel_and_wait(list(tasks))
        tasks.clear()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        report_failure(task, self._report, lambda exc: self._events.emit("error", exc), log)

    async def _close_store(self) -> None:
        """Let the pending writes land (not waiting during an outage), then close the store.

        A store that is failing gets no wait: `stop()` returns promptly during an outage,
        and what was not written is found again by a restarted scheduler's reconciliation.
        """
        persister, self._persister = self._persister, None
        store, self._store = self._store, None
        failing = False
        if persister is not None:
            failing = persister.failing or not await persister.flush(min(persister.timeout, _FLUSH_WAIT))
            await persister.close()
        if store is None:
            return
        limit = 1.0 if failing else (persister.timeout if persister is not None else 30.0) + 2.0
        # Not cancelled when the wait ends: the store finishes closing on its own while the loop runs.
        closing = asyncio.ensure_future(store.close())
        _closing.add(closing)
        closing.add_done_callback(_store_closed)
        await asyncio.wait({closing}, timeout=limit)
        if not closing.done():
            log.warning("closing the state store: not waiting any longer (%gs)", limit)

    # ---------------------------------------------------------------- recovery
    async def _recover(self) -> None:
        store = self._store
        if store is None:
            return
        await store.open()
        self._persister = Persister(store, self._report)
        self._persister.framework_id_settled = self._framework_id_stored
        stored_id = await store.load_framework_id()
        if stored_id and self._framework_id and stored_id != self._framework_id:
            log.warning("framework_id option %s overrides stored %s", self._framework_id, stored_id)
        elif stored_id:
            self._framework_id = stored_id
        if not self._framework_id:
            return
        records = await store.load_tasks()
        self._recovered = True
        await self._apply(self._fleet.recover(records))
        log.info(
            "recovered framework %s: %d task(s) to reconcile, %d to kill",
            self._framework_id,
            len(self._fleet.tasks),
            len(self._fleet.to_kill),
        )

    def _persist(self, rec: TaskRecord) -> None:
        # Off the event path: the persister writes it (retried until it lands), events go on.
        if self._persister is not None:
            self._persister.save(rec)

    def _forget(self, task_id: str) -> None:
        if self._persister is not None:
            self._persister.forget(task_id)

    # -------------------------------------------------------------- main loop
    async def _main_loop(self) -> None:
        session = self._session
        assert session is not None
        try:
            while not self._stopping:
                try:
                    async for event in session:
                        pending = self._dispatch(event)
                        if pending is not None:
                            await pending
                    break
                except FrameworkRemoved as exc:
                    if isinstance(exc, FrameworkFailedOver) or not self.options.reregister_when_removed:
                        self._fatal = exc
                        break
                    await self._register_anew()
        finally:
            if not self._stopping:
                # A fatal end (e.g. FrameworkRemoved): run() and wait_closed() return; the caller
                # either stops or calls register_new_framework().
                self._closed.set()

    async def _subscribed_first(self, sub: scheduler_pb2.Event.Subscribed) -> None:
        new_id = sub.framework_id.value
        changed = new_id != self._framework_id
        self._framework_id = new_id
        if self._persister is not None and (changed or not self._recovered):
            self._persister.save_framework_id(new_id)
            self._recovered = True

    def _subscribed_then(self) -> None:
        session, reconciler = self._session, self._reconciler
        assert session is not None and reconciler is not None
        # Re-attached: launch nothing until the master has said which tasks it runs. A new
        # framework: nothing until its ID is stored (a scheduler restarted without it would
        # register yet another framework and launch every instance again).
        self._reconciled = False
        self._fleet.holding = not session.registered_anew or self._framework_id_unstored()
        known = self._fleet.mesos_tasks()
        reconciler.subscribed(known, registered_anew=session.registered_anew)
        if self._fleet.to_kill:
            session.spawn(self._apply(self._fleet.take_to_kill()))
        self._after_change()

    def _framework_id_unstored(self) -> bool:
        return self._persister is not None and self._persister.framework_id_pending

    def _settled(self) -> None:
        self._reconciled = True
        if self._fleet.holding and not self._framework_id_unstored():
            self._fleet.holding = False
            log.info("reconciled; launching what is missing (%d pending)", len(self._fleet.pending))

    def _framework_id_stored(self) -> None:
        if self._fleet.holding and self._reconciled and not self._framework_id_unstored():
            self._fleet.holding = False
            log.info("framework ID stored; launching what is missing (%d pending)", len(self._fleet.pending))

    async def _register_anew(self) -> None:
        """Forget the removed framework (its tasks are gone) and subscribe as a new one."""
        log.warning("registering as a new framework (the master removed %s)", self.framework_id)
        self._framework_id = None
        if self._session is not None:
            self._session.framework_id = None
        if self._persister is not None:
            self._persister.clear_framework_id()
        await self._apply(self._fleet.register_anew())

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
        self._main = asyncio.get_running_loop().create_task(self._main_loop(), name="mesos-scheduler")

    # ------------------------------------------------------------------ calls
    async def _send(self, call: scheduler_pb2.Call, *, wait: bool = True) -> None:
        if self._session is None:
            name = scheduler_pb2.Call.Type.Name(call.type)
            raise CallWhileDisconnected(f"{name} not sent: the scheduler is not started")
        await self._session.send(call, wait=wait)

    async def subscribe(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Start (if needed) and wait until subscribed."""
        await self.start()
        assert self._session is not None
        await self._session.wait_connected(timeout)

    async def sync(self) -> None:
        """Reconcile: explicitly every known task (retried until answered) and implicitly all others."""
        if self._reconciler is None:
            raise CallWhileDisconnected("RECONCILE not sent: the scheduler is not started")
        await self._reconciler.sync(dict(self._fleet.mesos_tasks()))

    async def teardown(self) -> None:
        """TEARDOWN: end the framework (Mesos kills all its tasks), clear persisted state and stop."""
        if self._session is not None:
            self._session.tearing_down = True
        try:
            await self._send(calls.teardown())
        except BaseException:
            if self._session is not None:
                self._session.tearing_down = False
            raise
        if self._persister is not None:
            for rec in [*self._fleet.tasks, *self._fleet.claims.values(), *self._fleet.releasing.values()]:
                self._persister.forget(rec.task_id)
            self._persister.clear_framework_id()
        self._spawn(self.stop())

    async def revive(self, roles: Iterable[str] = ()) -> None:
        """REVIVE offers."""
        await self._send(calls.revive(roles))
        self._offers_on = True

    async def suppress(self, roles: Iterable[str] = ()) -> None:
        """SUPPRESS offers (the scheduler revives again when its fleet needs offers)."""
        await self._send(calls.suppress(roles))
        self._offers_on = False

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
        if suppressed_roles is None:
            suppressed_roles = () if self._offers_on else self.options.roles
        roles = suppressed_roles
        await self._send(calls.update_framework(info, suppressed_roles=roles))
