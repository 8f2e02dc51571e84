"""End to end for this library: a :class:`~mesos_framework.Scheduler` launching N short command tasks.

The same job as the peers in :mod:`bench.peers.e2e` (pymesos, the JavaScript mesos-framework), on the
same kinds of cluster: one task spec ``{"instances": N, "command": {"value": "true", "shell": true},
"resources": {"cpus": 0.01, "mem": 8}}`` and no restart states, so every instance runs once.
The scheduler is written as the README teaches (a `Scheduler` with a task spec, listeners for
``update``, ``task_launched`` and ``sent_*``) and runs in its own process (``python -m
bench.end_to_end --master ...``) so that its CPU time is its own. The measured span starts after
the imports, when the `Scheduler` is constructed (start-up costs count, as in the peers' runs),
and ends when every task ended. The process reports, as one JSON line in the peers' format, the
seconds to SUBSCRIBED, to every task seen RUNNING (or ended) and to every task ended, its CPU
seconds over that span, split into start-up (construction to SUBSCRIBED) and steady state
(SUBSCRIBED to the end, per task), and how many tasks it launched, launched more than once, or
never saw end. Launches are counted from the ``sent_accept`` calls themselves, states from the
``update`` events (whose number per task is reported too: 3 when no update had to be re-sent).

:func:`run_on` drives one run against a master already running; :func:`run` starts a fresh cluster
of each kind per N (``bench.peers.e2e.real_mesos`` / ``local_cluster``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NAME = "this library"
CPUS, MEM = 0.01, 8.0
Row = dict[str, Any]

TERMINAL = frozenset(
    {
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_ERROR",
        "TASK_LOST",
        "TASK_DROPPED",
        "TASK_GONE",
        "TASK_GONE_BY_OPERATOR",
    }
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------------------------
# The scheduler process
# --------------------------------------------------------------------------------------------


async def _scheduler_run(
    master: str,
    total: int,
    limit: float,
    content_type: str,
    profiler: cProfile.Profile | None = None,
    *,
    command: str = "true",
) -> dict[str, Any]:
    """Run the Scheduler until every task ended (or ``limit`` seconds); the measurements as a dict.

    ``profiler`` (optional) is enabled over exactly the span whose CPU time is reported.
    """
    from mesos_framework import Scheduler
    from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

    launches: dict[str, int] = {}
    states: dict[str, str] = {}
    marks: dict[str, float] = {}
    cpu_marks: dict[str, float] = {}
    failures: list[str] = []
    errors: list[str] = []
    sent: dict[str, int] = {}
    done = asyncio.Event()
    running_or_ended = 0
    ended = 0
    updates = 0
    launched_records = 0
    start = time.perf_counter()

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = time.perf_counter() - start
            cpu_marks[name] = _cpu()

    def on_accept(call: scheduler_pb2.Call) -> None:
        sent["accept"] = sent.get("accept", 0) + 1
        for operation in call.accept.operations:
            for info in operation.launch.task_infos:
                task_id = info.task_id.value
                launches[task_id] = launches.get(task_id, 0) + 1

    def on_sent(kind: str) -> Any:
        def count(_call: scheduler_pb2.Call) -> None:
            sent[kind] = sent.get(kind, 0) + 1

        return count

    def on_launched(_task: Any) -> None:
        nonlocal launched_records
        launched_records += 1

    def on_update(update: scheduler_pb2.Event.Update) -> None:
        nonlocal running_or_ended, ended, updates
        updates += 1
        status = update.status
        task_id = status.task_id.value
        state = mesos_pb2.TaskState.Name(status.state)
        previous = states.get(task_id)
        if previous in TERMINAL:
            return
        states[task_id] = state
        counted = previous == "TASK_RUNNING"
        if (state == "TASK_RUNNING" or state in TERMINAL) and not counted:
            running_or_ended += 1
        if state in TERMINAL:
            ended += 1
            if state != "TASK_FINISHED" and len(failures) < 3:
                reason = str(status.reason)
                with contextlib.suppress(ValueError):
                    reason = mesos_pb2.TaskStatus.Reason.Name(status.reason)
                failures.append(f"{state} {reason}: {status.message}")
        if running_or_ended == total:
            mark("all_running")
        if ended == total:
            mark("all_finished")
            done.set()

    def on_error(exc: BaseException, *_: Any) -> None:
        if len(errors) < 3:
            errors.append(f"{type(exc).__name__}: {exc}")

    # The measured span starts here, after the imports, with the construction of the
    # Scheduler, as a user's program pays it (and as the peers' runs are timed).
    if profiler is not None:
        profiler.enable()
    cpu0 = _cpu()
    start = time.perf_counter()
    # Written as the README teaches: a Scheduler with a task spec and listeners for the events.
    scheduler = Scheduler(
        master=master,
        framework_name="bench-mesos-framework",
        framework_failover_timeout=0,
        content_type=content_type,
        # The same decline filter as the pymesos peer uses while work is pending.
        refuse_seconds=0.5,
        # Each instance runs once, as in the pymesos peer: a task the cluster fails is not
        # launched again (by default the library relaunches TASK_FAILED/LOST tasks).
        restart_states=[],
        tasks={
            "bench": {
                "instances": total,
                "command": {"value": command, "shell": True},
                "resources": {"cpus": CPUS, "mem": MEM},
            }
        },
    )
    scheduler.on("subscribed", lambda _sub: mark("subscribed"))
    scheduler.on("update", on_update)
    scheduler.on("task_launched", on_launched)
    scheduler.on("sent_accept", on_accept)
    for kind in ("decline", "acknowledge", "suppress", "revive", "reconcile"):
        scheduler.on(f"sent_{kind}", on_sent(kind))  # type: ignore[call-overload]
    scheduler.on("error", on_error)
    await scheduler.start()
    completed = True
    try:
        async with asyncio.timeout(limit):
            await done.wait()
    except TimeoutError:
        completed = False
    elapsed = time.perf_counter() - start
    cpu = _cpu() - cpu0
    if profiler is not None:
        profiler.disable()
    try:
        async with asyncio.timeout(30):
            if scheduler.connected:
                await scheduler.teardown()
    except (TimeoutError, Exception) as exc:  # the measurement is taken; report, don't lose it
        on_error(exc)
    finally:
        await scheduler.stop()
    finals: dict[str, int] = {}
    for state in states.values():
        finals[state] = finals.get(state, 0) + 1
    from mesos_framework import __version__

    subscribed_cpu = cpu_marks.get("subscribed")
    return {
        "framework": NAME if content_type == "protobuf" else f"{NAME} ({content_type})",
        "version": __version__,
        "tasks": total,
        "completed": completed,
        "seconds": elapsed,
        "subscribed_s": marks.get("subscribed"),
        "all_running_s": marks.get("all_running"),
        "all_finished_s": marks.get("all_finished"),
        "cpu_seconds": cpu,
        "cpu_ms_per_task": 1000 * cpu / max(1, total),
        # Start-up: construction to SUBSCRIBED; steady state: SUBSCRIBED to every task ended.
        "startup_cpu_ms": None if subscribed_cpu is None else 1000 * (subscribed_cpu - cpu0),
        "steady_cpu_ms_per_task": (
            None if subscribed_cpu is None else 1000 * (cpu0 + cpu - subscribed_cpu) / max(1, total)
        ),
        "launched": len(launches),
        "task_launched": launched_records,
        "sent": sent,
        "updates": updates,
        "launched_twice": sum(1 for n in launches.values() if n > 1),
        "final_states": finals,
        "never_finished": total - ended,
        "failure_samples": failures + errors,
        "pid": os.getpid(),
    }


def child_main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.end_to_end --master HOST:PORT --tasks N``: run, print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.end_to_end", description=__doc__.split("\n")[0])
    parser.add_argument("--master", required=True, help="host:port of the leading master")
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--content-type", choices=["protobuf", "json"], default="protobuf")
    parser.add_argument("--command", default="true", help="each task's shell command")
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of the measured span (start to all ended) here"
    )
    args = parser.parse_args(argv)
    # CPU time, not wall time: what the benchmark reports is CPU, and a loaded machine inflates walls.
    profiler = cProfile.Profile(time.process_time) if args.profile is not None else None
    out = asyncio.run(
        _scheduler_run(
            args.master, args.tasks, args.timeout, args.content_type, profiler, command=args.command
        )
    )
    if profiler is not None:
        profiler.dump_stats(os.fspath(args.profile))
    print(json.dumps(out), flush=True)
    return 0 if out["completed"] else 1


# --------------------------------------------------------------------------------------------
# The benchmark process
# --------------------------------------------------------------------------------------------


def _child(cmd: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout + 90, check=False, cwd=os.fspath(REPO)
    )
    lines = proc.stdout.strip().splitlines()
    if not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"exit {proc.returncode}, no result: {tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_on(
    master: str,
    cluster: str,
    tasks: int,
    *,
    timeout: float = 900.0,
    content_types: Sequence[str] = ("protobuf",),
) -> list[Row]:
    """The library's scheduler launches ``tasks`` tasks on the master at ``host:port``; one row each."""
    from bench.peers import e2e

    rows: list[Row] = []
    for content_type in content_types:
        cmd = [sys.executable, "-m", "bench.end_to_end", "--master", master, "--tasks", str(tasks)]
        cmd += ["--timeout", str(timeout), "--content-type", content_type]
        try:
            out = _child(cmd, timeout)
            row = e2e._row(cluster, out)
            # Duplicates (the agent re-sends an update whose acknowledgement is late) show here.
            row["updates_per_task"] = round(out.get("updates", 0) / max(1, tasks), 2)
        except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            row = {"cluster": cluster, "name": NAME, "tasks": tasks, "error": str(exc)}
        row["mine"] = True
        rows.append(row)
    return rows


def run(
    tasks: Sequence[int] = (200,),
    *,
    clusters: Sequence[str] = ("real Mesos 1.11", "local cluster"),
    timeout: float = 900.0,
    content_types: Sequence[str] = ("protobuf",),
) -> list[Row]:
    """The library on a fresh cluster of each kind per N; one row per (cluster, N, encoding).

    A cluster that cannot start (no real Mesos harness here) gives a row with its ``error``.
    """
    from bench.peers import e2e

    rows: list[Row] = []
    for cluster in clusters:
        for n in tasks:
            try:
                with e2e.CLUSTERS[cluster]() as master:
                    rows += run_on(master, cluster, n, timeout=timeout, content_types=content_types)
            except e2e.ClusterUnavailable as exc:
                rows.append({"cluster": cluster, "name": "(cluster)", "tasks": n, "error": str(exc)})
    return rows


if __name__ == "__main__":
    sys.exit(child_main())
