"""A hot-standby scheduler replica for the HA tests and the failover benchmark.

``python -m tests.integration.ha_proc MASTER ZK NAME INSTANCES [SESSION_TIMEOUT]`` runs one
replica of framework NAME (state in ZooKeeper under ``/ha-NAME``, election at
``/ha-NAME-leader``) with INSTANCES ``web`` tasks and prints one JSON line per interesting
event on stdout (`tests.support.json_procs.report`, and its elections and calls), each with
``t`` (`time.time()`) and the replica's ``pid``. SIGUSR1 scales
``web`` to INSTANCES + 2 at run time (on the leader).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from mesos_framework.scheduler import HighAvailability, Scheduler
from tests.support.json_procs import FAST_BACKOFF, report, web_tasks
from tests.support.json_procs import say_stamped as say

#: The calls whose sending a replica reports (each one is "acting").
CALLS = (
    "subscribe",
    "accept",
    "decline",
    "kill",
    "reconcile",
    "revive",
    "suppress",
    "acknowledge",
    "update_framework",
)


def main() -> None:
    master, zk, name, instances = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    session_timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    scheduler = Scheduler(
        master=master,
        framework_name=name,
        framework_failover_timeout=300,
        use_zk=True,
        zk_url=zk,
        zk_prefix="/ha-",
        ha=HighAvailability(zk, f"/ha-{name}-leader", session_timeout=session_timeout),
        **FAST_BACKOFF,
        reconcile_retry_minimum=0.5,
        tasks=web_tasks(instances, allowScaling=True),
    )

    def elected(node: str) -> None:
        elector = scheduler._elector
        client = elector._client if elector is not None else None
        session = client.client_id if client is not None else None
        say(
            event="elected",
            node=node,
            session_id=session[0] if session else None,
            password=session[1].hex() if session else None,
        )

    scheduler.on("leader_elected", elected)
    scheduler.on("became_standby", lambda: say(event="standby"))
    scheduler.on("leadership_lost", lambda node: say(event="lost", node=node))
    for call in CALLS:
        scheduler.on(f"sent_{call}", lambda _c, call=call: say(event="call", call=call))
    report(scheduler, say)

    async def scale() -> None:
        try:
            await scheduler.scale("web", instances + 2)
        except Exception as exc:
            say(event="error", error=repr(exc))
        else:
            say(event="scaled", instances=instances + 2)

    scaling: set[asyncio.Task[None]] = set()

    def on_signal() -> None:
        task = asyncio.get_running_loop().create_task(scale())
        scaling.add(task)
        task.add_done_callback(scaling.discard)

    def on_ready() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, on_signal)

    scheduler.on("ready", on_ready)
    scheduler.run_blocking()


if __name__ == "__main__":
    main()
