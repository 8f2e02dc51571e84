"""Helpers shared by the examples: command-line options, logging and the live task view.

Not part of the library: the examples import it as a sibling module (Python
puts a script's own directory on ``sys.path``), so each example stays a
single runnable file that focuses on what it shows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from mesos_framework import MesosError, Scheduler, TaskState
from mesos_framework.tasks import TaskRecord

if TYPE_CHECKING:
    from mesos_framework.local import AgentSpec

log = logging.getLogger("example")


def arg_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every example takes (``--master``, ``-v``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--master",
        default=os.environ.get("MESOS_MASTER", "local"),
        help=(
            "'local' (start a local cluster in this process), host:port, http(s)://host:port "
            "or zk://host:2181/mesos (default: $MESOS_MASTER, else local)"
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="library logs too (-v: info, -vv: debug)"
    )
    return parser


def configure_logging(verbose: int) -> None:
    """Example output on stdout (``HH:MM:SS message``); library logs on stderr only with ``-v``."""
    out = logging.StreamHandler(sys.stdout)
    out.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log.addHandler(out)
    log.setLevel(logging.INFO)
    log.propagate = False
    library = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=library,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def short_agent(agent_id: str | None) -> str:
    """The last part of an agent ID (``...-S0`` gives ``S0``), enough to tell agents apart."""
    if not agent_id:
        return "-"
    return agent_id.rsplit("-", 1)[-1]


def task_line(rec: TaskRecord) -> str:
    """One line of the live view: instance, state, agent, ports and a short task ID."""
    ports = ",".join(str(p) for p in rec.ports) or "-"
    agent = f"{rec.hostname or '?'}/{short_agent(rec.agent_id)}"
    health = "" if rec.healthy is None else ("  healthy" if rec.healthy else "  UNHEALTHY")
    return f"{rec.name:<14} {rec.state.short:<9} {agent:<16} {ports:<18} …{rec.task_id[-8:]}{health}"


class LiveView:
    """Prints every task state change as it happens and lets the example wait for conditions."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._changed = asyncio.Event()
        self._last: dict[str, TaskState] = {}
        scheduler.on("updated_task", self._on_task)
        scheduler.on("removed_task", self._on_task)

    def _on_task(self, rec: TaskRecord) -> None:
        if self._last.get(rec.task_id) != rec.state:
            log.info("  %s", task_line(rec))
        if rec.state.is_terminal:
            self._last.pop(rec.task_id, None)
        else:
            self._last[rec.task_id] = rec.state
        self._changed.set()

    def running(self, type_name: str | None = None) -> list[TaskRecord]:
        """Running tasks (of one type), not counting tasks being replaced."""
        return [
            r
            for r in self.scheduler.running_tasks()
            if not r.restarting and not r.killing and (type_name is None or r.type_name == type_name)
        ]

    async def wait_until(self, what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait (at most ``timeout`` seconds) until ``condition()`` holds after some task change."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"gave up after {timeout:g}s waiting for {what}")
            self._changed.clear()
            try:
                async with asyncio.timeout(min(remaining, 1.0)):
                    await self._changed.wait()
            except TimeoutError:
                pass

    def hosts(self, type_name: str) -> str:
        """``host=count`` for the running instances of a type, e.g. ``agent-1=2 agent-2=1``."""
        counts = Counter(r.hostname or "?" for r in self.running(type_name))
        return " ".join(f"{host}={n}" for host, n in sorted(counts.items()))

    def header(self) -> None:
        """Print the column titles of the live view."""
        log.info("  %-14s %-9s %-16s %-18s %s", "TASK", "STATE", "AGENT", "PORTS", "TASK ID")

    def table(self, title: str) -> None:
        """Print every tracked task, one line each."""
        records = sorted(self.scheduler.tasks, key=lambda r: (r.type_name, r.serial))
        log.info("%s (%d task%s)", title, len(records), "" if len(records) == 1 else "s")
        for rec in records:
            log.info("  %s", task_line(rec))


def report_errors(scheduler: Scheduler) -> list[BaseException]:
    """Log every ``error`` event of the scheduler; returns the list they are collected in."""
    errors: list[BaseException] = []

    def on_error(exc: BaseException, *_: Any) -> None:
        errors.append(exc)
        log.info("error: %s", exc)

    scheduler.on("error", on_error)
    return errors


@contextlib.asynccontextmanager
async def cluster_url(
    master: str, agents: Sequence[AgentSpec] = (), **cluster_options: Any
) -> AsyncIterator[str]:
    """The master to use: ``master`` itself, or for ``local`` a local cluster of these agents.

    ``cluster_options`` go to `LocalCluster` (e.g. ``allocation_interval``); the cluster stops on exit.
    """
    if master != "local":
        yield master
        return
    from mesos_framework.local import LocalCluster  # only for --master local

    count = len(agents) or 1
    async with LocalCluster(agents=count, agent_specs=list(agents) or None, **cluster_options) as cluster:
        yield cluster.url


class Outcome:
    """How an example's steps went, as `run_steps` yields it: ``status`` 0, or 1 once one failed."""

    def __init__(self) -> None:
        self.status = 0

    def fail(self, why: str) -> None:
        """Log why the example failed and make its exit status 1."""
        log.info("failed: %s", why)
        self.status = 1


@contextlib.asynccontextmanager
async def run_steps(
    *schedulers: Scheduler,
    note: str = "",
    teardown: bool = True,
    failures: tuple[type[BaseException], ...] = (TimeoutError, MesosError),
    cleanup: Callable[[], object] | None = None,
    confirm: Callable[[str], Awaitable[bool]] | None = None,
) -> AsyncIterator[Outcome]:
    """Run an example's steps (the ``async with`` block), then end its framework and log the status.

    A step that raises one of ``failures`` is logged (``failed: ...``) and fails the example;
    anything else propagates, after the ending. The ending: ``cleanup()`` (a function or a
    coroutine function), then each scheduler
    still subscribed is torn down (Mesos kills its tasks; ``note`` ends the ``== teardown`` line,
    ``{framework_id}`` in it replaced)
    and one that is not is only stopped, failing the example; with ``teardown=False`` each is
    only stopped (a subscribed framework fails over, its tasks keep running). ``confirm``, given
    the framework ID, checks after a teardown that the master forgot the framework.
    """
    outcome = Outcome()
    try:
        yield outcome
    except failures as exc:
        outcome.fail(str(exc) or repr(exc))
    finally:
        if cleanup is not None and inspect.isawaitable(done := cleanup()):
            await done
        for scheduler in schedulers:
            framework_id = scheduler.framework_id
            if not teardown:
                if scheduler.connected:
                    log.info("== stopping without teardown: framework %s fails over", framework_id)
                await scheduler.stop()
            elif scheduler.connected:
                log.info("== teardown%s", f": {note.format(framework_id=framework_id)}" if note else "")
                await scheduler.teardown()
                await scheduler.wait_closed()
                if confirm is not None and not await confirm(framework_id or ""):
                    outcome.fail("could not confirm the teardown with the master")
            else:
                log.info("== stopping: the framework is not subscribed")
                await scheduler.stop()
                outcome.status = 1
        log.info("done (exit status %d)", outcome.status)


def run_main(
    parser: argparse.ArgumentParser,
    main_async: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
    argv: list[str] | None = None,
) -> int:
    """Parse the options, set up logging and run the example's coroutine; its exit status
    (130 when interrupted with Ctrl-C)."""
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:
        return 130
