"""The getting-started program (included verbatim in docs/getting-started.md) works as shown."""

from __future__ import annotations

import re

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner, active_tasks, master_state


async def test_first_framework(local_cluster: LocalCluster, run_example: Runner) -> None:
    run = await run_example("first_framework.py", env={"MESOS_MASTER": local_cluster.url}, timeout=90)
    why = run.explain()
    assert run.returncode == 0, why
    lines = run.stdout.splitlines()
    started = [
        line for line in lines if re.fullmatch(r"hello-[12] runs on localhost, port \d+ \(\S+\)", line)
    ]
    assert len(started) == 3, why  # hello-1, hello-2, and hello-1 again after its restart
    assert lines.index("hello-1 ended: TASK_KILLED") < max(
        i for i, line in enumerate(lines) if line.startswith("hello-1 runs")
    ), why
    assert lines[-1] == "done", why
    assert not active_tasks(await master_state(local_cluster.url)), why
