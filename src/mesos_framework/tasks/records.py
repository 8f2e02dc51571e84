"""Compact records of the tasks a scheduler tracks.

A `TaskRecord` keeps only what the scheduler needs to follow one
launched instance (about half a kilobyte with its ID string); the full
``TaskInfo`` is rebuilt from the spec when needed, never stored per task.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from mesos_framework.errors import StateStoreError
from mesos_framework.tasks.state import TaskState

__all__ = ["TaskRecord", "TaskTable"]

_intern = sys.intern


class TaskRecord:
    """One launched instance: identity, last known state and placement.

    ``restarting`` marks a task being replaced (its end does not relaunch
    it); ``killing`` marks a task the scheduler asked to kill. For a pod,
    ``task_id`` is the pod's (its executor's ID), ``containers`` maps each
    container's name to the last state of its Mesos task
    (``<task_id>.<name>``), and ``state`` and ``healthy`` sum them up.
    """

    __slots__ = (
        "_properties",
        "agent_id",
        "claim",
        "container_health",
        "containers",
        "declared",
        "executor_id",
        "healthy",
        "hostname",
        "ip",
        "killing",
        "launched",
        "placement",
        "ports",
        "restarting",
        "serial",
        "started_at",
        "state",
        "task_id",
        "type_name",
        "updated_at",
    )

    def __init__(
        self,
        task_id: str,
        type_name: str,
        serial: int,
        *,
        state: TaskState = TaskState.TASK_STAGING,
        agent_id: str | None = None,
        executor_id: str | None = None,
        hostname: str | None = None,
        ip: str | None = None,
        ports: tuple[int, ...] = (),
        healthy: bool | None = None,
        started_at: float | None = None,
        updated_at: float = 0.0,
        launched: bool = False,
        restarting: bool = False,
        killing: bool = False,
        placement: dict[str, str] | None = None,
        containers: dict[str, TaskState] | None = None,
        claim: str | None = None,
        declared: int | None = None,
    ) -> None:
        self.task_id = task_id
        self.type_name = _intern(type_name)
        self.serial = serial
        self.state = state
        self.agent_id = _intern(agent_id) if agent_id else None
        self.executor_id = executor_id
        self.hostname = _intern(hostname) if hostname else None
        self.ip = _intern(ip) if ip else None
        self.ports = ports
        self.healthy = healthy
        self.started_at = started_at
        self.updated_at = updated_at
        self.launched = launched
        self.restarting = restarting
        self.killing = killing
        #: The agent's placement values (hostname and attributes, as constraints compare them),
        #: kept for constrained types so a restarted scheduler counts the task by its attributes.
        self.placement = placement
        #: A pod's containers: name -> the last state of its task (None: not a pod).
        self.containers = containers
        #: A pod's containers with a health result: name -> healthy (None until one reports).
        self.container_health: dict[str, bool] | None = None
        #: The instance's claim (reserved resources and volumes on its agent; the first volume's
        #: persistence ID). A record whose ``task_id`` is its claim stands for the claim itself.
        self.claim = claim
        #: Set only on a type's scale record (`is_scale`): the type's declared instance count when
        #: it was scaled at run time; ``serial`` holds the count it was scaled to.
        self.declared = declared
        self._properties: dict[str, Any] | None = None

    @property
    def properties(self) -> dict[str, Any]:
        """Free-form runtime properties (the seed's ``runtimeInfo`` extras, e.g. health results).

        Kept across status updates and persisted; created on first use.
        """
        if self._properties is None:
            self._properties = {}
        return self._properties

    @property
    def is_claim(self) -> bool:
        """True for the record of a claim (reserved resources and volumes), not of a task."""
        return self.claim is not None and self.claim == self.task_id

    @property
    def is_scale(self) -> bool:
        """True for a task type's scale record (its runtime instance count), not of a task."""
        return self.declared is not None

    @property
    def name(self) -> str:
        """The instance name, ``<type>-<serial>``."""
        return f"{self.type_name}-{self.serial}"

    def __repr__(self) -> str:
        return f"TaskRecord({self.name}, {self.task_id}, {self.state.name}, agent={self.agent_id})"

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-ready dict (for persistence); omits empty fields."""
        out: dict[str, Any] = {
            "task_id": self.task_id,
            "type": self.type_name,
            "serial": self.serial,
            "state": self.state.name,
        }
        for key in ("agent_id", "executor_id", "hostname", "ip", "healthy", "started_at"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.ports:
            out["ports"] = list(self.ports)
        if self.restarting:
            out["restarting"] = True
        if self.killing:
            out["killing"] = True
        if self.launched:
            out["launched"] = True
        if self.placement:
            out["placement"] = dict(self.placement)
        if self.claim is not None:
            out["claim"] = self.claim
        if self.declared is not None:
            out["declared"] = self.declared
        if self.containers is not None:
            out["containers"] = {name: state.name for name, state in self.containers.items()}
        if self.container_health:
            out["container_health"] = dict(self.container_health)
        if self._properties:
            out["properties"] = dict(self._properties)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> TaskRecord:
        """The inverse of `to_dict()`; raises `StateStoreError` on bad data."""
        try:
            rec = cls(
                str(data["task_id"]),
                str(data["type"]),
                int(data["serial"]),
                state=TaskState.parse(data.get("state", "TASK_STAGING")),
                agent_id=data.get("agent_id"),
                executor_id=data.get("executor_id"),
                hostname=data.get("hostname"),
                ip=data.get("ip"),
                ports=tuple(int(p) for p in data.get("ports", ())),
                healthy=data.get("healthy"),
                started_at=data.get("started_at"),
                launched=bool(data.get("launched", False)),
                restarting=bool(data.get("restarting", False)),
                killing=bool(data.get("killing", False)),
                placement=_placement(data.get("placement")),
                containers=_containers(data.get("containers")),
                claim=str(data["claim"]) if data.get("claim") is not None else None,
                declared=int(data["declared"]) if data.get("declared") is not None else None,
            )
            if data.get("container_health"):
                rec.container_health = {str(k): bool(v) for k, v in dict(data["container_health"]).items()}
            if data.get("properties"):
                rec.properties.update(dict(data["properties"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateStoreError(f"stored task record is malformed: {exc!r}") from exc
        return rec


def _placement(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"placement must be a mapping, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


def _containers(value: Any) -> dict[str, TaskState] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"containers must be a mapping, got {type(value).__name__}")
    return {str(k): TaskState.parse(v) for k, v in value.items()}


class TaskTable:
    """The tracked tasks, by task ID and by ``(type, serial)``.

    More than one task can hold the same instance name for a short while
    (during a rolling restart the replacement runs next to the old task).
    A pod's containers' task IDs lead to its record through `container()`.
    """

    __slots__ = ("_by_id", "_by_name", "_containers")

    def __init__(self) -> None:
        self._by_id: dict[str, TaskRecord] = {}
        self._by_name: dict[tuple[str, int], list[TaskRecord]] = {}
        self._containers: dict[str, tuple[TaskRecord, str]] = {}

    def add(self, record: TaskRecord) -> None:
        """Track a task (replacing a record with the same ID)."""
        self.remove(record.task_id)
        self._by_id[record.task_id] = record
        self._by_name.setdefault((record.type_name, record.serial), []).append(record)
        for name in record.containers or ():
            self._containers[f"{record.task_id}.{name}"] = (record, name)

    def container(self, task_id: str) -> tuple[TaskRecord, str] | None:
        """The pod record and container name of a container's task ID."""
        return self._containers.get(task_id)

    def remove(self, task_id: str) -> TaskRecord | None:
        """Stop tracking a task; return its record if it was tracked."""
        record = self._by_id.pop(task_id, None)
        if record is not None:
            for name in record.containers or ():
                self._containers.pop(f"{record.task_id}.{name}", None)
            key = (record.type_name, record.serial)
            same = self._by_name.get(key, [])
            same[:] = [r for r in same if r is not record]
            if not same:
                self._by_name.pop(key, None)
        return record

    def get(self, task_id: str) -> TaskRecord | None:
        """The record of a task ID."""
        return self._by_id.get(task_id)

    def by_name(self, type_name: str, serial: int) -> list[TaskRecord]:
        """Every tracked task of one instance name."""
        return list(self._by_name.get((type_name, serial), ()))

    def of_type(self, type_name: str) -> list[TaskRecord]:
        """Every tracked task of a type, by serial."""
        return sorted((r for r in self._by_id.values() if r.type_name == type_name), key=lambda r: r.serial)

    def serials(self, type_name: str) -> set[int]:
        """The serial numbers of a type that have a tracked task."""
        return {s for (t, s) in self._by_name if t == type_name}

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_id

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)
