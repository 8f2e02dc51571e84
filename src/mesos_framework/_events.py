"""The event mechanism shared by the `Scheduler` and the `Executor`.

Listeners are plain functions or coroutine functions. `Events.emit` calls
plain listeners at once, in the order they were added, and runs coroutine
listeners as tasks of their own (awaited by `Events.drain`); `Events.emit_wait`
awaits coroutine listeners one after the other instead. A listener that raises
(or whose coroutine raises) is logged and reported as an `error` event; an
`error` listener that raises is only logged. Nothing a listener does can stop
its owner.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, overload

from mesos_framework.errors import ConfigurationError

__all__ = ["Events", "Listener"]

log = logging.getLogger("mesos_framework.events")

Listener = Callable[..., Any]
"""A listener: called with the event's payload; may be a coroutine function."""

_L = TypeVar("_L", bound=Callable[..., Any])


class Events:
    """Named events with listeners; names are checked against `names`.

    Args:
        names: the event names accepted.
        prefixes: any name with one of these prefixes is accepted too (e.g. `sent_`).
        suffixes: any name with one of these suffixes is accepted too.
        owner: what the error messages call the owner (`scheduler`, `executor`).
        error_event: where a failing listener is reported (None: only logged).
        on_change: called with an event's name whenever a listener of it is added or removed
            (by `on`, `off`, `once` after its call, or `wait_for` when it ends).
    """

    def __init__(
        self,
        names: Iterable[str],
        *,
        prefixes: tuple[str, ...] = (),
        suffixes: tuple[str, ...] = (),
        owner: str = "",
        error_event: str | None = "error",
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._names = set(names)
        self._prefixes = prefixes
        self._suffixes = suffixes
        self._owner = f"{owner} " if owner else ""
        self._error_event = error_event
        self._on_change = on_change
        # Tuples, replaced whole when a listener is added or removed: `emit` iterates one as it
        # stands without copying it (a listener may add or remove listeners while called).
        self._listeners: dict[str, tuple[Listener, ...]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _check(self, name: str) -> None:
        if (
            name not in self._names
            and not (self._prefixes and name.startswith(self._prefixes))
            and not (self._suffixes and name.endswith(self._suffixes))
        ):
            raise ConfigurationError(
                f"unknown {self._owner}event {name!r}; known events: {', '.join(sorted(self._names))}",
                option="event",
            )

    def add_names(self, names: Iterable[str]) -> None:
        """Accept more event names."""
        for name in names:
            if not isinstance(name, str) or not name:
                raise ConfigurationError(f"event names are non-empty strings, got {name!r}", option="event")
            self._names.add(name)

    @overload
    def on(self, name: str, listener: None = None) -> Callable[[_L], _L]: ...

    @overload
    def on(self, name: str, listener: _L) -> _L: ...

    def on(self, name: str, listener: _L | None = None) -> Any:
        """Call `listener(*payload)` on every `name` event; returns it.

        Without `listener`, returns a decorator:

            @events.on("task_launched")
            def launched(record): ...
        """
        self._check(name)
        if listener is None:

            def decorator(fn: _L) -> _L:
                return self.on(name, fn)

            return decorator
        if not callable(listener):
            raise ConfigurationError(f"listener for {name!r} is not callable", option="listener")
        self._listeners[name] = (*self._listeners.get(name, ()), listener)
        if self._on_change is not None:
            self._on_change(name)
        return listener

    def once(self, name: str, listener: _L) -> _L:
        """Like `on`, removed after its first call."""

        def wrapper(*args: Any) -> Any:
            self.off(name, wrapper)
            return listener(*args)

        self.on(name, wrapper)
        return listener

    def off(self, name: str, listener: Listener) -> None:
        """Remove a listener (no error if absent)."""
        listeners = self._listeners.get(name)
        if listeners and listener in listeners:
            at = listeners.index(listener)
            self._listeners[name] = listeners[:at] + listeners[at + 1 :]
            if self._on_change is not None:
                self._on_change(name)

    def listener_count(self, name: str) -> int:
        """How many listeners `name` has."""
        return len(self._listeners.get(name, ()))

    async def wait_for(
        self,
        name: str,
        predicate: Callable[..., bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[Any, ...]:
        """Wait for the next `name` event whose payload satisfies `predicate`; return the payload."""
        self._check(name)
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

        def listener(*args: Any) -> None:
            if not future.done() and (predicate is None or predicate(*args)):
                future.set_result(args)

        self.on(name, listener)
        try:
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self.off(name, listener)

    def emit(self, name: str, *args: Any) -> None:
        """Call every listener of `name`; coroutine listeners run as tasks; failures become `error`."""
        listeners = self._listeners.get(name)
        if not listeners:
            return
        for listener in listeners:
            try:
                result = listener(*args)
            except Exception as exc:
                self._failed(name, listener, exc)
                continue
            # Most listeners return None: skip inspect's checks for them (one call per event).
            if result is not None and inspect.isawaitable(result):
                self._track(name, listener, result)

    async def emit_wait(self, name: str, *args: Any) -> None:
        """Call every listener of `name`, awaiting coroutine listeners in order."""
        listeners = self._listeners.get(name)
        if not listeners:
            return
        for listener in listeners:
            try:
                result = listener(*args)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(name, listener, exc)

    def _track(self, name: str, listener: Listener, awaitable: Awaitable[Any]) -> None:
        async def runner() -> None:
            try:
                await awaitable
            except Exception as exc:
                self._failed(name, listener, exc)

        task = asyncio.get_running_loop().create_task(runner(), name=f"listener:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _failed(self, name: str, listener: Listener, exc: Exception) -> None:
        what = getattr(listener, "__qualname__", repr(listener))
        log.error("listener %s for %s%r raised %r", what, self._owner, name, exc, exc_info=exc)
        if self._error_event is not None and name != self._error_event:
            self.emit(self._error_event, exc)

    async def drain(self) -> None:
        """Wait for running coroutine listeners to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel_pending(self) -> None:
        """Cancel running coroutine listeners."""
        for task in list(self._tasks):
            task.cancel()
