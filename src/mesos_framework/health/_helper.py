"""The task health helper: an application-level HTTP poller over a scheduler's tasks.

It polls ``GET <scheme>://<host>:<port><url>`` for every running task,
counts consecutive failures, marks a task unhealthy once the count reaches
``grace_count``, and then emits an event *on the scheduler* for that
failure and for every later one, as the seed's ``TaskHealthHelper`` did.
The state is written into the task's runtime properties
(``<prefix>checkFailCount``, ``<prefix>healthy`` and the additional
properties) and also kept by the helper, so that it survives a status
update that replaces the task's properties.

The helper needs only a small part of the scheduler, described by
`HealthCheckTarget` and `HealthCheckedTask`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import ssl as ssl_module
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp

from mesos_framework._tasks import cancel_and_wait
from mesos_framework.errors import ConfigurationError

__all__ = [
    "FAIL_COUNT_PROPERTY",
    "HEALTHY_PROPERTY",
    "AdditionalProperty",
    "BodyCheck",
    "HealthCheckTarget",
    "HealthCheckedTask",
    "TaskHealth",
    "TaskHealthHelper",
]

logger = logging.getLogger(__name__)

FAIL_COUNT_PROPERTY = "checkFailCount"
"""Name (after the prefix) of the consecutive-failure counter property, as in the seed."""

HEALTHY_PROPERTY = "healthy"
"""Name (after the prefix) of the health property, as in the seed."""

_RUNNING_NAMES = frozenset({"TASK_RUNNING", "RUNNING"})
_TASK_RUNNING = 1  # mesos.v1.TaskState.TASK_RUNNING


class HealthCheckedTask(Protocol):
    """What the helper reads (and writes) on a task the scheduler tracks.

    ``state`` may be the state's name (``"TASK_RUNNING"``), its number or an
    enum of either. ``properties`` is the task's runtime information the
    helper writes its results into; a scheduler should keep it across status
    updates (the helper re-applies its own keys anyway).
    """

    @property
    def task_id(self) -> str:
        """The task's id (the helper's key for its state)."""
        ...

    @property
    def name(self) -> str:
        """The task's name, matched by ``task_name_filter``."""
        ...

    @property
    def state(self) -> object:
        """The task's latest state."""
        ...

    @property
    def hostname(self) -> str | None:
        """Host name of the agent running the task."""
        ...

    @property
    def ip(self) -> str | None:
        """IP address of the task (or its agent), if known."""
        ...

    @property
    def ports(self) -> Sequence[int]:
        """The task's host ports, in the order of its spec."""
        ...

    @property
    def properties(self) -> MutableMapping[str, Any]:
        """The task's runtime properties (the seed's ``runtimeInfo``)."""
        ...


class HealthCheckTarget(Protocol):
    """The part of a scheduler the helper uses."""

    @property
    def launched_tasks(self) -> Iterable[HealthCheckedTask]:
        """The tasks launched (and not yet ended) by the scheduler."""
        ...

    def emit(self, event: str, payload: Any) -> object:
        """Deliver ``payload`` to the listeners of ``event`` (may return an awaitable)."""
        ...


BodyCheck = Callable[[Any, str], object]
"""``check_body_function(task, body)``: truthy means healthy; may be a coroutine function."""


@dataclass(frozen=True, slots=True)
class AdditionalProperty:
    """An extra, unprefixed property mirrored from the health result.

    It is written with the result (``not result`` with ``inverse``) whenever the
    check succeeds, and on failure only if ``set_unhealthy`` is true. Example:
    ``AdditionalProperty("sealed", set_unhealthy=True, inverse=True)`` gives
    ``sealed = False`` when healthy and ``sealed = True`` when not.
    """

    name: str
    set_unhealthy: bool = False
    inverse: bool = False

    @classmethod
    def parse(
        cls, value: AdditionalProperty | str | MutableMapping[str, Any] | dict[str, Any]
    ) -> AdditionalProperty:
        """Accept an instance, a bare name, or a mapping with ``name``, ``set_unhealthy``, ``inverse``
        (the seed's camelCase ``setUnhealthy`` is accepted too)."""
        if isinstance(value, AdditionalProperty):
            return value
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, MutableMapping | dict):
            raise ConfigurationError(
                f"expected a name, a mapping or AdditionalProperty, got {type(value).__name__}",
                option="health.additional_properties",
            )
        unknown = set(value) - {"name", "set_unhealthy", "setUnhealthy", "inverse"}
        if unknown:
            raise ConfigurationError(f"unknown keys {sorted(unknown)}", option="health.additional_properties")
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError("each entry needs a name", option="health.additional_properties")
        return cls(
            name,
            set_unhealthy=bool(value.get("set_unhealthy", value.get("setUnhealthy", False))),
            inverse=bool(value.get("inverse", False)),
        )


