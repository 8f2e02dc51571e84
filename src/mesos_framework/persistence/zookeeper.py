"""A ZooKeeper `StateStore` (kazoo).

Layout under ``base = zk_prefix + framework_name`` (the seed's layout, so
existing deployments keep their framework ID):

    <base>/framework-id      the framework ID, UTF-8
    <base>/tasks/<task-id>   one task record, compact JSON

kazoo is blocking, so every operation runs on one worker thread of the
store's own: operations apply in the order they were submitted (a task's
STAGING save can never land after its delete), and the event loop never
waits on ZooKeeper. Every operation is bounded by ``operation_timeout``
from the moment it is submitted: connection losses are retried until then,
and then it fails with `StateStoreError`
(during an outage a write may thus fail although kazoo sends it once
ZooKeeper is back; it still lands before any later write). A session that
expires is re-established by kazoo and nothing here depends on ephemeral
nodes. `ZooKeeperStore.close()` lets the queued operations finish while
ZooKeeper answers; while it does not, the operation under way and those
queued are abandoned at once (failing with `StateStoreError`) and the
store's thread ends within a moment, so neither `close()` nor the process's
exit waits out ``operation_timeout``. Records written by the
JavaScript library (``{name, taskId, runtimeInfo}``) are read too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry, RetryFailedError

from mesos_framework.errors import ConfigurationError, StateConflict, StateStoreError
from mesos_framework.persistence._worker import StoreWorker
from mesos_framework.persistence.base import (
    check_framework_id,
    check_task_id,
    check_timeout,
    encode_record,
)
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import TaskState

__all__ = ["ZooKeeperStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long `ZooKeeperStore.close()` waits for kazoo to stop before leaving it to finish alone.
_STOP_WAIT = 5.0
#: The same while ZooKeeper does not answer (kazoo's threads are daemons: they hold up no exit).
_STOP_WAIT_UNREACHABLE = 0.5
#: How often a blocked operation looks whether it is to be abandoned (the store closing), seconds.
_POLL = 0.1


class ZooKeeperStore:
    """Scheduler state in ZooKeeper under ``path``.

    ``hosts`` is a kazoo host string (``"h1:2181,h2:2181"``, optionally with
    a chroot). ``client`` injects an existing ``KazooClient`` (it is then not
    stopped on `close()`). ``auth`` is ``"user:password"`` for
    ZooKeeper's digest scheme. ``connect_timeout`` bounds `open()`,
    ``operation_timeout`` every other operation.
    """

    def __init__(
        self,
        hosts: str,
        path: str,
        *,
        connect_timeout: float = 15.0,
        operation_timeout: float = 60.0,
        client: Any = None,
        auth: str | None = None,
    ) -> None:
        if not isinstance(path, str) or not path.startswith("/") or path.endswith("/") or "//" in path:
            raise StateStoreError(f"ZooKeeper path {path!r} must start with / and not end with /")
        if client is None and (not isinstance(hosts, str) or not hosts.strip()):
            raise ConfigurationError(f"no ZooKeeper hosts given: {hosts!r}", option="hosts")
        if auth is not None and (not isinstance(auth, str) or ":" not in auth):
            raise ConfigurationError("ZooKeeper credentials must be 'user:password'", option="auth")
        self.hosts = hosts
        self.path = path
        self._auth = auth
        self.connect_timeout = check_timeout(connect_timeout, "connect_timeout")
        self.operation_timeout = check_timeout(operation_timeout, "operation_timeout")
        self._client = client
        self._own_client = client is None
        self._worker = StoreWorker(
            f"ZooKeeper store {path} on {hosts}", self.operation_timeout, thread_name="mf-zk"
        )
        self._fence: str | None = None
        # Set by close(): operations stop waiting for a ZooKeeper that does not answer.
        self._closing = threading.Event()

    def fence(self, node: str | None) -> None:
        """Make every later write conditional on ``node`` existing (None: unconditional again).

        A hot-standby leader passes its election znode: each write is then a ZooKeeper
        transaction that checks the znode first, so once the leader's session is gone (the
        ephemeral znode with it) ZooKeeper itself refuses the write (`StateConflict`).
        """
        if node is not None and (not isinstance(node, str) or not node.startswith("/")):
            raise ConfigurationError(f"expected a znode path, got {node!r}", option="fence")
        self._fence = node

    def __repr__(self) -> str:
        state = "open" if self._worker.running else "closed"
        return f"<ZooKeeperStore {self.hosts}{self.path} {state}>"

    # -- lifecycle --------------------------------------------------------
    async def open(self) -> None:
        """Connect to ZooKeeper (retries until ``connect_timeout``)."""
        if self._worker.running:
            return
        self._closing.clear()
        self._worker.start()
        try:
            await self._worker.run("connect", self._connect, limit=self.connect_timeout)
        except BaseException:
            await self.close()
            raise

    def _connect(self, deadline: float) -> None:
        if self._client is None:
            self._client = KazooClient(
                hosts=self.hosts,
                timeout=10.0,
                connection_retry={"max_tries": -1, "delay": 0.2, "max_delay": 2.0},
                auth_data=[("digest", self._auth)] if self._auth else None,
            )
        if not self._client.connected:
            self._client.start(timeout=max(0.1, deadline - time.monotonic()))
        self._retrying(
            deadline, lambda: self._wait(self._client.ensure_path_async(self.path + "/tasks"), deadline)
        )

    async def close(self) -> None:
        """Disconnect after the queued operations.

        While ZooKeeper is unreachable the operation under way and those queued
        are abandoned at once (each fails with `StateStoreError`), and kazoo is
        left to stop in the background: `close()` returns within a moment.
        """
        self._closing.set()
        await self._worker.stop(self._stop_client)

    def _abandoned(self) -> bool:
        """True when the store is closing and ZooKeeper does not answer (worker thread)."""
        if not self._closing.is_set():
            return False
        client = self._client
        return client is None or not client.connected

    def _stop_client(self) -> None:
        client = self._client
        if not self._own_client or client is None:
            return
        self._client = None
        reachable = bool(client.connected)

        def stop() -> None:
            try:
                client.stop()
                client.close()
            except Exception as exc:
                log.warning("stopping the ZooKeeper client of %s: %r", self.path, exc)

        # kazoo's stop() waits up to 10 s for its connection thread while ZooKeeper is down.
        thread = threading.Thread(target=stop, name="mf-zk-stop", daemon=True)
        thread.start()
        thread.join(_STOP_WAIT if reachable else _STOP_WAIT_UNREACHABLE)
        if thread.is_alive():
            log.info("the ZooKeeper client of %s is still stopping; not waiting for it", self.path)

    # -- framework id -----------------------------------------------------
    async def load_framework_id(self) -> str | None:
        """The stored framework ID, or ``None`` (also for an empty node)."""

        def load(deadline: float) -> str | None:
            client = self._conn()
            try:
                data, _ = self._retrying(
                    deadline, lambda: self._wait(client.get_async(self.path + "/framework-id"), deadline)
                )
            except NoNodeError:
                return None
            text = (data or b"").decode("utf-8").strip()
            return text or None

        return await self._worker.run("read of framework-id", load)

    async def save_framework_id(self, framework_id: str) -> None:
        """Store the framework ID."""
        data = check_framework_id(framework_id).encode()
        await self._worker.run(
            "write of framework-id", lambda deadline: self._put(self.path + "/framework-id", data, deadline)
        )

    async def clear_framework_id(self) -> None:
        """Forget the framework ID."""
        await self._worker.run(
            "delete of framework-id", lambda deadline: self._delete(self.path + "/framework-id", deadline)
        )

    # -- tasks ------------------------------------------------------------
    async def load_tasks(self) -> list[TaskRecord]:
        """Every stored record; unreadable or empty nodes are logged, deleted and skipped."""

        def load(deadline: float) -> list[TaskRecord]:
            client = self._conn()
            try:
                children = self._retrying(
                    deadline, lambda: self._wait(client.get_children_async(self.path + "/tasks"), deadline)
                )
            except NoNodeError:
                return []
            out = []
            for child in sorted(children):
                node = f"{self.path}/tasks/{child}"
                try:
                    data, _ = self._retrying(deadline, _bind(self._wait, client.get_async, node, deadline))
                except NoNodeError:
                    continue
                try:
                    out.append(_decode(data))
                except StateStoreError as exc:
                    log.warning("dropping unreadable task node %s: %s", node, exc)
                    self._delete(node, deadline)
            return out

        return await self._worker.run("read of tasks", load)

    async def save_task(self, record: TaskRecord) -> None:
        """Create or replace a task's node."""
        data = encode_record(record)
        node = f"{self.path}/tasks/{record.task_id}"
        await self._worker.run(
            f"write of task {record.task_id}", lambda deadline: self._put(node, data, deadline)
        )

    async def delete_task(self, task_id: str) -> None:
        """Delete a task's node (missing is fine)."""
        node = f"{self.path}/tasks/{check_task_id(task_id)}"
        await self._worker.run(f"delete of task {task_id}", lambda deadline: self._delete(node, deadline))

    # -- helpers (worker thread) -------------------------------------------
    def _conn(self) -> Any:
        if self._client is None:
            raise StateStoreError("not connected")
        return self._client

    def _wait(self, result: Any, deadline: float) -> Any:
        """The value of a kazoo async result, waiting no longer than ``deadline``.

        Abandoned (`StateStoreError`) as soon as the store closes while ZooKeeper does not answer.
        """
        timeout_exception = self._conn().handler.timeout_exception
        started = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                waited = time.monotonic() - started
                raise StateStoreError(f"timed out (no answer from ZooKeeper within {waited:.3g}s)")
            try:
                return result.get(timeout=min(remaining, _POLL))
            except timeout_exception:
                if self._abandoned():
                    raise StateStoreError(_ABANDONED) from None

    def _retrying(self, deadline: float, fn: Callable[[], T]) -> T:
        """``fn()``, retried on connection loss and session expiry until ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StateStoreError("timed out (ZooKeeper did not answer)")
        if self._abandoned():
            raise StateStoreError(_ABANDONED)
        retry = KazooRetry(
            max_tries=-1,
            delay=0.1,
            backoff=2,
            max_delay=1.0,
            deadline=remaining,
            ignore_expire=True,
            interrupt=self._abandoned,
        )
        try:
            result: T = retry(fn)
        except RetryFailedError as exc:
            raise StateStoreError(f"timed out (ZooKeeper unreachable): {exc}") from exc
        except InterruptedError:
            raise StateStoreError(_ABANDONED) from None
        return result

    def _fenced(self, client: Any, fence: str, op: Callable[[Any], None], deadline: float) -> Any:
        """``op(transaction)`` after a check that ``fence`` exists; its result (or exception)."""
        from kazoo.exceptions import RolledBackError  # noqa: PLC0415

        tx = client.transaction()
        tx.check(fence, -1)
        op(tx)
        results = self._wait(tx.commit_async(), deadline)
        first, second = results[0], results[-1]
        if isinstance(first, NoNodeError):
            raise StateConflict(f"write refused: the leader znode {fence} is gone (no longer the leader)")
        if isinstance(first, Exception) and not isinstance(first, RolledBackError):
            raise first
        if isinstance(second, Exception):
            raise second
        return second

    def _put(self, node: str, data: bytes, deadline: float) -> None:
        client = self._conn()
        fence = self._fence
        if fence is not None:

            def fenced_put() -> None:
                try:
                    self._fenced(client, fence, lambda tx: tx.set_data(node, data), deadline)
                except NoNodeError:
                    self._ensure_parent(client, node, deadline)
                    try:
                        self._fenced(client, fence, lambda tx: tx.create(node, data), deadline)
                    except NodeExistsError:
                        self._fenced(client, fence, lambda tx: tx.set_data(node, data), deadline)

            self._retrying(deadline, fenced_put)
            return

        def put() -> None:
            try:
                self._wait(client.set_async(node, data), deadline)
            except NoNodeError:
                try:
                    self._wait(client.create_async(node, data, makepath=True), deadline)
                except NodeExistsError:
                    self._wait(client.set_async(node, data), deadline)

        self._retrying(deadline, put)

    def _ensure_parent(self, client: Any, node: str, deadline: float) -> None:
        parent = node.rsplit("/", 1)[0]
        if parent:
            self._wait(client.ensure_path_async(parent), deadline)

    def _delete(self, node: str, deadline: float) -> None:
        client = self._conn()
        fence = self._fence
        with contextlib.suppress(NoNodeError):
            if fence is not None:
                self._retrying(
                    deadline, lambda: self._fenced(client, fence, lambda tx: tx.delete(node), deadline)
                )
            else:
                self._retrying(deadline, lambda: self._wait(client.delete_async(node), deadline))


_ABANDONED = "abandoned: the store is closing and ZooKeeper does not answer"


def _bind(wait: Callable[[Any, float], Any], call: Callable[[str], Any], node: str, deadline: float) -> Any:
    """A retryable ``wait(call(node), deadline)`` (binds ``node`` now, not at call time)."""
    return lambda: wait(call(node), deadline)


def _decode(data: bytes | None) -> TaskRecord:
    if not data:
        raise StateStoreError("empty node")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StateStoreError(f"not JSON: {exc}") from exc
    if isinstance(obj, dict) and "taskId" in obj and "task_id" not in obj:
        return _from_seed(obj)
    return TaskRecord.from_dict(obj)


def _from_seed(obj: dict[str, Any]) -> TaskRecord:
    """A record from the JavaScript library's stored task object."""
    name = str(obj.get("name", ""))
    type_name, _, serial = name.rpartition("-")
    if not type_name or not serial.isdigit():
        raise StateStoreError(f"seed task name {name!r} is not <type>-<n>")
    info = obj.get("runtimeInfo") or {}
    network = info.get("network") or {}
    try:
        state = TaskState.parse(info.get("state", "TASK_STAGING"))
    except Exception as exc:
        raise StateStoreError(f"seed task {name}: {exc}") from exc
    return TaskRecord(
        str(obj["taskId"]),
        type_name,
        int(serial),
        state=state,
        agent_id=info.get("agentId"),
        executor_id=info.get("executorId"),
        hostname=network.get("hostname"),
        ip=network.get("ip"),
        ports=tuple(int(p) for p in network.get("ports") or ()),
        launched=state == TaskState.TASK_RUNNING,
    )
