"""Memory per tracked task.

``python -m bench.task_memory`` tracks N running tasks in a
:class:`~mesos_framework.tasks.TaskTable` (records as the scheduler keeps
them: ID, type, serial, state, agent, host, ports) and reports the bytes
allocated per task, measured with :mod:`tracemalloc`. Target: under 3 KB
per task at 100,000 tasks; ``ratio`` compares with the smallest size.
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from typing import Any

from mesos_framework.tasks import TaskRecord, TaskState, TaskTable

TARGET_BYTES = 3 * 1024


def measure(count: int, agents: int = 1000) -> dict[str, Any]:
    """Bytes per task with ``count`` tasks on ``agents`` agents."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
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
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_task = (after - before) / count
    assert len(table) == count
    return {"tasks": count, "bytes_per_task": round(per_task), "target_bytes": TARGET_BYTES}


def run(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[dict[str, Any]]:
    """One row per size, with ``ratio`` = bytes per task / smallest size's and ``ok`` against the target."""
    rows = [measure(n) for n in sizes]
    base = rows[0]["bytes_per_task"]
    for row in rows:
        row["ratio"] = round(row["bytes_per_task"] / base, 2)
        row["ok"] = row["bytes_per_task"] < TARGET_BYTES
    return rows


def main() -> None:
    """Print the table."""
    for row in run():
        print("  ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
