"""The `Executor`: an asyncio client of the agent's v1 executor API.

One supervisor coroutine (`Executor.run()`) owns the subscription: it
sends SUBSCRIBE (with the unacknowledged tasks and updates), reads the event
stream, dispatches every event to its handler and listeners, and reacts to a
lost connection as Mesos's own executor library does: without checkpointing
it shuts down; with checkpointing it retries after a random delay in
``[0, MESOS_SUBSCRIPTION_BACKOFF_MAX]`` until ``MESOS_RECOVERY_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from mesos_framework._events import Events
from mesos_framework.errors import (
    APIError,
    ConfigurationError,
    MesosError,
    MessageError,
    TransportError,
)
from mesos_framework.executor._env import ExecutorEnvironment
from mesos_framework.protocol import ContentType
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2
from mesos_framework.tasks.state import TaskState
from mesos_framework.transport import Backoff, EventStream, HttpClient

__all__ = ["EVENT_NAMES", "HANDLER_NAMES", "Executor", "Handler", "Listener"]

logger = logging.getLogger(__name__)

Listener = Callable[[Any], object]
"""A listener of `Executor.on()`: called with the event payload; may be a coroutine function."""

Handler = Callable[["Executor", Any], object]
"""An entry of ``handlers``: called as ``handler(executor, payload)``; may be a coroutine function."""

_L = TypeVar("_L", bound=Listener)
_T = TypeVar("_T")

_Event = executor_pb2.Event
_Call = executor_pb2.Call

HANDLER_NAMES: tuple[str, ...] = (
    "SUBSCRIBED",
    "LAUNCH",
    "LAUNCH_GROUP",
    "KILL",
    "ACKNOWLEDGED",
    "MESSAGE",
    "SHUTDOWN",
    "ERROR",
    "HEARTBEAT",
)
"""The event types that ``handlers`` may override (upper case, as Mesos names them)."""

EVENT_NAMES: frozenset[str] = frozenset(
    [name.lower() for name in HANDLER_NAMES]
    + ["sent_subscribe", "sent_update", "sent_message", "sent_heartbeat", "disconnected"]
)
"""Names accepted by `Executor.on()`.

The lower-cased Mesos events carry their payload message (``launch`` an
``Event.Launch``, ``kill`` an ``Event.Kill``...; ``shutdown`` and ``heartbeat``
carry ``None``). ``sent_subscribe`` carries the SUBSCRIBE ``Call``,
``sent_update`` the ``TaskStatus`` sent, ``sent_message`` the bytes sent,
``disconnected`` the exception that ended the stream (or ``None``).
"""

_PAYLOAD_FIELD = {
    "SUBSCRIBED": "subscribed",
    "LAUNCH": "launch",
    "LAUNCH_GROUP": "launch_group",
    "KILL": "kill",
    "ACKNOWLEDGED": "acknowledged",
    "MESSAGE": "message",
    "ERROR": "error",
}


@dataclass(frozen=True, slots=True)
class _Route:
    type_name: str
    name: str
    field: str | None
    before: Callable[[Any], Coroutine[Any, Any, None]] | None
    after: Callable[[Any], Coroutine[Any, Any, None]] | None


# How long to leave for sending the last updates once tasks are killed at SHUTDOWN.
_SHUTDOWN_MARGIN = 2.0


class _SubscriptionBackoff(Backoff):
    """Uniform delays in ``[0, maximum]``, as Mesos's executor library waits between attempts."""

    def __init__(self, maximum: float, rng: random.Random) -> None:
        super().__init__(minimum=max(maximum, 1e-3), maximum=max(maximum, 1e-3), factor=1.0, rng=rng)
        self._uniform_max = maximum
        self._random = rng

    def next(self) -> float:
        return max(self._random.uniform(0.0, self._uniform_max), 1e-3)


@dataclass(slots=True)
class _Pending:
    """An update not yet acknowledged by the agent."""

    update: executor_pb2.Call.Update
    delivered: bool = False  # the agent answered 202, or it went out in a SUBSCRIBE


