"""Starting and stopping: the CLI, the pytest fixture, nothing left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.local.agent import descendants as _descendants
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.local.conftest import until_running


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_in(directory: str) -> list[int]:
    """Processes whose working directory is inside ``directory``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if cwd.startswith(directory) and alive(int(entry)):
                found.append(int(entry))
    return found


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_nothing_leaks(http: aiohttp.ClientSession) -> None:
    before = set(_descendants(os.getpid()))
    cluster = LocalCluster(agents=2)
    async with cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("leak", failover_timeout=3600.0))
        offers = await s.offers()
        running = []
        for offer in offers:
            # "( ... &)" double-forks: that sleep is orphaned, re-parented away from the executor
            task_id = await s.launch(offer, {"value": "(sleep 600 &); sleep 600 & wait"})
            running.append(task_id)
        for task_id in running:
            await until_running(s, task_id)
        assert set(_descendants(os.getpid())) - before  # executors and tasks are running
        work, port = cluster.work_dir, cluster.port
        assert work is not None and work.exists()
        assert len(processes_in(str(work))) >= 3 * len(running)  # shells, sleeps, the orphan
        await s.close()  # the framework stays registered (failover timeout): stop() must clean up
    assert not (set(_descendants(os.getpid())) - before)
    assert processes_in(str(work)) == []  # orphans too: nothing runs in a sandbox any more
    assert not port_open(port)
    assert not work.exists()


async def test_fixture(local_cluster: LocalCluster, http: aiohttp.ClientSession) -> None:
    async with http.get(local_cluster.url + "/version") as r:
        assert r.status == 200
    assert len(local_cluster.agents) == 1


@pytest.mark.local_cluster(agents=2, resources="cpus:1;mem:128")
async def test_fixture_marker(local_cluster: LocalCluster) -> None:
    assert len(local_cluster.agents) == 2
    assert local_cluster.agents[1].total.scalar("mem") == 128


async def test_cli_runs_until_sigterm(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.local",
        "--port",
        "0",
        "--agents",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
        assert url.startswith("http://127.0.0.1:")
        async with http.get(url + "/master/slaves") as r:
            assert len((await r.json())["slaves"]) == 2
        s = RawScheduler(url, http)
        await s.subscribe(framework_info("cli", failover_timeout=3600.0))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "sleep 600"})
        await until_running(s, task_id)
        children = _descendants(proc.pid)
        assert children
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        await s.close()
        assert not [pid for pid in children if alive(pid)]
        assert not port_open(int(url.rsplit(":", 1)[1]))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_cli_rejects_bad_resources() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.local",
        "--port",
        "0",
        "--resources",
        "cpus:lots",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert b"resources" in err


async def test_what_an_ended_executor_leaves_behind_is_killed(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # The task starts two leftovers and ends at once: one in the executor's process group (a
    # background job) and one that moved to a process group of its own (found by session).
    pid_files = tmp_path / "job.pid", tmp_path / "group.pid"
    group_leftover = f"{sys.executable} -c 'import os, time; os.setpgid(0, 0); time.sleep(600)'"
    command = f"sleep 600 & echo $! > {pid_files[0]}; {group_leftover} & echo $! > {pid_files[1]}; sleep 0.5"
    async with LocalCluster(agents=1) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("leftovers"))
        offers = await s.offers()
        task_id = await s.launch(offers[0], {"value": command})
        while True:
            st = await s.update(task_id)
            if "uuid" in st:
                await s.ack(st)
            if st["state"] == "TASK_FINISHED":
                break
            assert st["state"] in ("TASK_STARTING", "TASK_RUNNING"), st
        pids = [int(p.read_text()) for p in pid_files]
        for _ in range(100):  # the executor exits after its task; its session is swept right after
            if not any(alive(pid) for pid in pids):
                break
            await asyncio.sleep(0.1)
        assert not any(alive(pid) for pid in pids), "leftovers of the ended executor still run"
        assert await s.offers()  # the cluster itself is still up
        await s.teardown()
