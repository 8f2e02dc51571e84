"""How a `Scheduler` handles events and carries out its fleet's actions.

Each event goes one way: `_dispatch` hands it to its handler (the user's, from
``handlers=``, or the default one here), the default handlers ask the fleet
what to do (a pure decision step) and `_apply` carries out the actions it
returned (persist, launch, kill, decline, emit), then keeps the restart timer
and the master's offer suppression in line with what the fleet wants.
Most status updates are handled at once: a coroutine is made only when an
action has to wait for a call to the master.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from mesos_framework.scheduler._session import Session

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


class EventDispatch:
    """The `Scheduler` methods that handle its events and carry out its fleet's actions."""

    options: SchedulerOptions
    _events: Events
    _fleet: Fleet
    _session: Session | None
    _reconciler: Reconciler | None
    _launch_lock: asyncio.Lock
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
