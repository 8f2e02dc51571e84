"""A ZooKeeper `StateStore` (kazoo).

Layout under ``base = zk_prefix + framework_name`` (the seed's layout, so
existing deployments keep their framework ID):

    <base>/framework-id      the framework ID, UTF-8
    <base>/tasks/<task-id>   one task record, compact JSON

kazoo is blocking, so every operation runs on one worker thread of the
store's own: operations apply in the order they were submitted (a task's
STAGING save can never land after its delete). Connection losses are retried
by kazoo until ``operation_timeout``; a session that expires is
re-established by kazoo and nothing here depends on ephemeral nodes. Records
written by the JavaScript library (``{name, taskId, runtimeInfo}``) are read
too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError

from mesos_framework.errors import StateStoreError
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import TaskState

__all__ = ["ZooKeeperStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ZooKeeperStore:
    """Scheduler state in ZooKeeper under ``path``.

    ``hosts`` is a kazoo host string (``"h1:2181,h2:2181"``, optionally with
    a chroot). ``client`` injects an existing ``KazooClient`` (it is then not
    stopped on `close()`).
    """

    def __init__(
        self,
        hosts: str,
        path: str,
        *,
        connect_timeout: float = 15.0,
        operation_timeout: float = 60.0,
        client: Any = None,
    ) -> None:
        if not path.startswith("/") or path.endswith("/") or "//" in path:
            raise StateStoreError(f"ZooKeeper path {path!r} must start with / and not end with /")
        self.hosts = hosts
        self.path = path
        self.connect_timeout = connect_timeout
        self.operation_timeout = operation_timeout
        self._client = client
        self._own_client = client is None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    async def _run(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise StateStoreError(f"{what}: the ZooKeeper store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(*args))
        except StateStoreError:
            raise
        except Exception as exc:
            raise StateStoreError(f"ZooKeeper {what} under {self.path} failed: {exc!r}") from exc

    # -- lifecycle --------------------------------------------------------
    async def open(self) -> None:
        """Connect to ZooKeeper (retries until ``connect_timeout``)."""
        if self._executor is not None:
            return
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mf-zk")
        try:
            await self._run("connect", self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _connect(self) -> None:

        if self._client is None:
            self._client = KazooClient(
                hosts=self.hosts,
                timeout=10.0,
                connection_retry={"max_tries": -1, "delay": 0.2, "max_delay": 2.0},
                command_retry={
                    "max_tries": -1,
                    "delay": 0.2,
                    "max_delay": 2.0,
                    "deadline": self.operation_timeout,
                },
            )
        if not self._client.connected:
            self._client.start(timeout=self.connect_timeout)
        self._client.ensure_path(self.path + "/tasks")

    async def close(self) -> None:
        """Disconnect (waits for queued writes first)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        client = self._client

        def stop() -> None:
            if self._own_client and client is not None:
                client.stop()
                client.close()

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, stop)
        finally:
            executor.shutdown(wait=True)
            if self._own_client:
                self._client = None

    # -- framework id -----------------------------------------------------
    async def load_framework_id(self) -> str | None:
        """The stored framework ID, or ``None`` (also for an empty node)."""

        def load() -> str | None:

            try:
                data, _ = self._client.retry(self._client.get, self.path + "/framework-id")
            except NoNodeError:
                return None
            text = (data or b"").decode("utf-8").strip()
            return text or None

        return await self._run("read of framework-id", load)

    async def save_framework_id(self, framework_id: str) -> None:
        """Store the framework ID."""
        await self._run(
            "write of framework-id", self._put, self.path + "/framework-id", framework_id.encode()
        )

    async def clear_framework_id(self) -> None:
        """Forget the framework ID."""
        await self._run("delete of framework-id", self._delete, self.path + "/framework-id")

    # -- tasks ------------------------------------------------------------
    async def load_tasks(self) -> list[TaskRecord]:
        """Every stored record; unreadable or empty nodes are logged, deleted and skipped."""

        def load() -> list[TaskRecord]:

            client = self._client
            try:
                children = client.retry(client.get_children, self.path + "/tasks")
            except NoNodeError:
                return []
            out = []
            for child in sorted(children):
                node = f"{self.path}/tasks/{child}"
                try:
                    data, _ = client.retry(client.get, node)
                except NoNodeError:
                    continue
                try:
                    out.append(_decode(data))
                except StateStoreError as exc:
                    log.warning("dropping unreadable task node %s: %s", node, exc)
                    self._delete(node)
            return out

        return await self._run("read of tasks", load)

    async def save_task(self, record: TaskRecord) -> None:
        """Create or replace a task's node."""
        data = orjson.dumps(record.to_dict())
        await self._run(
            f"write of task {record.task_id}", self._put, f"{self.path}/tasks/{record.task_id}", data
        )

    async def delete_task(self, task_id: str) -> None:
        """Delete a task's node (missing is fine)."""
        await self._run(f"delete of task {task_id}", self._delete, f"{self.path}/tasks/{task_id}")

    # -- helpers (worker thread) -------------------------------------------
    def _put(self, node: str, data: bytes) -> None:

        client = self._client

        def put() -> None:
            try:
                client.set(node, data)
            except NoNodeError:
                try:
                    client.create(node, data, makepath=True)
                except NodeExistsError:
                    client.set(node, data)

        client.retry(put)

    def _delete(self, node: str) -> None:

        with contextlib.suppress(NoNodeError):
            self._client.retry(self._client.delete, node)


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
