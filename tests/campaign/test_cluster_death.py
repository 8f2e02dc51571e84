"""Campaign: a local cluster SIGKILLed under a custom executor built on `mesos_framework.executor`.

With checkpointing on, an executor waits up to ``MESOS_RECOVERY_TIMEOUT`` (15 minutes)
for its agent, as across an agent restart. The local cluster tells its executors its
process id: once that process is gone no agent comes back, and a custom executor must
end its task within seconds too (the local command executor's case is in
tests/local/test_cluster_death.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.campaign.counts import figure
from tests.local.test_cluster_death import REPO, _alive

CLUSTER = textwrap.dedent(
    """
    import asyncio, base64, json, sys
    import aiohttp
    from mesos_framework.local import LocalCluster
    from tests.conformance.rawclient import RawScheduler, framework_info

    async def main(pidfile):
        async with LocalCluster() as cluster, aiohttp.ClientSession() as http:
            s = RawScheduler(cluster.url, http)
            await s.subscribe(framework_info("doomed-custom", checkpoint=True))
            offer = (await s.offers())[0]
            cmd = f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile} && exec sleep 600"
            executor = {  # the library's command executor, run as a CUSTOM executor
                "executor_id": {"value": "custom"},
                "type": "CUSTOM",
                "command": {
                    "value": sys.executable,
                    "shell": False,
                    "arguments": [sys.executable, "-m", "mesos_framework.executor"],
                },
            }
            data = base64.b64encode(json.dumps({"value": cmd}).encode()).decode()
            task = await s.launch(offer, None, extra={"executor": executor, "data": data})
            while (await s.update(task))["state"] != "TASK_RUNNING":
                pass
            print("running", flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_a_custom_executors_task_ends_soon_after_the_cluster_is_sigkilled(tmp_path: Path) -> None:
    pidfile = tmp_path / "task.pid"
    log = (tmp_path / "cluster.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", CLUSTER, str(pidfile)], cwd=REPO, stdout=log, stderr=log)
    task_pid = None
    try:
        deadline = time.monotonic() + 120
        while not pidfile.exists():
            assert proc.poll() is None, (tmp_path / "cluster.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the task did not start"
            time.sleep(0.2)
        task_pid = int(pidfile.read_text())
        assert _alive(task_pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        started = time.monotonic()
        # Seconds in practice (one re-subscription back-off); generous for a loaded machine,
        # far below the 15 minutes of MESOS_RECOVERY_TIMEOUT.
        deadline = started + 90
        while _alive(task_pid):
            assert time.monotonic() < deadline, "the task outlived its cluster"
            time.sleep(0.2)
        figure("local cluster SIGKILLed: a custom executor's task ended after", time.monotonic() - started)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        log.close()
        if task_pid is not None and _alive(task_pid):
            os.kill(task_pid, signal.SIGKILL)
