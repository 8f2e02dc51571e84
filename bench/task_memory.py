"""Memory per tracked task.

``python -m bench.task_memory`` tracks N running tasks in a
:class:`~mesos_framework.tasks.TaskTable` (records as the scheduler keeps
them: ID, type, serial, state, agent, host, ports) and reports the bytes per
task two ways: allocated, measured with :mod:`tracemalloc`, and resident
(the growth of the process's RSS, read from ``/proc/self/statm`` in a fresh
process without tracemalloc). Target: under 3 KB per task at 100,000 tasks;
``ratio`` compares with the smallest size.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc
import uuid
from typing import Any

from mesos_framework.tasks import TaskRecord, TaskState, TaskTable

TARGET_BYTES = 3 * 1024


def _build(count: int, agents: int = 1000) -> TaskTable:
    table = TaskTable()
    for i in range(count):
        type_name = f"svc{i % 20:02d}"
        serial = i // 20 + 1
        agent = i % agents
        table.add(
            TaskRecord(
                f"bench-framework.{type_name}-{serial}.{uuid.uuid4().hex}",
                type_name,
                serial,
                state=TaskState.TASK_RUNNING,
                agent_id=f"5f3c1a2e-7b4d-4c1e-9a8f-{agent:012d}-S{agent}",
                executor_id=None,
                hostname=f"agent{agent}.example.com",
                ip=f"10.0.{agent // 250}.{agent % 250}",
                ports=(31000 + i % 1000, 32000 + i % 1000),
                started_at=1_700_000_000.0 + i,
                updated_at=1_700_000_000.0 + i,
                launched=True,
            )
        )
    return table


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_per_task(count: int) -> float:
    """Resident bytes per task, measured in a fresh process (run as ``--rss COUNT``)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.task_memory", "--rss", str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(out.stdout.strip())


def measure(count: int, agents: int = 1000) -> dict[str, Any]:
    """Bytes per task with ``count`` tasks on ``agents`` agents (allocated and resident)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = _build(count, agents)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_task = (after - before) / count
    assert len(table) == count
    del table
    return {
        "tasks": count,
        "bytes_per_task": round(per_task),
        "rss_bytes_per_task": round(_rss_per_task(count)),
        "target_bytes": TARGET_BYTES,
    }


def run(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[dict[str, Any]]:
    """One row per size, with ``ratio`` = bytes per task / smallest size's and ``ok`` against the target."""
    rows = [measure(n) for n in sizes]
    base = rows[0]["bytes_per_task"]
    for row in rows:
        row["ratio"] = round(row["bytes_per_task"] / base, 2)
        row["ok"] = max(row["bytes_per_task"], row["rss_bytes_per_task"]) < TARGET_BYTES
    return rows


def main() -> None:
    """Print the table (or, with ``--rss COUNT``, the resident bytes per task of this process)."""
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        count = int(sys.argv[2])
        gc.collect()
        before = _rss()
        table = _build(count)
        gc.collect()
        print((_rss() - before) / len(table))
        return
    for row in run():
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
