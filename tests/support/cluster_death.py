"""A local cluster in a process of its own, running one checkpointed task, to be SIGKILLed.

``python -m tests.support.cluster_death PIDFILE [custom]`` starts a `LocalCluster`,
subscribes a framework with checkpointing on and launches one ``sleep 600`` task that
writes its process id to PIDFILE: by the local command executor, or with ``custom`` by the
library's executor (``python -m mesos_framework.executor``) run as a CUSTOM executor.
`cluster_running_a_task` runs it for a test and cleans up after it; `wait_until_gone`
waits for the task to end once the cluster is killed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """The process exists and is no zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@contextmanager
def cluster_running_a_task(
    tmp_path: Path, *, custom_executor: bool = False
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The cluster's process and its running task's process id; both are killed at the end."""
    pidfile = tmp_path / "task.pid"
    args = [sys.executable, "-m", "tests.support.cluster_death", str(pidfile)]
    if custom_executor:
        args.append("custom")
    log_path = tmp_path / "cluster.log"
    task_pid = None
    with log_path.open("w") as log:
        proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 120
            while not pidfile.exists():
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "the task did not start"
                time.sleep(0.2)
            task_pid = int(pidfile.read_text())
            assert alive(task_pid)
            yield proc, task_pid
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
            if task_pid is not None and alive(task_pid):
                os.kill(task_pid, signal.SIGKILL)


def wait_until_gone(pid: int, timeout: float) -> float:
    """Seconds until process ``pid`` ended; fails the test after ``timeout``."""
    started = time.monotonic()
    while alive(pid):
        assert time.monotonic() < started + timeout, "the task outlived its cluster"
        time.sleep(0.2)
    return time.monotonic() - started


async def _run(pidfile: str, custom: bool) -> None:
    import aiohttp

    from mesos_framework.local import LocalCluster
    from tests.conformance.rawclient import RawScheduler, framework_info

    async with LocalCluster() as cluster, aiohttp.ClientSession() as http:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("doomed-custom" if custom else "doomed", checkpoint=True))
        offer = (await s.offers())[0]
        cmd = f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile} && exec sleep 600"
        if custom:
            executor: dict[str, Any] = {  # the library's command executor, run as a CUSTOM executor
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
        else:
            task = await s.launch(offer, {"value": cmd})
        while (await s.update(task))["state"] != "TASK_RUNNING":
            pass
        print("running", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(_run(sys.argv[1], custom=sys.argv[2:] == ["custom"]))
