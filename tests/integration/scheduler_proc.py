"""A scheduler process for the SIGKILL recovery tests.

``python -m tests.integration.scheduler_proc MASTER STORE INSTANCES`` runs a
persisted scheduler with INSTANCES ``web`` tasks and prints one JSON line per
interesting event on stdout (`tests.support.json_procs.report`, updates too). STORE
is ZooKeeper's ``host:port``, or a store spec such as ``sqlite:///path/state.db``.
"""

from __future__ import annotations

import sys
from typing import Any

from mesos_framework.scheduler import Scheduler
from tests.support.json_procs import FAST_BACKOFF, report, say, web_tasks


def main() -> None:
    master, store, instances = sys.argv[1], sys.argv[2], int(sys.argv[3])
    persistence: dict[str, Any] = (
        {"state_store": store}
        if store.startswith("sqlite:")
        else {"use_zk": True, "zk_url": store, "zk_prefix": "/it-"}
    )
    scheduler = Scheduler(
        master=master,
        framework_name="recovery-test",
        framework_failover_timeout=300,
        **persistence,
        **FAST_BACKOFF,
        tasks=web_tasks(instances),
    )
    report(scheduler, say, updates=True)
    scheduler.run_blocking()


if __name__ == "__main__":
    main()
