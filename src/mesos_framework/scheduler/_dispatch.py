"""How a `Scheduler` handles events and carries out its fleet's actions.

Each event goes one way: `_dispatch` hands it to its handler (the user's, from
``handlers=``, or the default one here), the default handlers ask the fleet
what to do (a pure decision step) and `_apply` carries out the actions it
returned (persist, launch, kill, decline, emit), then keeps the restart timer
and the master's offer suppression in line with what the fleet wants.
Most status updates and offers are handled at once: the ACCEPTs and DECLINEs
are written without waiting for their answers (handled when read), and a
coroutine is made only when an action has to wait for a call to the master.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from mesos_framework._events import Events
from mesos_framework.errors import APIError, CallWhileDisconnected, ConnectError, MesosError
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls
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
from mesos_framework.scheduler._reconcile import Reconciler
from mesos_framework.scheduler._session import Session, made_good

if TYPE_CHECKING:
    from mesos_framework.scheduler.options import SchedulerOptions
    from mesos_framework.tasks.records import TaskRecord

__all__ = ["EventDispatch"]

log = logging.getLogger("mesos_framework.scheduler")

Event = scheduler_pb2.Event

_Default = Callable[[Any], Awaitable[None] | None]

#: States of a task lost with its agent (which may come back with it).
_AGENT_LOSS = frozenset({mesos_pb2.TASK_LOST, mesos_pb2.TASK_UNREACHABLE})
_RECONCILIATION = mesos_pb2.TaskStatus.REASON_RECONCILIATION
#: What becomes of offers whose DECLINE failed.
_DECLINE_LOST = "Mesos takes the offers back when the subscription ends"


class EventDispatch:
    """The `Scheduler` methods that handle its events and carry out its fleet's actions."""

    options: SchedulerOptions
    _events: Events
    _fleet: Fleet
    _session: Session | None
    _reconciler: Reconciler | None
    _launch_lock: asyncio.Lock
    _accepting: int
    _accepts_answered: asyncio.Event
    _stopping: bool
    _timer: asyncio.TimerHandle | None
    _timer_due: float | None
    _offers_on: bool
    _suppression: asyncio.Task[None] | None
    _table: dict[int, tuple[str, str | None, str, _Default | None]]
    _unknown: tuple[str, str | None, str, _Default | None]

    # Defined by the `Scheduler`.
    @property
    def last_heartbeat(self) -> float | None:
        raise NotImplementedError

    def _report(self, exc: BaseException) -> None:
        raise NotImplementedError

    def _persist(self, rec: TaskRecord) -> None:
        raise NotImplementedError

    def _forget(self, task_id: str) -> None:
        raise NotImplementedError

    async def _subscribed_first(self, sub: scheduler_pb2.Event.Subscribed) -> None:
        raise NotImplementedError

    def _subscribed_then(self) -> None:
        raise NotImplementedError

    async def _send(self, call: scheduler_pb2.Call, *, wait: bool = True) -> None:
        raise NotImplementedError

    def _build_dispatch_table(self) -> None:
        """Per event type, once: (type name, payload field, emitted name, default handler)."""
        defaults: dict[int, _Default] = {
            Event.OFFERS: self._on_offers,
            Event.UPDATE: self._on_update,
            Event.UPDATE_OPERATION_STATUS: self._on_operation_status,
            Event.FAILURE: self._on_failure,
        }
        self._table = {}
        for name, number in Event.Type.items():
            field = name.lower() if name.lower() in Event.DESCRIPTOR.fields_by_name else None
            self._table[number] = (name, field, name.lower(), defaults.get(number))
        self._unknown = self._table.pop(Event.UNKNOWN)

    # ------------------------------------------------------------- dispatch
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

    # ------------------------------------------------------------ the actions
    def _apply_now(self, actions: Sequence[Action]) -> Awaitable[None] | None:
        """`_apply` without a coroutine when no action has to wait (most updates' actions);
        otherwise the actions from the first that waits on, as an awaitable."""
        for i, action in enumerate(actions):
            if not self._carry_out(action):
                return self._apply(actions[i:])
        self._after_change()
        return None

    def _carry_out(self, action: Action) -> bool:
        """An action that needs no call (emit, store, forget, report), carried out; False for one
        that waits for a call to the master. By exact type, the most common first."""
        if type(action) is Emit:
            self._events.emit(action.name, action.record)
        elif type(action) is Persist:
            self._persist(action.record)
        elif type(action) is Forget:
            self._forget(action.task_id)
        elif type(action) is Report:
            self._report(action.error)
        elif type(action) is LaunchOnOffer:
            return self._launch_nowait(action)
        elif type(action) is Decline:
            return self._decline_nowait(action)
        else:
            return False
        return True

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
                call = calls.decline(action.offer_ids, action.refuse_seconds)
                await self._send_quietly(call, _DECLINE_LOST)
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

    async def _send_quietly(self, call: scheduler_pb2.Call, routine: str | None = None) -> None:
        """Send a call the scheduler makes on its own; a failure is reported, or with
        ``routine`` (what makes it good) as `_report_routine` does."""
        try:
            await self._send(call, wait=False)
        except MesosError as exc:
            if routine is None:
                self._report(exc)
            else:
                self._report_routine(exc, routine)

    def _report_routine(self, exc: BaseException, then: str = "the scheduler repeats it") -> None:
        """A call the scheduler repeats, or Mesos makes good, failed: logged with what follows
        when that needs no one (`made_good`), reported otherwise."""
        if made_good(exc):
            log.warning("%s; %s", exc, then)
        else:
            self._report(exc)

    def _worth_again(self, exc: BaseException) -> bool:
        """Whether a call the scheduler made on its own is worth sending again: it failed as
        `made_good` says, but the subscription holds (so far), so nothing else will repeat it."""
        session = self._session
        return made_good(exc) and session is not None and session.connected and not self._stopping

    async def _launch(self, action: LaunchOnOffer) -> None:
        try:
            await self._send(
                action.accept_call(self.options.refuse_seconds),
                wait=False,
            )
        except MesosError as exc:
            await self._apply(self._launch_failed(action, exc))
            return
        self._launched(action)

    def _launch_nowait(self, action: LaunchOnOffer) -> bool:
        """`_launch` without waiting: the ACCEPT is written now, pipelined on the calls
        connection, and its answer is handled when read (`_launch_answered`). False when it
        cannot be written so (the caller awaits `_launch`), or while the launch lock is held (a
        reconciliation is being sent: the ACCEPT waits its turn)."""
        session = self._session
        if session is None or self._launch_lock.locked():
            return False
        self._accepting += 1  # before: the answer may come at once (a connection failing)
        self._accepts_answered.clear()
        call = action.accept_call(self.options.refuse_seconds)
        if session.send_nowait(call, functools.partial(self._launch_answered, action)):
            return True
        self._accepts_done()
        return False

    def _launch_answered(self, action: LaunchOnOffer, error: MesosError | None) -> None:
        self._accepts_done()
        if error is None:
            self._launched(action)
            return
        pending = self._apply_now(self._launch_failed(action, error))
        if pending is not None:
            self._run_later(pending)

    def _accepts_done(self) -> None:
        self._accepting -= 1
        if not self._accepting:
            self._accepts_answered.set()

    async def _launches_answered(self) -> None:
        """Wait until every ACCEPT written without waiting was answered (the reconciler's
        RECONCILE must not overtake one)."""
        while self._accepting:
            if self._session is not None:
                self._session.read_answers()
            await self._accepts_answered.wait()

    def _launched(self, action: LaunchOnOffer) -> None:
        for rec in action.records:
            log.info("launching %s as %s on %s", rec.name, rec.task_id, rec.hostname)

    def _launch_failed(self, action: LaunchOnOffer, exc: MesosError) -> list[Action]:
        """What to do when an ACCEPT failed: reported, and its instances wait again when the
        master never acted on it; otherwise reconciliation decides."""
        self._report(exc)
        if isinstance(exc, (CallWhileDisconnected, APIError, ConnectError)):
            # The master never acted on it: the instances wait again (with the restart backoff,
            # so a call that keeps failing cannot spin).
            dropped = self._fleet.operations_dropped(action.before)
            return [*dropped, *self._fleet.launch_failed(action.records, time.time())]
        # The tasks may or may not have reached the master: reconciliation decides.
        assert self._reconciler is not None
        infos = [*action.task_infos, *(info for _, group in action.groups for info in group)]
        self._reconciler.launch_uncertain((i.task_id.value, i.agent_id.value) for i in infos)
        return []

    def _decline_nowait(self, action: Decline) -> bool:
        """A DECLINE written without waiting (False: it cannot be; the caller awaits it)."""
        session = self._session
        if session is None:
            return False
        call = calls.decline(action.offer_ids, action.refuse_seconds)
        return session.send_nowait(call, functools.partial(self._declined, call))

    def _declined(self, call: scheduler_pb2.Call, error: MesosError | None) -> None:
        if error is None:
            return
        session = self._session
        if session is not None and self._worth_again(error):
            # Sent once more, or the offers would stay with this framework until it ends.
            log.info("DECLINE failed (%s); sending it again", error)
            session.spawn(self._send_quietly(call, _DECLINE_LOST))
        else:
            self._report_routine(error, _DECLINE_LOST)

    def _run_later(self, pending: Awaitable[None]) -> None:
        """Carry out, in a task of the subscription's, actions that have to wait (from a callback)."""
        session = self._session
        if session is not None and inspect.iscoroutine(pending):
            session.spawn(pending)

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
        delay = self.options.exponential_backoff_minimum
        while True:
            want = self._fleet.wants_offers
            if want == self._offers_on:
                return
            try:
                await self._send(calls.revive() if want else calls.suppress(), wait=False)
            except CallWhileDisconnected:
                return  # the next SUBSCRIBE sets suppression from the fleet's state
            except MesosError as exc:
                if not self._worth_again(exc):
                    self._report_routine(exc, "the next SUBSCRIBE sets it from the tasks' needs")
                    return
                log.warning("%s; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.exponential_backoff_maximum)
                continue
            self._offers_on = want  # what was sent, not what is wanted now: the loop checks again

    # ------------------------------------------------------- default handlers
    def _on_offers(self, payload: scheduler_pb2.Event.Offers) -> Awaitable[None] | None:
        offers = list(payload.offers)
        if not offers:
            return None
        launching = bool(self._fleet.pending) and not self._fleet.holding
        if launching and self._launch_lock.locked():
            return self._offers_in_turn(offers)  # a reconciliation is being sent: after it
        # Launches and declines are written at once, their answers handled when read.
        pending = self._apply_now(self._fleet.offers(offers, time.time()))
        if pending is not None and launching:
            return self._in_turn(pending)  # a launch that could not be written at once
        return pending

    async def _in_turn(self, pending: Awaitable[None]) -> None:
        async with self._launch_lock:
            await pending

    async def _offers_in_turn(self, offers: list[mesos_pb2.Offer]) -> None:
        async with self._launch_lock:
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
            ),
            "Mesos will resend the status",
        )

    async def _on_failure(self, payload: scheduler_pb2.Event.Failure) -> None:
        log.warning(
            "failure: agent %s executor %s status %s",
            payload.agent_id.value,
            payload.executor_id.value or "-",
            payload.status if payload.HasField("status") else "-",
        )
