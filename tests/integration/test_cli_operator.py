"""The inspecting commands (state, agents, frameworks, tasks, events, logs, maintenance)
against the local cluster, and their error paths."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from mesos_framework.cli._events import framework_events
from mesos_framework.cli._operator import CommandError
from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.support.ports import free_port
from tests.support.real_mesos import RealMesos
from tests.support.zookeeper import ZooKeeperServer


async def cli(*args: str, env: dict[str, str] | None = None, within: float = 90) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), within)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[LocalCluster]:
    async with LocalCluster(allocation_interval=0.5) as c:
        yield c


@asynccontextmanager
async def running_task(
    cluster: LocalCluster, command: str, name: str | None = None
) -> AsyncIterator[tuple[RawScheduler, str, str]]:
    """A framework with one task of ``command`` (named ``name``, else as its ID), RUNNING: the
    scheduler, task ID and agent ID."""
    async with aiohttp.ClientSession() as http:
        s = RawScheduler(cluster.url, http)
        try:
            await s.subscribe(framework_info("cli-operator"))
            offer = (await s.offers())[0]
            task_id = await s.launch(offer, {"value": command}, extra={"name": name} if name else None)
            while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
                await s.ack(st)
            await s.ack(st)
            yield s, task_id, offer["agent_id"]["value"]
        finally:
            await s.teardown()


@pytest_asyncio.fixture
async def task(cluster: LocalCluster) -> AsyncIterator[tuple[RawScheduler, str]]:
    """A task named web-1 that writes to stdout and stderr and ends after 10 s (for ``logs --follow``)."""
    command = "echo out-line; echo err-line >&2; sleep 10; echo later"
    async with running_task(cluster, command, name="web-1") as (s, task_id, _):
        yield s, task_id


@pytest_asyncio.fixture
async def long_task(cluster: LocalCluster) -> AsyncIterator[tuple[RawScheduler, str]]:
    """A task that runs until the test is over, however slow the machine: killed at the end."""
    async with running_task(cluster, "exec sleep 3600") as (s, task_id, agent_id):
        yield s, task_id
        await s.call("KILL", kill={"task_id": {"value": task_id}, "agent_id": {"value": agent_id}})
        while (st := await s.update(task_id))["state"] != "TASK_KILLED":
            await s.ack(st)


async def test_state_agents_frameworks_tasks(
    cluster: LocalCluster, long_task: tuple[RawScheduler, str]
) -> None:
    # The task outlives every command below (a slow CLI start must not see it FINISHED).
    s, task_id = long_task
    host_port = cluster.url.removeprefix("http://")
    code, out, err = await cli("state", "--master", host_port)
    assert code == 0, err
    assert "version 1.11.0" in out.splitlines()[0]
    assert task_id in out and s.framework_id in out
    code, out, err = await cli("agents", env={"MESOS_MASTER": cluster.url})
    assert code == 0, err
    assert out.splitlines()[0].split() == ["ID", "HOSTNAME", "STATUS", "CPUS", "MEM", "PORTS"]
    assert out.splitlines()[2].split()[2] == "active"
    code, out, err = await cli("frameworks", "--master", cluster.url)
    assert code == 0, err
    assert "conformance-cli-operator" in out
    code, out, err = await cli("tasks", "--master", f"{host_port},127.0.0.1:{free_port()}")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(task_id))
    assert row.split()[2] == "TASK_RUNNING"


async def test_logs(cluster: LocalCluster, task: tuple[RawScheduler, str]) -> None:
    _s, task_id = task
    code, out, err = await cli("logs", task_id, "--master", cluster.url, "--follow")
    assert code == 0, err
    assert out.splitlines() == ["out-line", "later"]
    code, out, err = await cli("logs", task_id, "--stderr", "--master", cluster.url)
    assert code == 0, err
    assert "err-line" in out
    code, out, err = await cli("logs", "web-1", "--master", cluster.url)  # by its name (now ended)
    assert code == 0, err
    assert out.splitlines() == ["out-line", "later"]
    code, out, err = await cli("logs", "no-such-task", "--master", cluster.url)
    assert code == 1
    assert err.strip().startswith("mesos-framework: error: no task with ID or name 'no-such-task'")


async def test_closed_stdout_ends_quietly(cluster: LocalCluster) -> None:
    """``... | head``: once the reader has gone the command stops, with SIGPIPE's status, silently."""
    for args in (("events", "--json"), ("state",)):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first line
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mesos_framework",
                *args,
                "--master",
                cluster.url,
                stdout=write_end,
                stderr=asyncio.subprocess.PIPE,
            )
        finally:
            os.close(write_end)
        _out, err = await asyncio.wait_for(proc.communicate(), 90)
        assert (proc.returncode, err.decode()) == (141, ""), args