class Executor:
    """A Mesos executor speaking the v1 HTTP executor API.

    Construct it inside the process the agent started (the environment is read
    with `ExecutorEnvironment.from_environ()` unless ``env`` is given),
    register handlers or listeners, then ``await executor.run()``, which
    returns once the executor has shut down.

    Behaviour per event is chosen like on the Scheduler: ``handlers`` maps an
    upper-case event type (``"LAUNCH"``, ``"KILL"``...) to a callable
    ``handler(executor, payload)`` that *replaces* the default for that event;
    without one, the method ``handle_<type>`` runs (override it in a
    subclass). The library's bookkeeping (subscription info, unacknowledged
    tasks and updates, shutdown) happens regardless, and listeners added with
    `on()` are called after the handler with the same payload.

    The defaults: ``LAUNCH`` does nothing (subclass or use
    `CommandExecutor`), ``KILL`` reports
    ``TASK_KILLED`` for an active task, ``SHUTDOWN`` kills every active task
    through the KILL path within the shutdown grace period, then ends
    `run()`.

    ``rng`` draws the reconnection delays (pass a seeded one for repeatable
    tests); ``subscribe_timeout`` bounds the first subscription attempt
    (Mesos destroys an executor that does not subscribe within its
    registration timeout, one minute by default).
    """

    def __init__(
        self,
        env: ExecutorEnvironment | None = None,
        *,
        handlers: Mapping[str, Handler] | None = None,
        content_type: ContentType = ContentType.PROTOBUF,
        subscribe_timeout: float = 60.0,
        request_timeout: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self.env = env if env is not None else ExecutorEnvironment.from_environ()
        self.content_type = content_type
        self.subscribe_timeout = subscribe_timeout
        self.request_timeout = request_timeout
        self._rng = rng if rng is not None else random.Random()
        self.handlers: dict[str, Handler] = _check_handlers(handlers or {})
        # Listener failures are only logged: "error" is the agent's ERROR event here.
        self._events = Events(EVENT_NAMES, owner="executor", error_event=None)

        self.framework_id = mesos_pb2.FrameworkID(value=self.env.framework_id)
        self.executor_id = mesos_pb2.ExecutorID(value=self.env.executor_id)
        self.agent_id: mesos_pb2.AgentID | None = (
            mesos_pb2.AgentID(value=self.env.agent_id) if self.env.agent_id else None
        )
        self.executor_info: mesos_pb2.ExecutorInfo | None = None
        self.framework_info: mesos_pb2.FrameworkInfo | None = None
        self.agent_info: mesos_pb2.AgentInfo | None = None
        self.container_id: mesos_pb2.ContainerID | None = None

        self._tasks: dict[str, mesos_pb2.TaskInfo] = {}
        self._unacked_tasks: dict[str, mesos_pb2.TaskInfo] = {}
        self._unacked_updates: dict[bytes, _Pending] = {}
        self._subscribed = False
        self._subscriptions = 0
        self._last_heartbeat: float | None = None
        self._client: HttpClient[executor_pb2.Event] | None = None
        self._send_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self._finished = asyncio.Event()
        self._started = False
        self._changed = asyncio.Event()
        self._shutdown_task: asyncio.Task[None] | None = None
        self._run_task: asyncio.Task[Any] | None = None
        self._routes = self._dispatch_table()  # built once
        self._defaults: dict[str, Callable[[Any], object]] = {
            name: getattr(self, f"handle_{name.lower()}") for name in HANDLER_NAMES
        }

    # ------------------------------------------------------------------ state

    @property
    def subscribed(self) -> bool:
        """True while a subscription is up (between SUBSCRIBED and its loss)."""
        return self._subscribed

    @property
    def subscriptions(self) -> int:
        """How many times SUBSCRIBED has arrived (1 after the first, more after reconnects)."""
        return self._subscriptions

    @property
    def tasks(self) -> Mapping[str, mesos_pb2.TaskInfo]:
        """Active tasks by task id: launched here, no terminal update sent yet."""
        return dict(self._tasks)

    @property
    def unacknowledged_tasks(self) -> list[mesos_pb2.TaskInfo]:
        """Launched tasks none of whose updates the agent has acknowledged yet."""
        return list(self._unacked_tasks.values())

    @property
    def unacknowledged_updates(self) -> list[mesos_pb2.TaskStatus]:
        """Sent (or queued) status updates the agent has not acknowledged, in order."""
        return [p.update.status for p in self._unacked_updates.values()]

    @property
    def last_heartbeat(self) -> float | None:
        """``time.monotonic()`` of the last HEARTBEAT event, if any."""
        return self._last_heartbeat

    def framework_has_capability(self, name: str) -> bool:
        """True if the subscribed framework declared the capability (e.g. ``"TASK_KILLING_STATE"``)."""
        if self.framework_info is None:
            return False
        wanted = mesos_pb2.FrameworkInfo.Capability.Type.Value(name)
        return any(c.type == wanted for c in self.framework_info.capabilities)

    # -------------------------------------------------------------- listeners

    @overload
    def on(self, event: str, listener: None = None) -> Callable[[_L], _L]: ...

    @overload
    def on(self, event: str, listener: _L) -> _L: ...

    def on(self, event: str, listener: _L | None = None) -> Any:
        """Call ``listener(payload)`` whenever ``event`` happens; usable as a decorator.

        ``event`` is one of `EVENT_NAMES`; the listener may be a plain
        function or a coroutine function (awaited in order). A listener that
        raises is logged and does not stop the executor.
        """
        return self._events.on(event, listener)

    def once(self, event: str, listener: _L) -> _L:
        """Like `on`, for the next ``event`` only."""
        return self._events.once(event, listener)

    def off(self, event: str, listener: Listener) -> None:
        """Remove a listener added with `on()` (no error if absent)."""
        self._events.off(event, listener)

    async def wait_for(
        self,
        event: str,
        predicate: Callable[..., bool] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[Any, ...]:
        """Wait for the next ``event`` whose payload satisfies ``predicate``; return the payload."""
        return await self._events.wait_for(event, predicate, timeout=timeout)

    def emit(self, event: str, payload: object = None) -> None:
        """Deliver ``payload`` to the listeners of ``event`` (coroutine listeners run as tasks)."""
        self._events.emit(event, payload)

    # -------------------------------------------------------------- the calls

    def _call(self, call_type: int) -> executor_pb2.Call:
        call = _Call(type=call_type)
        call.framework_id.CopyFrom(self.framework_id)
        call.executor_id.CopyFrom(self.executor_id)
        return call

    def _subscribe_call(self) -> executor_pb2.Call:
        call = self._call(_Call.SUBSCRIBE)
        call.subscribe.SetInParent()
        call.subscribe.unacknowledged_tasks.extend(self._unacked_tasks.values())
        call.subscribe.unacknowledged_updates.extend(p.update for p in self._unacked_updates.values())
        return call

    def _http(self) -> HttpClient[executor_pb2.Event]:
        if self._client is None:
            backoff_max = self.env.subscription_backoff_max
            self._client = HttpClient(
                self.env.agent_url,
                api_path=self.env.api_path,
                content_type=self.content_type,
                event_type=executor_pb2.Event,
                token=self.env.authentication_token,
                request_timeout=self.request_timeout,
                backoff=_SubscriptionBackoff(backoff_max if backoff_max is not None else 2.0, self._rng),
            )
        return self._client

    async def subscribe(self, *, give_up_after: float | None = 0.0) -> EventStream[executor_pb2.Event]:
        """Send SUBSCRIBE (with the unacknowledged tasks and updates) and return the event stream.

        A low-level call: `run()` uses it and reads the stream. Connection
        failures and ``503`` are retried with random delays in
        ``[0, MESOS_SUBSCRIPTION_BACKOFF_MAX]`` for ``give_up_after`` seconds
        (``None``: forever; default: one attempt). Emits ``sent_subscribe``
        once the agent answered 200.
        """
        call = self._subscribe_call()
        included = list(self._unacked_updates.values())
        stream = await self._http().subscribe(call, give_up_after=give_up_after)
        for pending in included:
            pending.delivered = True
        await self._events.emit_wait("sent_subscribe", call)
        return stream

    async def update(self, status: mesos_pb2.TaskStatus) -> mesos_pb2.TaskStatus:
        """Send a status update reliably; returns the status as sent.

        Left-out fields are filled: ``uuid`` (a random version-4 UUID, 16
        bytes), ``timestamp`` (now), ``source`` (``SOURCE_EXECUTOR``),
        ``executor_id`` and, once known, ``agent_id``. The update is kept until
        the agent acknowledges it and re-sent with the next SUBSCRIBE; while
        the executor is not subscribed it is queued, not lost. Invalid updates
        (no task id or state, ``TASK_STAGING``, a uuid that is not 16 bytes,
        another executor's or agent's id, a source other than the executor)
        raise `MessageError`; one the agent
        refuses raises the typed `APIError`.
        Emits ``sent_update`` once the agent answered 202.
        """
        filled = mesos_pb2.TaskStatus()
        filled.CopyFrom(status)
        self._fill_status(filled)
        update = _Call.Update()
        update.status.CopyFrom(filled)
        pending = _Pending(update)
        self._unacked_updates[filled.uuid] = pending
        task_id = filled.task_id.value
        if TaskState(filled.state).is_terminal:
            self._tasks.pop(task_id, None)
            self._notify()

        async with self._send_lock:
            if not self._subscribed or pending.delivered:
                logger.debug("update %s of task %s queued until subscribed", _state_name(filled), task_id)
                return filled
            await self._send_update(pending)
        return filled

    async def _send_update(self, pending: _Pending) -> None:
        call = self._call(_Call.UPDATE)
        call.update.CopyFrom(pending.update)
        status = pending.update.status
        try:
            await self._http().send(call)
        except APIError as exc:
            if exc.retryable:
                logger.warning(
                    "agent refused update %s for now (%s); re-sent on re-subscription", _u(status), exc
                )
                return
            self._unacked_updates.pop(status.uuid, None)
            raise
        except TransportError as exc:
            logger.warning("update %s not delivered (%s); re-sent on re-subscription", _u(status), exc)
            return
        pending.delivered = True
        await self._events.emit_wait("sent_update", status)

    def _fill_status(self, status: mesos_pb2.TaskStatus) -> None:
        if not status.HasField("task_id") or not status.task_id.value:
            raise MessageError("TaskStatus.task_id", "required")
        if not status.HasField("state"):
            raise MessageError("TaskStatus.state", "required")
        if status.state == mesos_pb2.TASK_STAGING:
            raise MessageError("TaskStatus.state", "an executor may not send TASK_STAGING")
        if not status.uuid:
            status.uuid = uuid.uuid4().bytes
        elif len(status.uuid) != 16:
            raise MessageError("TaskStatus.uuid", f"must be 16 bytes, got {len(status.uuid)}")
        if not status.HasField("timestamp"):
            status.timestamp = time.time()
        if not status.HasField("source"):
            status.source = mesos_pb2.TaskStatus.SOURCE_EXECUTOR
        elif status.source != mesos_pb2.TaskStatus.SOURCE_EXECUTOR:
            raise MessageError("TaskStatus.source", "an executor must send SOURCE_EXECUTOR")
        if not status.HasField("executor_id"):
            status.executor_id.CopyFrom(self.executor_id)
        elif status.executor_id.value != self.executor_id.value:
            raise MessageError(
                "TaskStatus.executor_id",
                f"{status.executor_id.value!r} is not this executor ({self.executor_id.value!r})",
            )
        if not status.HasField("agent_id"):
            if self.agent_id is not None:
                status.agent_id.CopyFrom(self.agent_id)
        elif self.agent_id is not None and status.agent_id.value != self.agent_id.value:
            # The agent would accept it (202) and then drop it silently.
            raise MessageError(
                "TaskStatus.agent_id",
                f"{status.agent_id.value!r} is not this agent ({self.agent_id.value!r})",
            )

    async def send_status(
        self,
        task_id: str | mesos_pb2.TaskID,
        state: TaskState | int | str,
        *,
        message: str | None = None,
        reason: int | str | None = None,
        data: bytes | None = None,
        healthy: bool | None = None,
    ) -> mesos_pb2.TaskStatus:
        """Build a ``TaskStatus`` and `update()` it (a convenience)."""
        status = mesos_pb2.TaskStatus()
        if isinstance(task_id, str):
            status.task_id.value = task_id
        else:
            status.task_id.CopyFrom(task_id)
        status.state = TaskState.parse(state).value
        if message is not None:
            status.message = message
        if reason is not None:
            status.reason = mesos_pb2.TaskStatus.Reason.Value(reason) if isinstance(reason, str) else reason
        if data is not None:
            status.data = data
        if healthy is not None:
            status.healthy = healthy
        return await self.update(status)

    async def message(self, data: bytes) -> None:
        """Send framework message ``data`` to the scheduler (unreliable); emits ``sent_message``."""
        call = self._call(_Call.MESSAGE)
        call.message.data = bytes(data)
        await self._http().send(call)
        await self._events.emit_wait("sent_message", bytes(data))

    async def heartbeat(self) -> None:
        """Send a HEARTBEAT call (keeps intermediaries from closing idle connections)."""
        await self._http().send(self._call(_Call.HEARTBEAT))
        await self._events.emit_wait("sent_heartbeat", None)

    # ----------------------------------------------------------- background

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, owned by the executor (cancelled when it stops)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("executor background task %s failed", task.get_name(), exc_info=task.exception())

    def _notify(self) -> None:
        """Wake everything waiting in `_wait_until()` (tasks ended, updates acknowledged...)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, condition: Callable[[], bool]) -> None:
        while True:
            changed = self._changed
            if condition():
                return
            await changed.wait()

    # ------------------------------------------------------------ main loop

    async def run(self) -> None:
        """Subscribe, handle events and reconnect as needed; return after shutdown.

        Raises `TransportError` if the first
        subscription does not succeed within ``subscribe_timeout``, or the
        typed `APIError` if the agent refuses
        it for good (for example an unknown executor); everything later ends
        in an orderly shutdown.
        """
        if self._started:
            raise ConfigurationError("Executor.run() may only be called once", option="run")
        self._started = True
        self._run_task = asyncio.current_task()
        try:
            await self._supervise()
        finally:
            self._subscribed = False
            if self._shutdown_task is not None and not self._shutdown_task.done():
                self._shutdown_task.cancel()
                await asyncio.gather(self._shutdown_task, return_exceptions=True)
            for task in list(self._background):
                task.cancel()
            if self._background:
                await asyncio.gather(*self._background, return_exceptions=True)
            if self._client is not None:
                with contextlib.suppress(MesosError):
                    await self._client.close()
                self._client = None
            self._finished.set()
            logger.info("executor %s stopped", self.executor_id.value)

    async def stop(self) -> None:
        """Make `run()` return, without killing tasks or telling the agent; wait until it has.

        Safe to await from handlers and listeners (the event being handled is abandoned).
        """
        self._request_stop()
        task = self._run_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            await asyncio.wait({task})  # run() (a subclass's too) has returned; its outcome is its own

    def _request_stop(self) -> None:
        """Make `run()` return soon (from inside the executor, without waiting)."""
        self._finished.set()

    async def shutdown(self) -> None:
        """Kill every task within the shutdown grace period, report them, and end `run()`.

        What a SHUTDOWN event (or losing the agent for good) does; call it to
        leave on the executor's own initiative (for example on SIGTERM).
        """
        await asyncio.shield(self._begin_shutdown())

    def _begin_shutdown(self) -> asyncio.Task[None]:
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.get_running_loop().create_task(
                self._shutdown_procedure(), name=f"executor-shutdown-{self.executor_id.value}"
            )
        return self._shutdown_task

    async def _until_finished(self, coro: Coroutine[Any, Any, _T]) -> _T | None:
        """Run ``coro`` unless `run()` is asked to end first (then None)."""
        work = asyncio.ensure_future(coro)
        finished = asyncio.ensure_future(self._finished.wait())
        try:
            await asyncio.wait({work, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (work, finished):
                if not fut.done():
                    fut.cancel()
            await asyncio.gather(work, finished, return_exceptions=True)
        if work.done() and not work.cancelled():
            return work.result()
        return None

    async def _supervise(self) -> None:
        stream = await self._until_finished(self._first_subscription())
        while stream is not None and not self._finished.is_set():
            error = await self._until_finished(self._consume(stream))
            if self._finished.is_set():
                return
            self._subscribed = False
            self._notify()
            if self._shutdown_task is not None:
                await self._finished.wait()  # shutting down anyway: no reconnection
                return
            await self._events.emit_wait("disconnected", error)
            if not self.env.checkpoint:
                logger.warning("lost the agent and checkpointing is off: shutting down (%s)", error)
                await self.shutdown()
                return
            stream = await self._until_finished(self._recover())
            if stream is None and not self._finished.is_set():
                await self.shutdown()
                return

    async def _first_subscription(self) -> EventStream[executor_pb2.Event]:
        try:
            async with asyncio.timeout(self.subscribe_timeout + 1.0):
                return await self.subscribe(give_up_after=self.subscribe_timeout)
        except TimeoutError:
            raise TransportError(
                f"could not subscribe to the agent at {self.env.api_url} within {self.subscribe_timeout}s"
            ) from None

    async def _recover(self) -> EventStream[executor_pb2.Event] | None:
        """Re-subscribe after a random delay, again and again, until the recovery timeout."""
        timeout = self.env.recovery_timeout if self.env.recovery_timeout is not None else 15 * 60.0
        backoff_max = self.env.subscription_backoff_max
        backoff_max = 2.0 if backoff_max is None else backoff_max
        logger.info("lost the agent; reconnecting for up to %ss", timeout)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if self.env.agent_gone_for_good():
                        logger.error("the local cluster that ran the agent is gone: shutting down")
                        return None
                    await asyncio.sleep(self._rng.uniform(0.0, backoff_max))
                    try:
                        return await self.subscribe()
                    except (TransportError, APIError) as exc:
                        if isinstance(exc, APIError) and not exc.retryable:
                            logger.error("agent refused re-subscription: %s", exc)
                            return None
                        logger.debug("re-subscription failed: %s", exc)
        except TimeoutError:
            logger.error("agent did not come back within the recovery timeout (%ss): shutting down", timeout)
            return None

    async def _consume(self, stream: EventStream[executor_pb2.Event]) -> BaseException | None:
        """Read events until the stream ends; return why it ended."""
        try:
            async for event in stream:
                await self._dispatch(event)
        except MesosError as exc:  # transport failures and undecodable records alike
            return exc
        finally:
            with contextlib.suppress(Exception):
                await stream.close()
        return None

    def _dispatch_table(self) -> dict[int, _Route]:
        """Per event type: its name, payload field and the steps before and after its handler."""
        table: dict[int, _Route] = {}
        for type_name in HANDLER_NAMES:
            low = type_name.lower()
            table[_Event.Type.Value(type_name)] = _Route(
                type_name,
                low,
                _PAYLOAD_FIELD.get(type_name),
                getattr(self, f"_before_{low}", None),
                getattr(self, f"_after_{low}", None),
            )
        return table

    async def _dispatch(self, event: executor_pb2.Event) -> None:
        route = self._routes.get(event.type)
        if route is None:
            logger.warning("ignoring executor event of unknown type %s", event.type)
            return
        payload: Any = getattr(event, route.field) if route.field else None
        logger.debug("executor event %s", route.type_name)
        if route.before is not None:
            await route.before(payload)
        if route.type_name == "SHUTDOWN":
            self._begin_shutdown()  # runs beside the stream, which still carries ACKNOWLEDGED
            return
        await self._run_handler(route.type_name, payload)
        await self._events.emit_wait(route.name, payload)
        if route.after is not None:
            await route.after(payload)

    async def _run_handler(self, type_name: str, payload: Any) -> None:
        custom = self.handlers.get(type_name)
        try:
            result = custom(self, payload) if custom is not None else self._defaults[type_name](payload)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("handler of executor event %s failed", type_name)
            if type_name == "LAUNCH":
                await self._fail_tasks([payload.task], f"executor failed to launch the task: {exc!r}")
            elif type_name == "LAUNCH_GROUP":
                await self._fail_tasks(
                    payload.task_group.tasks, f"executor failed to launch the group: {exc!r}"
                )

    async def _fail_tasks(self, tasks: Iterable[mesos_pb2.TaskInfo], message: str) -> None:
        for task in tasks:
            if task.task_id.value in self._tasks:
                with contextlib.suppress(MesosError):
                    await self.send_status(task.task_id, TaskState.TASK_FAILED, message=message)

    # -------------------------------------------------- library bookkeeping

    async def _before_subscribed(self, payload: executor_pb2.Event.Subscribed) -> None:
        self.executor_info = payload.executor_info
        self.framework_info = payload.framework_info
        self.agent_info = payload.agent_info
        if payload.HasField("container_id"):
            self.container_id = payload.container_id
        if payload.agent_info.HasField("id"):
            self.agent_id = payload.agent_info.id
        self._subscribed = True
        self._subscriptions += 1
        logger.info(
            "executor %s subscribed to agent %s (subscription %d)",
            self.executor_id.value,
            self.agent_id.value if self.agent_id else "?",
            self._subscriptions,
        )
        # Updates queued after the SUBSCRIBE call was built have not reached the agent yet.
        async with self._send_lock:
            for pending in list(self._unacked_updates.values()):
                if not pending.delivered and self._subscribed:
                    try:
                        await self._send_update(pending)
                    except APIError as exc:
                        logger.error("agent refused queued update %s: %s", _u(pending.update.status), exc)

    async def _before_launch(self, payload: executor_pb2.Event.Launch) -> None:
        self._track(payload.task)

    async def _before_launch_group(self, payload: executor_pb2.Event.LaunchGroup) -> None:
        for task in payload.task_group.tasks:
            self._track(task)

    def _track(self, task: mesos_pb2.TaskInfo) -> None:
        self._tasks[task.task_id.value] = task
        self._unacked_tasks[task.task_id.value] = task

    async def _before_acknowledged(self, payload: executor_pb2.Event.Acknowledged) -> None:
        self._unacked_updates.pop(payload.uuid, None)
        self._unacked_tasks.pop(payload.task_id.value, None)
        self._notify()

    async def _before_heartbeat(self, payload: None) -> None:
        self._last_heartbeat = time.monotonic()

    async def _before_error(self, payload: executor_pb2.Event.Error) -> None:
        logger.error("agent sent ERROR: %s", payload.message)

    # ---------------------------------------------------------- shutdown

    async def _shutdown_procedure(self) -> None:
        grace = self.env.shutdown_grace_period
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        logger.info("executor %s shutting down (grace period %ss)", self.executor_id.value, grace)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(grace - 0.5, grace * 0.5)):
                    await self._run_handler("SHUTDOWN", None)
                    await self._events.emit_wait("shutdown", None)
            # Whatever is still active now is reported as killed: the agent destroys the container next.
            for task_id in list(self._tasks):
                with contextlib.suppress(MesosError):
                    await self.send_status(task_id, TaskState.TASK_KILLED, message="executor shut down")
            # Give the agent the rest of the grace period to acknowledge the last updates.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(deadline - loop.time() - 0.25, 0.0)):
                    await self._wait_until(lambda: not self._subscribed or not self._unacked_updates)
        finally:
            self._request_stop()

    def shutdown_task_grace(self) -> float:
        """Seconds a task gets between SIGTERM and SIGKILL when the executor shuts down."""
        grace = self.env.shutdown_grace_period
        return max(grace - _SHUTDOWN_MARGIN, grace * 0.5)

    async def kill_task(self, task_id: str, grace_period: float | None = None) -> None:
        """Kill an active task through the KILL handler, as if the agent had sent KILL."""
        kill = _Event.Kill()
        kill.task_id.value = task_id
        if grace_period is not None:
            kill.kill_policy.grace_period.nanoseconds = int(grace_period * 1e9)
        await self._run_handler("KILL", kill)

    # ------------------------------------------------------- default handlers

    async def handle_subscribed(self, subscribed: executor_pb2.Event.Subscribed) -> None:
        """Default SUBSCRIBED handler: nothing beyond the library's bookkeeping."""

    async def handle_launch(self, launch: executor_pb2.Event.Launch) -> None:
        """Default LAUNCH handler: logs that nothing runs the task (override it)."""
        logger.warning("no LAUNCH handler: task %s is not run", launch.task.task_id.value)

    async def handle_launch_group(self, launch_group: executor_pb2.Event.LaunchGroup) -> None:
        """Default LAUNCH_GROUP handler: launches each task through the LAUNCH path."""
        for task in launch_group.task_group.tasks:
            launch = _Event.Launch()
            launch.task.CopyFrom(task)
            await self._run_handler("LAUNCH", launch)

    async def handle_kill(self, kill: executor_pb2.Event.Kill) -> None:
        """Default KILL handler: reports ``TASK_KILLED`` for an active task."""
        if kill.task_id.value in self._tasks:
            await self.send_status(kill.task_id, TaskState.TASK_KILLED, message="killed by the executor")

    async def handle_acknowledged(self, acknowledged: executor_pb2.Event.Acknowledged) -> None:
        """Default ACKNOWLEDGED handler: nothing beyond the library's bookkeeping."""

    async def handle_message(self, message: executor_pb2.Event.Message) -> None:
        """Default MESSAGE handler: nothing (listen to ``message`` or override)."""

    async def handle_shutdown(self, payload: None) -> None:
        """Default SHUTDOWN handler: kills every active task, waiting for them to end."""
        grace = self.shutdown_task_grace()
        for task_id in list(self._tasks):
            await self.kill_task(task_id, grace)
        await self._wait_until(lambda: not self._tasks)

    async def handle_error(self, error: executor_pb2.Event.Error) -> None:
        """Default ERROR handler: nothing beyond logging."""

    async def handle_heartbeat(self, payload: None) -> None:
        """Default HEARTBEAT handler: nothing beyond recording the time."""

    # --------------------------------------------------------------- helpers


def _check_handlers(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    checked: dict[str, Handler] = {}
    for key, handler in handlers.items():
        name = str(key).upper()
        if name not in HANDLER_NAMES:
            raise ConfigurationError(
                f"unknown executor event {key!r}; expected one of {', '.join(HANDLER_NAMES)}",
                option=f"handlers.{key}",
            )
        if not callable(handler):
            raise ConfigurationError(
                "must be callable as handler(executor, payload)", option=f"handlers.{key}"
            )
        checked[name] = handler
    return checked


def _state_name(status: mesos_pb2.TaskStatus) -> str:
    return mesos_pb2.TaskState.Name(status.state)


def _u(status: mesos_pb2.TaskStatus) -> str:
    return f"{_state_name(status)} of task {status.task_id.value}"
