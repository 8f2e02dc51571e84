"""Distinct, configurable agents: port ranges, resources, attributes, hostname, fault domain."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.local import AgentSpec, LocalCluster
from mesos_framework.local.cli import load_config
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskState
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.integration.scheduler_helpers import Recorder, cmd, running, until


async def test_each_agent_gets_its_own_port_range(http: aiohttp.ClientSession) -> None:
    async with LocalCluster(agents=3) as cluster:
        ports = [a.total.summary()["ports"] for a in cluster.agents]
        assert ports == ["[31000-32000]", "[29999-30999]", "[28998-29998]"]
        added = await cluster.add_agent()
        assert added.total.summary()["ports"] == "[27997-28997]"
        async with http.get(cluster.url + "/master/slaves") as r:
            slaves = (await r.json())["slaves"]
        assert sorted(s["resources"]["ports"] for s in slaves) == sorted([*ports, "[27997-28997]"])


async def test_shared_ports_on_request() -> None:
    async with LocalCluster(agents=2, distinct_ports=False) as cluster:
        assert {a.total.summary()["ports"] for a in cluster.agents} == {"[31000-32000]"}


async def test_several_ranges_shift_together() -> None:
    async with LocalCluster(agents=2, resources="cpus:1;mem:64;ports:[8000-8009,8020-8029]") as cluster:
        assert cluster.agents[1].total.summary()["ports"] == "[7970-7979, 7990-7999]"


@pytest.mark.parametrize(
    ("kwargs", "option", "text"),
    [
        ({"agents": 2, "agent_specs": [{"resources": "cpus:1;ports:[29999-30100]"}]}, "resources", "overlap"),
        ({"agents": 1, "agent_specs": [{}, {}]}, "agent_specs", "2 agent specs for 1 agent"),
        ({"agents": 1, "agent_specs": [{"cpu": 1}]}, "agent_specs", "unknown setting(s) cpu"),
        ({"agents": 1, "agent_specs": [{"domain": "eu/a"}]}, "domain", "the master has none"),
        ({"agents": 1, "domain": "eu", "agent_specs": [{"domain": "eu/a"}]}, "domain", "region/zone"),
        ({"agents": 1, "agent_specs": [{"resources": "cpus:x"}]}, "resources", "bad value"),
        ({"agents": 1, "agent_specs": [{"hostname": " "}]}, "hostname", "empty hostname"),
        ({"agents": 40, "resources": "cpus:1;ports:[1000-2000]"}, "resources", "below 1"),
    ],
)
def test_bad_agent_settings_are_configuration_errors(kwargs: dict[str, Any], option: str, text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        LocalCluster(**kwargs)
    assert info.value.option == option
    assert text in str(info.value)


async def test_add_agent_with_overlapping_ports_is_refused() -> None:
    async with LocalCluster(agents=1) as cluster:
        with pytest.raises(ConfigurationError, match="overlap those of agent 1"):
            await cluster.add_agent("cpus:1;mem:64;ports:[31500-31600]")
        assert len(cluster.agents) == 1


async def test_agent_specs_reach_offers_and_state(http: aiohttp.ClientSession) -> None:
    specs = [
        AgentSpec(hostname="web-1.local", attributes={"rack": "r1"}, domain="eu/a"),
        AgentSpec(resources="cpus:2;mem:512;ports:[40000-40009]", hostname="web-2.local", domain="eu/b"),
    ]
    async with LocalCluster(agents=2, agent_specs=specs, domain="eu/a", allocation_interval=0.2) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("specs"))
        offers: dict[str, dict[str, Any]] = {}
        while len(offers) < 2:
            for offer in await s.offers():
                offers[offer["hostname"]] = offer
        one, two = offers["web-1.local"], offers["web-2.local"]
        assert one["attributes"] == [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}]
        assert one["domain"] == {"fault_domain": {"region": {"name": "eu"}, "zone": {"name": "a"}}}
        assert two["domain"]["fault_domain"]["zone"] == {"name": "b"}
        assert two["url"]["address"]["hostname"] == "web-2.local"
        ports = next(r for r in two["resources"] if r["name"] == "ports")
        assert ports["ranges"]["range"] == [{"begin": 40000, "end": 40009}]
        async with http.get(cluster.url + "/master/state") as r:
            state = await r.json()
        assert state["domain"]["fault_domain"]["region"] == {"name": "eu"}
        hosts = {a["hostname"]: a for a in state["slaves"]}
        assert hosts["web-2.local"]["domain"]["fault_domain"]["zone"]["name"] == "b"
        assert hosts["web-2.local"]["resources"]["cpus"] == 2.0
        async with http.get(cluster.url + "/slave(1)/state") as r:
            agent_state = await r.json()
        assert agent_state["hostname"] == "web-1.local"
        assert agent_state["attributes"] == {"rack": "r1"}
        await s.teardown()


async def test_remote_region_agents_are_offered_only_to_region_aware_frameworks(
    http: aiohttp.ClientSession,
) -> None:
    specs = [AgentSpec(domain="eu/a"), AgentSpec(hostname="far", domain="us/a")]
    async with LocalCluster(agents=2, agent_specs=specs, domain="eu/a", allocation_interval=0.2) as cluster:
        plain = RawScheduler(cluster.url, http)
        await plain.subscribe(framework_info("plain"))
        aware = RawScheduler(cluster.url, http)
        await aware.subscribe(framework_info("aware", "REGION_AWARE"))
        seen: set[str] = set()
        while "far" not in seen:
            offers = await aware.offers()
            seen |= {o["hostname"] for o in offers}
            await aware.decline(offers, refuse=0.0)
        plain_hosts: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while loop.time() < deadline:
            try:
                offers = await plain.offers(within=0.5)
            except TimeoutError:
                continue
            plain_hosts |= {o["hostname"] for o in offers}
            await plain.decline(offers, refuse=0.0)
        assert plain_hosts == {"localhost"}
        await plain.teardown()
        await aware.teardown()


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(
        'resources = "cpus:1;mem:128;ports:[31000-31099]"\ndomain = "eu/a"\nallocation_interval = 0.5\n'
        '[[agent]]\nhostname = "a1"\ndomain = "eu/a"\n'
        '[[agent]]\nhostname = "a2"\nattributes = { rack = "r2" }\n'
    )
    options = load_config(path)
    assert options["agents"] == 2
    cluster = LocalCluster(**options)
    assert cluster.config.allocation_interval == 0.5
    path.write_text("agentz = 3\n")
    with pytest.raises(ConfigurationError, match="agentz"):
        load_config(path)
    path.write_text("agents = \n")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_config(path)


async def test_cli_agent_options(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text('agents = 2\n[[agent]]\nhostname = "from-file"\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.local",
        "--port",
        "0",
        "--config",
        str(path),
        "--agent-hostname",
        "2=cli-two",
        "--agent-resources",
        "2=cpus:1;mem:64;ports:[20000-20009]",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
        async with http.get(url + "/master/slaves") as r:
            slaves = {s["hostname"]: s for s in (await r.json())["slaves"]}
        assert set(slaves) == {"from-file", "cli-two"}
        assert slaves["cli-two"]["resources"]["ports"] == "[20000-20009]"
        assert slaves["from-file"]["resources"]["ports"] == "[31000-32000]"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)


async def test_cli_refuses_an_agent_beyond_the_count() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.local",
        "--port",
        "0",
        "--agent-hostname",
        "3=x",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert b"agent 3 of 1" in err


SERVER = f"exec {sys.executable} -m http.server $PORT0 --bind 127.0.0.1"


def _service(cluster: LocalCluster) -> Scheduler:
    return Scheduler(
        master=cluster.url,
        framework_name="web8",
        tasks={"web": {**cmd(SERVER, cpus=0.25, mem=32, ports=1), "instances": 8}},
        restart_backoff_minimum=0.1,
        restart_backoff_maximum=0.5,
    )


async def test_an_8_instance_http_service_on_2_agents_has_no_port_collisions(
    http: aiohttp.ClientSession,
) -> None:
    # Each agent can run 4 instances (1 cpu / 0.25), so the service spreads over both agents,
    # and each task binds the port it was given on 127.0.0.1.
    async with LocalCluster(
        agents=2, resources="cpus:1;mem:1024;ports:[31000-32000]", allocation_interval=0.2
    ) as cluster:
        s = _service(cluster)
        rec = Recorder(s)
        async with s:
            await until(
                lambda: len(running(s)) == 8,
                timeout=120,
                what=lambda: f"8 running instances: {[(r.name, r.state) for r in s.task_records('web')]}",
            )
            records = s.task_records("web")
            assert {r.agent_id for r in records} == {a.id for a in cluster.agents}
            ports = [p for r in records for p in r.ports]
            assert len(set(ports)) == 8
            for port in ports:
                for _ in range(100):  # the server may still be starting
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/") as r:
                            assert r.status == 200
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.2)
                else:
                    pytest.fail(f"nothing answers on port {port}")
            failures = [
                (u.status.task_id.value, u.status.message)
                for u in rec.updates
                if u.status.state in (TaskState.TASK_FAILED, TaskState.TASK_LOST, TaskState.TASK_ERROR)
            ]
            assert rec.counts["task_launched"] == 8, failures  # nothing failed and was restarted
            assert len(running(s)) == 8


async def test_shared_ports_do_collide() -> None:
    # The control for the test above: with mesos-local's shared ranges, the two agents offer the
    # same ports, the scheduler picks the same ones on both, and servers fail to bind.
    async with LocalCluster(
        agents=2,
        resources="cpus:1;mem:1024;ports:[31000-32000]",
        allocation_interval=0.2,
        distinct_ports=False,
    ) as cluster:
        s = _service(cluster)
        rec = Recorder(s)
        async with s:
            await until(lambda: rec.counts["task_launched"] > 8, timeout=120, what="a collision restart")