@dataclass(slots=True)
class TaskHealth:
    """The helper's own record of one task's health."""

    fail_count: int = 0
    healthy: Any = None  # None until the first success or the grace count; else the result


class TaskHealthHelper:
    """Poll every running task's HTTP endpoint and track its health.

    Options (the seed's, in snake case, same defaults):

    - ``url`` (required): request path, e.g. ``"/health"``.
    - ``interval``: seconds between rounds (fractions allowed), default 30.
    - ``grace_count``: consecutive failures before a task is unhealthy, default 4.
    - ``port_index``: which of the task's ports to check, default 0.
    - ``property_prefix``: prefix of the ``checkFailCount``/``healthy``
      properties, so several helpers can check one task; default ``""``.
    - ``error_event``: event emitted on the scheduler with the task, default
      ``property_prefix + "task_unhealthy"``.
    - ``additional_properties``: `AdditionalProperty` entries (or
      mappings with ``name``, ``set_unhealthy``, ``inverse``).
    - ``task_name_filter``: regular expression searched in the task's name.
    - ``status_codes``: accepted HTTP statuses, default ``(200,)``.
    - ``check_body_function``: ``fn(task, body)``; truthy is healthy and
      becomes the ``healthy`` value; may be async.

    And what the seed lacked: ``timeout`` (seconds per request, body check
    included; default ``min(interval, 10)``), ``scheme`` (``"http"`` or
    ``"https"``) with ``ssl`` (an `ssl.SSLContext`, or ``False`` to skip
    verification), and ``address`` (``"hostname"``, the seed's choice, or
    ``"ip"``, which falls back to the hostname when a task has no IP).

    The algorithm per task and round: only a task in ``TASK_RUNNING`` whose
    name passes the filter and which has a host and a (non-zero) port at
    ``port_index`` is checked. An accepted status (and body) resets the count
    and sets ``healthy``; anything else (other status, falsy body check,
    connection error, timeout) adds one failure. When the count *equals*
    ``grace_count`` the task becomes unhealthy and ``error_event`` is
    emitted; every later failure of an unhealthy task emits it again.
    """

    def __init__(
        self,
        scheduler: HealthCheckTarget,
        *,
        url: str,
        interval: float = 30.0,
        grace_count: int = 4,
        port_index: int = 0,
        property_prefix: str = "",
        error_event: str | None = None,
        additional_properties: Iterable[AdditionalProperty | str | dict[str, Any]] = (),
        task_name_filter: str | re.Pattern[str] | None = None,
        status_codes: Iterable[int] = (200,),
        check_body_function: BodyCheck | None = None,
        timeout: float | None = None,
        scheme: Literal["http", "https"] = "http",
        ssl: ssl_module.SSLContext | bool | None = None,
        address: Literal["hostname", "ip"] = "hostname",
    ) -> None:
        if not isinstance(url, str) or not url.startswith("/"):
            raise ConfigurationError(f"must be a path starting with '/', got {url!r}", option="health.url")
        if not interval > 0:
            raise ConfigurationError(f"must be > 0 seconds, got {interval!r}", option="health.interval")
        if isinstance(grace_count, bool) or not isinstance(grace_count, int) or grace_count < 1:
            raise ConfigurationError(
                f"must be an integer >= 1, got {grace_count!r}", option="health.grace_count"
            )
        if isinstance(port_index, bool) or not isinstance(port_index, int) or port_index < 0:
            raise ConfigurationError(
                f"must be an integer >= 0, got {port_index!r}", option="health.port_index"
            )
        codes = tuple(status_codes)
        if not codes or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
            raise ConfigurationError(
                f"must be HTTP status codes (100-599), got {codes!r}", option="health.status_codes"
            )
        if timeout is None:
            timeout = min(float(interval), 10.0)
        if not timeout > 0:
            raise ConfigurationError(f"must be > 0 seconds, got {timeout!r}", option="health.timeout")
        if scheme not in ("http", "https"):
            raise ConfigurationError(f"must be 'http' or 'https', got {scheme!r}", option="health.scheme")
        if address not in ("hostname", "ip"):
            raise ConfigurationError(f"must be 'hostname' or 'ip', got {address!r}", option="health.address")
        if check_body_function is not None and not callable(check_body_function):
            raise ConfigurationError(
                "must be callable as fn(task, body)", option="health.check_body_function"
            )
        try:
            pattern = re.compile(task_name_filter) if isinstance(task_name_filter, str) else task_name_filter
        except re.error as exc:
            raise ConfigurationError(
                f"not a regular expression: {exc}", option="health.task_name_filter"
            ) from exc

        self.scheduler = scheduler
        self.url = url
        self.interval = float(interval)
        self.grace_count = grace_count
        self.port_index = port_index
        self.property_prefix = property_prefix
        self.error_event = error_event if error_event is not None else property_prefix + "task_unhealthy"
        add_names = getattr(scheduler, "add_event_names", None)
        if add_names is not None:
            add_names(self.error_event)  # listeners can be added for it without registering it first
        self.additional_properties = tuple(AdditionalProperty.parse(p) for p in additional_properties)
        self.task_name_filter = pattern
        self.status_codes = frozenset(codes)
        self.check_body_function = check_body_function
        self.timeout = float(timeout)
        self.scheme = scheme
        self.ssl = ssl
        self.address = address

        self._health: dict[str, TaskHealth] = {}
        self._in_flight: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        self._loop_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ properties

    @property
    def fail_count_property(self) -> str:
        """The full name of the failure counter property (``<prefix>checkFailCount``)."""
        return self.property_prefix + FAIL_COUNT_PROPERTY

    @property
    def healthy_property(self) -> str:
        """The full name of the health property (``<prefix>healthy``)."""
        return self.property_prefix + HEALTHY_PROPERTY

    def health_of(self, task_id: str) -> TaskHealth | None:
        """The helper's record for a task, or None if it was never checked."""
        return self._health.get(task_id)

    @property
    def running(self) -> bool:
        """True while the periodic checks are scheduled."""
        return self._loop_task is not None and not self._loop_task.done()

    # ----------------------------------------------------------- scheduling

    def setup_health_check(self) -> None:
        """Start checking every ``interval`` seconds (restarting if already running).

        Must be called with a running event loop. The first round runs one
        interval from now, as in the seed.
        """
        self.stop_health_check()
        self._loop_task = asyncio.get_running_loop().create_task(self._periodic(), name="task-health-helper")

    def stop_health_check(self) -> None:
        """Stop the periodic checks (a round in progress is cancelled)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            self._loop_task = None

    async def close(self) -> None:
        """Stop checking and release the HTTP connections."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            await cancel_and_wait([task])
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> TaskHealthHelper:
        self.setup_health_check()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _periodic(self) -> None:
        loop = asyncio.get_running_loop()
        next_round = loop.time() + self.interval
        while True:
            await asyncio.sleep(max(next_round - loop.time(), 0.0))
            next_round = max(next_round + self.interval, loop.time())
            try:
                await self.check_running_instances()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("health check round failed")

    # --------------------------------------------------------------- checks

    async def check_running_instances(self) -> None:
        """One round: check every eligible task concurrently."""
        tasks = list(self.scheduler.launched_tasks)
        current = {str(t.task_id) for t in tasks}
        for gone in set(self._health) - current:
            del self._health[gone]
        await asyncio.gather(*(self.check_instance(t) for t in tasks))

    def is_eligible(self, task: HealthCheckedTask) -> bool:
        """True if ``task`` is checked this round (running, name matches, has host and port)."""
        if not _is_running(task.state):
            return False
        if self.task_name_filter is not None and not self.task_name_filter.search(task.name or ""):
            return False
        if not task.hostname and not (self.address == "ip" and task.ip):
            return False
        return self._port(task) is not None

    def url_for(self, task: HealthCheckedTask) -> str:
        """The URL checked for ``task``."""
        host = task.ip if self.address == "ip" and task.ip else task.hostname
        assert host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self._port(task)}{self.url}"

    def _port(self, task: HealthCheckedTask) -> int | None:
        ports = list(task.ports or ())
        if self.port_index >= len(ports):
            return None
        try:
            port = int(ports[self.port_index])
        except (TypeError, ValueError):
            return None
        return port if port > 0 else None

    async def check_instance(self, task: HealthCheckedTask) -> None:
        """Check one task now (if eligible) and record the result."""
        if not self.is_eligible(task):
            return
        task_id = str(task.task_id)
        if task_id in self._in_flight:
            return  # the previous check of this task is still running
        self._in_flight.add(task_id)
        try:
            self._restore(task)
            url = self.url_for(task)
            try:
                async with asyncio.timeout(self.timeout):
                    result = await self._probe(task, url)
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                logger.info(
                    "health check of task %s: no answer from %s within %ss", task_id, url, self.timeout
                )
                result = None
            except (aiohttp.ClientError, OSError) as exc:
                logger.info("health check of task %s: %s failed: %s", task_id, url, exc)
                result = None
            except Exception:
                logger.exception("health check of task %s: body check raised", task_id)
                result = None
            if result:
                self._set_healthy(task, result)
            else:
                await self.set_check_failed(task)
        finally:
            self._in_flight.discard(task_id)

    async def _probe(self, task: HealthCheckedTask, url: str) -> object:
        """GET the URL; the health result (truthy) or a falsy value."""
        session = self._http()
        ssl_arg: Any = self.ssl if self.ssl is not None else True
        async with session.get(url, ssl=ssl_arg, allow_redirects=False) as response:
            if response.status not in self.status_codes:
                logger.info("health check of task %s: %s answered %d", task.task_id, url, response.status)
                return None
            if self.check_body_function is None:
                return True
            body = await response.text(errors="replace")
        value = self.check_body_function(task, body)
        if inspect.isawaitable(value):
            value = await value
        if not value:
            logger.info("health check of task %s: the body check of %s said unhealthy", task.task_id, url)
        return value

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    # ---------------------------------------------------------------- state

    def _state(self, task: HealthCheckedTask) -> TaskHealth:
        task_id = str(task.task_id)
        health = self._health.get(task_id)
        if health is None:
            # A task restored with properties (e.g. from ZooKeeper) keeps its count and health.
            props = task.properties
            count = props.get(self.fail_count_property, 0)
            health = TaskHealth(
                fail_count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
                healthy=props.get(self.healthy_property),
            )
            self._health[task_id] = health
        return health

    def _restore(self, task: HealthCheckedTask) -> None:
        """Re-apply the recorded state if a status update replaced the task's properties."""
        health = self._state(task)
        props = task.properties
        if props.get(self.fail_count_property) != health.fail_count:
            props[self.fail_count_property] = health.fail_count
        if health.healthy is not None and props.get(self.healthy_property) != health.healthy:
            props[self.healthy_property] = health.healthy
            self.set_properties(task, health.healthy)

    def _set_healthy(self, task: HealthCheckedTask, value: object) -> None:
        health = self._state(task)
        health.fail_count = 0
        health.healthy = value
        props = task.properties
        props[self.fail_count_property] = 0
        props[self.healthy_property] = value
        self.set_properties(task, value)

    async def set_check_failed(self, task: HealthCheckedTask) -> None:
        """Record one failed check (the seed's ``setCheckFailed``)."""
        health = self._state(task)
        health.fail_count += 1
        task.properties[self.fail_count_property] = health.fail_count
        if health.fail_count == self.grace_count:
            health.healthy = False
            task.properties[self.healthy_property] = False
            self.set_properties(task, False)
            logger.warning("task %s is unhealthy after %d failed checks", task.task_id, health.fail_count)
            await self._emit(task)
        elif health.healthy is False:
            await self._emit(task)

    def set_properties(self, task: HealthCheckedTask, value: object) -> None:
        """Write the additional properties for a health result (the seed's ``setProperties``)."""
        for prop in self.additional_properties:
            if value or prop.set_unhealthy:
                task.properties[prop.name] = (not value) if prop.inverse else value

    async def _emit(self, task: HealthCheckedTask) -> None:
        try:
            result = self.scheduler.emit(self.error_event, task)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("listener of %r failed", self.error_event)


def _is_running(state: object) -> bool:
    if isinstance(state, str):
        return state.upper() in _RUNNING_NAMES
    name = getattr(state, "name", None)
    if isinstance(name, str) and name.upper() in _RUNNING_NAMES:
        return True
    return isinstance(state, int) and not isinstance(state, bool) and state == _TASK_RUNNING
