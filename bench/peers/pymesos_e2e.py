"""End-to-end peer: a pymesos 0.3.15 scheduler launching N short command tasks on a running master.

Runs INSIDE the peers venv (``bench/.peers/venv/bin/python bench/peers/pymesos_e2e.py --master
127.0.0.1:PORT --tasks N``); it imports nothing from this project. The scheduler is what a pymesos
user writes: ``resourceOffers`` packs as many pending tasks (``sh -c true``, cpus 0.01, mem 8) as
each offer's unreserved cpus/mem allow and launches them with ``driver.launchTasks``; declines the
rest; ``statusUpdate`` records every state (pymesos acknowledges implicitly). When every task is
terminal it stops the driver, which tears the framework down.

Prints one JSON object: seconds from constructing the driver to SUBSCRIBED, to every task seen RUNNING
(or finished) and to every task FINISHED; the process's CPU seconds over that span; how many tasks
were launched, launched more than once, finished, failed/lost, or never finished.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from typing import Any

TERMINAL = {
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_ERROR",
    "TASK_LOST",
    "TASK_DROPPED",
    "TASK_GONE",
}
CPUS, MEM = 0.01, 8.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _scalar(resources: list[dict[str, Any]], name: str) -> float:
    total = 0.0
    for res in resources:
        unreserved = not res.get("reservations") and res.get("role", "*") == "*"
        if res.get("name") == name and res.get("type") == "SCALAR" and unreserved:
            total += float(res["scalar"]["value"])
    return total


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--master HOST:PORT --tasks N [--timeout 600]``; prints JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--master", required=True, help="host:port of the leading master")
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--command", default="true", help="each task's shell command")
    args = parser.parse_args(argv)

    import importlib.metadata

    from pymesos import MesosSchedulerDriver, Scheduler  # type: ignore[import-not-found]

    total = args.tasks
    lock = threading.Lock()
    done = threading.Event()
    pending = [f"bench-pymesos-{i}" for i in range(total)]
    pending.reverse()
    launches: dict[str, int] = {}
    states: dict[str, str] = {}
    marks: dict[str, float] = {}
    cpu_marks: dict[str, float] = {}
    failures: list[str] = []
    counts = {"running_or_ended": 0, "ended": 0}
    start = time.perf_counter()

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = time.perf_counter() - start
            cpu_marks[name] = _cpu()

    class BenchScheduler(Scheduler):  # type: ignore[misc]
        def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
            mark("subscribed")

        def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
            for offer in offers:
                cpus, mem = _scalar(offer["resources"], "cpus"), _scalar(offer["resources"], "mem")
                tasks = []
                with lock:
                    while pending and cpus >= CPUS - 1e-9 and mem >= MEM:
                        task_id = pending.pop()
                        launches[task_id] = launches.get(task_id, 0) + 1
                        cpus -= CPUS
                        mem -= MEM
                        tasks.append(
                            {
                                "name": task_id,
                                "task_id": {"value": task_id},
                                "agent_id": offer["agent_id"],
                                "resources": [
                                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": CPUS}},
                                    {"name": "mem", "type": "SCALAR", "scalar": {"value": MEM}},
                                ],
                                "command": {"value": args.command, "shell": True},
                            }
                        )
                if tasks:
                    driver.launchTasks(offer["id"], tasks, filters={"refuse_seconds": 0.5})
                else:
                    driver.declineOffer(offer["id"], filters={"refuse_seconds": 60 if not pending else 1})

        def statusUpdate(self, driver: Any, update: dict[str, Any]) -> None:
            task_id = update["task_id"]["value"]
            state = update["state"]
            with lock:
                previous = states.get(task_id)
                if previous in TERMINAL:
                    return
                states[task_id] = state
                if state in TERMINAL and state != "TASK_FINISHED" and len(failures) < 3:
                    failures.append(f"{state} {update.get('reason', '')}: {update.get('message', '')}")
                # Counted as they change (the same bookkeeping as this library's run), not by
                # scanning every task per update, which would charge pymesos for the harness.
                if (state == "TASK_RUNNING" or state in TERMINAL) and previous != "TASK_RUNNING":
                    counts["running_or_ended"] += 1
                if state in TERMINAL:
                    counts["ended"] += 1
                if counts["running_or_ended"] == total:
                    mark("all_running")
                if counts["ended"] == total:
                    mark("all_finished")
                    done.set()

    # Timed from constructing the driver (after the imports), as this library's run is timed
    # from constructing its Scheduler.
    cpu0 = _cpu()
    start = time.perf_counter()
    framework = {"user": "root", "name": "bench-pymesos", "failover_timeout": 0}
    driver = MesosSchedulerDriver(BenchScheduler(), framework, args.master)
    driver.start()
    finished = done.wait(args.timeout)
    elapsed = time.perf_counter() - start
    cpu = _cpu() - cpu0
    driver.stop()
    driver.join()
    finals: dict[str, int] = {}
    for state in states.values():
        finals[state] = finals.get(state, 0) + 1
    print(
        json.dumps(
            {
                "framework": "pymesos " + importlib.metadata.version("pymesos"),
                "tasks": total,
                "completed": finished,
                "seconds": elapsed,
                "subscribed_s": marks.get("subscribed"),
                "all_running_s": marks.get("all_running"),
                "all_finished_s": marks.get("all_finished"),
                "cpu_seconds": cpu,
                "cpu_ms_per_task": 1000 * cpu / max(1, total),
                "startup_cpu_ms": (
                    1000 * (cpu_marks["subscribed"] - cpu0) if "subscribed" in cpu_marks else None
                ),
                "steady_cpu_ms_per_task": (
                    1000 * (cpu0 + cpu - cpu_marks["subscribed"]) / max(1, total)
                    if "subscribed" in cpu_marks
                    else None
                ),
                "launched": len(launches),
                "launched_twice": sum(1 for n in launches.values() if n > 1),
                "final_states": finals,
                "never_finished": total - sum(1 for s in states.values() if s in TERMINAL),
                "failure_samples": failures,
                "pid": os.getpid(),
            }
        )
    )
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
