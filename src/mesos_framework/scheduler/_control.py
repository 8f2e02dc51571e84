"""The instance control of a `Scheduler`: what runs, scaling, stopping, starting, restarting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from mesos_framework._events import Events
from mesos_framework.errors import MesosError
from mesos_framework.scheduler._fleet import Action, Fleet, Slot
from mesos_framework.tasks.records import TaskRecord
from mesos_framework.tasks.state import TaskState

__all__ = ["FleetControl"]


class FleetControl:
    """The `Scheduler` methods that read and steer its fleet of task instances."""

    _fleet: Fleet
    _events: Events

    async def _apply(self, actions: Sequence[Action], *, asked: bool = False) -> None:
        raise NotImplementedError

    def _after_change(self) -> None:
        raise NotImplementedError

    async def _offers_settled(self) -> None:
        raise NotImplementedError

    @property
    def tasks(self) -> list[TaskRecord]:
        """Every tracked (launched, not ended) task."""
        return list(self._fleet.tasks)

    def task_records(self, type_name: str | None = None) -> list[TaskRecord]:
        """Tracked tasks, optionally of one type."""
        return self._fleet.tasks.of_type(type_name) if type_name else list(self._fleet.tasks)

    @property
    def launched_tasks(self) -> list[TaskRecord]:
        """Launched tasks not yet ended nor being replaced (what `TaskHealthHelper` checks)."""
        return [r for r in self._fleet.tasks if not r.restarting and not r.state.is_terminal]

    def running_tasks(self) -> list[TaskRecord]:
        """Tracked tasks in TASK_RUNNING (the seed's `getRunningTasks`, working)."""
        return [r for r in self._fleet.tasks if r.state == TaskState.TASK_RUNNING]

    @property
    def pending(self) -> list[tuple[str, int]]:
        """Instances waiting for offers, as `(type, serial)`, in launch order."""
        return self._fleet.pending.items()

    @property
    def stopped(self) -> list[tuple[str, int]]:
        """Declared instances that are stopped (finished, stopped on request, or given up)."""
        return sorted(s for s in self._fleet.completed if self._fleet.in_spec(s))

    def instances(self, type_name: str) -> int:
        """The desired instance count of a type."""
        self._fleet.spec(type_name)
        return self._fleet.desired[type_name]

    # ----------------------------------------------------- scaling and restarts
    async def scale(self, type_name: str, instances: int) -> None:
        """Run `instances` instances of a type whose spec has `allow_scaling`.

        Scaling up queues the new instances (and revives offers); scaling down drops pending
        instances and kills the highest-numbered running ones.
        """
        await self._apply(self._fleet.scale(type_name, instances), asked=True)

    async def kill_task(self, task: str | TaskRecord, *, restart: bool = False) -> None:
        """Kill a task by ID or instance name; the instance stays stopped unless `restart=True`.

        A stopped instance comes back with `start_instance`.
        """
        await self._apply(self._fleet.kill_task(task, restart=restart), asked=True)

    async def restart_task(self, task: str | TaskRecord) -> None:
        """Kill a task and relaunch its instance as soon as it has ended (no backoff).

        A stopped instance (by `kill_task`, `stop_instance`, finished, or out of restarts) is
        started again.
        """
        try:
            rec = self._fleet.find(task)
        except MesosError:
            await self.start_instance(task)
            return
        await self._apply(self._fleet.kill_task(rec, restart=True), asked=True)

    async def stop_instance(self, instance: str | TaskRecord) -> None:
        """Stop an instance (`"web-1"`): kill its task, or cancel its coming restart.

        It stays stopped (across scheduler restarts, with a state store) until `start_instance`.
        """
        await self._apply(self._fleet.stop_instance(instance, time.time()), asked=True)

    async def start_instance(self, instance: str | TaskRecord) -> None:
        """Start a stopped instance (`"web-1"`) again; nothing when it runs or waits already."""
        await self._apply(self._fleet.start_instance(instance), asked=True)

    async def rolling_restart(
        self,
        type_name: str,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109
        healthy: bool | None = None,
    ) -> None:
        """Replace every running instance of a type, one at a time.

        For each instance a replacement is launched first; only when it is RUNNING (and
        healthy, when the spec has a health check or `healthy=True`) is the old task killed.
        An instance with reserved resources or volumes is killed first and relaunched on them.
        Raises `TimeoutError` if a replacement does not come up within `timeout` seconds
        (the old task is then left running).
        """
        spec = self._fleet.spec(type_name)
        need_health = healthy if healthy is not None else spec.health_checked
        for old in self._fleet.tasks.of_type(type_name):
            if old.restarting or old.state.is_terminal:
                continue
            slot: Slot = (old.type_name, old.serial)
            old_ids = {r.task_id for r in self._fleet.tasks.by_name(*slot)}

            def ready(rec: TaskRecord, slot: Slot = slot, old_ids: set[str] = old_ids) -> bool:
                return (
                    (rec.type_name, rec.serial) == slot
                    and rec.task_id not in old_ids
                    and rec.state == TaskState.TASK_RUNNING
                    and (not need_health or rec.healthy is True)
                )

            waiter = asyncio.ensure_future(self._events.wait_for("updated_task", ready, timeout=timeout))
            if spec.reserve:
                # Its reserved resources and volumes are the old task's until it ends: replace it
                # in place (kill, then relaunch on them) rather than beside it.
                try:
                    await self._apply(self._fleet.kill_task(old, restart=True), asked=True)
                    await waiter
                except BaseException:
                    waiter.cancel()
                    raise
                continue
            try:
                self._fleet.replace(slot)
                self._after_change()
                await self._offers_settled()
                await waiter
            except BaseException:
                waiter.cancel()
                self._fleet.withdraw(slot)
                self._after_change()
                raise
            await self._apply(self._fleet.retire(old), asked=True)
