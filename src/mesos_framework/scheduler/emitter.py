"""A small event emitter for sync and async listeners that never breaks its owner.

A listener that raises (or whose coroutine raises) is logged and reported
as an ``error`` event; an ``error`` listener that raises is only logged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mesos_framework.errors import ConfigurationError

__all__ = ["Emitter", "Listener"]

log = logging.getLogger(__name__)

Listener = Callable[..., Any]


class Emitter:
    """Named events with listeners; names are checked against ``names``."""

    def __init__(
        self, names: Iterable[str], *, prefixes: tuple[str, ...] = (), suffixes: tuple[str, ...] = ()
    ) -> None:
        self._names = set(names)
        self._prefixes = prefixes
        self._suffixes = suffixes
        self._listeners: dict[str, list[Listener]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _check(self, name: str) -> None:
        if (
            name not in self._names
            and not name.startswith(self._prefixes)
            and not name.endswith(self._suffixes)
        ):
            raise ConfigurationError(
                f"unknown event {name!r}; known events: {', '.join(sorted(self._names))}", option="event"
            )

    def add_names(self, names: Iterable[str]) -> None:
        """Allow more event names."""
        for name in names:
            if not isinstance(name, str) or not name:
                raise ConfigurationError(f"event names are non-empty strings, got {name!r}", option="event")
            self._names.add(name)

    def on(self, name: str, listener: Listener) -> Listener:
        """Call ``listener(*payload)`` on every ``name`` event; returns the listener."""
        self._check(name)
        if not callable(listener):
            raise ConfigurationError(f"listener for {name!r} is not callable", option="listener")
        self._listeners.setdefault(name, []).append(listener)
        return listener

    def once(self, name: str, listener: Listener) -> Listener:
        """Like `on()`, removed after the first call."""

        def wrapper(*args: Any) -> Any:
            self.off(name, wrapper)
            return listener(*args)

        return self.on(name, wrapper)

    def off(self, name: str, listener: Listener) -> None:
        """Remove a listener (no error if absent)."""
        listeners = self._listeners.get(name, [])
        if listener in listeners:
            listeners.remove(listener)

    def listener_count(self, name: str) -> int:
        """How many listeners ``name`` has."""
        return len(self._listeners.get(name, ()))

    async def wait_for(
        self,
        name: str,
        predicate: Callable[..., bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[Any, ...]:
        """Wait for the next ``name`` event whose payload satisfies ``predicate``; return the payload."""
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
        """Call every listener of ``name``; failures become ``error`` events."""
        for listener in list(self._listeners.get(name, ())):
            try:
                result = listener(*args)
            except Exception as exc:
                self._failed(name, listener, exc)
                continue
            if inspect.isawaitable(result):
                self._track(name, listener, result)

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
        log.error("listener %s for %r raised %r", what, name, exc, exc_info=exc)
        if name != "error":
            self.emit("error", exc)

    async def drain(self) -> None:
        """Wait for running async listeners to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel_pending(self) -> None:
        """Cancel running async listeners."""
        for task in list(self._tasks):
            task.cancel()
