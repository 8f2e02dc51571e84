"""The health helper example: an unhealthy instance is detected and replaced."""

from __future__ import annotations

import re

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner, active_tasks, master_state


async def test_unhealthy_instance_is_detected_and_replaced(
    local_cluster: LocalCluster, run_example: Runner
) -> None:
    run = await run_example("health_check.py", "--master", local_cluster.url, timeout=120)
    why = run.explain()
    assert run.returncode == 0, why
    out = run.stdout
    broke = out.index("== breaking web-2")
    # Both healthy before the fault; only web-2 turns unhealthy after it, after 2 failed checks.
    assert re.search(r"web-1 healthy on port \d+", out[:broke]), why
    assert re.search(r"web-2 healthy on port \d+", out[:broke]), why
    after = out[broke:]
    assert run.lines("web-2 is unhealthy (2 failed checks)"), why
    assert not run.lines("web-1 is unhealthy"), why
    old = re.search(r"== restarting web-2 \((\S+)\)", after)
    assert old, why
    assert re.search(rf"web-2\s+KILLED .*…{old.group(1)[-8:]}", after), why
    replacement = re.findall(r"web-2\s+RUNNING .*…(\w{8})", after)
    assert replacement and replacement[-1] != old.group(1)[-8:], why
    assert re.search(r"web-2 healthy on port \d+", after[after.index("== restarting") :]), why
    assert not active_tasks(await master_state(local_cluster.url)), why
