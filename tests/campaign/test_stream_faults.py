"""Campaign: the scheduler's event stream cut and stalled through a TCP proxy (local cluster, real Mesos).

The scheduler talks to the master only through `TcpProxy`. A cut resets every
connection (the scheduler resubscribes with its framework ID); a stall holds
every byte back while the connections stay open (the heartbeat watchdog gives
up on the stream; the resubscriptions wait too until the traffic flows again).
A task killed meanwhile is relaunched exactly once; no other task is launched
again, and every update is acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.scheduler import Scheduler
from tests.campaign.counts import Counts, figure, kill_pids, pid_command, running_ids, running_instances
from tests.integration.scheduler_helpers import Recorder, cmd, master_tasks, until
from tests.support.real_mesos import RealMesos
from tests.support.tcp_proxy import TcpProxy

INSTANCES = 3


@pytest.fixture
async def proxy(local_cluster: LocalCluster) -> AsyncIterator[TcpProxy]:
    async with TcpProxy("127.0.0.1", local_cluster.port) as p:
        yield p


def _scheduler(url: str, pid_file: Path, name: str) -> Scheduler:
    return Scheduler(
        master=url,
        framework_name=name,
        heartbeat_misses=2,
        master_connection_timeout=2,
        request_timeout=5,
        exponential_backoff_minimum=0.05,
        exponential_backoff_maximum=0.5,
        restart_backoff_minimum=0.1,
        restart_backoff_maximum=0.5,
        tasks={"web": {**cmd(pid_command(pid_file)), "instances": INSTANCES}},
    )


def _more(counts: Counts, before: int) -> bool:
    return counts.subscribed > before


async def _settled(s: Scheduler, url: str, rec: Recorder) -> None:
    """Every instance runs once, the master agrees, every update is acknowledged."""
    await until(lambda: len(running_ids(s)) == INSTANCES, what=lambda: f"{INSTANCES} running: {s.tasks}")
    await until(rec.all_acked, what="every update acknowledged")
    assert running_instances(s) == [f"web-{i}" for i in range(1, INSTANCES + 1)]
    assert set(await master_tasks(url, s.framework_id)) == running_ids(s)


@pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2, heartbeat_interval=0.5)
async def test_stream_cut_through_a_proxy(
    local_cluster: LocalCluster, proxy: TcpProxy, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    s = _scheduler(proxy.url, pid_file, "cut")
    counts, rec = Counts(s), Recorder(s)
    async with s:
        await _settled(s, local_cluster.url, rec)
        first = running_ids(s)
        framework_id = s.framework_id

        # Cut twice while all runs: resubscribed with the same ID, nothing launched again.
        for _ in range(2):
            before = counts.subscribed
            assert proxy.cut() >= 1
            started = time.monotonic()
            await until(partial(_more, counts, before), what="resubscribed after the cut")
            figure("stream cut: resubscribed after", time.monotonic() - started)
        await asyncio.sleep(1.0)  # a relaunch would show by now (offers every 0.2 s)
        assert s.framework_id == framework_id
        assert running_ids(s) == first
        assert counts.total_launches == INSTANCES

        # A task dies and the stream is cut at once: its update is redelivered, it is relaunched once.
        assert kill_pids(pid_file, 1) == 1
        proxy.cut()
        started = time.monotonic()
        await until(lambda: len(running_ids(s)) == INSTANCES and len(running_ids(s) & first) == INSTANCES - 1)
        figure("stream cut + task killed: relaunched after", time.monotonic() - started)
        await _settled(s, local_cluster.url, rec)
    assert counts.total_launches == INSTANCES + 1
    assert sum(counts.ends.values()) == 1  # the killed task, reported once
    assert len(counts.launched_twice()) == 1  # the killed instance only
    assert counts.errors == []


@pytest.mark.local_cluster(status_update_retry=0.5, allocation_interval=0.2, heartbeat_interval=0.5)
async def test_stream_stall_through_a_proxy(
    local_cluster: LocalCluster, proxy: TcpProxy, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    s = _scheduler(proxy.url, pid_file, "stall")
    counts, rec = Counts(s), Recorder(s)
    disconnected: list[bool] = []
    s.on("disconnected", lambda: disconnected.append(True))
    async with s:
        await _settled(s, local_cluster.url, rec)
        first = running_ids(s)
        proxy.stall()
        assert kill_pids(pid_file, 1) == 1  # its update waits behind the stall
        # Two missed heartbeats (0.5 s apart): the watchdog gives up on the silent stream.
        await until(lambda: bool(disconnected), timeout=30, what="the watchdog noticed the stall")
        await asyncio.sleep(1.0)  # resubscriptions wait in the stall too
        assert counts.total_launches == INSTANCES  # nothing launched blind
        proxy.resume()
        started = time.monotonic()
        await until(lambda: len(running_ids(s)) == INSTANCES and len(running_ids(s) & first) == INSTANCES - 1)
        figure("stream stall: recovered after resume in", time.monotonic() - started)
        await _settled(s, local_cluster.url, rec)
    assert counts.total_launches == INSTANCES + 1
    assert len(counts.launched_twice()) == 1
    assert counts.subscribed >= 2
    assert counts.errors == []


@pytest.mark.real_mesos
async def test_stream_cut_through_a_proxy_on_real_mesos(
    real_mesos_cluster: RealMesos, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    pid_file.touch()
    target = urlsplit(real_mesos_cluster.url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5050) as proxy:
        s = _scheduler(proxy.url, pid_file, "campaign-cut-real")
        counts, rec = Counts(s), Recorder(s)
        async with s:
            await _settled(s, real_mesos_cluster.url, rec)
            first = running_ids(s)
            subscribed = counts.subscribed
            assert proxy.cut() >= 1
            started = time.monotonic()
            await until(lambda: counts.subscribed > subscribed, what="resubscribed after the cut")
            figure("stream cut (real Mesos): resubscribed after", time.monotonic() - started)
            await asyncio.sleep(1.0)
            assert running_ids(s) == first
            assert set(await master_tasks(real_mesos_cluster.url, s.framework_id)) == first
            await s.teardown()
    assert counts.total_launches == INSTANCES
    assert counts.launched_twice() == {}
