"""Docker tasks on BRIDGE or HOST networking, with several ports (PORT0, PORT1...).

The counterpart of the JavaScript library's ``dockerSchedulerBridgeNetworking.js``
and ``dockerSchedulerHostNetworking.js`` in one file (``--network bridge`` or
``--network host``). Two task types, launched in priority order:

- ``web`` (priority 1, two instances, one port): a Python web server;
- ``admin`` (priority 2, one instance, two ports): the same image serving on
  two ports.

With ``--network bridge`` every host port the offer gives is mapped to a
fixed container port (``port_mappings``: 8080, and 8080 and 9090 for
``admin``); with ``--network host`` the container shares the agent's network
and the server listens on the host port itself (``$PORT0``, ``$PORT1``). In
both cases the tasks get ``PORT0``.. ``PORTn`` (the host ports) and ``HOST``
in their environment.

The example prints the TaskInfos of every ACCEPT it sends (image, network,
port mappings, environment), then follows the tasks. On an agent without
Docker, such as the local cluster on a machine without a Docker engine, the
agent fails each launch with a clear message, which the example prints before
it gives up and exits with status 1. With Docker, the tasks run for
``--run-for`` seconds before a teardown, and the example exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from _common import LiveView, arg_parser, log, run_main, run_steps

from mesos_framework import Scheduler, TaskState
from mesos_framework.errors import RestartsExhausted
from mesos_framework.protocol import to_dict
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

IMAGE = "python:3.12-alpine"


def task_types(network: str) -> dict[str, dict[str, Any]]:
    """The two task types, as the seed's option dicts (snake_case keys)."""
    bridge = network == "BRIDGE"

    def container() -> dict[str, Any]:
        return {"type": "DOCKER", "docker": {"image": IMAGE, "network": network}}

    def server(*ports: str) -> dict[str, Any]:
        # One web server per port; under BRIDGE they listen on the container ports.
        servers = " & ".join(f"python3 -m http.server {p}" for p in ports)
        return {"value": f"{servers} & wait", "shell": True}

    return {
        "web": {
            "priority": 1,
            "instances": 2,
            "container": container(),
            "command": server("8080" if bridge else "$PORT0"),
            "resources": {"cpus": 0.2, "mem": 128, "ports": 1},
            "port_mappings": [{"port": 8080, "protocol": "tcp"}] if bridge else [],
            "environment": {"FOO": "BAR"},
        },
        "admin": {
            "priority": 2,
            "instances": 1,
            "container": container(),
            "command": server(*(("8080", "9090") if bridge else ("$PORT0", "$PORT1"))),
            "resources": {"cpus": 0.2, "mem": 256, "ports": 2},
            "port_mappings": [{"port": 8080}, {"port": 9090}] if bridge else [],
        },
    }


def show_accept(call: scheduler_pb2.Call, *, as_json: bool = False) -> None:
    """Print what an ACCEPT launches: per task its image, network, port mappings and env."""
    if as_json:
        log.info("ACCEPT call:\n%s", json.dumps(to_dict(call), indent=2))
    for op in call.accept.operations:
        for task in op.launch.task_infos:
            docker = task.container.docker
            network = mesos_pb2.ContainerInfo.DockerInfo.Network.Name(docker.network)
            mappings = ", ".join(
                f"{m.host_port}->{m.container_port}/{m.protocol}" for m in docker.port_mappings
            )
            env = " ".join(
                f"{v.name}={v.value}" for v in task.command.environment.variables if v.name != "HOST"
            )
            log.info(
                "ACCEPT launches %s: image %s, network %s, port mappings [%s], env %s",
                task.name,
                docker.image,
                network,
                mappings or "none",
                env,
            )


async def main_async(args: argparse.Namespace) -> int:
    network = args.network.upper()
    types = task_types(network)
    scheduler = Scheduler(
        master=args.master,
        framework_name=f"docker-{args.network}",
        tasks=types,
        max_restarts=args.max_restarts,
        restart_backoff_minimum=1.0,
        refuse_seconds=1.0,
    )
    view = LiveView(scheduler)
    scheduler.on("sent_accept", lambda call: show_accept(call, as_json=args.json))
    total = sum(t["instances"] for t in types.values())
    given_up: set[str] = set()
    failures: list[str] = []

    def on_update(update: scheduler_pb2.Event.Update) -> None:
        status = update.status
        state = TaskState(status.state)
        if state.is_failure:
            reason = mesos_pb2.TaskStatus.Reason.Name(status.reason) if status.HasField("reason") else "-"
            failures.append(status.message)
            log.info("  %s failed: %s (%s, %s)", status.task_id.value, status.message, state.name, reason)

    def on_error(exc: BaseException) -> None:
        if isinstance(exc, RestartsExhausted):
            given_up.add(str(exc))
        log.info("error: %s", exc)

    scheduler.on("update", on_update)
    scheduler.on("error", on_error)

    async with run_steps(scheduler) as outcome:
        await scheduler.start()
        await view.wait_until(
            "every instance to run or be given up",
            lambda: len(view.running()) == total or len(given_up) == total,
            args.step_timeout,
        )
        if len(given_up) == total:
            outcome.fail(f"the cluster could not start the containers: {failures[-1] if failures else '?'}")
        else:
            view.table("running")
            log.info("running for %gs", args.run_for)
            await asyncio.sleep(args.run_for)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("Docker tasks on BRIDGE or HOST networking.")
    parser.add_argument("--network", choices=("bridge", "host"), default="bridge", help="Docker network")
    parser.add_argument("--run-for", type=float, default=60.0, help="seconds to run once up (60)")
    parser.add_argument(
        "--max-restarts", type=int, default=2, help="relaunches of a failing instance before giving up (2)"
    )
    parser.add_argument("--json", action="store_true", help="also print each ACCEPT call as JSON")
    parser.add_argument("--step-timeout", type=float, default=120.0, help="seconds to wait for the tasks")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
