"""A service of several task types: priorities, several ports per task, scaling.

In the spirit of the JavaScript library's ``dockerSchedulerApacheFlink.js``
(job managers and task managers of an Apache Flink cluster), with plain
commands so it runs anywhere:

- ``jobmanager``: priority 1 (placed first), two instances, two ports each:
  ``PORT0`` for RPC and ``PORT1`` for a web UI, served by
  ``python3 -m http.server``; not scalable.
- ``taskmanager``: priority 2, two instances, three ports each (data, RPC,
  metrics), ``allow_scaling=True``. Each is told where the job managers'
  RPC ports are through the environment, as the Flink example passed its
  HA settings.

The example launches both types, shows the launch order and every task's
ports, checks each job manager's web UI answers, scales the task managers
up and down, shows that scaling a type without ``allow_scaling`` is refused,
and tears down.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys

import aiohttp
from _common import LiveView, arg_parser, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.scheduler import ScalingNotAllowed


def build_scheduler(args: argparse.Namespace) -> Scheduler:
    """Two task types with different priorities, port counts and scaling rules."""
    python = sys.executable  # the agent runs on this machine in the local cluster
    return Scheduler(
        master=args.master,
        framework_name="multi-service",
        tasks={
            "jobmanager": {
                "priority": 1,
                "instances": 2,
                "command": {
                    "value": f"exec {python} -m http.server $PORT1 --bind 0.0.0.0",
                    "shell": True,
                },
                "resources": {"cpus": 0.2, "mem": 64, "ports": 2},
                "environment": {"ROLE": "jobmanager", "RECOVERY_MODE": "standalone"},
            },
            "taskmanager": {
                "priority": 2,
                "instances": args.taskmanagers,
                "allow_scaling": True,
                "command": {"value": "exec sleep 600", "shell": True},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 3},
                "environment": {"ROLE": "taskmanager", "TASK_SLOTS": "2"},
            },
        },
        refuse_seconds=1.0,
    )


async def check_web_uis(scheduler: Scheduler) -> int:
    """GET every job manager's web UI (its second port); returns how many answered 200."""
    ok = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for rec in scheduler.task_records("jobmanager"):
            url = f"http://{rec.ip or rec.hostname}:{rec.ports[1]}/"
            for _ in range(20):  # the server may still be starting
                try:
                    async with http.get(url) as resp:
                        log.info("  %s web UI %s -> HTTP %d", rec.name, url, resp.status)
                        ok += resp.status == 200
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.25)
            else:
                log.info("  %s web UI %s does not answer", rec.name, url)
    return ok


async def main_async(args: argparse.Namespace) -> int:
    scheduler = build_scheduler(args)
    view = LiveView(scheduler)
    report_errors(scheduler)
    order: list[str] = []

    def on_accept(call: scheduler_pb2.Call) -> None:
        names = [t.name for op in call.accept.operations for t in op.launch.task_infos]
        order.extend(names)
        log.info("ACCEPT launches %s", ", ".join(names))

    scheduler.on("sent_accept", on_accept)

    def settled(jobmanagers: int, taskmanagers: int) -> bool:
        return (
            len(view.running("jobmanager")) == jobmanagers
            and len(view.running("taskmanager")) == taskmanagers
            and len(scheduler.tasks) == jobmanagers + taskmanagers
        )

    timeout = args.step_timeout
    async with run_steps(scheduler) as outcome:
        await scheduler.start()
        await view.wait_until("the service", lambda: settled(2, args.taskmanagers), timeout)
        log.info("launch order (by priority): %s", " ".join(order))
        view.table("service up")
        for rec in scheduler.task_records():
            log.info("  %s ports: %s", rec.name, " ".join(f"PORT{i}={p}" for i, p in enumerate(rec.ports)))
        answered = await check_web_uis(scheduler)
        if answered != 2:
            outcome.fail(f"{answered} of 2 web UIs answered")

        for target in (args.scale_up, args.scale_down):
            log.info("== scaling taskmanager to %d", target)
            await scheduler.scale("taskmanager", target)
            await view.wait_until(f"{target} task managers", functools.partial(settled, 2, target), timeout)
            view.table(f"taskmanager x {target}")

        try:
            await scheduler.scale("jobmanager", 3)
        except ScalingNotAllowed as exc:
            log.info("scaling jobmanager refused, as configured: %s", exc)
        else:
            outcome.fail("scaling jobmanager was not refused")
        if args.run_for:
            log.info("running for %gs", args.run_for)
            await asyncio.sleep(args.run_for)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("A multi-type service: priorities, several ports, scaling.")
    parser.add_argument("--taskmanagers", type=int, default=2, help="task managers to start with (2)")
    parser.add_argument("--scale-up", type=int, default=4, help="task managers after scaling up (4)")
    parser.add_argument("--scale-down", type=int, default=1, help="task managers after scaling down (1)")
    parser.add_argument("--run-for", type=float, default=0.0, help="seconds to keep running before teardown")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds each step may take")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
