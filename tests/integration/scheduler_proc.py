"""A scheduler process for the SIGKILL recovery tests.

``python -m tests.integration.scheduler_proc MASTER STORE INSTANCES`` runs a
persisted scheduler with INSTANCES ``web`` tasks and prints one JSON line per
interesting event on stdout. STORE is ZooKeeper's ``host:port``, or a store
spec such as ``sqlite:///path/state.db``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState


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
        exponential_backoff_minimum=0.1,
        exponential_backoff_maximum=0.5,
        restart_backoff_minimum=0.1,
        tasks={
            "web": {
                "instances": instances,
                "command": {"value": "sleep 300", "shell": True},
                "resources": {"cpus": 0.1, "mem": 16},
            }
        },
    )

    def say(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    scheduler.on("subscribed", lambda sub: say(event="subscribed", framework_id=sub.framework_id.value))
    scheduler.on(
        "sent_accept",
        lambda call: [
            say(event="launch", task_id=t.task_id.value, name=t.name)
            for op in call.accept.operations
            for t in op.launch.task_infos
        ],
    )
    scheduler.on("sent_kill", lambda call: say(event="kill", task_id=call.kill.task_id.value))
    scheduler.on("error", lambda exc: say(event="error", error=repr(exc)))
    scheduler.on(
        "update",
        lambda u: say(
            event="update",
            task_id=u.status.task_id.value,
            state=TaskState(u.status.state).name,
            reason=u.status.reason,
            message=u.status.message,
        ),
    )

    def tasks_changed(*_: Any) -> None:
        running = sorted(
            (r.name, r.task_id)
            for r in scheduler.tasks
            if r.state == TaskState.TASK_RUNNING and not r.restarting
        )
        say(event="running", tasks=running)

    scheduler.on("update", tasks_changed)
    scheduler.run_blocking()


if __name__ == "__main__":
    main()
