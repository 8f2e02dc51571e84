"""Command scheduler: three ``sleep`` tasks, a rolling restart, scaling, teardown.

The Python counterpart of the JavaScript library's ``commandScheduler.js``,
done as a complete walk through a framework's life:

1. subscribe and launch three instances of the task type ``sleep``
   (``sleep-1`` .. ``sleep-3``), printing each state change as it happens:
   instance, state, agent, ports and the end of the task ID;
2. a rolling restart: each instance is replaced one at a time; the old task
   is killed only once its replacement runs;
3. scale up to five instances, then down to two;
4. TEARDOWN: Mesos kills what is left and forgets the framework. The example
   checks with the master that no task of it is still active, and exits 0.

Run it against a local cluster it starts itself (nothing to install)::

    python examples/command_scheduler.py
    python -m mesos_framework run examples/command_scheduler.py --master local

or against a real master: ``--master 10.0.0.5:5050`` or
``--master zk://10.0.0.2:2181/mesos``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
from _common import LiveView, arg_parser, log, report_errors, run_main, run_steps

from mesos_framework import MesosError, Scheduler

TYPE = "sleep"


def build_scheduler(args: argparse.Namespace) -> Scheduler:
    """The scheduler: one task type, ``sleep``, whose instances can be scaled."""
    return Scheduler(
        master=args.master,
        framework_name=args.framework_name,
        tasks={
            TYPE: {
                "instances": args.instances,
                "allow_scaling": True,
                # A shell command; PORT0 (the task's port), HOST and
                # TASK_SLEEP_SERIAL_NUMBER are in its environment.
                "command": {"value": "echo serial $TASK_SLEEP_SERIAL_NUMBER port $PORT0; sleep 600"},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
            }
        },
        # Short decline filters keep this demo snappy; the defaults suit production.
        refuse_seconds=1.0,
    )


async def confirm_torn_down(scheduler: Scheduler, framework_id: str | None) -> bool:
    """Ask the master's ``/master/state`` whether the framework is gone with all its tasks."""
    if scheduler.options.master == "local":
        # The cluster ran inside this process and stopped with the scheduler, tasks and all.
        log.info("the in-process local cluster stopped with the scheduler: nothing is left running")
        return True
    if not scheduler.leader or not framework_id:
        return False
    url = scheduler.leader.rstrip("/") + "/master/state"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for _ in range(50):
            async with http.get(url) as resp:
                state = await resp.json(content_type=None)
            active = [f for f in state.get("frameworks", []) if f.get("id") == framework_id]
            if not active:
                done = [f for f in state.get("completed_frameworks", []) if f.get("id") == framework_id]
                ended = sum(len(f.get("completed_tasks", [])) for f in done)
                log.info("master: framework %s completed; %d task(s) ended, none active", framework_id, ended)
                return True
            await asyncio.sleep(0.2)
    return False


async def main_async(args: argparse.Namespace) -> int:
    scheduler = build_scheduler(args)
    view = LiveView(scheduler)
    errors = report_errors(scheduler)
    scheduler.on(
        "subscribed",
        lambda sub: log.info(
            "subscribed as framework %s (master %s)", sub.framework_id.value, scheduler.leader
        ),
    )
    timeout = args.step_timeout

    def running(n: int) -> bool:
        return len(view.running(TYPE)) == n and len(scheduler.task_records(TYPE)) == n

    async def confirmed(framework_id: str) -> bool:
        try:
            return await confirm_torn_down(scheduler, framework_id)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("could not ask the master: %s", exc)
            return False

    async with run_steps(
        scheduler,
        note="Mesos kills the remaining tasks and forgets framework {framework_id}",
        failures=(TimeoutError, OSError, MesosError),
        confirm=confirmed,
    ) as outcome:
        await scheduler.start()
        log.info("== launching %d x %s", args.instances, TYPE)
        view.header()
        await view.wait_until(f"{args.instances} running tasks", lambda: running(args.instances), timeout)
        view.table("running")

        log.info("== rolling restart of %s (one instance at a time)", TYPE)
        before = {r.task_id for r in view.running(TYPE)}
        await scheduler.rolling_restart(TYPE, timeout=timeout)
        await view.wait_until(
            "the replaced tasks to end",
            lambda: running(args.instances) and not before & {r.task_id for r in scheduler.tasks},
            timeout,
        )
        view.table("rolling restart done")

        log.info("== scaling %s up to %d", TYPE, args.scale_up)
        await scheduler.scale(TYPE, args.scale_up)
        await view.wait_until(f"{args.scale_up} running tasks", lambda: running(args.scale_up), timeout)
        view.table("scaled up")

        log.info("== scaling %s down to %d", TYPE, args.scale_down)
        await scheduler.scale(TYPE, args.scale_down)
        await view.wait_until(f"{args.scale_down} running tasks", lambda: running(args.scale_down), timeout)
        view.table("scaled down")
        if errors:
            log.info("%d error(s) reported while running", len(errors))
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--framework-name", default="command-scheduler", help="FrameworkInfo.name")
    parser.add_argument("--instances", type=int, default=3, help="instances to start with (3)")
    parser.add_argument("--scale-up", type=int, default=5, help="instances after scaling up (5)")
    parser.add_argument("--scale-down", type=int, default=2, help="instances after scaling down (2)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds each step may take (60)")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
