"""What a fleet step asks its caller to do: the actions `Fleet` and `Claims` return, in order.

Each is a plain record, built on every step and read once: the scheduler carries them out
(`Scheduler._apply`). They are not frozen: a frozen dataclass's ``__init__`` costs several times
a plain one's, and a fleet step makes two or three of them per status update.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls
from mesos_framework.tasks.records import TaskRecord

_LAUNCH = mesos_pb2.Offer.Operation.LAUNCH
_LAUNCH_GROUP = mesos_pb2.Offer.Operation.LAUNCH_GROUP

__all__ = [
    "Action",
    "Decline",
    "Emit",
    "Forget",
    "Kill",
    "LaunchOnOffer",
    "Persist",
    "Report",
    "Slot",
]

#: An instance: ``(type name, serial)``.
Slot = tuple[str, int]


@dataclass(slots=True)
class Persist:
    """Write this record to the state store."""

    record: TaskRecord


@dataclass(slots=True)
class Forget:
    """Delete this task ID from the state store."""

    task_id: str


@dataclass(slots=True)
class LaunchOnOffer:
    """ACCEPT one offer with a LAUNCH of these tasks and a LAUNCH_GROUP per pod.

    Their records are queued for the store before.
    """

    offer_id: mesos_pb2.OfferID
    records: tuple[TaskRecord, ...]
    task_infos: tuple[mesos_pb2.TaskInfo, ...]
    groups: tuple[tuple[mesos_pb2.ExecutorInfo, tuple[mesos_pb2.TaskInfo, ...]], ...] = ()
    #: Operations before the launches: RESERVE and CREATE for new claims, DESTROY and UNRESERVE.
    before: tuple[mesos_pb2.Offer.Operation, ...] = ()

    def accept_call(self, refuse_seconds: float | None) -> scheduler_pb2.Call:
        """The ACCEPT call of the offer, its operations built in place (each `TaskInfo` is
        copied once, into the call)."""
        call = calls.accept([self.offer_id], (), refuse_seconds)
        ops = call.accept.operations
        ops.extend(self.before)
        if self.task_infos:
            ops.add(type=_LAUNCH).launch.task_infos.extend(self.task_infos)
        for executor, tasks in self.groups:
            group = ops.add(type=_LAUNCH_GROUP).launch_group
            group.executor.CopyFrom(executor)
            group.task_group.tasks.extend(tasks)
        return call

    def operations(self) -> list[mesos_pb2.Offer.Operation]:
        """The ACCEPT's operations: `before`, one LAUNCH of the tasks, one LAUNCH_GROUP per pod."""
        return list(self.accept_call(None).accept.operations)


@dataclass(slots=True)
class Kill:
    """KILL a task (``reason`` is logged)."""

    task_id: str
    agent_id: str | None
    reason: str = ""


@dataclass(slots=True)
class Decline:
    """DECLINE offers with a filter of ``refuse_seconds``."""

    offer_ids: tuple[mesos_pb2.OfferID, ...]
    refuse_seconds: float


@dataclass(slots=True)
class Emit:
    """Deliver an event to the listeners."""

    name: str
    record: TaskRecord


@dataclass(slots=True)
class Report:
    """Report an error (logged and emitted as ``error``)."""

    error: Exception


Action = Persist | Forget | LaunchOnOffer | Kill | Decline | Emit | Report
