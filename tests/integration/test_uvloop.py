"""A scheduler runs unchanged on uvloop, the event loop many asyncio services use.

uvloop's transports do not subclass `asyncio.Transport`; the library's connections once
asserted that they did, so a scheduler on uvloop failed at its first connection. The
scheduler runs in a fresh interpreter under ``uvloop.run()`` against the local cluster
served by this test's loop, launches three tasks and acknowledges every update.
"""

from __future__ import annotations

import textwrap

import pytest

from mesos_framework.local import LocalCluster
from tests.support.json_procs import python_json

pytestmark = pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)


CHILD = textwrap.dedent(
    """
    import asyncio, json, sys

    import uvloop

    from mesos_framework import Scheduler

    async def main():
        done = asyncio.Event()
        ended, updates, acked = set(), [], []
        scheduler = Scheduler(
            master=sys.argv[1],
            framework_name="on-uvloop",
            restart_states=[],
            tasks={
                "t": {"instances": 3, "command": {"value": "true"}, "resources": {"cpus": 0.1, "mem": 16}}
            },
        )

        def update(update):
            updates.append(update.status.uuid)
            if update.status.state in (2, 3, 4, 5, 7):
                ended.add(update.status.task_id.value)

        def ack(call):
            acked.append(call.acknowledge.uuid)
            # Every update acknowledged: by uuid, since an update the agent sends again (after
            # status_update_retry) while its acknowledgement is on the way is not acknowledged twice.
            if len(ended) == 3 and {u for u in updates if u} <= set(acked):
                done.set()

        scheduler.on("update", update)
        scheduler.on("sent_acknowledge", ack)
        await scheduler.start()
        await asyncio.wait_for(done.wait(), 60)
        loop = type(asyncio.get_running_loop()).__module__
        await scheduler.teardown()
        await scheduler.stop()
        print(json.dumps({"loop": loop, "ended": len(ended), "acked": len(set(acked))}))

    uvloop.run(main())
    """
)


async def test_a_scheduler_runs_on_uvloop(local_cluster: LocalCluster) -> None:
    result = await python_json(CHILD, local_cluster.url.removeprefix("http://"))
    assert result["loop"].startswith("uvloop")
    assert result["ended"] == 3
    assert result["acked"] >= 6  # at least STARTING/RUNNING or RUNNING/FINISHED of each task
