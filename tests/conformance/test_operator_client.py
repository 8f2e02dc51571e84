"""The operator API through MasterOperator/AgentOperator, in both encodings, on the local
cluster and on real Mesos 1.11: same answers, same errors, same event stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.errors import BadRequest, NotFound
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import ContentType, mesos
from tests.conformance.rawclient import RawScheduler, framework_info


@pytest.fixture(params=[ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
def encoding(request: pytest.FixtureRequest) -> ContentType:
    return ContentType(request.param)


@pytest_asyncio.fixture
async def op(master_url: str, encoding: ContentType) -> AsyncIterator[MasterOperator]:
    async with MasterOperator(master_url, content_type=encoding) as client:
        yield client


@pytest_asyncio.fixture
async def running(master_url: str, http: aiohttp.ClientSession) -> AsyncIterator[tuple[RawScheduler, str]]:
    """A scheduler with one running task that prints to its stdout."""
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("operator-client"))
        offer = (await s.offers())[0]
        task_id = await s.launch(offer, {"value": "echo hello-from-the-sandbox; sleep 600"})
        while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
            await s.ack(st)
        await s.ack(st)
        yield s, task_id
    finally:
        await s.teardown()


async def test_reads(op: MasterOperator, running: tuple[RawScheduler, str], master_url: str) -> None:
    s, task_id = running
    assert (await op.get_health()).healthy
    assert (await op.get_version()).version_info.version == "1.11.0"
    assert "port" in {f.name for f in (await op.get_flags()).flags}
    metrics = {m.name: m.value for m in (await op.get_metrics(timeout=5.0)).metrics}
    assert metrics["master/elected"] == 1.0
    assert metrics["master/tasks_running"] >= 1.0
    assert (await op.get_logging_level()).HasField("level")
    master = await op.get_master()
    assert master.master_info.port == int(master_url.rsplit(":", 1)[1])
    frameworks = await op.get_frameworks()
    mine = [f for f in frameworks.frameworks if f.framework_info.id.value == s.framework_id]
    assert len(mine) == 1 and mine[0].active
    agents = (await op.get_agents()).agents
    assert agents and agents[0].pid.startswith("slave(")
    tasks = (await op.get_tasks()).tasks
    (task,) = [t for t in tasks if t.task_id.value == task_id]
    assert task.state == mesos.TASK_RUNNING
    state = await op.get_state()
    assert any(t.task_id.value == task_id for t in state.get_tasks.tasks)
    assert any(f.framework_info.id.value == s.framework_id for f in state.get_frameworks.frameworks)
    await op.get_executors()
    await op.get_operations()
    await op.get_roles()
    await op.get_weights()
    await op.get_quota()
    assert not (await op.get_maintenance_schedule()).schedule.windows
    await op.get_maintenance_status()


async def test_files_of_a_sandbox(
    op: MasterOperator, running: tuple[RawScheduler, str], master_url: str, encoding: ContentType
) -> None:
    s, task_id = running
    sandbox = f"/frameworks/{s.framework_id}/executors/{task_id}/runs/latest"
    agent = (await op.get_agents()).agents[0]
    async with AgentOperator.for_pid(agent.pid, content_type=encoding) as agent_op:
        assert (await agent_op.get_health()).healthy
        assert (await agent_op.get_agent()).agent_info.id == agent.agent_info.id
        assert any(t.task_id.value == task_id for t in (await agent_op.get_tasks()).launched_tasks)
        await agent_op.get_state()
        await agent_op.get_frameworks()
        await agent_op.get_executors()
        await agent_op.get_containers()
        await agent_op.get_flags()
        await agent_op.get_version()
        names = {f.path.rsplit("/", 1)[1] for f in (await agent_op.list_files(sandbox)).file_infos}
        assert {"stdout", "stderr"} <= names
        # mesos-local serves one file tree for the master and its agents, as the local cluster does
        assert names == {f.path.rsplit("/", 1)[1] for f in (await op.list_files(sandbox)).file_infos}
        assert "slave/uptime_secs" in {m.name for m in (await agent_op.get_metrics(timeout=5.0)).metrics}
        await agent_op.get_operations()
        await agent_op.get_resource_providers()
        deadline = time.monotonic() + 30
        while b"hello-from-the-sandbox" not in (read := await agent_op.read_file(sandbox + "/stdout")).data:
            assert time.monotonic() < deadline, read
            await asyncio.sleep(0.2)
        assert read.size >= len(read.data)
        assert (await op.read_file(sandbox + "/stdout")).data == read.data
        part = await agent_op.read_file(sandbox + "/stdout", offset=1, length=4)
        assert part.data == read.data[1:5]
        with pytest.raises(NotFound):
            await agent_op.list_files(sandbox + "/no-such-file")


async def test_errors(op: MasterOperator, master_url: str, http: aiohttp.ClientSession) -> None:
    with pytest.raises(BadRequest, match="No framework found with specified ID"):
        await op.teardown("no-such-framework")
    with pytest.raises(NotFound, match="Agent 'no-such-agent' not found"):
        await op.mark_agent_gone("no-such-agent")
    with pytest.raises(BadRequest, match=r"Machine '.*' is not part of a maintenance schedule"):
        await op.start_maintenance([{"hostname": "nowhere", "ip": "10.9.9.9"}])
    with pytest.raises(BadRequest, match="Both 'hostname' and 'ip' for a machine are empty"):
        await op.update_maintenance_schedule(
            {"windows": [{"machine_ids": [{}], "unavailability": {"start": {"nanoseconds": 1}}}]}
        )
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with http.post(master_url + "/api/v1", json={"type": "GET_METRICS"}, headers=headers) as r:
        assert r.status == 400
        assert await r.text() == "Failed to validate master::Call: Expecting 'get_metrics' to be present"
    async with http.post(master_url + "/api/v1", json={}, headers=headers) as r:
        assert r.status == 400
        assert await r.text() == "Failed to validate master::Call: Expecting 'type' to be present"


async def test_weights(op: MasterOperator) -> None:
    await op.update_weights({"conformance-weights": 2.5})
    weights = {w.role: w.weight for w in (await op.get_weights()).weight_infos}
    assert weights["conformance-weights"] == 2.5
    with pytest.raises(BadRequest):
        await op.update_weights({"conformance-weights": -1.0})


async def test_subscribe_sees_a_framework_come_and_go(
    op: MasterOperator, master_url: str, http: aiohttp.ClientSession
) -> None:
    s = RawScheduler(master_url, http)
    async with op.subscribe() as events:
        first = await asyncio.wait_for(anext(events), 30)
        assert first.type == mesos.master.Event.SUBSCRIBED
        assert first.subscribed.heartbeat_interval_seconds == 15.0
        assert first.subscribed.get_state.get_agents.agents
        try:
            await s.subscribe(framework_info("operator-events"))
            async with asyncio.timeout(30):
                async for event in events:
                    if event.type == mesos.master.Event.FRAMEWORK_ADDED:
                        break
            assert event.framework_added.framework.framework_info.id.value == s.framework_id
            await s.teardown()
            async with asyncio.timeout(30):
                async for event in events:
                    if event.type == mesos.master.Event.FRAMEWORK_REMOVED:
                        break
            assert event.framework_removed.framework_info.id.value == s.framework_id
        finally:
            await s.teardown()


async def test_maintenance_window_sends_inverse_offers(
    op: MasterOperator, running: tuple[RawScheduler, str], flavour: str
) -> None:
    s, _task_id = running
    agent = (await op.get_agents()).agents[0]
    machine = {"hostname": agent.agent_info.hostname, "ip": agent.pid.rpartition("@")[2].rpartition(":")[0]}
    start = int((time.time() + 3600) * 1e9)
    window = {"machine_ids": [machine], "unavailability": {"start": {"nanoseconds": start}}}
    try:
        await op.update_maintenance_schedule({"windows": [window]})
        schedule = (await op.get_maintenance_schedule()).schedule
        assert schedule.windows[0].machine_ids[0].hostname == machine["hostname"]
        status = (await op.get_maintenance_status()).status
        assert [m.id.hostname for m in status.draining_machines] == [machine["hostname"]]
        event = await s.wait_for(lambda e: e["type"] == "INVERSE_OFFERS", within=60)
        (inverse,) = event["inverse_offers"]["inverse_offers"]
        assert inverse["agent_id"] == {"value": agent.agent_info.id.value}
        assert inverse["framework_id"] == {"value": s.framework_id}
        assert inverse["unavailability"]["start"] == {"nanoseconds": start}
        await s.call(
            "DECLINE_INVERSE_OFFERS",
            decline_inverse_offers={"inverse_offer_ids": [inverse["id"]], "filters": {"refuse_seconds": 1.0}},
        )
        deadline = time.monotonic() + 30
        while True:
            draining = (await op.get_maintenance_status()).status.draining_machines
            statuses = [st for m in draining for st in m.statuses]
            if statuses or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        (status,) = statuses
        assert status.framework_id.value == s.framework_id
        assert status.status == mesos.allocator.InverseOfferStatus.DECLINE
        again = await s.wait_for(lambda e: e["type"] == "INVERSE_OFFERS", within=60)  # offered anew
        (second,) = again["inverse_offers"]["inverse_offers"]
        assert second["id"] != inverse["id"]
        await s.call("ACCEPT_INVERSE_OFFERS", accept_inverse_offers={"inverse_offer_ids": [second["id"]]})
        deadline = time.monotonic() + 30
        while True:
            draining = (await op.get_maintenance_status()).status.draining_machines
            statuses = [st for m in draining for st in m.statuses]
            if statuses[0].status == mesos.allocator.InverseOfferStatus.ACCEPT or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert [st.status for st in statuses] == [mesos.allocator.InverseOfferStatus.ACCEPT]
        # Offers made since carry the window (events queued from before do not).
        offers = await s.wait_for(
            lambda e: e["type"] == "OFFERS" and "unavailability" in e["offers"]["offers"][0], within=60
        )
        assert [o["unavailability"]["start"] for o in offers["offers"]["offers"]] == [{"nanoseconds": start}]
        with pytest.raises(BadRequest, match="is not in DOWN mode and cannot be brought up"):
            await op.stop_maintenance([machine])
        if flavour == "local":  # real Mesos shuts the agent down: not on the shared cluster
            await op.start_maintenance([machine])
            assert [m.hostname for m in (await op.get_maintenance_status()).status.down_machines] == [
                machine["hostname"]
            ]
            await op.stop_maintenance([machine])
    finally:
        await op.update_maintenance_schedule({})
    assert not (await op.get_maintenance_status()).status.draining_machines


async def test_files_endpoints(
    running: tuple[RawScheduler, str], master_url: str, http: aiohttp.ClientSession
) -> None:
    s, task_id = running
    sandbox = f"/frameworks/{s.framework_id}/executors/{task_id}/runs/latest"
    async with http.get(master_url + "/files/browse", params={"path": sandbox}) as r:
        assert r.status == 200, await r.text()
        listing = await r.json()
    entry = next(e for e in listing if e["path"] == sandbox + "/stdout")
    assert {"path", "size", "mode", "mtime", "nlink", "uid", "gid"} <= set(entry)
    assert entry["mode"].startswith("-rw")
    deadline = time.monotonic() + 30
    while True:
        async with http.get(
            master_url + "/files/read", params={"path": sandbox + "/stdout", "offset": "0"}
        ) as r:
            assert r.status == 200
            read = await r.json()
        if "hello-from-the-sandbox" in read["data"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert read["offset"] == 0 and "hello-from-the-sandbox" in read["data"]
    async with http.get(
        master_url + "/files/read", params={"path": sandbox + "/stdout", "offset": "-1"}
    ) as r:
        assert (await r.json()) == {"data": "", "offset": len(read["data"].encode())}
    async with http.get(master_url + "/files/download", params={"path": sandbox + "/stdout"}) as r:
        assert r.status == 200
        assert r.headers["Content-Disposition"] == "attachment; filename=stdout"
        assert (await r.read()).decode() == read["data"]
    async with http.get(master_url + "/files/download", params={"path": sandbox}) as r:
        assert r.status == 400
        assert await r.text() == "Cannot download a directory.\n"
    async with http.get(master_url + "/files/browse") as r:
        assert r.status == 400
        assert await r.text() == "Expecting 'path=value' in query.\n"
    async with http.get(master_url + "/files/browse", params={"path": sandbox + "/nothing"}) as r:
        assert r.status == 404


async def test_agent_deactivation_and_unknown_agents(op: MasterOperator) -> None:
    agent_id = (await op.get_agents()).agents[0].agent_info.id.value
    await op.deactivate_agent(agent_id)
    try:
        (agent,) = (await op.get_agents()).agents
        assert agent.deactivated and not agent.active
    finally:
        await op.reactivate_agent(agent_id)
    (agent,) = (await op.get_agents()).agents
    assert not agent.deactivated and agent.active
    with pytest.raises(BadRequest, match="Agent is not deactivated"):
        await op.reactivate_agent(agent_id)
    with pytest.raises(BadRequest, match="Unknown agent"):
        await op.deactivate_agent("no-such-agent")
    with pytest.raises(BadRequest, match="Unknown agent"):
        await op.drain_agent("no-such-agent", max_grace_period=1.5)
    cpus = [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]
    with pytest.raises(BadRequest, match="No agent found with specified ID"):
        await op.reserve_resources("no-such-agent", cpus)
    with pytest.raises(BadRequest, match="No agent found with specified ID"):
        await op.unreserve_resources("no-such-agent", cpus)


async def test_logging_level(op: MasterOperator, encoding: ContentType) -> None:
    await op.set_logging_level(1, 60.0)
    try:
        assert (await op.get_logging_level()).level == 1
    finally:
        await op.set_logging_level(0, 1.0)
    assert (await op.get_logging_level()).level == 0
    agent = (await op.get_agents()).agents[0]
    async with AgentOperator.for_pid(agent.pid, content_type=encoding) as agent_op:
        await agent_op.set_logging_level(2, 60.0)
        try:
            assert (await agent_op.get_logging_level()).level == 2
        finally:
            await agent_op.set_logging_level(0, 1.0)
        assert (await agent_op.get_logging_level()).level == 0


async def test_request_errors_of_both_apis(
    master_url: str, http: aiohttp.ClientSession, op: MasterOperator
) -> None:
    agent = (await op.get_agents()).agents[0]
    agent_api = f"{master_url}/{agent.pid.partition('@')[0]}/api/v1"
    for url, what in ((master_url + "/api/v1", "master"), (agent_api, "agent")):
        protobuf = {"Content-Type": "application/x-protobuf", "Accept": "application/x-protobuf"}
        unparsable = "Call protobuf" if what == "master" else "a protobuf object"
        async with http.post(url, data=b"\xff\xff\xff", headers=protobuf) as r:
            assert (r.status, await r.text()) == (400, f"Failed to parse body into {unparsable}"), what
        async with http.post(url, data=b"{}", skip_auto_headers=["Content-Type"]) as r:
            assert (r.status, await r.text()) == (400, "Expecting 'Content-Type' to be present"), what
        async with http.post(url, data=b"{}", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415, what
        body = mesos.master.Call(type="GET_HEALTH").SerializeToString()
        async with http.post(url, data=body, headers={**protobuf, "Accept": "text/html"}) as r:
            assert r.status == 406, what
        json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        async with http.post(url, json={"type": "GET_METRICS"}, headers=json_headers) as r:
            validation = "master::Call" if what == "master" else "agent::Call"
            expected = f"Failed to validate {validation}: Expecting 'get_metrics' to be present"
            assert (r.status, await r.text()) == (400, expected), what
        async with http.post(url, data=body, headers=protobuf) as r:
            assert r.status == 200 and r.content_type == "application/x-protobuf", what
            kind = mesos.master.Response if what == "master" else mesos.agent.Response
            answer = kind.FromString(await r.read())
            assert answer.get_health.healthy, what


async def test_agent_streaming_headers(
    op: MasterOperator, master_url: str, http: aiohttp.ClientSession
) -> None:
    agent = (await op.get_agents()).agents[0]
    url = f"{master_url}/{agent.pid.partition('@')[0]}/api/v1"
    body = b'{"type": "GET_HEALTH"}'
    cases = [
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/recordio"}, 400),
        ({"Content-Type": "application/json", "Message-Content-Type": "application/json"}, 415),
        (
            {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Message-Accept": "application/json",
            },
            406,
        ),
        ({"Content-Type": "application/json", "Accept": "text/html"}, 406),
    ]
    for headers, status in cases:
        async with http.post(url, data=body, headers=headers) as r:
            assert r.status == status, headers
            if status == 415 and headers["Content-Type"] == "text/plain":
                expected = "application/json or application/x-protobuf or application/recordio"
                assert await r.text() == f"Expecting 'Content-Type' of {expected}"
