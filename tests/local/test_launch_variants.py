"""LAUNCH_GROUP on the default executor, DOCKER without an engine, DRF, roles."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import RawScheduler, framework_info, pod_launch, small
from tests.local.conftest import Factory


async def test_launch_group_default_executor(scheduler: Factory) -> None:
    s = await scheduler("group")
    offer = (await s.offers())[0]
    launch = pod_launch(
        offer,
        {"type": "DEFAULT", "executor_id": {"value": "pod-exec"}},
        [("web", "sleep 600"), ("job", "exit 0")],
    )
    await s.call(
        "ACCEPT",
        accept={"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0}, "operations": [launch]},
    )
    states: dict[str, list[str]] = {"web": [], "job": []}
    while "TASK_FINISHED" not in states["job"] or "TASK_RUNNING" not in states["web"]:
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE"))["update"]["status"]
        states[st["task_id"]["value"]].append(st["state"])
        assert st["executor_id"] == {"value": "pod-exec"}
        await s.ack(st)
    await s.call("KILL", kill={"task_id": {"value": "web"}})
    while states["web"][-1] != "TASK_KILLED":
        st = await s.update("web")
        states["web"].append(st["state"])
        await s.ack(st)


async def test_launch_group_needs_executor_type(scheduler: Factory) -> None:
    s = await scheduler("group-invalid")
    offer = (await s.offers())[0]
    tasks = [
        {
            "name": "a",
            "task_id": {"value": "a"},
            "agent_id": offer["agent_id"],
            "resources": small(offer),
            "command": {"value": "true"},
        }
    ]
    await s.call(
        "ACCEPT",
        accept={
            "offer_ids": [offer["id"]],
            "operations": [
                {
                    "type": "LAUNCH_GROUP",
                    "launch_group": {
                        "executor": {"executor_id": {"value": "e"}, "resources": small(offer)},
                        "task_group": {"tasks": tasks},
                    },
                }
            ],
        },
    )
    st = await s.update("a")
    assert st["state"] == "TASK_ERROR"
    assert st["reason"] == "REASON_TASK_GROUP_INVALID"
    assert st["message"] == "'ExecutorInfo.type' must be set"


async def test_docker_without_engine_fails(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    async with LocalCluster(docker_socket=str(tmp_path / "no-docker.sock")) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("docker"))
        offer = (await s.offers())[0]
        task_id = await s.launch(
            offer, {"value": "true"}, extra={"container": {"type": "DOCKER", "docker": {"image": "alpine"}}}
        )
        st = await s.update(task_id)
        assert st["state"] == "TASK_FAILED"
        assert st["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
        assert "no Docker engine" in st["message"]
        await s.ack(st)
        await s.teardown()


async def test_drf_shares_agents(http: aiohttp.ClientSession) -> None:
    async with LocalCluster(agents=4, resources="cpus:1;mem:256", allocation_interval=0.2) as cluster:
        a, b = RawScheduler(cluster.url, http), RawScheduler(cluster.url, http)
        await a.subscribe(framework_info("drf-a"))
        first = await a.offers()
        while len(first) < 4:
            first += await a.offers()
        await b.subscribe(framework_info("drf-b"))
        await a.decline(first, refuse=0)  # the next round splits the cluster fairly
        got: dict[str, set[str]] = {"a": set(), "b": set()}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while len(got["a"] | got["b"]) < 4 and loop.time() < deadline:
            for name, s in (("a", a), ("b", b)):
                for e in await s.quiet(0.3, lambda e: e["type"] == "OFFERS"):
                    got[name] |= {o["agent_id"]["value"] for o in e["offers"]["offers"]}
        assert not got["a"] & got["b"]  # never the same agent's resources twice
        assert len(got["a"]) == len(got["b"]) == 2  # fair split
        await a.teardown()
        await b.teardown()


async def test_multi_role_accept_without_allocation_info(scheduler: Factory) -> None:
    s = await scheduler("mr", "MULTI_ROLE", roles=["r1"])
    offer = (await s.offers())[0]
    res = [{k: v for k, v in r.items() if k != "allocation_info"} for r in small(offer)]
    task_id = await s.launch(offer, {"value": "exit 0"}, extra={"resources": res})
    st = await s.update(task_id)
    assert st["state"] == "TASK_STARTING"
    await s.ack(st)
