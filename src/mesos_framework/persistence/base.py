"""The `StateStore` protocol: where a scheduler keeps what must survive it.

A store holds the framework ID and one small record per launched task.
Writes for one store are applied in the order they were made.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mesos_framework.tasks.records import TaskRecord

__all__ = ["StateStore"]


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