async def test_counts_must_be_positive() -> None:
    for args in (("events", "--limit", "-1"), ("events", "--limit", "0"), ("run", __file__, "--agents", "0")):
        code, _out, err = await cli(*args, "--master", f"127.0.0.1:{free_port()}")
        assert code == 2, args
        assert f"Invalid value for '{args[-2]}'" in err


async def test_events_one_line_each_and_json(cluster: LocalCluster) -> None:
    code, out, err = await cli("events", "--master", cluster.url, "--limit", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[1] == "SUBSCRIBED"
    assert "1 agents" in lines[0]
    assert lines[1].split()[1] == "HEARTBEAT" or len(lines) == 2
    code, out, err = await cli("events", "--master", cluster.url, "--limit", "1", "--json")
    assert code == 0, err
    assert out.startswith('{"type":"SUBSCRIBED"')


async def test_maintenance(cluster: LocalCluster) -> None:
    agent = cluster.agents[0]
    machine = f"{agent.config.hostname}/127.0.0.1"
    code, out, err = await cli(
        "maintenance", "--master", cluster.url, "--schedule", machine, "--duration", "60"
    )
    assert code == 0, err
    row = out.splitlines()[2].split()
    assert row[:3] == [agent.config.hostname, "127.0.0.1", "DRAINING"]
    code, out, err = await cli("maintenance", "--master", cluster.url, "--down", machine)
    assert code == 0, err
    assert out.splitlines()[2].split()[2] == "DOWN"
    code, out, err = await cli("maintenance", "--master", cluster.url, "--up", machine)
    assert code == 0, err
    assert len(out.splitlines()) == 2
    code, out, err = await cli("maintenance", "--master", cluster.url, "--up", machine)
    assert code == 1
    assert "is not in DOWN mode" in err and len(err.strip().splitlines()) == 1


async def test_dead_and_wrong_masters_are_one_line() -> None:
    port = free_port()
    code, _out, err = await cli("tasks", "--master", f"127.0.0.1:{port}")
    assert code == 1
    assert err.startswith(f"mesos-framework: error: cannot reach 127.0.0.1:{port} (from --master; ")
    assert "--master HOST:PORT or $MESOS_MASTER" in err
    assert len(err.strip().splitlines()) == 1
    code, _out, err = await cli("agents", env={"MESOS_MASTER": f"127.0.0.1:{port}"})
    assert code == 1
    assert err.startswith(f"mesos-framework: error: cannot reach 127.0.0.1:{port} (from $MESOS_MASTER; ")
    # events --framework (the scheduler API) says the same, after its retries (1 s here, not 30)
    with pytest.raises(CommandError) as error:
        await framework_events(f"127.0.0.1:{port}", "peek", raw=True, limit=1, give_up_after=1.0)
    assert str(error.value).startswith(f"cannot reach 127.0.0.1:{port} (from --master; give another with")

    async def page(request: web.Request) -> web.Response:
        return web.Response(status=404, text="<html><body>" + "<p>Not here</p>" * 500 + "</body></html>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        for command in ("state", "events", "logs"):
            args = [command, "--master", f"127.0.0.1:{port}"] + (["some-task"] if command == "logs" else [])
            code, _out, err = await cli(*args)
            assert code == 1, command
            assert err.startswith(
                f"mesos-framework: error: 127.0.0.1:{port} does not look like a Mesos master"
            )
            assert len(err.strip().splitlines()) == 1
            assert len(err) < 400
    finally:
        await runner.cleanup()


async def test_a_plain_web_server_is_not_a_master(tmp_path: Path) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/"):
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        for command in ("agents", "maintenance"):
            code, _out, err = await cli(command, "--master", f"http://127.0.0.1:{port}")
            assert code == 1, command
            assert err.startswith(
                f"mesos-framework: error: http://127.0.0.1:{port} does not look like a Mesos master"
            )
            assert len(err.strip().splitlines()) == 1
    finally:
        server.terminate()
        await server.wait()


@pytest.mark.zookeeper
async def test_state_through_zookeeper(zookeeper_server: ZooKeeperServer) -> None:
    url = f"zk://{zookeeper_server.hosts}/mesos-cli-{free_port()}"
    async with LocalCluster(masters=2, zk=url, agents=1) as cluster:
        code, out, err = await cli("agents", "--master", url)
        assert code == 0, err
        assert cluster.agents[0].id in out


async def test_zk_spec_without_zookeeper_is_one_line() -> None:
    code, _out, err = await cli("state", "--master", "zk://127.0.0.1:1/mesos", within=120)
    assert code == 1
    assert err.startswith(
        "mesos-framework: error: no Mesos master found through ZooKeeper 127.0.0.1:1 (path /mesos): "
        "no answer from ZooKeeper at 127.0.0.1:1"
    )
    assert "Detector" not in err and "None" not in err
    assert len(err.strip().splitlines()) == 1


async def test_run_passes_master_only_to_files_that_take_it(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("import os, sys\nprint(repr(sys.argv[1:]), os.environ['MESOS_MASTER'])\n")
    code, out, err = await cli("run", str(plain), "--master", "127.0.0.1:5050", "x")
    assert code == 0, err
    assert out.strip() == "['x'] 127.0.0.1:5050"
    with_option = tmp_path / "with_option.py"
    with_option.write_text(
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--master')\n"
        "print(p.parse_args().master)\n"
    )
    code, out, err = await cli("run", str(with_option), "--master", "127.0.0.1:5050")
    assert code == 0, err
    assert out.strip() == "127.0.0.1:5050"


async def test_help_texts_have_no_rest_markup() -> None:
    for command in ("run", "state", "events", "logs", "maintenance", "local"):
        code, out, err = await cli(command, "--help")
        assert code == 0, err
        assert "``" not in out, command


@pytest.mark.real_mesos
async def test_logs_and_tasks_on_real_mesos(real_mesos_cluster: RealMesos) -> None:
    async with aiohttp.ClientSession() as http:
        s = RawScheduler(real_mesos_cluster.url, http)
        try:
            await s.subscribe(framework_info("cli-real"))
            offer = (await s.offers())[0]
            task_id = await s.launch(offer, {"value": "echo real-out; echo real-err >&2; sleep 600"})
            while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
                await s.ack(st)
            await s.ack(st)
            code, out, err = await cli("tasks", "--master", real_mesos_cluster.url)
            assert code == 0, err
            assert (
                next(line for line in out.splitlines() if line.startswith(task_id)).split()[2]
                == "TASK_RUNNING"
            )
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                code, out, err = await cli("logs", task_id, "--master", real_mesos_cluster.url)
                assert code == 0, err
                if "real-out" in out or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert "real-out" in out.splitlines()
            code, out, err = await cli("logs", task_id, "--stderr", "--master", real_mesos_cluster.url)
            assert code == 0, err
            assert "real-err" in out.splitlines()
        finally:
            await s.teardown()
