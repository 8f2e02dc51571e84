"""A hot-standby pair: two replicas of one framework, one leads, the other takes over.

Both replicas are the same `Scheduler` with the `ha` option: they keep the framework's state in
ZooKeeper (`use_zk`) and elect their leader there. The leader subscribes and runs the tasks; the
standby waits with the fleet loaded. Here both run in one process for the demonstration; in
production each runs on its own machine (``mesos-framework run app.py --ha zk://...``).

The example stops the leader (as a deploy or a failing machine would), watches the standby take
the same framework over and adopt the running tasks (same task IDs, nothing launched again),
then tears the framework down.

Try it (a ZooKeeper on 127.0.0.1:2181)::

    python examples/ha_pair.py --zk-url 127.0.0.1:2181
    python examples/ha_pair.py --zk-url 127.0.0.1:2181 --master 127.0.0.1:5050

With ``--master local`` (the default) a local cluster is started in this process and both
replicas use its URL (the `ha` option refuses ``master="local"``, which would give each replica a
cluster of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator

from _common import arg_parser, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler
from mesos_framework.scheduler import HighAvailability
from mesos_framework.tasks import TaskState

TYPE = "sleep"


@contextlib.asynccontextmanager
async def master_url(master: str) -> AsyncIterator[str]:
    """The master to share: a local cluster started here for ``local``."""
    if master != "local":
        yield master
        return
    from mesos_framework.local import LocalCluster

    async with LocalCluster() as cluster:
        yield cluster.url


def replica(args: argparse.Namespace, master: str, name: str) -> Scheduler:
    scheduler = Scheduler(
        master=master,
        framework_name=args.framework_name,
        use_zk=True,
        zk_url=args.zk_url,
        zk_prefix="/examples-",
        ha=HighAvailability(
            args.zk_url,
            f"/examples-{args.framework_name}-leader",
            session_timeout=args.session_timeout,
            identifier=name,
        ),
        framework_failover_timeout=3600,
        tasks={
            TYPE: {
                "instances": args.instances,
                "command": {"value": "sleep 600"},
                "resources": {"cpus": 0.1, "mem": 32},
            }
        },
        refuse_seconds=1.0,
    )
    report_errors(scheduler)
    scheduler.on("became_standby", lambda: log.info("%s: standing by", name))
    scheduler.on("leader_elected", lambda node: log.info("%s: elected leader (%s)", name, node))
    scheduler.on("leadership_lost", lambda node: log.info("%s: no longer leads", name))
    return scheduler


def running(scheduler: Scheduler) -> dict[str, str]:
    return {r.name: r.task_id for r in scheduler.tasks if r.state == TaskState.TASK_RUNNING}


async def wait_for(what: str, predicate: object, timeout: float) -> None:  # noqa: ASYNC109
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - a condition over two schedulers, polled
            await asyncio.sleep(0.1)
    log.info("%s", what)


async def main_async(args: argparse.Namespace) -> int:
    async with master_url(args.master) as master:
        replicas = {name: replica(args, master, name) for name in ("replica-a", "replica-b")}
        async with run_steps(*replicas.values(), teardown=False) as outcome:
            for scheduler in replicas.values():
                await scheduler.start()

            def leader() -> str | None:
                found = [n for n, s in replicas.items() if s.leading and s.connected]
                return found[0] if len(found) == 1 else None

            def leader_runs_all() -> bool:
                name = leader()
                return name is not None and len(running(replicas[name])) == args.instances

            await wait_for("one replica leads and runs the tasks", leader_runs_all, args.step_timeout)
            first = leader()
            assert first is not None
            tasks = running(replicas[first])
            framework_id = replicas[first].framework_id
            for instance, task_id in sorted(tasks.items()):
                log.info("  %s runs as %s", instance, task_id)
            log.info("%s leads framework %s", first, framework_id)

            log.info("== stopping %s (the leader); its tasks keep running", first)
            await replicas[first].stop()
            second = next(n for n in replicas if n != first)

            def taken_over() -> bool:
                s = replicas[second]
                return s.leading and s.connected and running(s) == tasks

            await wait_for(f"{second} took over and adopted the tasks", taken_over, args.step_timeout)
            log.info(
                "%s leads framework %s (same: %s), same task IDs: %s",
                second,
                replicas[second].framework_id,
                replicas[second].framework_id == framework_id,
                running(replicas[second]) == tasks,
            )
            log.info("== teardown: Mesos kills the tasks; the ZooKeeper state is cleared")
            await replicas[second].teardown()
            await replicas[second].wait_closed()
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("A hot-standby pair: the standby takes the framework over when the leader stops.")
    parser.add_argument(
        "--zk-url",
        default=os.environ.get("ZK_URL", "127.0.0.1:2181"),
        help="ZooKeeper hosts for the state and the election (default: $ZK_URL, else 127.0.0.1:2181)",
    )
    parser.add_argument(
        "--framework-name", default=f"ha-pair-{uuid.uuid4().hex[:6]}", help="FrameworkInfo.name"
    )
    parser.add_argument("--instances", type=int, default=2, help="sleep instances (2)")
    parser.add_argument("--session-timeout", type=float, default=4.0, help="ZooKeeper session timeout (4 s)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds to wait for each step")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
