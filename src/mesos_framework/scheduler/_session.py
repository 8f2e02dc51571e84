"""`Session`: a framework's subscription to the master, as an async iterator of events.

The session subscribes (following the leading master), keeps the subscription
alive (a heartbeat watchdog, resubscription with capped jittered backoff,
a new leader), acknowledges updates without waiting for the answers, and sends
calls beside the stream. It makes no decision about tasks: that is the
`Scheduler`'s (or yours, when you use the session directly).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from mesos_framework._events import Events
from mesos_framework._tasks import cancel_and_wait, report_failure
from mesos_framework.errors import (
    CallWhileDisconnected,
    ConnectError,
    FrameworkFailedOver,
    FrameworkRemoved,
    MesosError,
    NotSubscribed,
    ProtocolError,
    StreamClosed,
    SubscriptionLost,
    TransportError,
)
from mesos_framework.protocol import ContentType
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls
from mesos_framework.scheduler._calls import CallsMixin
from mesos_framework.transport import Backoff, Credentials, EventStream, HttpClient, TLSConfig

__all__ = ["SESSION_EVENTS", "Session"]

log = logging.getLogger("mesos_framework.scheduler")

#: At most this many acknowledgements go out pipelined together.
_ACK_BATCH = 64
#: How long the end of a subscription waits for the answers to the acknowledgements in flight.
_ACK_SETTLE = 2.0

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event

#: The events a `Session` emits itself (plus `sent_<call>` after each call).
#: Mesos's scheduler heartbeat interval (master/constants.hpp DEFAULT_HEARTBEAT_INTERVAL), used
#: when a master sends one that is not a finite number > 0.
DEFAULT_HEARTBEAT_INTERVAL = 15.0
#: The bounds a master's heartbeat interval is clamped to (seconds, with a warning).
MIN_HEARTBEAT_INTERVAL = 0.01
MAX_HEARTBEAT_INTERVAL = 300.0

SESSION_EVENTS = frozenset({"error", "disconnected", "framework_removed"})
#: The events `Session.direct` never takes: the reading task handles them itself.
_TO_THE_READER = frozenset({Event.SUBSCRIBED, Event.ERROR})


def made_good(exc: BaseException) -> bool:
    """Whether a failed call that the scheduler repeats, or that Mesos makes good itself
    (ACKNOWLEDGE, DECLINE, RECONCILE, REVIVE, SUPPRESS), failed for a reason that needs no one:
    the connection broke or the master did not answer in time (`TransportError`), or the
    subscription it was made under is gone (`NotSubscribed`, `CallWhileDisconnected`). Such a
    failure is logged, not emitted as ``error``: it comes with every reconnection."""
    return isinstance(exc, (TransportError, NotSubscribed, CallWhileDisconnected))


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

    def touch(self) -> None:
        """An event arrived (or a wait begins): the limit counts from now."""
        self.since = self._loop.time()

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


class Session(CallsMixin):
    """A framework's connection to the master: events in, calls out.

    Iterate over it to receive the framework's events (`scheduler_pb2.Event`
    messages, SUBSCRIBED first); send calls with its methods (`accept`,
    `decline`, `kill`, `reconcile`, ...) from the loop or from anywhere else.
    The session resubscribes by itself after a lost connection (the iteration
    simply continues with the next SUBSCRIBED); it ends when `close()` is
    called, and raises `FrameworkRemoved` (or `FrameworkFailedOver`) when the
    master removed the framework.

    Example:

        info = mesos_pb2.FrameworkInfo(user="root", name="raw", failover_timeout=3600)
        async with Session("127.0.0.1:5050", info) as session:
            async for event in session:
                if event.type == Event.OFFERS:
                    await session.decline([o.id for o in event.offers.offers])
                elif event.type == Event.UPDATE:
                    session.acknowledge_later(event.update.status)

    Args:
        master: `"host:port"`, several comma-separated, an `http(s)://` URL, or `zk://.../mesos`.
        framework_info: what to subscribe with; its `id` is set from `framework_id`.
        framework_id: re-attach to this framework (`None`: register a new one).
        suppressed_roles: the roles to subscribe suppressed, or a function giving them at each
            subscription.
        events: where the session emits `sent_<call>`, `disconnected`, `framework_removed` and
            `error` (a private one if not given; see `Session.on`).
        connect_timeout: bounds connecting and the wait for SUBSCRIBE's answer (the
            `master_connection_timeout` option).
        request_timeout: bounds every other call.
        call_timeout: how long a call waits for a subscription before `CallWhileDisconnected`.
        heartbeat_misses: heartbeats missed before the subscription counts as lost.
    """

    def __init__(
        self,
        master: str,
        framework_info: mesos_pb2.FrameworkInfo,
        *,
        framework_id: str | None = None,
        suppressed_roles: Sequence[str] | Callable[[], Sequence[str]] = (),
        events: Events | None = None,
        content_type: ContentType = ContentType.PROTOBUF,
        tls: TLSConfig | None = None,
        principal: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        call_timeout: float = 30.0,
        heartbeat_misses: float = 2.0,
        backoff_minimum: float = 1.0,
        backoff_maximum: float = 15.0,
        backoff_factor: float = 1.5,
    ) -> None:
        self.master = master
        self.framework_info = framework_info
        self.framework_id: str | None = framework_id
        self._suppressed_roles = suppressed_roles
        self.events = events if events is not None else Events(SESSION_EVENTS, prefixes=("sent_",))
        self._emit = self.events.emit
        self._content_type = content_type
        self._tls = tls
        self._credentials = Credentials(principal, secret) if principal and secret else None
        self._token = token
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.call_timeout = call_timeout
        self.heartbeat_misses = heartbeat_misses
        self._backoff_args = (backoff_minimum, backoff_maximum, backoff_factor)
        self.stream_id: str | None = None
        self.leader: str | None = None
        self.heartbeat_interval: float | None = None
        self.last_heartbeat: float | None = None
        self.master_info: mesos_pb2.MasterInfo | None = None
        #: True when the last SUBSCRIBED registered a new framework (none was given).
        self.registered_anew = False
        self.tearing_down = False
        #: Called with each call's name just before it is sent (SUBSCRIBE too); raising refuses it.
        #: A hot-standby `Scheduler` fences a deposed leader through it (`NotLeader`).
        self.guard: Callable[[str], None] | None = None
        self._connected = asyncio.Event()
        self._client: HttpClient[scheduler_pb2.Event] | None = None
        self._stream: EventStream[scheduler_pb2.Event] | None = None
        self._closing = False
        self._subscription_tasks: set[asyncio.Task[Any]] = set()
        self._acks: _AckQueue | None = None
        self._backoff = self._new_backoff()
        #: Handles events as they arrive, while the iteration waits, without waking the task
        #: that iterates (one event-loop pass less per burst of events): a function that
        #: handles one event and returns None, or an awaitable that the iteration awaits before
        #: it goes on. The events it takes are not yielded; SUBSCRIBED and ERROR always are.
        #: The `Scheduler` sets it to the same handling it gives what the iteration yields.
        self.direct: Callable[[scheduler_pb2.Event], Awaitable[Any] | None] | None = None
        self._deferred: Awaitable[Any] | None = None
        self._watchdog: _Watchdog | None = None
        self._in_pass = False  # the sink is handing events over: acknowledgements wait for its end

    # ------------------------------------------------------------------ state
    @property
    def connected(self) -> bool:
        """True while subscribed."""
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until subscribed (`TimeoutError` after `timeout` seconds)."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    def on(self, name: str, listener: Callable[..., Any]) -> Callable[..., Any]:
        """Listen to the session's own events (`sent_<call>`, `disconnected`, `error`...)."""
        return self.events.on(name, listener)

    def _new_backoff(self) -> Backoff:
        minimum, maximum, factor = self._backoff_args
        return Backoff(minimum=minimum, maximum=maximum, factor=factor)

    def _get_client(self) -> HttpClient[scheduler_pb2.Event]:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> HttpClient[scheduler_pb2.Event]:
        return HttpClient(
            self.master,
            content_type=self._content_type,
            tls=self._tls,
            credentials=self._credentials,
            token=self._token,
            connect_timeout=self.connect_timeout,
            request_timeout=self.request_timeout,
            subscribe_timeout=self.connect_timeout,
            backoff=self._new_backoff(),
        )

    def report(self, exc: BaseException) -> None:
        """Log an error and emit it as `error`."""
        log.error("%s", exc)
        self._emit("error", exc)

    # ----------------------------------------------------------- lifecycle
    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """End the iteration and close the connections (the framework fails over; tasks keep running)."""
        self._closing = True
        self._connected.clear()
        await self.end_subscription_tasks()
        if self._stream is not None:
            with contextlib.suppress(Exception):
                await self._stream.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` for the current subscription only (cancelled when it ends)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._subscription_tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._subscription_tasks.discard(task)
        report_failure(task, self.report, lambda exc: self._emit("error", exc), log)

    async def end_subscription_tasks(self) -> None:
        """Cancel the current subscription's tasks and wait for them."""
        # Not `await task` under suppress(CancelledError): that also swallowed a cancellation of
        # the task doing the waiting (stop() cancelling the event loop while it cleaned up after a
        # lost stream), which then resubscribed for ever. Their outcomes are reported by _task_done.
        await cancel_and_wait(list(self._subscription_tasks))
        self._subscription_tasks.clear()

    # ------------------------------------------------------------- the events
    def __aiter__(self) -> AsyncIterator[scheduler_pb2.Event]:
        return self.events_stream()

    async def events_stream(self) -> AsyncIterator[scheduler_pb2.Event]:
        """The framework's events, across resubscriptions, until `close()`."""
        client = self._get_client()
        backoff = self._backoff
        while not self._closing:
            info = scheduler_pb2.Call.Subscribe().framework_info
            info.CopyFrom(self.framework_info)
            if self.framework_id:
                info.id.value = self.framework_id
            roles = self._suppressed_roles
            call = calls.subscribe(info, suppressed_roles=roles() if callable(roles) else roles)
            try:
                if self.guard is not None:
                    self.guard("SUBSCRIBE")
                stream = await client.subscribe(call)
            except asyncio.CancelledError:
                raise
            except MesosError as exc:
                if self._closing:
                    return
                self.report(exc)
                await asyncio.sleep(backoff.next())
                continue
            self._stream = stream
            self.stream_id = stream.stream_id
            self.leader = str(stream.leader)
            self._emit("sent_subscribe", call)
            self.spawn(self._watch_leader(client, stream))
            acks = _AckQueue()
            self._acks = acks
            self.spawn(self._send_acknowledgements(acks))
            # The reading loop is written out here, not in a generator of its own: one
            # generator less for every event to pass through.
            watchdog = _Watchdog(self._event_wait_limit)
            task = asyncio.current_task()
            if self.direct is not None:
                self._watchdog = watchdog
                stream.set_sink(self._take_now, self._pass_ended)
            try:
                while True:
                    deferred = self._deferred
                    if deferred is not None:  # an event the sink took waits for this
                        self._deferred = None
                        await deferred
                    watchdog.touch()
                    watchdog.waiting = True
                    try:
                        event = await stream.next_event()
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
                    if event is None:
                        continue  # the sink took the events and left something to await
                    kind = event.type
                    if kind == Event.HEARTBEAT:
                        self.last_heartbeat = time.time()
                    elif kind == Event.SUBSCRIBED:
                        backoff.reset()
                        self._subscribed(event.subscribed)
                        yield event
                        watchdog.rearm()  # the heartbeat interval is known now
                        continue
                    elif kind == Event.ERROR:
                        yield event
                        self._error(event.error.message)
                    yield event
            except FrameworkRemoved as exc:
                self._connected.clear()
                self._emit("framework_removed", exc)
                self.report(exc)
                raise
            except (StreamClosed, SubscriptionLost, TransportError) as exc:
                if self.tearing_down:  # the master closes the stream after TEARDOWN
                    log.info("framework torn down; the master closed the stream")
                    return
                if isinstance(exc, ProtocolError) and not self._closing:
                    self.report(exc)  # a corrupt stream is the master's fault: reported, not routine
                elif not self._closing:
                    log.warning("subscription lost: %s", exc)
            finally:
                stream.set_sink(None)
                self._watchdog = None
                deferred, self._deferred = self._deferred, None
                if inspect.iscoroutine(deferred):
                    deferred.close()  # the subscription ended before its turn came
                watchdog.close()
                self._connected.clear()
                self._acks = None  # the agents resend what this stream left unacknowledged
                await self._settle_acknowledgements(client, acks)
                await self.end_subscription_tasks()
                with contextlib.suppress(Exception):
                    await stream.close()
                self._stream = None
                self.stream_id = None
            if self._closing:
                return
            self._emit("disconnected")
            client.forget_leader()
            delay = backoff.next()
            log.info("resubscribing in %.2fs", delay)
            await asyncio.sleep(delay)

    def _take_now(self, event: scheduler_pb2.Event) -> bool:
        """`direct`'s sink: an event handled as it arrives (from the stream's callback, while the
        reading task waits); False leaves it to the reading task (SUBSCRIBED, ERROR)."""
        kind = event.type
        if kind in _TO_THE_READER:
            return False
        self._in_pass = True
        watchdog, direct, stream = self._watchdog, self.direct, self._stream
        if watchdog is None or direct is None or stream is None:
            return False
        watchdog.touch()
        if kind == Event.HEARTBEAT:
            self.last_heartbeat = time.time()
        pending = direct(event)
        if pending is not None:
            # The next event waits until this one's handling is done: the reading task awaits it.
            self._deferred = pending
            stream.wake_reader()
        return True

    def _pass_ended(self) -> None:
        """The stream's pass over what arrived is over: write the acknowledgements it queued."""
        if self._in_pass:
            self._in_pass = False
            self._flush_acknowledgements()

    def _event_wait_limit(self) -> float:
        """Seconds without an event after which the subscription counts as lost."""
        if self.heartbeat_interval and self._connected.is_set():
            return self.heartbeat_interval * self.heartbeat_misses + 1.0
        return self.connect_timeout

    def _subscribed(self, sub: scheduler_pb2.Event.Subscribed) -> None:
        new_id = sub.framework_id.value
        self.registered_anew = not self.framework_id
        if self.framework_id and new_id != self.framework_id:
            log.warning("master assigned framework id %s instead of %s", new_id, self.framework_id)
        self.framework_id = new_id
        interval = sub.heartbeat_interval_seconds if sub.HasField("heartbeat_interval_seconds") else None
        self.heartbeat_interval = _heartbeat_interval(interval)
        self.master_info = sub.master_info if sub.HasField("master_info") else None
        self.last_heartbeat = time.time()
        self._connected.set()
        log.info("subscribed as framework %s (stream %s)", new_id, self.stream_id)

    def _error(self, message: str) -> None:
        low = message.lower()
        if "failed over" in low:
            raise FrameworkFailedOver(f"another scheduler took over framework {self.framework_id}: {message}")
        if "removed" in low or "torn down" in low:
            raise FrameworkRemoved(f"Mesos removed framework {self.framework_id}: {message}")
        lost = SubscriptionLost(f"Mesos sent ERROR: {message}")
        self.report(lost)  # unlike a routine reconnect, an ERROR from Mesos is reported
        raise lost

    async def _watch_leader(
        self, client: HttpClient[scheduler_pb2.Event], stream: EventStream[scheduler_pb2.Event]
    ) -> None:
        """Close the stream when the detector sees a new leading master (resubscribe there)."""
        await client.leader_changed()
        log.warning("leading master changed; resubscribing")
        await stream.close()

    # ------------------------------------------------------------------ calls
    async def _send(self, call: scheduler_pb2.Call, *, wait: bool = True) -> None:
        """Send a call; wait (bounded by `call_timeout`) for a subscription unless `wait` is False."""
        name = Call.Type.Name(call.type)
        client = self._get_client()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout
        while True:
            if not self._connected.is_set():
                if not wait or self._closing:
                    raise CallWhileDisconnected(f"{name} not sent: not subscribed to a master")
                try:
                    async with asyncio.timeout(max(0.0, deadline - loop.time())):
                        await self._connected.wait()
                except TimeoutError:
                    raise CallWhileDisconnected(
                        f"{name} not sent: no subscription within {self.call_timeout:g}s"
                    ) from None
            if self.framework_id:
                call.framework_id.value = self.framework_id
            if self.guard is not None:
                self.guard(name)
            try:
                await client.send(call, stream_id=self.stream_id)
            except (NotSubscribed, ConnectError) as exc:
                # Retried only when the master cannot have acted on the call (refused, or never
                # reached), so an ACCEPT is never sent twice.
                if not wait or loop.time() >= deadline or self._closing:
                    raise
                log.info("%s failed (%s); retrying", name, exc)
                await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
                continue
            self._emit(f"sent_{name.lower()}", call)
            return

    async def send(self, call: scheduler_pb2.Call, *, wait: bool = True) -> None:
        """Send any scheduler call (the framework ID is filled in)."""
        await self._send(call, wait=wait)

    def send_nowait(self, call: scheduler_pb2.Call, done: Callable[[MesosError | None], None]) -> bool:
        """Write a call now, pipelined on the open calls connection, without waiting for its
        answer (read lazily, as the acknowledgements' are); ``done`` is called with ``None`` once
        it was answered (``sent_<type>`` emitted first) or with its error. False (nothing
        written, ``done`` never called) when that cannot be done now: not subscribed, no calls
        connection open, or the guard refuses the call (`send()` then says why)."""
        client = self._client
        if client is None or self._closing or not self._connected.is_set():
            return False
        name = Call.Type.Name(call.type)
        if self.guard is not None:
            try:
                self.guard(name)
            except MesosError:
                return False
        if self.framework_id:
            call.framework_id.value = self.framework_id
        return client.send_nowait([call], _Sent(self, call, name, done), stream_id=self.stream_id)

    def read_answers(self) -> None:
        """Read the answers of the calls written without waiting now, and the rest as they come
        (someone waits for them)."""
        if self._client is not None:
            self._client.read_answers(eager=True)

    def acknowledge_later(self, status: mesos_pb2.TaskStatus) -> None:
        """Acknowledge an update soon: written without waiting, in order, together with the others
        of the same burst of events (or, before the calls connection is open, by this
        subscription's sender task)."""
        uuid = status.uuid
        if not uuid:
            return
        acks = self._acks
        if acks is None:
            log.info(
                "update for %s not acknowledged (disconnected); Mesos will resend it", status.task_id.value
            )
            return
        if not acks.put(status, uuid):
            log.debug(
                "update %s of %s is already being acknowledged; not again",
                status.uuid.hex(),
                status.task_id.value,
            )
            return
        if not self._in_pass:
            self._flush_acknowledgements()

    def _flush_acknowledgements(self) -> None:
        """Write the queued acknowledgements now, pipelined on the open calls connection; when
        there is none (yet), the sender task opens one and sends them."""
        acks = self._acks
        if acks is None or acks.sending:
            return  # the sender's batch is on its way: the queued ones follow it, in order
        while acks.items:
            batch = acks.take_now(_ACK_BATCH)
            if not self._may_acknowledge(batch):
                acks.forget(status.uuid for status in batch)
            elif not self._acknowledge_nowait(acks, batch):
                acks.restore(batch)
                acks.wake()
                return

    async def _send_acknowledgements(self, acks: _AckQueue) -> None:
        """Send what `_flush_acknowledgements` could not write at once (no calls connection yet):
        in order, pipelined in batches, each awaited before the next."""
        while True:
            batch = await acks.take(_ACK_BATCH)
            if not self._may_acknowledge(batch):
                acks.forget(status.uuid for status in batch)
                continue
            if self._acknowledge_nowait(acks, batch):
                continue
            acks.sending = True
            acks.begin()
            try:
                await self._acknowledge_many(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not stop the later acknowledgements
                log.exception("acknowledging %d update(s) failed", len(batch))
                self._emit("error", exc)
            finally:
                acks.sending = False
                acks.forget(status.uuid for status in batch)
                acks.finish()

    async def _settle_acknowledgements(
        self, client: HttpClient[scheduler_pb2.Event], acks: _AckQueue
    ) -> None:
        """At the end of a subscription, let the acknowledgements in flight learn their answers
        (read lazily, they may wait in the socket), so that an acknowledgement the master took
        is reported (`sent_acknowledge`), not cut off by the end of the sender. Bounded by
        `_ACK_SETTLE`."""
        if acks.idle.is_set():
            return
        client.read_answers(eager=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_ACK_SETTLE):
                await acks.idle.wait()

    def _may_acknowledge(self, statuses: Sequence[mesos_pb2.TaskStatus]) -> bool:
        """Whether acknowledgements may go out now (subscribed, not fenced); logs why not."""
        if self._client is None or not self._connected.is_set():
            log.info("%d updates not acknowledged (disconnected); Mesos will resend them", len(statuses))
            return False
        if self.guard is not None:
            try:
                self.guard("ACKNOWLEDGE")
            except MesosError as exc:
                log.info("%d updates not acknowledged (%s)", len(statuses), exc)
                return False
        return True

    def _acknowledge_calls(self, statuses: Sequence[mesos_pb2.TaskStatus]) -> list[scheduler_pb2.Call]:
        batch = [calls.acknowledge(s.agent_id, s.task_id, s.uuid) for s in statuses]
        if self.framework_id:
            for call in batch:
                call.framework_id.value = self.framework_id
        return batch

    def _acknowledge_nowait(self, acks: _AckQueue, statuses: list[mesos_pb2.TaskStatus]) -> bool:
        """Write the ACKNOWLEDGE calls now on the open calls connection; False if there is none.

        Their answers are read lazily (Mesos answers each call with a packet of its own, and
        reading them as they come would wake the scheduler once more per update): within half
        a second, or sooner when the process is awake for a call that waits for its answer.
        """
        client = self._client
        if client is None:
            return False
        batch = self._acknowledge_calls(statuses)
        acks.begin()  # before: the answers may come at once (a connection failing as it is written)
        if not client.send_nowait(batch, _Acknowledged(self, acks, batch), stream_id=self.stream_id):
            acks.finish()
            return False
        return True

    async def _acknowledge_many(self, statuses: Sequence[mesos_pb2.TaskStatus]) -> None:
        client = self._client
        if client is None or not self._may_acknowledge(statuses):
            return
        batch = self._acknowledge_calls(statuses)
        self._acknowledged(batch, await client.send_many(batch, stream_id=self.stream_id))

    def _acknowledged(
        self, batch: Sequence[scheduler_pb2.Call], results: Sequence[bytes | MesosError]
    ) -> None:
        failed: list[MesosError] = []
        for call, result in zip(batch, results, strict=True):
            if isinstance(result, MesosError):
                failed.append(result)
            else:
                self._emit("sent_acknowledge", call)
        if failed:
            # One report for the batch: when the connection breaks every call in it fails alike.
            if made_good(failed[0]):
                log.warning(
                    "%d of %d acknowledgements failed (%s); Mesos will resend those updates",
                    len(failed),
                    len(batch),
                    failed[0],
                )
                return
            if len(failed) > 1:
                log.info(
                    "%d of %d acknowledgements failed; Mesos will resend those updates",
                    len(failed),
                    len(batch),
                )
            self.report(failed[0])


class _Sent:
    """The answer of a call written by `Session.send_nowait`: ``sent_<type>`` and ``done(None)``,
    or ``done(error)``."""

    __slots__ = ("call", "done", "name", "session")

    def __init__(
        self,
        session: Session,
        call: scheduler_pb2.Call,
        name: str,
        done: Callable[[MesosError | None], None],
    ) -> None:
        self.session = session
        self.call = call
        self.name = name
        self.done = done

    def __call__(self, results: list[bytes | MesosError]) -> None:
        result = results[0]
        if isinstance(result, MesosError):
            self.done(result)
            return
        self.session._emit(f"sent_{self.name.lower()}", self.call)
        self.done(None)


class _Acknowledged:
    """The answers of acknowledgements written by `Session._acknowledge_nowait`: their uuids may
    be queued again, and each is reported (``sent_acknowledge``) or its failure is.

    An object, not a closure: the answers are read lazily, so what waits for them lives long
    enough to count for the garbage collector, and one object with slots weighs less than a
    closure's cells (it keeps the calls, not the updates they acknowledge).
    """

    __slots__ = ("acks", "calls", "session")

    def __init__(self, session: Session, acks: _AckQueue, calls: list[scheduler_pb2.Call]) -> None:
        self.session = session
        self.acks = acks
        self.calls = calls

    def __call__(self, results: list[bytes | MesosError]) -> None:
        acks = self.acks
        acks.forget(call.acknowledge.uuid for call in self.calls)
        acks.finish()
        self.session._acknowledged(self.calls, results)


class _AckQueue:
    """The updates one subscription has yet to acknowledge, in order, and those in flight.

    `put` costs an append; `take_now` returns up to ``limit`` of them at once and `take`
    waits for some (the sender task, woken by `wake`). An update whose uuid is already
    queued or being acknowledged is not queued again: an agent resends an update until its
    acknowledgement arrives, and on a busy cluster the resends pile up behind the first
    acknowledgement, each costing the master a call. `forget` drops a batch's uuids once its
    calls were answered (or failed), so an update the agent sends again after that is
    acknowledged again. `begin` and `finish` count the batches in flight (`idle` is set when
    there are none); ``sending`` is True while the sender task awaits a batch of its own.
    """

    __slots__ = ("_uuids", "_waiter", "flying", "idle", "items", "sending")

    def __init__(self) -> None:
        #: Set while no batch is in flight.
        self.idle = asyncio.Event()
        self.idle.set()
        self.items: collections.deque[mesos_pb2.TaskStatus] = collections.deque()
        self.flying = 0
        self.sending = False
        self._uuids: set[bytes] = set()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, status: mesos_pb2.TaskStatus, uuid: bytes) -> bool:
        """Queue ``status`` (whose ``uuid`` is given); False when that uuid is already queued or in flight."""
        if uuid in self._uuids:
            return False
        self._uuids.add(uuid)
        self.items.append(status)
        return True

    def wake(self) -> None:
        """Wake the sender task if it waits in `take`."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def forget(self, uuids: Iterable[bytes]) -> None:
        """A batch's calls were answered, failed or dropped: the uuids of its updates may be
        queued again."""
        self._uuids.difference_update(uuids)

    def begin(self) -> None:
        self.flying += 1
        self.idle.clear()

    def finish(self) -> None:
        self.flying -= 1
        if not self.flying:
            self.idle.set()

    def take_now(self, limit: int) -> list[mesos_pb2.TaskStatus]:
        items = self.items
        if len(items) <= limit:
            batch = list(items)
            items.clear()
            return batch
        return [items.popleft() for _ in range(limit)]

    def restore(self, batch: Sequence[mesos_pb2.TaskStatus]) -> None:
        """Put a batch taken with `take_now` back at the front, in its order."""
        self.items.extendleft(reversed(batch))

    async def take(self, limit: int) -> list[mesos_pb2.TaskStatus]:
        while not self.items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.take_now(limit)


def _heartbeat_interval(interval: float | None) -> float | None:
    """The master's heartbeat interval, made safe: liveness is never switched off by its value.

    Missing: None (the watchdog then waits `connect_timeout` between events). Not a finite
    number or not > 0 (a hostile or broken master): Mesos's default (15 s), with a warning.
    Above `MAX_HEARTBEAT_INTERVAL`: clamped to it, with a warning; below
    `MIN_HEARTBEAT_INTERVAL`: raised to it (no resubscription storm).
    """
    if interval is None:
        return None
    if not math.isfinite(interval) or interval <= 0:
        log.warning(
            "the master sent a heartbeat interval of %r s; using %g s", interval, DEFAULT_HEARTBEAT_INTERVAL
        )
        return DEFAULT_HEARTBEAT_INTERVAL
    if interval > MAX_HEARTBEAT_INTERVAL:
        log.warning(
            "the master sent a heartbeat interval of %g s; using %g s", interval, MAX_HEARTBEAT_INTERVAL
        )
        return MAX_HEARTBEAT_INTERVAL
    if interval < MIN_HEARTBEAT_INTERVAL:
        log.warning(
            "the master sent a heartbeat interval of %g s; using %g s", interval, MIN_HEARTBEAT_INTERVAL
        )
        return MIN_HEARTBEAT_INTERVAL
    return float(interval)
