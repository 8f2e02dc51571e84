"""A stateful service: each instance keeps a journal on its own persistent volume.

The ``store`` task type asks for a 16 MB volume at ``data`` (``volumes=[...]``). On its first
launch the scheduler reserves the instance's resources on the agent (for the framework's role),
creates the volume and launches the task on it, in one ACCEPT; every later launch of the instance
goes to the same agent and the same volume. Each run appends a line to ``data/journal`` and serves
its sandbox over HTTP on ``$PORT0``, so the example reads the journal back:

1. the first run: one line;
2. ``restart_task`` kills and relaunches the instance: on the same agent, on the same volume,
   the journal has two lines;
3. scaling to 0 gives the volume and the reservation back (DESTROY and UNRESERVE, confirmed by
   operation feedback), then the example tears down.

The framework needs a role (``--role``) and the ``RESERVATION_REFINEMENT`` capability.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys

import aiohttp
from _common import LiveView, arg_parser, cluster_url, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.tasks import TaskRecord

PYTHON = shlex.quote(sys.executable)
RUN = (
    'echo "run started at $(date +%H:%M:%S)" >> data/journal && '
    f"exec {PYTHON} -m http.server $PORT0 --bind $HOST"
)


def build_scheduler(master: str, role: str) -> Scheduler:
    """One stateful type, ``store``, with a persistent volume per instance."""
    return Scheduler(
        master=master,
        framework_name="stateful-service",
        roles=[role],
        capabilities=["RESERVATION_REFINEMENT"],
        tasks={
            "store": {
                "instances": 1,
                "allow_scaling": True,
                "command": {"value": RUN},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
                "volumes": [{"container_path": "data", "size_mb": 16}],
            }
        },
        refuse_seconds=0.5,
        restart_backoff_minimum=0.5,
    )


async def journal(rec: TaskRecord, timeout: float) -> list[str]:  # noqa: ASYNC109
    """The instance's journal, read over HTTP from its sandbox (retried while the server starts)."""
    url = f"http://{rec.ip}:{rec.ports[0]}/data/journal"
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return (await resp.text()).splitlines()
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no journal at {url}")
            await asyncio.sleep(0.2)


async def main_async(args: argparse.Namespace) -> int:
    async with cluster_url(args.master, allocation_interval=0.2) as master:
        scheduler = build_scheduler(master, args.role)
        view = LiveView(scheduler)
        report_errors(scheduler)
        finished: dict[str, str] = {}
        changed = asyncio.Event()

        def on_operation(update: scheduler_pb2.Event.UpdateOperationStatus) -> None:
            op = update.status.operation_id.value
            finished[op] = mesos_pb2.OperationState.Name(update.status.state)
            log.info("operation %s: %s", op.rsplit(".", 1)[-1].upper(), finished[op])
            changed.set()

        scheduler.on("update_operation_status", on_operation)

        def store() -> TaskRecord | None:
            running = view.running("store")
            return running[0] if running else None

        async with run_steps(scheduler) as outcome:
            await scheduler.start()
            await view.wait_until("the store to run", lambda: store() is not None, args.step_timeout)
            first = store()
            assert first is not None
            lines = await journal(first, args.step_timeout)
            log.info(
                "store-1 on %s, volume %s: journal has %d line(s)", first.hostname, first.claim, len(lines)
            )

            log.info("== restarting store-1")
            await scheduler.restart_task("store-1")
            await view.wait_until(
                "the relaunch",
                lambda: (rec := store()) is not None and rec.task_id != first.task_id,
                args.step_timeout,
            )
            again = store()
            assert again is not None
            lines = await journal(again, args.step_timeout)
            same = "the same" if (again.agent_id, again.claim) == (first.agent_id, first.claim) else "ANOTHER"
            log.info("relaunched on %s agent and volume: journal has %d line(s)", same, len(lines))
            for line in lines:
                log.info("  | %s", line)

            log.info("== scaling store to 0")
            await scheduler.scale("store", 0)
            unreserve = f"{first.claim}.unreserve"
            async with asyncio.timeout(args.step_timeout):
                while unreserve not in finished:
                    changed.clear()
                    await changed.wait()
            if finished[unreserve] == "OPERATION_FINISHED":
                log.info("volume destroyed and resources unreserved")
            else:
                outcome.fail(f"unreserving ended {finished[unreserve]}")
            if args.run_for:
                await asyncio.sleep(args.run_for)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("A service whose instances keep their data on persistent volumes.")
    parser.add_argument("--role", default="stateful", help="the framework's role, reservations are for it")
    parser.add_argument("--run-for", type=float, default=0.0, help="seconds to keep running before teardown")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds each step may take")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
