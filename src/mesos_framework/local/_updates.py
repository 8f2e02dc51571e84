"""The agent's status update manager: one FIFO of updates per task.

Only the head of a task's stream is forwarded, and retried (doubling from
``status_update_retry``, capped at 10 minutes) until the scheduler
acknowledges that uuid; duplicates (same uuid) are dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from mesos_framework.local import _codec
from mesos_framework.local.config import ClusterConfig
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["StatusUpdateManager", "UpdateSink"]

TERMINAL = _codec.TERMINAL_STATES
RETRY_MAX = 600.0


class UpdateSink(Protocol):
    """What the manager needs of its agent."""

    config: ClusterConfig

    def forward_update(self, fid: str, status: mesos_pb2.TaskStatus, latest_state: int) -> None:
        """Send (again) an update to the master."""


@dataclass
class _UpdateStream:
    framework_id: str
    task_id: str
    pending: deque[mesos_pb2.TaskStatus] = field(default_factory=deque)
    seen: set[bytes] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None
    interval: float = 0.0
    latest_state: int = mesos_pb2.TASK_STAGING


class StatusUpdateManager:
    """Per-task FIFO of updates; only the head is forwarded, retried until acked."""

    def __init__(self, agent: UpdateSink) -> None:
        self.agent = agent
        self.streams: dict[tuple[str, str], _UpdateStream] = {}
        self.paused: set[str] = set()

    def update(self, framework_id: str, status: mesos_pb2.TaskStatus) -> bool:
        """Add an update; False if it is a duplicate (same uuid)."""
        key = (framework_id, status.task_id.value)
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = _UpdateStream(framework_id, status.task_id.value)
        if status.uuid in stream.seen:
            return False
        stream.seen.add(status.uuid)
        stream.pending.append(status)
        stream.latest_state = status.state
        if len(stream.pending) == 1:
            self._forward(stream, reset=True)
        return True

    def _forward(self, stream: _UpdateStream, *, reset: bool = False) -> None:
        if not stream.pending:
            return
        if stream.timer is not None:
            stream.timer.cancel()
        if reset:
            stream.interval = self.agent.config.status_update_retry
        else:
            stream.interval = min(stream.interval * 2, RETRY_MAX)
        self.agent.forward_update(stream.framework_id, stream.pending[0], stream.latest_state)
        loop = asyncio.get_running_loop()
        stream.timer = loop.call_later(stream.interval, self._forward, stream)

    def acknowledge(self, framework_id: str, task_id: str, uuid_bytes: bytes) -> mesos_pb2.TaskStatus | None:
        """Ack of the head update: pops it, forwards the next; returns the acked update."""
        stream = self.streams.get((framework_id, task_id))
        if stream is None or not stream.pending or stream.pending[0].uuid != uuid_bytes:
            return None
        acked = stream.pending.popleft()
        if stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None
        if stream.pending:
            self._forward(stream, reset=True)
        elif acked.state in TERMINAL:
            del self.streams[(framework_id, task_id)]
        return acked

    def resume(self, framework_id: str) -> None:
        """Resend every pending head of a framework now (it re-subscribed)."""
        for stream in list(self.streams.values()):
            if stream.framework_id == framework_id and stream.pending:
                self._forward(stream, reset=True)

    def cleanup(self, framework_id: str) -> None:
        """Forget a framework's streams."""
        for key in [k for k in self.streams if k[0] == framework_id]:
            stream = self.streams.pop(key)
            if stream.timer is not None:
                stream.timer.cancel()

    def stop(self) -> None:
        """Cancel every retry timer."""
        for stream in self.streams.values():
            if stream.timer is not None:
                stream.timer.cancel()
