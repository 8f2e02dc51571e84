"""The smallest useful framework: two tasks, shown as they start and end, then a teardown.

Runs on a local cluster it starts itself, or on the master in ``$MESOS_MASTER``.
"""

import asyncio
import os

from mesos_framework import Scheduler
from mesos_framework.tasks import TaskRecord


async def main() -> None:
    scheduler = Scheduler(
        master=os.environ.get("MESOS_MASTER", "local"),
        framework_name="first-framework",
        tasks={
            "hello": {
                "instances": 2,
                "command": {"value": "echo hello from port $PORT0; sleep 60"},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
            }
        },
    )

    def launched(task: TaskRecord) -> None:
        print(f"{task.name} runs on {task.hostname}, port {task.ports[0]} ({task.task_id})")

    scheduler.on("task_launched", launched)
    scheduler.on("removed_task", lambda task: print(f"{task.name} ended: {task.state.name}"))

    async with scheduler:  # start() ... stop()
        # Wait until both instances run (each task_launched event re-checks the condition).
        await scheduler.wait_for("task_launched", lambda _: len(scheduler.running_tasks()) == 2, timeout=60)
        await scheduler.restart_task("hello-1")  # kill it and launch it again
        await scheduler.wait_for("task_launched", lambda task: task.name == "hello-1", timeout=60)
        await scheduler.teardown()  # Mesos kills the tasks; the framework is gone
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
