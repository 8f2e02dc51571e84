"""A whole task lifecycle over application/x-protobuf (scheduler side)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp

from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

PB = "application/x-protobuf"
Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


async def test_protobuf_lifecycle(master_url: str, http: aiohttp.ClientSession) -> None:
    sub = Call(type=Call.SUBSCRIBE)
    sub.subscribe.framework_info.user = "nobody"
    sub.subscribe.framework_info.name = "conformance-protobuf-lifecycle"
    resp = await http.post(
        master_url + "/api/v1/scheduler",
        data=sub.SerializeToString(),
        headers={"Content-Type": PB, "Accept": PB},
        timeout=aiohttp.ClientTimeout(total=None),
    )
    stream_id = resp.headers["Mesos-Stream-Id"]

    async def event() -> scheduler_pb2.Event:
        while True:
            size = int(await asyncio.wait_for(resp.content.readline(), 30))
            ev = Event()
            ev.ParseFromString(await resp.content.readexactly(size))
            if ev.type != Event.HEARTBEAT:
                return ev

    async def call(c: scheduler_pb2.Call) -> None:
        c.framework_id.CopyFrom(fid)
        async with http.post(
            master_url + "/api/v1/scheduler",
            data=c.SerializeToString(),
            headers={"Content-Type": PB, "Mesos-Stream-Id": stream_id},
        ) as r:
            assert r.status == 202, await r.text()

    try:
        first = await event()
        assert first.type == Event.SUBSCRIBED
        fid = first.subscribed.framework_id
        while (ev := await event()).type != Event.OFFERS:
            pass
        offer = ev.offers.offers[0]
        accept = Call(type=Call.ACCEPT)
        accept.accept.offer_ids.add().CopyFrom(offer.id)
        accept.accept.filters.refuse_seconds = 0
        op = accept.accept.operations.add(type=mesos_pb2.Offer.Operation.LAUNCH)
        task = op.launch.task_infos.add(name="pb")
        task.task_id.value = f"pb-{uuid.uuid4().hex[:6]}"
        task.agent_id.CopyFrom(offer.agent_id)
        task.command.value = "exit 0"
        for r in offer.resources:
            if r.name in ("cpus", "mem"):
                res = task.resources.add()
                res.CopyFrom(r)
                res.scalar.value = 0.1 if r.name == "cpus" else 32
        await call(accept)
        states = []
        while not states or states[-1] != mesos_pb2.TASK_FINISHED:
            ev = await event()
            if ev.type != Event.UPDATE:
                continue
            st = ev.update.status
            assert st.task_id == task.task_id
            assert len(st.uuid) == 16
            states.append(st.state)
            ack = Call(type=Call.ACKNOWLEDGE)
            ack.acknowledge.agent_id.CopyFrom(st.agent_id)
            ack.acknowledge.task_id.CopyFrom(st.task_id)
            ack.acknowledge.uuid = st.uuid
            await call(ack)
        assert states == [mesos_pb2.TASK_STARTING, mesos_pb2.TASK_RUNNING, mesos_pb2.TASK_FINISHED]
        await call(Call(type=Call.TEARDOWN))
    finally:
        resp.close()


async def test_executor_api_over_protobuf(master_url: str, http: aiohttp.ClientSession) -> None:
    """The test itself subscribes as the executor (whose process only sleeps)."""
    from mesos_framework.protocol._schema import executor_pb2
    from tests.conformance.rawclient import RawScheduler, framework_info, small

    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("executor-protobuf"))
        offer = (await s.offers())[0]
        executor_id = f"pbexec-{uuid.uuid4().hex[:6]}"
        executor = {
            "executor_id": {"value": executor_id},
            "command": {"value": "sleep 600"},
            "resources": small(offer),
        }
        task_id = await s.launch(offer, extra={"executor": executor})
        async with http.get(master_url + "/master/slaves") as r:
            pid = next(a["pid"] for a in (await r.json())["slaves"] if a["id"] == offer["agent_id"]["value"])
        name, _, addr = pid.partition("@")
        url = f"http://{addr}/{name}/api/v1/executor"
        # Subscribe for the executor only once its container runs, as the executor itself would:
        # a SUBSCRIBE that wins the race with the container launch may never get the LAUNCH.
        for _ in range(200):
            async with http.get(f"http://{addr}/{name}/containers") as r:
                if any(c.get("executor_id") == executor_id for c in await r.json(content_type=None)):
                    break
            await asyncio.sleep(0.1)

        sub = executor_pb2.Call(type=executor_pb2.Call.SUBSCRIBE)
        sub.framework_id.value = s.framework_id or ""
        sub.executor_id.value = executor_id
        sub.subscribe.SetInParent()
        stream = None
        for _ in range(100):  # until the agent knows the executor
            stream = await http.post(
                url,
                data=sub.SerializeToString(),
                headers={"Content-Type": PB, "Accept": PB},
                timeout=aiohttp.ClientTimeout(total=None),
            )
            if stream.status == 200:
                break
            stream.close()
            await asyncio.sleep(0.1)
        assert stream is not None and stream.status == 200
        assert stream.headers["Content-Type"] == PB

        async def event() -> executor_pb2.Event:
            size = int(await asyncio.wait_for(stream.content.readline(), 30))
            ev = executor_pb2.Event()
            ev.ParseFromString(await stream.content.readexactly(size))
            return ev

        try:
            subscribed = await event()
            assert subscribed.type == executor_pb2.Event.SUBSCRIBED
            assert subscribed.subscribed.executor_info.executor_id.value == executor_id
            assert subscribed.subscribed.framework_info.id.value == s.framework_id
            assert subscribed.subscribed.agent_info.id == mesos_pb2.AgentID(value=offer["agent_id"]["value"])
            assert subscribed.subscribed.container_id.value
            launch = await event()
            assert launch.type == executor_pb2.Event.LAUNCH
            assert launch.launch.task.task_id.value == task_id
            upd = executor_pb2.Call(type=executor_pb2.Call.UPDATE)
            upd.framework_id.CopyFrom(sub.framework_id)
            upd.executor_id.CopyFrom(sub.executor_id)
            st = upd.update.status
            st.task_id.value = task_id
            st.state = mesos_pb2.TASK_RUNNING
            st.source = mesos_pb2.TaskStatus.SOURCE_EXECUTOR
            st.uuid = uuid.uuid4().bytes
            async with http.post(url, data=upd.SerializeToString(), headers={"Content-Type": PB}) as r:
                assert r.status == 202, await r.text()
            acked = await event()
            assert acked.type == executor_pb2.Event.ACKNOWLEDGED
            assert acked.acknowledged.uuid == st.uuid
            assert acked.acknowledged.task_id.value == task_id
            update = await s.update(task_id)
            assert update["state"] == "TASK_RUNNING"
            assert update["source"] == "SOURCE_EXECUTOR"
            assert "executor_id" not in update  # the agent only overwrites an executor_id that was set
        finally:
            stream.close()
    finally:
        await s.teardown()
