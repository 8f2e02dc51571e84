"""A scheduler that runs its tasks with its own executor (``countdown_executor.py``).

Each task of type ``countdown`` carries an ``ExecutorInfo`` instead of a
plain command: the agent starts ``countdown_executor.py`` with this Python
interpreter (``command.value`` is ``sys.executable``, ``shell`` is false, and
``arguments`` start with argv[0], as Mesos passes them to ``execve``) and
hands it the task. Without an ``executor_id`` in the spec, each task gets an
executor of its own, named after the task ID.

The scheduler prints the framework messages the executors send (the
countdown), pings every executor once its task runs (each answers
``pong``), waits for the tasks to finish (``TASK_FINISHED``, with the
result the executor put in ``TaskStatus.data``), then tears down; the agent
shuts the executors down.

    python examples/executor_scheduler.py --instances 2 --countdown 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import LiveView, arg_parser, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler, TaskState, mesos
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.tasks import TaskRecord

EXECUTOR = Path(__file__).resolve().with_name("countdown_executor.py")


def build_scheduler(args: argparse.Namespace) -> Scheduler:
    """One task type whose tasks run in ``countdown_executor.py``."""
    return Scheduler(
        master=args.master,
        framework_name="executor-example",
        tasks={
            "countdown": {
                "instances": args.instances,
                # A message rather than a dict: left without an executor_id, each task
                # gets an executor of its own, named after the task ID.
                "executor": mesos.ExecutorInfo(
                    type=mesos.ExecutorInfo.CUSTOM,
                    name="countdown executor",
                    command=mesos.CommandInfo(
                        value=sys.executable,
                        arguments=[sys.executable, str(EXECUTOR)],
                        shell=False,
                    ),
                ),
                "labels": {"countdown": str(args.countdown)},
                "resources": {"cpus": 0.1, "mem": 32},
            }
        },
        refuse_seconds=1.0,
    )


async def main_async(args: argparse.Namespace) -> int:
    scheduler = build_scheduler(args)
    view = LiveView(scheduler)
    errors = report_errors(scheduler)
    finished: dict[str, bytes] = {}
    pongs: list[str] = []

    def on_message(message: scheduler_pb2.Event.Message) -> None:
        text = message.data.decode(errors="replace")
        log.info("  message from an executor: %s", text)
        if text.startswith("pong: "):
            pongs.append(text)

    async def on_launched(rec: TaskRecord) -> None:
        # A framework message to the executor running this task (unreliable, like Mesos's).
        await scheduler.message(rec.agent_id or "", rec.executor_id or rec.task_id, f"ping {rec.name}")

    def on_update(update: scheduler_pb2.Event.Update) -> None:
        status = update.status
        if status.state == TaskState.TASK_FINISHED:
            finished[status.task_id.value] = status.data
            log.info("  %s finished: %s (data %r)", status.task_id.value[-8:], status.message, status.data)

    scheduler.on("message", on_message)
    scheduler.on("task_launched", on_launched)
    scheduler.on("update", on_update)

    async with run_steps(scheduler, note="the agent shuts the executors down") as outcome:
        await scheduler.start()
        await view.wait_until(
            f"{args.instances} finished tasks",
            lambda: len(finished) == args.instances and not scheduler.tasks,
            args.countdown + args.step_timeout,
        )
        log.info("%d task(s) finished, %d pong(s) received", len(finished), len(pongs))
        if errors:
            outcome.fail(f"{len(errors)} error(s) reported while running")
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("Tasks run by a custom executor.")
    parser.add_argument("--instances", type=int, default=2, help="tasks to run (2)")
    parser.add_argument("--countdown", type=int, default=3, help="seconds each task counts down (3)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="extra seconds to wait")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
