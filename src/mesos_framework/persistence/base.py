"""The `StateStore` protocol: where a scheduler keeps what must survive it.

A store holds the framework ID and one small record per launched task (and per
claim and runtime scale: `TaskRecord.is_claim`, `TaskRecord.is_scale`).
Writes for one store are applied in the order they were made. Every store
checks the values it is given the same way (`check_framework_id()`,
`check_task_id()`, `check_record()`), raising
`StateValueError`.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import orjson

from mesos_framework.errors import ConfigurationError, StateValueError
from mesos_framework.tasks.records import TaskRecord

__all__ = [
    "StateStore",
    "check_framework_id",
    "check_record",
    "check_task_id",
    "check_timeout",
    "encode_record",
]


@runtime_checkable
class StateStore(Protocol):
    """Persistent scheduler state. Every method raises `StateStoreError` on failure."""

    async def open(self) -> None:
        """Connect (idempotent)."""

    async def close(self) -> None:
        """Disconnect and release resources (idempotent)."""

    async def load_framework_id(self) -> str | None:
        """The stored framework ID, or ``None``."""

    async def save_framework_id(self, framework_id: str) -> None:
        """Store the framework ID."""

    async def clear_framework_id(self) -> None:
        """Forget the framework ID (after the master removed the framework)."""

    async def load_tasks(self) -> list[TaskRecord]:
        """Every stored task record."""

    async def save_task(self, record: TaskRecord) -> None:
        """Create or replace a task's record."""

    async def delete_task(self, task_id: str) -> None:
        """Remove a task's record; a missing record is not an error."""


def check_framework_id(framework_id: object) -> str:
    """``framework_id`` if it is a non-empty string without NUL, else `StateValueError`."""
    if not isinstance(framework_id, str) or not framework_id.strip() or "\0" in framework_id:
        raise StateValueError(f"a framework ID must be a non-empty string without NUL, got {framework_id!r}")
    return framework_id


def check_task_id(task_id: object) -> str:
    """``task_id`` if every store can hold it as a key, else `StateValueError`.

    It must be a non-empty string without ``/`` or NUL, other than ``.`` and
    ``..`` (ZooKeeper keeps one node per task, named by its ID).
    """
    if (
        not isinstance(task_id, str)
        or not task_id
        or task_id in (".", "..")
        or "/" in task_id
        or "\0" in task_id
    ):
        raise StateValueError(
            f"a task ID must be a non-empty string without '/' or NUL, other than '.' and '..', "
            f"got {task_id!r}"
        )
    return task_id


def check_record(record: object) -> TaskRecord:
    """``record`` if it is a `TaskRecord` with a valid task ID, else `StateValueError`."""
    if not isinstance(record, TaskRecord):
        raise StateValueError(f"expected a TaskRecord, got {type(record).__name__}: {record!r:.80}")
    check_task_id(record.task_id)
    return record


def encode_record(record: object) -> bytes:
    """A checked record as compact JSON (what the SQLite and ZooKeeper stores keep)."""
    checked = check_record(record)
    try:
        return orjson.dumps(checked.to_dict())
    except TypeError as exc:  # orjson.JSONEncodeError: e.g. an object in ``properties``
        raise StateValueError(f"task {checked.task_id}: record cannot be stored as JSON: {exc}") from exc


def check_timeout(value: object, option: str) -> float:
    """``value`` in seconds if a finite number > 0, else `ConfigurationError` naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value < math.inf):
        raise ConfigurationError(f"must be a finite number of seconds > 0, got {value!r}", option=option)
    return float(value)
