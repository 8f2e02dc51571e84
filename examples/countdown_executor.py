"""A custom executor built on :class:`mesos_framework.Executor`: it counts down, talking to its scheduler.

The agent starts this file (see ``executor_scheduler.py``, which launches it
through an ``ExecutorInfo``) with the ``MESOS_*`` environment the
``Executor`` reads. For each task it is given it:

1. reports ``TASK_RUNNING``;
2. counts down from the task's ``countdown`` label, sending every number to
   the scheduler as a framework message;
3. reports ``TASK_FINISHED`` with a result in ``TaskStatus.data``.

It answers each message from the scheduler with ``pong: <message>``, and a
KILL stops a countdown early (``TASK_KILLED``). The library does the rest:
subscribing, acknowledgements, re-sending unacknowledged updates, and an
orderly SHUTDOWN. Its log goes to stderr, which the agent keeps in the
task's sandbox.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from mesos_framework import Executor, TaskState
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2

log = logging.getLogger("countdown_executor")


class CountdownExecutor(Executor):
    """Runs each task as a countdown inside this process (no subprocess)."""

    def __init__(self) -> None:
        super().__init__()
        self.countdowns: dict[str, asyncio.Task[None]] = {}

    async def handle_launch(self, launch: executor_pb2.Event.Launch) -> None:
        task = launch.task
        labels = {label.key: label.value for label in task.labels.labels}
        seconds = int(labels.get("countdown", "3"))
        log.info("launching %s (%s): counting down from %d", task.name, task.task_id.value, seconds)
        self.countdowns[task.task_id.value] = self.spawn(self.count_down(task, seconds))

    async def count_down(self, task: mesos_pb2.TaskInfo, seconds: int) -> None:
        await self.send_status(task.task_id, TaskState.TASK_RUNNING, message=f"counting down from {seconds}")
        for n in range(seconds, 0, -1):
            await self.message(f"{task.name}: {n}".encode())
            await asyncio.sleep(1.0)
        await self.message(f"{task.name}: liftoff".encode())
        await self.send_status(
            task.task_id, TaskState.TASK_FINISHED, message="countdown done", data=f"{seconds} s".encode()
        )
        self.countdowns.pop(task.task_id.value, None)

    async def handle_kill(self, kill: executor_pb2.Event.Kill) -> None:
        countdown = self.countdowns.pop(kill.task_id.value, None)
        if countdown is not None:
            countdown.cancel()
        await super().handle_kill(kill)  # reports TASK_KILLED for an active task

    async def handle_message(self, message: executor_pb2.Event.Message) -> None:
        log.info("message from the scheduler: %r", message.data)
        await self.message(b"pong: " + message.data)


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    log.info("started as %s", sys.argv)
    asyncio.run(CountdownExecutor().run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
