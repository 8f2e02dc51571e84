"""Reconciliation: ask the master about tasks until every one is answered.

After each SUBSCRIBED, every task the scheduler knows is reconciled
explicitly (retried with backoff until each has an answer) and, unless the
framework is brand new, once implicitly (the master answers for every task it
knows, which finds tasks launched but never recorded). `Reconciler.settled`
is called once the first round was sent and its implicit answers have had a
moment to arrive. A re-attaching scheduler holds its launches until then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from mesos_framework.errors import MesosError
from mesos_framework.scheduler import calls

__all__ = ["Reconciler"]

log = logging.getLogger("mesos_framework.scheduler")

_Send = Callable[..., Coroutine[Any, Any, None]]


class Reconciler:
    """Reconciliation rounds for one scheduler.

    Args:
        send: sends a call (`send(call, wait=False)`).
        spawn: runs a coroutine for the current subscription.
        report: reports an error.
        lock: held while sending, so a reconciliation never overtakes an ACCEPT in flight.
        launches_answered: awaited under the lock before sending: the ACCEPTs written without
            waiting for their answers have been answered.
        retry_minimum / retry_maximum: the backoff between explicit rounds.
        interval: the period of the implicit reconciliation (0: never).
        on_settled: called once the first round after a subscription is answered.
    """

    def __init__(
        self,
        *,
        send: _Send,
        spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]],
        report: Callable[[BaseException], None],
        lock: asyncio.Lock,
        retry_minimum: float,
        retry_maximum: float,
        interval: float,
        on_settled: Callable[[], None],
        launches_answered: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._send = send
        self._spawn = spawn
        self._report = report
        self._lock = lock
        self.retry_minimum = retry_minimum
        self.retry_maximum = retry_maximum
        self.interval = interval
        self._on_settled = on_settled
        self._launches_answered = launches_answered
        #: Tasks asked about and not answered yet: task ID -> agent ID.
        self.unanswered: dict[str, str | None] = {}
        self.running = False
        self._settling = False
        self._watch: asyncio.Task[Any] | None = None
        self._watch_until = 0.0

    def answered(self, task_id: str) -> None:
        """An update arrived for a task."""
        self.unanswered.pop(task_id, None)

    def subscribed(self, known: Iterable[tuple[str, str | None]], *, registered_anew: bool) -> None:
        """Start this subscription's rounds (call on SUBSCRIBED, before any launch)."""
        # Taken now, before any offer of this subscription launches something: a task whose
        # ACCEPT is still on its way would be reported lost by an explicit reconciliation.
        self.unanswered = dict(known)
        # A framework Mesos has just registered has no tasks to find: an implicit reconciliation
        # would only be answered (after the first launches) with a TASK_STAGING per new task.
        implicit = not (registered_anew and not self.unanswered)
        if implicit or self.unanswered:
            self._settling = True
            self._spawn(self._rounds(implicit=implicit, retried=False))
        else:
            self._on_settled()
        self._spawn(self._periodic())
        if asyncio.get_running_loop().time() < self._watch_until:
            self._watch = self._spawn(self._watch_agents(10.0))  # lost agents may still come back

    def launch_uncertain(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        """An ACCEPT's fate is unknown: reconcile its tasks until answered."""
        self.unanswered.update(pairs)
        if not self.running:
            self._spawn(self._rounds(implicit=False, retried=True))

    async def sync(self, pairs: dict[str, str | None]) -> None:
        """Reconcile these tasks explicitly (retried until answered) and all others implicitly."""
        async with self._lock:
            await self._no_launch_in_flight()
            if pairs:
                await self._send(calls.reconcile(list(pairs.items())))
            await self._send(calls.reconcile())
        self.unanswered.update(pairs)
        if not self.running and pairs:
            self._spawn(self._rounds(implicit=False, retried=True))

    async def _no_launch_in_flight(self) -> None:
        if self._launches_answered is not None:
            await self._launches_answered()

    async def _rounds(self, *, implicit: bool, retried: bool) -> None:
        self.running = True
        try:
            await self._loop(implicit, retried)
        finally:
            self.running = False

    async def _loop(self, implicit: bool, retried: bool) -> None:
        delay = self.retry_minimum
        first = implicit
        if retried:  # the first round was just sent, or the call's fate is being settled
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_maximum)
        while self.unanswered or first:
            sent = False
            try:
                async with self._lock:  # never overtake an ACCEPT in flight
                    await self._no_launch_in_flight()
                    if self.unanswered:
                        pairs = list(self.unanswered.items())
                        for start in range(0, len(pairs), 1000):
                            await self._send(calls.reconcile(pairs[start : start + 1000]), wait=False)
                    if first:
                        # Implicit: the master answers for every task it knows.
                        await self._send(calls.reconcile(), wait=False)
                        first = False
                sent = True
            except MesosError as exc:
                self._report(exc)  # retried below
            if self._settling and sent:
                # The implicit answers come on the event stream at once: give them a moment. Tasks
                # still unanswered after it hold their instances anyway (they are known), so the
                # launches need not wait for them (an agent the master is still recovering may
                # not be answered for minutes).
                moment = min(delay, 1.0)
                await asyncio.sleep(moment)
                self._settle()
                await asyncio.sleep(delay - moment)
            else:
                await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_maximum)
        self._settle()

    def agent_lost(self, *, interval: float = 10.0, window: float = 660.0) -> None:
        """A task was lost with its agent: reconcile implicitly every `interval` s for `window` s.

        An agent that comes back (a partition heals) brings its tasks back as running, and Mesos
        sends no update for them: only a reconciliation finds them (and their instances may have
        been relaunched meanwhile). The window covers the master's agent reregistration timeout.
        """
        loop = asyncio.get_running_loop()
        self._watch_until = loop.time() + window
        if self._watch is None or self._watch.done():
            self._watch = self._spawn(self._watch_agents(interval))

    async def _watch_agents(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < self._watch_until:
            await asyncio.sleep(interval)
            try:
                await self._send(calls.reconcile(), wait=False)
            except MesosError as exc:
                self._report(exc)

    def _settle(self) -> None:
        if self._settling:
            self._settling = False
            log.info("reconciled: every known task is accounted for")
            self._on_settled()

    async def _periodic(self) -> None:
        if self.interval <= 0:
            return
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._send(calls.reconcile(), wait=False)
            except MesosError as exc:
                self._report(exc)
