"""Tasks do not outlive a SIGKILLed local cluster (issue 15 item 8).

With checkpointing on (the scheduler's default) executors wait for their agent up to
``MESOS_RECOVERY_TIMEOUT`` (15 minutes), as across an agent restart; when the whole cluster
process is gone they must instead end their tasks within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CLUSTER = textwrap.dedent(
    """
    import asyncio, sys
    import aiohttp
    from mesos_framework.local import LocalCluster
    from tests.conformance.rawclient import RawScheduler, framework_info

    async def main(pidfile):
        async with LocalCluster() as cluster, aiohttp.ClientSession() as http:
            s = RawScheduler(cluster.url, http)
            await s.subscribe(framework_info("doomed", checkpoint=True))
            offer = (await s.offers())[0]
            cmd = f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile} && exec sleep 600"
            task = await s.launch(offer, {"value": cmd})
            while (await s.update(task))["state"] != "TASK_RUNNING":
                pass
            print("running", flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_tasks_end_soon_after_the_cluster_is_sigkilled(tmp_path: Path) -> None:
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
        # Seconds in practice (the executor's re-subscription back-off); generous for a loaded machine.
        deadline = time.monotonic() + 90
        while _alive(task_pid):
            assert time.monotonic() < deadline, "the task outlived its cluster"
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        log.close()
        if task_pid is not None and _alive(task_pid):
            os.kill(task_pid, signal.SIGKILL)
