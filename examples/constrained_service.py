"""A constrained service: placement constraints on hostname and agent attributes.

Three task types with Marathon-style constraints:

- ``web``: one instance per agent (``["hostname", "UNIQUE"]``);
- ``cache``: spread over both racks (``["rack", "GROUP_BY", "2"]``);
- ``db``: only on rack ``r1`` (``["rack", "IS", "r1"]``), at most one per agent
  (``["hostname", "MAX_PER", "1"]``). Three are asked for but rack ``r1`` has
  two agents, so the third waits for an agent that fits.

With ``--master local`` (the default) the example starts its own local cluster
of three agents: ``agent-1`` and ``agent-2`` on rack ``r1``, ``agent-3`` on rack
``r2``. On a real cluster, start the agents with ``--attributes=rack:r1`` (or
``r2``). It prints where each instance landed, scales ``web`` past the number
of agents to show the extra instance waiting, and tears down.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter

from _common import LiveView, arg_parser, cluster_url, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler
from mesos_framework.local import AgentSpec

RACKS = {"agent-1": "r1", "agent-2": "r1", "agent-3": "r2"}
CMD = {"value": "exec sleep 600", "shell": True}
RES = {"cpus": 0.1, "mem": 32}


def build_scheduler(master: str) -> Scheduler:
    """Three constrained task types."""
    return Scheduler(
        master=master,
        framework_name="constrained-service",
        tasks={
            "web": {
                "instances": 3,
                "allow_scaling": True,
                "command": CMD,
                "resources": RES,
                "constraints": [["hostname", "UNIQUE"]],
            },
            "cache": {
                "instances": 4,
                "command": CMD,
                "resources": RES,
                "constraints": [["rack", "GROUP_BY", "2"]],
            },
            "db": {
                "instances": 3,
                "command": CMD,
                "resources": RES,
                "constraints": [["rack", "IS", "r1"], ["hostname", "MAX_PER", "1"]],
            },
        },
        refuse_seconds=0.5,
    )


AGENTS = [AgentSpec(hostname=host, attributes={"rack": rack}) for host, rack in RACKS.items()]


async def main_async(args: argparse.Namespace) -> int:
    if args.master == "local":
        log.info("local cluster: %s", ", ".join(f"{h} (rack {r})" for h, r in RACKS.items()))
    async with cluster_url(args.master, AGENTS, allocation_interval=0.2) as master:
        scheduler = build_scheduler(master)
        view = LiveView(scheduler)
        report_errors(scheduler)

        def settled(web: int) -> bool:
            return (
                len(view.running("web")) == web
                and len(view.running("cache")) == 4
                and len(view.running("db")) == 2
            )

        async with run_steps(scheduler) as outcome:
            await scheduler.start()
            await view.wait_until("the service", lambda: settled(3), args.step_timeout)
            for type_name in ("web", "cache", "db"):
                log.info("%s on: %s", type_name, view.hosts(type_name))
            racks = Counter(RACKS.get(r.hostname or "", "?") for r in view.running("cache"))
            log.info("cache per rack: %s", " ".join(f"{k}={v}" for k, v in sorted(racks.items())))
            log.info("waiting for an agent that fits: %s", " ".join(f"{t}-{n}" for t, n in scheduler.pending))

            log.info("== scaling web to 4 (one more than there are agents)")
            await scheduler.scale("web", 4)
            await asyncio.sleep(args.settle)
            log.info("web on: %s", view.hosts("web"))
            log.info("waiting for an agent that fits: %s", " ".join(f"{t}-{n}" for t, n in scheduler.pending))
            if args.run_for:
                log.info("running for %gs", args.run_for)
                await asyncio.sleep(args.run_for)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("A service placed by constraints on hostname and a rack attribute.")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to watch offers after scaling (2)")
    parser.add_argument("--run-for", type=float, default=0.0, help="seconds to keep running before teardown")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds each step may take")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
