"""Command scheduler with ZooKeeper persistence: stop it, start it again, nothing is relaunched.

The counterpart of the JavaScript library's ``commandSchedulerZk.js``. With
``use_zk=True`` the scheduler stores its framework ID and a small record of
every task under ``<zk_prefix><framework_name>`` in ZooKeeper. Started
again with the same ``framework_name``, it re-subscribes as the *same*
framework, reconciles the tasks it finds there and adopts them: running
tasks keep running, only missing instances are launched.

Try it::

    python examples/command_scheduler_zk.py --zk-url 127.0.0.1:2181 --run-for 20
    # stopped (Ctrl-C or --run-for): the framework fails over, its tasks keep running
    python examples/command_scheduler_zk.py --zk-url 127.0.0.1:2181 --run-for 20
    # "recovered framework ... with 2 task(s)": the same task IDs, nothing launched
    python examples/command_scheduler_zk.py --zk-url 127.0.0.1:2181 --teardown
    # TEARDOWN: Mesos kills the tasks, the ZooKeeper state is cleared

With ``--master local`` the cluster lives only as long as one run, so use a
cluster that outlives the scheduler: ``mesos-framework local`` in another
terminal, then ``--master 127.0.0.1:5050``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from _common import LiveView, arg_parser, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler

TYPE = "sleep"


async def main_async(args: argparse.Namespace) -> int:
    scheduler = Scheduler(
        master=args.master,
        framework_name=args.framework_name,
        use_zk=True,
        zk_url=args.zk_url,
        zk_prefix=args.zk_prefix,
        # How long Mesos keeps the framework's tasks while no scheduler is connected.
        framework_failover_timeout=args.failover_timeout,
        tasks={
            TYPE: {
                "instances": args.instances,
                "command": {"value": "sleep 600"},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
            }
        },
        refuse_seconds=1.0,
    )
    view = LiveView(scheduler)
    report_errors(scheduler)
    scheduler.on("subscribed", lambda sub: log.info("subscribed as framework %s", sub.framework_id.value))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with run_steps(
        scheduler, note="Mesos kills the tasks; the ZooKeeper state is cleared", teardown=args.teardown
    ) as outcome:
        await scheduler.start()  # reads ZooKeeper before it subscribes
        zk_path = scheduler.options.zk_path
        if scheduler.framework_id:
            log.info(
                "recovered framework %s with %d task(s) from ZooKeeper %s",
                scheduler.framework_id,
                len(scheduler.tasks),
                zk_path,
            )
            for rec in scheduler.tasks:
                log.info("  recovered %s %s (last known %s)", rec.name, rec.task_id, rec.state.short)
        else:
            log.info("no state in ZooKeeper %s: registering a new framework", zk_path)
        # Recovered tasks show as running before the master confirms them: subscribe first.
        await view.wait_until("the subscription", lambda: scheduler.connected, args.step_timeout)
        await view.wait_until(
            f"{args.instances} running tasks",
            lambda: len(view.running(TYPE)) == args.instances,
            args.step_timeout,
        )
        view.table("running")
        if not args.teardown:
            log.info("running for %gs (Ctrl-C stops; the tasks keep running)", args.run_for)
            try:
                async with asyncio.timeout(args.run_for):
                    await stop.wait()
            except TimeoutError:
                pass
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("Command scheduler that survives a restart (ZooKeeper persistence).")
    parser.add_argument(
        "--zk-url",
        default=os.environ.get("ZK_URL", "127.0.0.1:2181"),
        help="ZooKeeper hosts for the scheduler's state (default: $ZK_URL, else 127.0.0.1:2181)",
    )
    parser.add_argument("--zk-prefix", default="/dcos-service-", help="state path prefix (/dcos-service-)")
    parser.add_argument("--framework-name", default="command-scheduler-zk", help="FrameworkInfo.name")
    parser.add_argument("--instances", type=int, default=2, help="sleep instances (2)")
    parser.add_argument("--run-for", type=float, default=600.0, help="seconds to run once up (600)")
    parser.add_argument("--teardown", action="store_true", help="tear the framework down instead of stopping")
    parser.add_argument(
        "--failover-timeout", type=float, default=3600.0, help="framework failover timeout in seconds"
    )
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds to wait for the tasks")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
