"""Several masters electing a leader in a real ZooKeeper, Mesos's znode layout."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest
from kazoo.client import KazooClient

from mesos_framework.local import LocalCluster
from mesos_framework.local.zk import leader_of, parse_zk_url
from tests.conformance.rawclient import RawScheduler, framework_info
from tests.local.conftest import until_running
from tests.support.zookeeper import ZooKeeperServer

pytestmark = [pytest.mark.zookeeper]


def test_zk_url_and_leader_rules() -> None:
    assert parse_zk_url("zk://u:p@h1:2181,h2:2181/mesos") == ("h1:2181,h2:2181", "/mesos", ("u", "p"))
    with pytest.raises(ValueError, match="path"):
        parse_zk_url("zk://h1:2181/")
    for url in ("zk://u:secret@h1:2181/", "zk://u:secret@/mesos", "http://u:secret@h1:2181/mesos"):
        with pytest.raises(ValueError, match="zk://") as info:
            parse_zk_url(url)
        assert "secret" not in str(info.value)
        assert "u:***@" in str(info.value)
    assert leader_of(["json.info_0000000012", "json.info_0000000003", "log_replicas", "info_0000000001"]) == (
        "json.info_0000000003"
    )
    assert leader_of(["log_replicas"]) is None


async def test_ha_masters(zookeeper_server: ZooKeeperServer, http: aiohttp.ClientSession) -> None:
    path = f"/mesos-{id(http)}"
    url = f"zk://{zookeeper_server.hosts}{path}"
    async with LocalCluster(masters=3, zk=url, agents=1, allocation_interval=0.2) as cluster:
        leader = cluster.master
        zk = KazooClient(hosts=zookeeper_server.hosts)
        await asyncio.to_thread(zk.start)
        try:
            children = sorted(await asyncio.to_thread(zk.get_children, path))
            assert len(children) == 3
            assert all(c.startswith("json.info_") and len(c) == len("json.info_") + 10 for c in children)
            data, _ = await asyncio.to_thread(zk.get, f"{path}/{children[0]}")
        finally:
            await asyncio.to_thread(zk.stop)
            await asyncio.to_thread(zk.close)
        info = json.loads(data)
        assert list(info) == sorted(info)
        assert data == json.dumps(info, separators=(",", ":"), sort_keys=True).encode()
        assert info["id"] == leader.id
        assert info["pid"] == leader.pid
        assert info["ip"] == 16777343
        assert info["address"] == {"hostname": "localhost", "ip": "127.0.0.1", "port": leader.port}
        followers = [u for u in cluster.urls if not u.endswith(f":{leader.port}")]
        assert len(followers) == 2
        async with http.post(
            followers[0] + "/api/v1/scheduler?x=1",
            data=b"{}",
            allow_redirects=False,
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 307
            assert r.headers["Location"] == f"//localhost:{leader.port}/master/api/v1/scheduler?x=1"
        async with http.get(followers[0] + "/master/state", allow_redirects=False) as r:
            assert r.status == 307
        # a framework on the leader, then fail over
        s = RawScheduler(f"http://127.0.0.1:{leader.port}", http)
        await s.subscribe(framework_info("ha", failover_timeout=300.0))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "sleep 600"})
        await until_running(s, task_id)
        new = await cluster.fail_over_master()
        assert new is not leader
        with socket.socket() as probe:  # the old leader is gone, as a dead process would be
            assert probe.connect_ex(("127.0.0.1", leader.port)) != 0
        await asyncio.wait_for(s.closed.wait(), 10)
        again = RawScheduler(f"http://127.0.0.1:{new.port}", http)
        try:
            first = await again.subscribe(
                framework_info("ha", failover_timeout=300.0, id={"value": s.framework_id})
            )
            assert first["subscribed"]["master_info"]["id"] == new.id
            await again.call("RECONCILE", reconcile={"tasks": [{"task_id": {"value": task_id}}]})
            assert (await again.update(task_id))["state"] == "TASK_RUNNING"
        finally:
            await again.teardown()


async def test_no_leader_503(zookeeper_fresh: ZooKeeperServer, http: aiohttp.ClientSession) -> None:
    url = f"zk://{zookeeper_fresh.hosts}/mesos"
    async with LocalCluster(masters=2, zk=url, agents=0) as cluster:
        zk = KazooClient(hosts=zookeeper_fresh.hosts)
        await asyncio.to_thread(zk.start)
        try:  # the group empties: nobody leads
            for child in await asyncio.to_thread(zk.get_children, "/mesos"):
                await asyncio.to_thread(zk.delete, f"/mesos/{child}")
        finally:
            await asyncio.to_thread(zk.stop)
            await asyncio.to_thread(zk.close)
        for _ in range(100):
            if not any(m.leader for m in cluster.masters):
                break
            await asyncio.sleep(0.05)
        for base in cluster.urls:
            async with http.post(
                base + "/api/v1/scheduler", data=b"{}", headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 503
                assert await r.text() == "No leader elected"
