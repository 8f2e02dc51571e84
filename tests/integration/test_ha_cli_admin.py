"""`mesos-framework run app.py --ha zk://...` twice, each with `Scheduler(admin_port=0)`.

One replica is ready (`/ready` 200, `leader` gauge 1), the other a standby (`/ready` 503,
gauge 0) with the fleet loaded; SIGTERM on the leader hands over to the standby at once
(the leader resigns), which adopts the tasks without launching any.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from mesos_framework.cli import cli
from mesos_framework.local import LocalCluster
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [pytest.mark.zookeeper, pytest.mark.local_cluster(allocation_interval=0.2)]

APP = """
import asyncio, os
from mesos_framework.scheduler import Scheduler

async def main():
    s = Scheduler(
        master=os.environ["MESOS_MASTER"],
        framework_name="ha-cli",
        use_zk=True,
        zk_url=os.environ["TEST_ZK"],
        zk_prefix="/cli-",
        admin_port=0,
        tasks={"web": {"command": {"value": "exec sleep 300", "shell": True},
                       "resources": {"cpus": 0.1, "mem": 16}, "instances": 2}},
    )
    s.on("sent_accept", lambda call: print("launch", flush=True))
    for name in ("became_standby", "leader_elected", "leadership_lost", "subscribed", "error"):
        s.on(name, lambda *payload, name=name: print("event", name, *map(repr, payload), flush=True))
    await s.start()
    print("admin", s.admin.url, flush=True)
    await s.run()

asyncio.run(main())
"""


class Run:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.url = ""
        self.launches = 0
        self.lines: list[str] = []

    async def read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode().rstrip())
            words = raw.decode().split()
            if words[:1] == ["admin"]:
                self.url = words[1]
            elif words[:1] == ["launch"]:
                self.launches += 1


async def _state(http: aiohttp.ClientSession, run: Run) -> tuple[int, dict[str, Any], float]:
    async with http.get(f"{run.url}/ready") as resp:
        status, body = resp.status, await resp.json()
    async with http.get(f"{run.url}/metrics") as resp:
        text = await resp.text()
    gauge = next(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "mesos_framework_leader"
    )
    return status, body, gauge


async def _until(predicate: Any, what: str, runs: list[Run], timeout: float = 90) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = None
    while True:
        try:
            if await predicate():
                return
        except aiohttp.ClientError as exc:  # a replica's admin server not up yet, or gone
            last = exc
        assert loop.time() < deadline, f"timed out waiting for {what} (last error: {last!r})" + "".join(
            f"\n{r.proc.pid}: {line}" for r in runs for line in r.lines[-20:]
        )
        await asyncio.sleep(0.2)


async def test_run_ha_replicas_with_the_admin_port(
    local_cluster: LocalCluster, zookeeper_server: ZooKeeperServer, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {**os.environ, "TEST_ZK": zookeeper_server.hosts}
    # A session timeout that a loaded machine does not expire by accident (the handover is graceful).
    ha = f"zk://{zookeeper_server.hosts}/cli-ha-cli-leader?session_timeout=6"
    runs: list[Run] = []
    readers = []
    for _ in range(2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "mesos_framework", "run", str(app), "--master", local_cluster.url, "--ha", ha),
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        run = Run(proc)
        runs.append(run)
        readers.append(asyncio.ensure_future(run.read()))
    try:
        async with aiohttp.ClientSession() as http:

            async def one_ready() -> bool:
                if not all(r.url for r in runs):
                    return False
                states = [await _state(http, r) for r in runs]
                return sorted(s[0] for s in states) == [200, 503]

            await _until(one_ready, "one replica ready, one standing by", runs)
            states = [await _state(http, r) for r in runs]
            leader, standby = (runs[0], runs[1]) if states[0][0] == 200 else (runs[1], runs[0])
            _, body, gauge = await _state(http, standby)
            assert body["leader"] is False and gauge == 0
            _, body, gauge = await _state(http, leader)
            assert body["leader"] is True and gauge == 1
            framework_id = body["framework_id"]

            async def both_running() -> bool:
                async with http.get(f"{leader.url}/tasks") as resp:
                    tasks = (await resp.json())["tasks"]
                return sum(t["state"] == "TASK_RUNNING" for t in tasks) == 2

            await _until(both_running, "2 tasks running", runs)
            assert leader.launches == 1 and standby.launches == 0

            # SIGTERM: the leader fails over gracefully and resigns; the standby takes over.
            leader.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(leader.proc.wait(), 60) == 0

            async def standby_leads() -> bool:
                status, body, _ = await _state(http, standby)
                return status == 200 and body["framework_id"] == framework_id

            await _until(standby_leads, "the standby to lead the same framework", runs)
            async with http.get(f"{standby.url}/tasks") as resp:
                tasks = (await resp.json())["tasks"]
            assert sum(t["state"] == "TASK_RUNNING" for t in tasks) == 2
            assert standby.launches == 0
    finally:
        for run in runs:
            if run.proc.returncode is None:
                run.proc.send_signal(signal.SIGTERM)
        for run in runs:
            await asyncio.wait_for(run.proc.wait(), 60)
        for reader in readers:
            await reader
    assert all(r.proc.returncode == 0 for r in runs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ha", "zk://127.0.0.1:2181/x"], "share a master"),
        (["--master", "127.0.0.1:1", "--ha", "http://zk:2181/x"], "zk://"),
        (["--master", "127.0.0.1:1", "--ha", "zk://zk:2181"], "path other than"),
        (["--master", "127.0.0.1:1", "--ha", "zk://hu:secret@zk:2181"], "'zk://hu:***@zk:2181'"),
    ],
)
def test_run_refuses_a_bad_ha(tmp_path: Path, args: list[str], message: str) -> None:
    app = tmp_path / "app.py"
    app.write_text("raise SystemExit(3)\n")
    result = CliRunner().invoke(cli, ["run", str(app), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "--ha" in result.output
    assert "secret" not in result.output
