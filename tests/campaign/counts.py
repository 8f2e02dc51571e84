"""What the campaign counts: launches and ends per instance, from the calls and updates a scheduler saw.

Task IDs are ``<framework>.<type>-<serial>.<uuid>``, so every launch and every
update names its instance. A scenario passes when every instance was launched
as often as the faults explain and no more (launched twice = 0), none is lost,
and the master and the scheduler agree on what runs.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import Counter
from pathlib import Path

from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState

log = logging.getLogger("tests.campaign")


def instance_of(task_id: str) -> str:
    """``web-1`` from ``fw.web-1.<uuid>``."""
    return task_id.split(".")[-2]


class Counts:
    """Launches, terminal updates and errors of one scheduler, per instance."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.launches: Counter[str] = Counter()
        self.launch_times: dict[str, list[float]] = {}
        self.ends: Counter[tuple[str, str]] = Counter()  # (instance, state) per distinct task
        self.errors: list[BaseException] = []
        self.subscribed = 0
        self._seen_end: set[str] = set()
        scheduler.on("sent_accept", self._accepted)
        scheduler.on("update", self._update)
        scheduler.on("error", self.errors.append)
        scheduler.on("subscribed", self._subscribed)

    def _subscribed(self, _: object) -> None:
        self.subscribed += 1

    def _accepted(self, call: scheduler_pb2.Call) -> None:
        now = time.monotonic()
        for op in call.accept.operations:
            for info in op.launch.task_infos:
                name = instance_of(info.task_id.value)
                self.launches[name] += 1
                self.launch_times.setdefault(name, []).append(now)

    def _update(self, update: scheduler_pb2.Event.Update) -> None:
        status = update.status
        state = TaskState(status.state)
        if state.is_terminal and status.task_id.value not in self._seen_end:
            self._seen_end.add(status.task_id.value)  # a redelivered update counts once
            self.ends[(instance_of(status.task_id.value), mesos_pb2.TaskState.Name(status.state))] += 1

    @property
    def total_launches(self) -> int:
        return sum(self.launches.values())

    def launched_twice(self, expected: dict[str, int] | None = None) -> dict[str, int]:
        """Instances launched more often than ``expected`` (default: once each)."""
        return {name: count for name, count in self.launches.items() if count > (expected or {}).get(name, 1)}


def running_ids(s: Scheduler) -> set[str]:
    return {r.task_id for r in s.tasks if r.state == TaskState.TASK_RUNNING and not r.restarting}


def running_instances(s: Scheduler) -> list[str]:
    return sorted(r.name for r in s.tasks if r.state == TaskState.TASK_RUNNING and not r.restarting)


def pid_command(pid_file: Path) -> str:
    """A task command that records its process id (to kill it as a crash would)."""
    return f"echo $$ >> {pid_file}; exec sleep 300"


def kill_pids(pid_file: Path, count: int | None = None) -> int:
    """SIGKILL the first ``count`` recorded task processes still alive; returns how many."""
    killed = 0
    for line in pid_file.read_text().split():
        if count is not None and killed >= count:
            break
        try:
            os.kill(int(line), signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            continue
    return killed


def figure(name: str, value: float, unit: str = "s") -> None:
    """Log a measured figure (the docs' Reliability page quotes them; `pytest -s -o log_cli=true`)."""
    log.warning("campaign figure: %s = %.2f%s", name, value, unit)
