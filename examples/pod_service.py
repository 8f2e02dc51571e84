"""A pod: two containers launched together (``LAUNCH_GROUP``) on Mesos's default executor.

Each instance of ``app`` is a pod of two containers:

- ``web``: a small HTTP server on the pod's host port (``$PORT0``), with an HTTP health check;
- ``worker``: a loop that exits 1 ("crashes") when the example drops a trigger file (one
  worker takes it).

The pod is one instance: it is placed, scaled and restarted as a whole. When a ``worker``
crashes, the default executor kills ``web`` too and the scheduler relaunches the pod. The
example prints each container's state (``record.containers``), shows the crash and relaunch,
scales to three pods and tears down. Mesos's default executor (or the local cluster's) is
needed: the agent must support task groups.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from _common import LiveView, arg_parser, cluster_url, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.tasks import TaskRecord, TaskState

PYTHON = shlex.quote(sys.executable)


def build_scheduler(master: str, trigger: Path) -> Scheduler:
    """One pod type, ``app``: ``web`` and ``worker``."""
    worker = f"while ! rm {shlex.quote(str(trigger))} 2>/dev/null; do sleep 0.2; done; echo crashing; exit 1"
    return Scheduler(
        master=master,
        framework_name="pod-service",
        tasks={
            "app": {
                "instances": 2,
                "allow_scaling": True,
                "pod": {
                    "containers": [
                        {
                            "name": "web",
                            "command": {"value": f"exec {PYTHON} -m http.server $PORT0 --bind 127.0.0.1"},
                            "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
                            "health_check": {
                                "http": {"path": "/"},
                                "delay_seconds": 0.5,
                                "interval_seconds": 1,
                                "grace_period_seconds": 10,
                            },
                        },
                        {
                            "name": "worker",
                            "command": {"value": worker},
                            "resources": {"cpus": 0.1, "mem": 16},
                        },
                    ],
                    "executor_resources": {"cpus": 0.1, "mem": 32, "disk": 10},
                },
            }
        },
        refuse_seconds=0.5,
        restart_backoff_minimum=0.5,
    )


def containers(rec: TaskRecord) -> str:
    """``web=RUNNING worker=RUNNING`` from a pod's record."""
    return " ".join(f"{name}={state.short}" for name, state in sorted((rec.containers or {}).items()))


async def main_async(args: argparse.Namespace) -> int:
    trigger = Path(tempfile.mkdtemp(prefix="pod-service-")) / "crash"
    async with cluster_url(args.master, allocation_interval=0.2) as master:
        scheduler = build_scheduler(master, trigger)
        view = LiveView(scheduler)
        report_errors(scheduler)
        ends: dict[str, str] = {}

        def on_update(update: scheduler_pb2.Event.Update) -> None:
            state = TaskState(update.status.state)
            if state.is_terminal:
                ends[update.status.task_id.value] = state.name

        scheduler.on("update", on_update)

        def up(count: int) -> bool:
            pods = view.running("app")
            return len(pods) == count and all(r.healthy for r in pods)

        async with run_steps(
            scheduler, cleanup=lambda: shutil.rmtree(trigger.parent, ignore_errors=True)
        ) as outcome:
            await scheduler.start()
            await view.wait_until("two healthy pods", lambda: up(2), args.step_timeout)
            first = {r.serial: r.task_id for r in view.running("app")}
            for rec in view.running("app"):
                log.info("pod %s on %s: %s", rec.name, rec.hostname, containers(rec))

            log.info("== making one worker crash")
            trigger.touch()
            await view.wait_until(
                "a pod relaunched",
                lambda: up(2) and {r.task_id for r in view.running("app")} != set(first.values()),
                args.step_timeout,
            )
            for serial, task_id in first.items():
                pod_ends = {k.rsplit(".", 1)[1]: v for k, v in ends.items() if k.startswith(task_id + ".")}
                if pod_ends:
                    log.info(
                        "app-%d ended as a whole: %s",
                        serial,
                        " ".join(f"{name} {state}" for name, state in sorted(pod_ends.items())),
                    )
            for rec in view.running("app"):
                if first.get(rec.serial) != rec.task_id:
                    log.info("pod %s relaunched: %s", rec.name, containers(rec))

            log.info("== scaling app to 3")
            await scheduler.scale("app", 3)
            await view.wait_until("three healthy pods", lambda: up(3), args.step_timeout)
            log.info("scaled to 3: %d pods running", len(view.running("app")))
            if args.run_for:
                await asyncio.sleep(args.run_for)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("A pod of two containers, restarted and scaled as one instance.")
    parser.add_argument("--run-for", type=float, default=0.0, help="seconds to keep running before teardown")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds each step may take")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
