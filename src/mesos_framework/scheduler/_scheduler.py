"""The `Scheduler` facade: a `Session` feeding a `Fleet`, with a state store and reconciliation.

Each event goes one way: the session yields it, the facade hands it to the
fleet (a pure decision step), then carries out the actions the fleet returned
(persist, launch, kill, decline, emit) and keeps the master's offer
suppression in line with what the fleet wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

from mesos_framework._events import Events
from mesos_framework._tasks import cancel_and_wait, report_failure
from mesos_framework.errors import (
    APIError,
    CallWhileDisconnected,
    ConfigurationError,
    ConnectError,
    FrameworkFailedOver,
    FrameworkRemoved,
    MesosError,
)
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls
from mesos_framework.scheduler._calls import CallsMixin
from mesos_framework.scheduler._control import FleetControl
from mesos_framework.scheduler._fleet import (
    Action,
    Decline,
    Emit,
    Fleet,
    Forget,
    Kill,
    LaunchOnOffer,
    Persist,
    Report,
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

_Default = Callable[[Any], Awaitable[None] | None]

#: How long `stop()` waits for pending state store writes to land (seconds; none while failing).
_FLUSH_WAIT = 5.0

#: States of a task lost with its agent (which may come back with it).
_AGENT_LOSS = frozenset({mesos_pb2.TASK_LOST, mesos_pb2.TASK_UNREACHABLE})
_RECONCILIATION = mesos_pb2.TaskStatus.REASON_RECONCILIATION
#: The fleet's actions that wait for a call to the master (the others are carried out at once).
_WAITING = (LaunchOnOffer, Kill, Decline)


#: Stores still closing after `stop()` stopped waiting for them (kept referenced until done).
_closing: set[asyncio.Future[None]] = set()


def _store_closed(future: asyncio.Future[None]) -> None:
    _closing.discard(future)
    if not future.cancelled() and future.exception() is not None:
        log.warning("closing the state store failed: %r", future.exception())


class Scheduler(SchedulerEvents, FleetControl, CallsMixin, LeadershipMixin):
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
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        self._offers_on = False  # what the master was last told: offers wanted (revived) or not
        self._suppression: asyncio.Task[None] | None = None
        self._log_state: LogState | None = None
        self._reconciler: Reconciler | None = None
        self._reconciled = False  # this subscription's first reconciliation round has settled
        # Built once: per event type, (type name, payload field, emitted name, default handler).
        defaults: dict[int, _Default] = {
            Event.OFFERS: self._on_offers,
            Event.UPDATE: self._on_update,
            Event.UPDATE_OPERATION_STATUS: self._on_operation_status,
            Event.FAILURE: self._on_failure,
        }
        self._table: dict[int, tuple[str, str | None, str, _Default | None]] = {}
        for name, number in Event.Type.items():
            field = name.lower() if name.lower() in Event.DESCRIPTOR.fields_by_name else None
            self._table[number] = (name, field, name.lower(), defaults.get(number))
        self._unknown = self._table.pop(Event.UNKNOWN)

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
        self._session = session
        self._reconciler = Reconciler(
            send=session.send,
            spawn=session.spawn,
            report=self._report,
            lock=self._launch_lock,
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

    def _dispatch(self, event: scheduler_pb2.Event) -> Awaitable[None] | None:
        """Handle one event; an awaitable when its handling has to wait (a call, an async handler).

        Most events (updates, heartbeats) are handled at once, without a coroutine per event:
        the awaitable path is taken only when a handler returns one.
        """
        type_name, field, emit_name, default = self._table.get(event.type, self._unknown)
        payload: Any = getattr(event, field) if field is not None else None
        if type_name == "SUBSCRIBED":
            return self._dispatch_waiting(self._subscribed_first(payload), type_name, emit_name, payload)
        custom = self.options.handlers.get(type_name)
        try:
            if custom is not None:
                result = custom(self, payload)
                if result is not None and not inspect.isawaitable(result):
                    result = None
            elif default is not None:
                result = default(payload)
            else:
                result = None
        except MesosError as exc:
            self._report(exc)
            result = None
        except Exception as exc:
            log.exception("handler for %s raised", type_name)
            self._events.emit("error", exc)
            result = None
        if result is not None:
            return self._dispatch_waiting(result, type_name, emit_name, payload, handler=True)
        self._handled(type_name, emit_name, payload)
        return None

    async def _dispatch_waiting(
        self,
        first: Awaitable[Any],
        type_name: str,
        emit_name: str,
        payload: Any,
        *,
        handler: bool = False,
    ) -> None:
        """`_dispatch` for an event whose handling waits: ``first`` is the handler's awaitable
        (``handler``) or SUBSCRIBED's own step, which runs before the handler."""
        if not handler:
            await first  # SUBSCRIBED's own step: its errors end the subscription
        try:
            if handler:
                await first
            else:
                custom = self.options.handlers.get(type_name)
                if custom is not None:
                    result = custom(self, payload)
                    if inspect.isawaitable(result):
                        await result
        except asyncio.CancelledError:
            raise
        except MesosError as exc:
            self._report(exc)
        except Exception as exc:
            log.exception("handler for %s raised", type_name)
            self._events.emit("error", exc)
        self._handled(type_name, emit_name, payload)

    def _handled(self, type_name: str, emit_name: str, payload: Any) -> None:
        """After an event's handler: its event, and the acknowledgement of an update."""
        if type_name == "UPDATE":
            self._events.emit("update", payload)
            if self.options.auto_acknowledge:
                assert self._session is not None
                self._session.acknowledge_later(payload.status)
        elif type_name == "HEARTBEAT":
            self._events.emit("heartbeat", self.last_heartbeat)
        elif type_name == "ERROR":
            pass  # the session raises it as an exception
        elif type_name == "UNKNOWN":
            log.warning("ignoring an event of a type this library does not know")
        else:
            self._events.emit(emit_name, payload)
            if type_name == "SUBSCRIBED":
                self._subscribed_then()

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

    # ------------------------------------------------------------ the actions
    def _apply_now(self, actions: Sequence[Action]) -> Awaitable[None] | None:
        """`_apply` without a coroutine when no action has to wait (most updates' actions);
        otherwise the actions from the first that waits on, as an awaitable."""
        for i, action in enumerate(actions):
            if isinstance(action, _WAITING):
                return self._apply(actions[i:])
            self._carry_out(action)
        self._after_change()
        return None

    def _carry_out(self, action: Persist | Emit | Forget | Report) -> None:
        """An action that needs no call: store, emit, forget, report."""
        if isinstance(action, Persist):
            self._persist(action.record)
        elif isinstance(action, Emit):
            self._events.emit(action.name, action.record)
        elif isinstance(action, Forget):
            self._forget(action.task_id)
        else:
            self._report(action.error)

    async def _apply(self, actions: Sequence[Action], *, asked: bool = False) -> None:
        """Carry out the fleet's actions in order; `asked`: a user's request (errors raise)."""
        for action in actions:
            if isinstance(action, LaunchOnOffer):
                await self._launch(action)
            elif isinstance(action, Kill):
                if action.reason:
                    log.info("killing %s: %s", action.task_id, action.reason)
                call = calls.kill(action.task_id, action.agent_id)
                if asked:
                    await self._send(call)
                else:
                    await self._send_quietly(call)
            elif isinstance(action, Decline):
                await self._send_quietly(calls.decline(action.offer_ids, action.refuse_seconds))
            else:
                self._carry_out(action)
        self._after_change()
        if asked:
            await self._offers_settled()

    async def _offers_settled(self) -> None:
        """Wait for a REVIVE or SUPPRESS under way (a request returns once the master knows)."""
        task = self._suppression
        if task is not None and not task.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    async def _send_quietly(self, call: scheduler_pb2.Call) -> None:
        try:
            await self._send(call, wait=False)
        except MesosError as exc:
            self._report(exc)

    async def _launch(self, action: LaunchOnOffer) -> None:
        try:
            await self._send(
                action.accept_call(self.options.refuse_seconds),
                wait=False,
            )
        except (CallWhileDisconnected, APIError, ConnectError) as exc:
            # The master never acted on it: the instances wait again (with the restart backoff,
            # so a call that keeps failing cannot spin).
            self._report(exc)
            dropped = self._fleet.operations_dropped(action.before)
            await self._apply([*dropped, *self._fleet.launch_failed(action.records, time.time())])
            return
        except MesosError as exc:
            # The tasks may or may not have reached the master: reconciliation decides.
            self._report(exc)
            assert self._reconciler is not None
            infos = [*action.task_infos, *(info for _, group in action.groups for info in group)]
            self._reconciler.launch_uncertain((i.task_id.value, i.agent_id.value) for i in infos)
            return
        for rec in action.records:
            log.info("launching %s as %s on %s", rec.name, rec.task_id, rec.hostname)

    def _after_change(self) -> None:
        """Keep the restart timer and the master's suppression in line with the fleet."""
        due = self._fleet.next_due()
        if due != self._timer_due:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._timer_due = due
            if due is not None and not self._stopping:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(max(0.0, due - time.time()), self._restart_due)
        if (
            self._fleet.wants_offers != self._offers_on
            and (self._suppression is None or self._suppression.done())
            and self._session is not None
            and self._session.connected
            and not self._stopping
        ):
            self._suppression = self._session.spawn(self._sync_suppression())

    def _restart_due(self) -> None:
        self._timer = None
        self._timer_due = None
        self._fleet.due(time.time())
        self._after_change()

    def _subscribe_suppressed(self) -> Sequence[str]:
        """The roles to SUBSCRIBE suppressed: none while the fleet wants offers."""
        self._offers_on = self._fleet.wants_offers
        self._suppression = None
        return () if self._offers_on else self.options.roles

    async def _sync_suppression(self) -> None:
        """REVIVE or SUPPRESS until the master's state is what the fleet wants (one at a time)."""
        while True:
            want = self._fleet.wants_offers
            if want == self._offers_on:
                return
            try:
                await self._send(calls.revive() if want else calls.suppress(), wait=False)
            except CallWhileDisconnected:
                return  # the next SUBSCRIBE sets suppression from the fleet's state
            except MesosError as exc:
                self._report(exc)
                return
            self._offers_on = want  # what was sent, not what is wanted now: the loop checks again

    # ------------------------------------------------------- default handlers
    async def _on_offers(self, payload: scheduler_pb2.Event.Offers) -> None:
        offers = list(payload.offers)
        if not offers:
            return
        if self._fleet.pending and not self._fleet.holding:
            async with self._launch_lock:
                await self._apply(self._fleet.offers(offers, time.time()))
        else:
            await self._apply(self._fleet.offers(offers, time.time()))

    def _on_update(self, payload: scheduler_pb2.Event.Update) -> Awaitable[None] | None:
        status = payload.status
        reconciler = self._reconciler
        if reconciler is not None:
            if reconciler.unanswered:  # most updates come when no round waits for answers
                reconciler.answered(status.task_id.value)
            if status.state in _AGENT_LOSS and status.reason != _RECONCILIATION:
                reconciler.agent_lost()
        return self._apply_now(self._fleet.update(status, time.time()))

    async def _on_operation_status(self, payload: scheduler_pb2.Event.UpdateOperationStatus) -> None:
        status = payload.status
        log.info(
            "operation %s: %s %s",
            status.operation_id.value or "-",
            mesos_pb2.OperationState.Name(status.state),
            status.message,
        )
        await self._apply(self._fleet.operation_status(status))
        if not (self.options.auto_acknowledge and status.HasField("uuid") and status.operation_id.value):
            return
        await self._send_quietly(
            calls.acknowledge_operation_status(
                status.agent_id if status.HasField("agent_id") else None,
                status.resource_provider_id if status.HasField("resource_provider_id") else None,
                status.operation_id,
                status.uuid.value,
            )
        )

    async def _on_failure(self, payload: scheduler_pb2.Event.Failure) -> None:
        log.warning(
            "failure: agent %s executor %s status %s",
            payload.agent_id.value,
            payload.executor_id.value or "-",
            payload.status if payload.HasField("status") else "-",
        )

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
