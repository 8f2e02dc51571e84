"""How executors are started: the fork server (the default) and plain ``exec``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.local._launcher import ForkServer
from tests.conformance.rawclient import RawScheduler, framework_info


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (index 0 is the state, 1 the ppid, 3 the sid)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _gone(pid: int) -> bool:
    try:
        return _stat(pid)[0] == "Z"
    except FileNotFoundError:
        return True


async def _finish(s: RawScheduler, task_id: str) -> dict[str, Any]:
    while True:
        st = await s.update(task_id, within=60)
        if "uuid" in st:
            await s.ack(st)
        if st["state"] not in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"):
            return st


async def test_forked_executors_run_tasks_in_their_own_sessions(http: aiohttp.ClientSession) -> None:
    """Command executors come from the fork server: each in its own session, with its own
    environment and sandbox output; the fork server ends with the cluster."""
    async with LocalCluster(agents=2, allocation_interval=0.2, status_update_retry=0.5) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("forked"))
        launched: list[str] = []
        while len(launched) < 4:
            for offer in await s.offers():
                if len(launched) < 4:
                    task_id = await s.launch(offer, {"value": 'echo "id=$MESOS_EXECUTOR_ID"; sleep 1'})
                    launched.append(task_id)
        executors = {}
        for _ in range(200):
            executors = {
                ex.id: ex
                for agent in cluster.agents
                for fw in agent.frameworks.values()
                for ex in fw.executors.values()
                if ex.pid is not None and ex.state == "RUNNING"  # subscribed: past its setsid()
            }
            if len(executors) == len(launched):
                break
            await asyncio.sleep(0.05)
        server = cluster._fork_server
        assert server is not None and server.pid is not None
        for ex in executors.values():
            fields = _stat(ex.pid or 0)
            assert int(fields[1]) == server.pid  # forked by the fork server, not exec'd by the agent
            assert int(fields[3]) == ex.pid  # a session (and process group) of its own
        for task_id in launched:
            assert (await _finish(s, task_id))["state"] == "TASK_FINISHED"
        for task_id, ex in executors.items():
            assert f"id={task_id}" in (ex.directory / "stdout").read_text()
        fork_server_pid = server.pid
        await s.teardown()
    assert _gone(fork_server_pid)


async def test_exec_executors_without_the_fork_server(http: aiohttp.ClientSession) -> None:
    """``fork_executors=False``: every executor is a fresh interpreter, a child of the cluster."""
    async with LocalCluster(fork_executors=False, allocation_interval=0.2) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("exec"))
        task_id = await s.launch((await s.offers())[0], {"value": "sleep 0.5"})
        ex = None
        for _ in range(200):
            exs = [e for fw in cluster.agents[0].frameworks.values() for e in fw.executors.values()]
            if exs and exs[0].pid is not None:
                ex = exs[0]
                break
            await asyncio.sleep(0.05)
        assert ex is not None and ex.pid is not None
        assert int(_stat(ex.pid)[1]) == os.getpid()
        assert cluster._fork_server is None
        assert (await _finish(s, task_id))["state"] == "TASK_FINISHED"
        await s.teardown()


async def test_fork_server_window_and_exit_statuses(tmp_path: Path) -> None:
    """At most ``window`` executors start at once (a slot frees when one subscribes or ends), and
    each exit comes back with its status, as from ``asyncio.subprocess``."""
    server = ForkServer(window=1)
    try:
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        # Without MESOS_SLAVE_PID the executor says so and exits 1 at once.
        first = await server.spawn(["executor"], {"PATH": os.environ["PATH"]}, tmp_path, out, err)
        second = await server.spawn(["executor"], {"PATH": os.environ["PATH"]}, tmp_path, out, err)
        assert first.returncode == 1  # the second spawn waited for the first one's slot
        assert await asyncio.wait_for(second.wait(), 30) == 1
        assert err.read_text().count("MESOS_SLAVE_PID is not set") == 2
        with pytest.raises(OSError, match="closed"):
            await server.close()
            await server.spawn(["executor"], {}, tmp_path, out, err)
    finally:
        await server.close()
