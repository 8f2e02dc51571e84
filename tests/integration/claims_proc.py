"""A scheduler process with a pod and a volume, for the SIGKILL recovery test of both.

``python -m tests.integration.claims_proc MASTER STORE`` runs a scheduler (state store STORE,
e.g. ``sqlite:///path/state.db``) with one pod instance (``app``: two containers) and one
instance with a persistent volume (``db``), and prints one JSON line per interesting event.
"""

from __future__ import annotations

import sys
from typing import Any

from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.support.json_procs import FAST_BACKOFF, say


def main() -> None:
    master, store = sys.argv[1], sys.argv[2]
    sleeper = {"value": "exec sleep 300"}
    scheduler = Scheduler(
        master=master,
        framework_name="claims-test",
        framework_failover_timeout=300,
        state_store=store,
        roles=["claims"],
        capabilities=["RESERVATION_REFINEMENT"],
        **FAST_BACKOFF,
        refuse_seconds=0.2,
        tasks={
            "app": {
                "pod": [
                    {"name": "main", "command": sleeper, "resources": {"cpus": 0.1, "mem": 16}},
                    {"name": "side", "command": sleeper, "resources": {"cpus": 0.1, "mem": 16}},
                ]
            },
            "db": {
                "command": sleeper,
                "resources": {"cpus": 0.1, "mem": 16},
                "volumes": [{"container_path": "data", "size_mb": 4}],
            },
        },
    )

    scheduler.on("subscribed", lambda sub: say(event="subscribed", framework_id=sub.framework_id.value))
    scheduler.on(
        "sent_accept",
        lambda call: say(event="accept", operations=[op.type for op in call.accept.operations]),
    )
    scheduler.on("sent_kill", lambda call: say(event="kill", task_id=call.kill.task_id.value))
    scheduler.on("error", lambda exc: say(event="error", error=repr(exc)))

    def tasks_changed(*_: Any) -> None:
        running = sorted(
            (r.name, r.task_id, r.claim or "", sorted((r.containers or {}).items()))
            for r in scheduler.tasks
            if r.state == TaskState.TASK_RUNNING and not r.restarting
        )
        say(event="running", tasks=[[n, t, c, [[k, v.name] for k, v in cs]] for n, t, c, cs in running])

    scheduler.on("updated_task", tasks_changed)
    scheduler.on("update", tasks_changed)
    scheduler.run_blocking()


if __name__ == "__main__":
    main()
