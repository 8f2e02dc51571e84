"""The task health helper watching an HTTP service this example runs, and replacing a broken instance.

The scheduler runs two instances of ``web``, a tiny HTTP server (Python's
``http.server``) listening on the task's ``$PORT0``. It answers ``/health``
with 200 until someone POSTs to ``/break``; from then on with 503.

A :class:`~mesos_framework.TaskHealthHelper` polls ``/health`` of every
running task twice a second. The example waits until both instances are
healthy, breaks ``web-2``, and once the helper has seen ``grace_count``
failed checks in a row it emits ``task_unhealthy``: the example answers by
restarting that instance (a new task is launched, the old one killed) and
waits for the replacement to be healthy. Then it tears down.

The helper works on any object with ``launched_tasks`` and ``emit()``
(:class:`~mesos_framework.health.HealthCheckTarget`); :class:`HealthView`
below adapts a :class:`~mesos_framework.Scheduler` to it and keeps each
task's health properties (``healthy``, ``checkFailCount``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import aiohttp
from _common import LiveView, arg_parser, log, report_errors, run_main, run_steps

from mesos_framework import Scheduler, TaskHealthHelper, TaskState
from mesos_framework.tasks import TaskRecord

SERVER = """
import http.server, os

class Handler(http.server.BaseHTTPRequestHandler):
    broken = False

    def do_GET(self):
        bad = Handler.broken and self.path == "/health"
        self.send_response(503 if bad else 200)
        self.end_headers()
        self.wfile.write(b"broken\\n" if bad else b"ok\\n")

    def do_POST(self):
        Handler.broken = self.path == "/break"
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.HTTPServer(("", int(os.environ["PORT0"])), Handler).serve_forever()
"""


class HealthTask:
    """A tracked task as the health helper sees it: the record plus health properties."""

    def __init__(self, record: TaskRecord, properties: MutableMapping[str, Any]) -> None:
        self.record = record
        self.properties = properties

    @property
    def task_id(self) -> str:
        return self.record.task_id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def state(self) -> TaskState:
        return self.record.state

    @property
    def hostname(self) -> str | None:
        return self.record.hostname

    @property
    def ip(self) -> str | None:
        return self.record.ip

    @property
    def ports(self) -> Sequence[int]:
        return self.record.ports


class HealthView:
    """Adapts a Scheduler to the health helper: its tasks, and the events the helper emits."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.properties: dict[str, dict[str, Any]] = {}
        self.listeners: dict[str, list[Callable[[HealthTask], object]]] = {}
        scheduler.on("removed_task", lambda rec: self.properties.pop(rec.task_id, None))

    @property
    def launched_tasks(self) -> list[HealthTask]:
        return [HealthTask(r, self.properties.setdefault(r.task_id, {})) for r in self.scheduler.tasks]

    def on(self, event: str, listener: Callable[[HealthTask], object]) -> None:
        self.listeners.setdefault(event, []).append(listener)

    def emit(self, event: str, payload: Any) -> None:
        for listener in self.listeners.get(event, []):
            listener(payload)

    def healthy(self, rec: TaskRecord) -> bool:
        return self.properties.get(rec.task_id, {}).get("healthy") is True


async def main_async(args: argparse.Namespace) -> int:
    scheduler = Scheduler(
        master=args.master,
        framework_name="health-check-example",
        tasks={
            "web": {
                "instances": 2,
                "command": {"value": args.python, "arguments": [args.python, "-c", SERVER], "shell": False},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
            }
        },
        refuse_seconds=1.0,
    )
    view = LiveView(scheduler)
    report_errors(scheduler)
    health = HealthView(scheduler)
    helper = TaskHealthHelper(health, url="/health", interval=args.interval, grace_count=2, timeout=2.0)
    unhealthy: asyncio.Queue[HealthTask] = asyncio.Queue()

    def on_unhealthy(task: HealthTask) -> None:
        log.info("  %s is unhealthy (%s failed checks)", task.name, task.properties.get("checkFailCount"))
        unhealthy.put_nowait(task)

    health.on("task_unhealthy", on_unhealthy)

    def web(serial: int) -> TaskRecord | None:
        running = [r for r in view.running("web") if r.serial == serial]
        return running[0] if running else None

    def all_healthy() -> bool:
        return len(view.running("web")) == 2 and all(health.healthy(r) for r in view.running("web"))

    async def until_healthy(what: str) -> None:
        # Health results come from the helper, not from task updates: poll them.
        deadline = asyncio.get_running_loop().time() + args.step_timeout
        while not all_healthy():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"gave up waiting for {what}")
            await asyncio.sleep(args.interval / 2)
        for rec in view.running("web"):
            log.info("  %s healthy on port %d", rec.name, rec.ports[0])

    async with run_steps(scheduler, cleanup=helper.close) as outcome:
        await scheduler.start()
        helper.setup_health_check()
        await view.wait_until(
            "2 running web servers", lambda: len(view.running("web")) == 2, args.step_timeout
        )
        await until_healthy("both web servers to be healthy")

        broken = web(2)
        assert broken is not None
        url = f"http://{broken.ip or broken.hostname}:{broken.ports[0]}/break"
        log.info("== breaking web-2: POST %s", url)
        async with aiohttp.ClientSession() as http, http.post(url) as resp:
            resp.raise_for_status()
        async with asyncio.timeout(args.step_timeout):
            # Reports from before the break (servers still starting) are not about it.
            task = await unhealthy.get()
            while task.task_id != broken.task_id:
                task = await unhealthy.get()
        log.info("== restarting %s (%s)", task.name, task.task_id)
        await scheduler.restart_task(task.task_id)
        await view.wait_until(
            "a replacement for web-2",
            lambda: (rec := web(2)) is not None and rec.task_id != broken.task_id,
            args.step_timeout,
        )
        await until_healthy("the replacement to be healthy")
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser("The task health helper watching an HTTP service run as a task.")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="Python interpreter on the agents for the web server (default: this one)",
    )
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between health checks (0.5)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds each step may take")
    return run_main(parser, main_async, argv)


if __name__ == "__main__":
    sys.exit(main())
