"""The `Scheduler`'s events: `on()` (typed per event), `once()`, `off()`, `wait_for()`, `emit()`.

Each known event name has an overload of `on()` that types its listener's payload, so a type
checker catches `scheduler.on("updated_task", lambda t: t.nam)`. Names not known statically (an
event added with `add_event_names()`, a name in a variable) are given as `EventName("...")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NewType, TypeVar, overload

from mesos_framework._events import Events, Listener
from mesos_framework.errors import FrameworkRemoved
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.tasks.records import TaskRecord

__all__ = ["EventName", "SchedulerEvents", "SentEvent", "TaskEvent"]

TaskEvent = Literal["updated_task", "removed_task", "task_launched", "task_unhealthy"]
"""Events whose payload is a `TaskRecord`."""
SentEvent = Literal[
    "sent_subscribe",
    "sent_teardown",
    "sent_accept",
    "sent_decline",
    "sent_accept_inverse_offers",
    "sent_decline_inverse_offers",
    "sent_revive",
    "sent_kill",
    "sent_shutdown",
    "sent_acknowledge",
    "sent_acknowledge_operation_status",
    "sent_reconcile",
    "sent_reconcile_operations",
    "sent_message",
    "sent_request",
    "sent_suppress",
    "sent_update_framework",
]
"""`sent_<call>` events, whose payload is the `Call` sent."""
EventName = NewType("EventName", str)
"""An event name not known statically (a custom one, or one in a variable)."""

_F = TypeVar("_F", bound=Callable[..., object])
_F0 = TypeVar("_F0", bound=Callable[[TaskRecord], object])
_F1 = TypeVar("_F1", bound=Callable[[scheduler_pb2.Event.Update], object])
_F2 = TypeVar("_F2", bound=Callable[[scheduler_pb2.Event.Offers], object])
_F3 = TypeVar("_F3", bound=Callable[[scheduler_pb2.Event.InverseOffers], object])
_F4 = TypeVar("_F4", bound=Callable[[scheduler_pb2.Event.Rescind], object])
_F5 = TypeVar("_F5", bound=Callable[[scheduler_pb2.Event.RescindInverseOffer], object])
_F6 = TypeVar("_F6", bound=Callable[[scheduler_pb2.Event.UpdateOperationStatus], object])
_F7 = TypeVar("_F7", bound=Callable[[scheduler_pb2.Event.Message], object])
_F8 = TypeVar("_F8", bound=Callable[[scheduler_pb2.Event.Failure], object])
_F9 = TypeVar("_F9", bound=Callable[[scheduler_pb2.Event.Subscribed], object])
_F10 = TypeVar("_F10", bound=Callable[[BaseException], object])
_F11 = TypeVar("_F11", bound=Callable[[FrameworkRemoved], object])
_F12 = TypeVar("_F12", bound=Callable[[float | None], object])
_F13 = TypeVar("_F13", bound=Callable[[scheduler_pb2.Call], object])
_FN = TypeVar("_FN", bound=Callable[[], object])
_FS = TypeVar("_FS", bound=Callable[[str], object])


class SchedulerEvents:
    """The event methods of a `Scheduler`."""

    _events: Events

    @overload
    def on(
        self, name: TaskEvent, listener: Callable[[TaskRecord], object]
    ) -> Callable[[TaskRecord], object]: ...
    @overload
    def on(self, name: TaskEvent, listener: None = None) -> Callable[[_F0], _F0]: ...
    @overload
    def on(
        self, name: Literal["update"], listener: Callable[[scheduler_pb2.Event.Update], object]
    ) -> Callable[[scheduler_pb2.Event.Update], object]: ...
    @overload
    def on(self, name: Literal["update"], listener: None = None) -> Callable[[_F1], _F1]: ...
    @overload
    def on(
        self, name: Literal["offers"], listener: Callable[[scheduler_pb2.Event.Offers], object]
    ) -> Callable[[scheduler_pb2.Event.Offers], object]: ...
    @overload
    def on(self, name: Literal["offers"], listener: None = None) -> Callable[[_F2], _F2]: ...
    @overload
    def on(
        self, name: Literal["inverse_offers"], listener: Callable[[scheduler_pb2.Event.InverseOffers], object]
    ) -> Callable[[scheduler_pb2.Event.InverseOffers], object]: ...
    @overload
    def on(self, name: Literal["inverse_offers"], listener: None = None) -> Callable[[_F3], _F3]: ...
    @overload
    def on(
        self, name: Literal["rescind"], listener: Callable[[scheduler_pb2.Event.Rescind], object]
    ) -> Callable[[scheduler_pb2.Event.Rescind], object]: ...
    @overload
    def on(self, name: Literal["rescind"], listener: None = None) -> Callable[[_F4], _F4]: ...
    @overload
    def on(
        self,
        name: Literal["rescind_inverse_offer"],
        listener: Callable[[scheduler_pb2.Event.RescindInverseOffer], object],
    ) -> Callable[[scheduler_pb2.Event.RescindInverseOffer], object]: ...
    @overload
    def on(self, name: Literal["rescind_inverse_offer"], listener: None = None) -> Callable[[_F5], _F5]: ...
    @overload
    def on(
        self,
        name: Literal["update_operation_status"],
        listener: Callable[[scheduler_pb2.Event.UpdateOperationStatus], object],
    ) -> Callable[[scheduler_pb2.Event.UpdateOperationStatus], object]: ...
    @overload
    def on(self, name: Literal["update_operation_status"], listener: None = None) -> Callable[[_F6], _F6]: ...
    @overload
    def on(
        self, name: Literal["message"], listener: Callable[[scheduler_pb2.Event.Message], object]
    ) -> Callable[[scheduler_pb2.Event.Message], object]: ...
    @overload
    def on(self, name: Literal["message"], listener: None = None) -> Callable[[_F7], _F7]: ...
    @overload
    def on(
        self, name: Literal["failure"], listener: Callable[[scheduler_pb2.Event.Failure], object]
    ) -> Callable[[scheduler_pb2.Event.Failure], object]: ...
    @overload
    def on(self, name: Literal["failure"], listener: None = None) -> Callable[[_F8], _F8]: ...
    @overload
    def on(
        self, name: Literal["subscribed"], listener: Callable[[scheduler_pb2.Event.Subscribed], object]
    ) -> Callable[[scheduler_pb2.Event.Subscribed], object]: ...
    @overload
    def on(self, name: Literal["subscribed"], listener: None = None) -> Callable[[_F9], _F9]: ...
    @overload
    def on(
        self, name: Literal["error"], listener: Callable[[BaseException], object]
    ) -> Callable[[BaseException], object]: ...
    @overload
    def on(self, name: Literal["error"], listener: None = None) -> Callable[[_F10], _F10]: ...
    @overload
    def on(
        self, name: Literal["framework_removed"], listener: Callable[[FrameworkRemoved], object]
    ) -> Callable[[FrameworkRemoved], object]: ...
    @overload
    def on(self, name: Literal["framework_removed"], listener: None = None) -> Callable[[_F11], _F11]: ...
    @overload
    def on(
        self, name: Literal["heartbeat"], listener: Callable[[float | None], object]
    ) -> Callable[[float | None], object]: ...
    @overload
    def on(self, name: Literal["heartbeat"], listener: None = None) -> Callable[[_F12], _F12]: ...
    @overload
    def on(
        self, name: SentEvent, listener: Callable[[scheduler_pb2.Call], object]
    ) -> Callable[[scheduler_pb2.Call], object]: ...
    @overload
    def on(self, name: SentEvent, listener: None = None) -> Callable[[_F13], _F13]: ...
    @overload
    def on(
        self,
        name: Literal["ready", "disconnected", "closed", "became_standby"],
        listener: Callable[[], object],
    ) -> Callable[[], object]: ...
    @overload
    def on(
        self, name: Literal["ready", "disconnected", "closed", "became_standby"], listener: None = None
    ) -> Callable[[_FN], _FN]: ...
    @overload
    def on(
        self, name: Literal["leader_elected", "leadership_lost"], listener: Callable[[str], object]
    ) -> Callable[[str], object]: ...
    @overload
    def on(
        self, name: Literal["leader_elected", "leadership_lost"], listener: None = None
    ) -> Callable[[_FS], _FS]: ...
    @overload
    def on(self, name: EventName, listener: _F) -> _F: ...
    @overload
    def on(self, name: EventName, listener: None = None) -> Callable[[_F], _F]: ...

    def on(self, name: str, listener: Any = None) -> Any:
        """Call `listener` on every `name` event (sync or async); returns it.

        Without `listener`, returns a decorator (`@scheduler.on("task_launched")`). On a
        scheduler with no task types, a listener for `offers` is the framework's own offer
        logic: offers are then never suppressed nor declined by the scheduler.
        """
        if listener is None:

            def decorator(fn: Any) -> Any:
                return self.on(name, fn)  # type: ignore[call-overload]

            self._events.on(name)  # checks the name now
            return decorator
        return self._events.on(name, listener)

    def once(self, name: str, listener: Listener) -> Listener:
        """Call `listener` on the next `name` event only."""
        return self._events.once(name, listener)

    def off(self, name: str, listener: Listener) -> None:
        """Remove a listener."""
        self._events.off(name, listener)

    async def wait_for(
        self,
        name: str,
        predicate: Callable[..., bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[Any, ...]:
        """Wait for the next `name` event matching `predicate`; return its payload."""
        return await self._events.wait_for(name, predicate, timeout=timeout)

    def emit(self, name: str, *payload: Any) -> None:
        """Deliver an event to its listeners (used by helpers such as `TaskHealthHelper`)."""
        self._events.emit(name, *payload)

    def add_event_names(self, *names: str) -> None:
        """Allow listeners for custom event names (e.g. a health helper's own `error_event`)."""
        self._events.add_names(names)
