"""An in-memory :class:`~mesos_framework.persistence.base.StateStore` (tests, or no persistence)."""

from __future__ import annotations

import orjson

from mesos_framework.persistence.base import check_framework_id, check_task_id, encode_record
from mesos_framework.tasks.records import TaskRecord

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps state in this process only; records are copied in and out."""

    def __init__(self) -> None:
        self.framework_id: str | None = None
        self.tasks: dict[str, dict[str, object]] = {}

    async def open(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to release."""

    async def load_framework_id(self) -> str | None:
        """The stored framework ID."""
        return self.framework_id

    async def save_framework_id(self, framework_id: str) -> None:
        """Store the framework ID."""
        self.framework_id = check_framework_id(framework_id)

    async def clear_framework_id(self) -> None:
        """Forget the framework ID."""
        self.framework_id = None

    async def load_tasks(self) -> list[TaskRecord]:
        """Copies of every stored record."""
        return [TaskRecord.from_dict(d) for d in self.tasks.values()]

    async def save_task(self, record: TaskRecord) -> None:
        """Store a copy of the record (checked as the other stores check it: JSON-ready)."""
        self.tasks[record.task_id] = orjson.loads(encode_record(record))

    async def delete_task(self, task_id: str) -> None:
        """Drop a record."""
        self.tasks.pop(check_task_id(task_id), None)
