"""What a plain-HTTP scheduler does not pay for: no SSL context, no thread, no import in start().

The scheduler runs in a fresh interpreter (a module imported by an earlier test, or by the
local cluster in this process, would hide an import), written as the README teaches, against
the local cluster served by this test's event loop. It records every SSL context built (a
patched ``ssl.SSLContext.__new__``: ``create_default_context()`` goes through it too) from
constructing the `Scheduler` until its tasks ended, and the modules imported after
construction. Behaviour, not timing: the benchmark (``bench/end_to_end.py``) measures the cost.
"""

from __future__ import annotations

import textwrap

import pytest

from mesos_framework.local import LocalCluster
from tests.support.json_procs import python_json

pytestmark = pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2)


#: Modules that a plain-HTTP scheduler decoding protobuf has no use for.
HEAVY = ("aiohttp", "yarl", "multidict", "kazoo", "sqlite3", "prometheus_client", "concurrent.futures.thread")

CHILD = textwrap.dedent(
    """
    import asyncio, json, ssl, sys, threading

    from mesos_framework import Scheduler

    contexts = []
    original = ssl.SSLContext.__new__

    def recording(cls, *args, **kwargs):
        contexts.append(repr(args))
        return original(cls, *args, **kwargs)

    ssl.SSLContext.__new__ = recording

    async def main():
        done = asyncio.Event()
        ended = []
        scheduler = Scheduler(
            master=sys.argv[1],
            framework_name="startup-costs",
            restart_states=[],
            tasks={
                "t": {"instances": 3, "command": {"value": "true"}, "resources": {"cpus": 0.1, "mem": 16}}
            },
        )
        before = set(sys.modules)

        def update(update):
            if update.status.state in (2, 3, 4, 5, 7):
                ended.append(update.status.task_id.value)
                if len(set(ended)) == 3:
                    done.set()

        scheduler.on("update", update)
        scheduler.on("task_launched", lambda task: None)
        scheduler.on("sent_accept", lambda call: None)
        scheduler.on("sent_acknowledge", lambda call: None)
        await scheduler.start()
        await asyncio.wait_for(done.wait(), 120)
        imported = sorted(set(sys.modules) - before)
        threads = threading.active_count()
        await scheduler.teardown()
        await scheduler.stop()
        print(json.dumps({"contexts": contexts, "imported": imported, "threads": threads}))

    asyncio.run(main())
    """
)


async def test_a_plain_http_scheduler_builds_no_ssl_context_and_imports_nothing_in_start(
    local_cluster: LocalCluster,
) -> None:
    result = await python_json(CHILD, local_cluster.url.removeprefix("http://"))
    assert result["contexts"] == [], "a plain-HTTP scheduler built an SSL context"
    imported = result["imported"]
    assert isinstance(imported, list)
    heavy = [m for m in imported if m.split(".")[0] in HEAVY or m in HEAVY]
    assert heavy == [], f"start() imported {heavy}"
    # Nothing at all is imported lazily on the way (a module imported in start() is a one-time
    # cost inside the run a user times).
    assert imported == [], f"start() imported {imported}"
    assert result["threads"] == 1, "a plain-HTTP scheduler started a thread"
