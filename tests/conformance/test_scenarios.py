"""Scheduler scenarios: offers, launch, updates and acks, kill, reconcile,
decline filters, suppress/revive, teardown, failover, invalid launches."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.conformance.conftest import Factory
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info, small


def is_update(task_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "UPDATE" and e["update"]["status"]["task_id"]["value"] == task_id


async def run_to_end(s: RawScheduler, task_id: str) -> list[dict[str, Any]]:
    """Acks every update of a task until a terminal one; returns them."""
    seen = []
    while True:
        status = await s.update(task_id)
        seen.append(status)
        if "uuid" in status:
            await s.ack(status)
        if status["state"] in TERMINAL:
            return seen


async def test_offer_format(scheduler: Factory) -> None:
    s = await scheduler("offers")
    offers = await s.offers()
    offer = offers[0]
    master_id = s.history[0]["subscribed"]["master_info"]["id"]
    assert re.fullmatch(re.escape(master_id) + r"-O\d+", offer["id"]["value"])
    assert re.fullmatch(re.escape(master_id) + r"-S\d+", offer["agent_id"]["value"])
    assert offer["framework_id"]["value"] == s.framework_id
    assert offer["url"]["scheme"] == "http"
    assert offer["url"]["address"]["ip"] == "127.0.0.1"
    assert re.fullmatch(r"/slave\(\d+\)", offer["url"]["path"])
    assert "allocation_info" not in offer
    names = {r["name"]: r for r in offer["resources"]}
    assert {"cpus", "mem", "disk", "ports"} <= set(names)
    for r in offer["resources"]:
        assert r["role"] == "*"
        assert "allocation_info" not in r
        assert "reservations" not in r
    assert names["cpus"]["type"] == "SCALAR" and isinstance(names["cpus"]["scalar"]["value"], float)
    assert names["ports"]["type"] == "RANGES"
    assert all(isinstance(x["begin"], int) for x in names["ports"]["ranges"]["range"])


async def test_multi_role_offers_carry_allocation_info(scheduler: Factory) -> None:
    s = await scheduler("multirole", "MULTI_ROLE", roles=["conformance"])
    offer = (await s.offers())[0]
    assert offer["allocation_info"] == {"role": "conformance"}
    for r in offer["resources"]:
        assert r["allocation_info"] == {"role": "conformance"}
        assert r["role"] == "*"


async def test_refinement_offers_use_reservations_format(scheduler: Factory) -> None:
    s = await scheduler("refinement", "MULTI_ROLE", "RESERVATION_REFINEMENT", roles=["conformance"])
    offer = (await s.offers())[0]
    for r in offer["resources"]:
        assert "role" not in r
        assert "reservations" not in r
        assert r["allocation_info"] == {"role": "conformance"}


async def test_command_task_lifecycle(scheduler: Factory) -> None:
    s = await scheduler("lifecycle")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "exit 0"})
    statuses = await run_to_end(s, task_id)
    assert [x["state"] for x in statuses] == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    for st in statuses:
        assert st["source"] == "SOURCE_EXECUTOR"
        assert st["agent_id"] == offer["agent_id"]
        assert st["executor_id"]["value"] == task_id
        assert len(st["uuid"]) == 24
        assert "container_id" in st["container_status"]
        assert isinstance(st["timestamp"], float)
    assert statuses[-1]["message"] == "Command exited with status 0"


async def test_failed_command_message(scheduler: Factory) -> None:
    s = await scheduler("failed")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"shell": False, "value": "/bin/sh", "arguments": ["sh", "-c", "exit 3"]})
    statuses = await run_to_end(s, task_id)
    assert statuses[-1]["state"] == "TASK_FAILED"
    assert statuses[-1]["message"] == "Command exited with status 3"


async def test_next_update_waits_for_ack(scheduler: Factory) -> None:
    s = await scheduler("ackgate")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "exit 0"})
    starting = await s.update(task_id)
    assert starting["state"] == "TASK_STARTING"
    # Unacknowledged: RUNNING must not be forwarded (real Mesos retries STARTING after 10 s).
    later = await s.quiet(3.0, is_update(task_id))
    assert all(e["update"]["status"]["state"] == "TASK_STARTING" for e in later)
    await s.ack(starting)
    running = await s.update(task_id)
    assert running["state"] == "TASK_RUNNING"
    await s.ack(running)
    finished = await s.update(task_id)
    assert finished["state"] == "TASK_FINISHED"
    await s.ack(finished)


async def test_kill_with_killing_state(scheduler: Factory) -> None:
    s = await scheduler("kill", "TASK_KILLING_STATE")
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.ack(st)
    await s.call("KILL", kill={"task_id": {"value": task_id}, "agent_id": offer["agent_id"]})
    statuses = await run_to_end(s, task_id)
    assert [x["state"] for x in statuses] == ["TASK_KILLING", "TASK_KILLED"]
    assert statuses[-1]["message"] == "Command terminated with signal Terminated"


async def test_kill_without_killing_state_and_grace(scheduler: Factory) -> None:
    s = await scheduler("kill2")
    offer = (await s.offers())[0]
    # Ignores SIGTERM: only the SIGKILL after the 1 s grace period ends it.
    task_id = await s.launch(
        offer,
        {
            "shell": False,
            "value": sys.executable,
            "arguments": [
                sys.executable,
                "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
            ],
        },
        extra={"kill_policy": {"grace_period": {"nanoseconds": 1_000_000_000}}},
    )
    while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.ack(st)
    await asyncio.sleep(2.0)  # let the interpreter start and ignore SIGTERM
    await s.call("KILL", kill={"task_id": {"value": task_id}})
    statuses = await run_to_end(s, task_id)
    assert [x["state"] for x in statuses] == ["TASK_KILLED"]
    assert statuses[-1]["message"] == "Command terminated with signal Killed"


async def test_kill_unknown_task_reconciles(scheduler: Factory) -> None:
    s = await scheduler("killunknown")
    await s.call("KILL", kill={"task_id": {"value": "no-such-task"}})
    st = await s.update("no-such-task")
    assert st["state"] == "TASK_LOST"
    assert st["reason"] == "REASON_RECONCILIATION"
    assert st["source"] == "SOURCE_MASTER"
    assert st["message"] == "Reconciliation: Task is unknown"
    assert "uuid" not in st


@pytest.mark.parametrize("partition_aware", [False, True])
async def test_reconciliation(scheduler: Factory, partition_aware: bool) -> None:
    caps = ("PARTITION_AWARE",) if partition_aware else ()
    s = await scheduler("reconcile", *caps)
    offer = (await s.offers())[0]
    agent = offer["agent_id"]
    running = await s.launch(offer, {"value": "sleep 600"})
    while (st := await s.update(running))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.ack(st)
    await s.call(
        "RECONCILE",
        reconcile={
            "tasks": [
                {"task_id": {"value": running}, "agent_id": agent},
                {"task_id": {"value": "gone-task"}, "agent_id": agent},
                {"task_id": {"value": "unknown-task"}},
            ]
        },
    )
    answers = {}
    for _ in range(3):
        ev = await s.wait_for(lambda e: e["type"] == "UPDATE")
        st = ev["update"]["status"]
        answers[st["task_id"]["value"]] = st
    for st in answers.values():
        assert st["reason"] == "REASON_RECONCILIATION"
        assert st["source"] == "SOURCE_MASTER"
        assert "uuid" not in st
    assert answers[running]["state"] == "TASK_RUNNING"
    assert answers[running]["message"] == "Reconciliation: Latest task state"
    assert answers[running]["agent_id"] == agent
    assert answers["gone-task"]["state"] == ("TASK_GONE" if partition_aware else "TASK_LOST")
    assert answers["gone-task"]["message"] == "Reconciliation: Task is unknown to the agent"
    assert answers["unknown-task"]["state"] == ("TASK_UNKNOWN" if partition_aware else "TASK_LOST")
    assert answers["unknown-task"]["message"] == "Reconciliation: Task is unknown"
    # implicit
    await s.call("RECONCILE", reconcile={})
    st = await s.update(running)
    assert st["state"] == "TASK_RUNNING"
    assert st["message"] == "Reconciliation: Latest task state"
    assert "uuid" not in st
    quiet = await s.quiet(1.0, lambda e: e["type"] == "UPDATE")
    assert quiet == []


async def test_decline_filter_and_revive(scheduler: Factory) -> None:
    s = await scheduler("decline")
    offers = await s.offers()
    await s.decline(offers, refuse=3600)
    assert await s.quiet(2.5, lambda e: e["type"] == "OFFERS") == []
    await s.call("REVIVE")
    assert await s.offers(within=10)


async def test_decline_without_filter_comes_back(scheduler: Factory) -> None:
    s = await scheduler("decline0")
    offers = await s.offers()
    await s.decline(offers, refuse=0)
    again = await s.offers(within=10)
    assert {o["agent_id"]["value"] for o in again} & {o["agent_id"]["value"] for o in offers}


async def test_accept_leftover_gets_default_filter(scheduler: Factory) -> None:
    s = await scheduler("leftover")
    offer = (await s.offers())[0]
    # ACCEPT without 'filters': the unused rest is refused for 5 s.
    task = {
        "name": "x",
        "task_id": {"value": f"x-{uuid.uuid4().hex[:6]}"},
        "agent_id": offer["agent_id"],
        "resources": small(offer),
        "command": {"value": "sleep 600"},
    }
    await s.call(
        "ACCEPT",
        accept={
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        },
    )
    assert await s.quiet(2.5, lambda e: e["type"] == "OFFERS") == []
    assert await s.offers(within=10)


async def test_suppress_then_revive(scheduler: Factory) -> None:
    s = await scheduler("suppress")
    offers = await s.offers()
    await s.call("SUPPRESS")
    await s.decline(offers, refuse=0)
    assert await s.quiet(2.5, lambda e: e["type"] == "OFFERS") == []
    await s.call("REVIVE")
    assert await s.offers(within=10)


async def test_subscribe_suppressed_roles(scheduler: Factory) -> None:
    s = await scheduler("suppressed", "MULTI_ROLE", roles=["a", "b"], suppressed_roles=["a"])
    offers = await s.offers()
    assert {o["allocation_info"]["role"] for o in offers} == {"b"}
    await s.call("SUPPRESS", suppress={"roles": ["b"]})
    await s.decline(offers, refuse=0)
    assert await s.quiet(2.5, lambda e: e["type"] == "OFFERS") == []
    await s.call("REVIVE", revive={"roles": ["a"]})
    offers = await s.offers(within=10)
    assert {o["allocation_info"]["role"] for o in offers} == {"a"}


async def test_invalid_offer_gives_lost_or_dropped(scheduler: Factory) -> None:
    for caps, state in (((), "TASK_LOST"), (("PARTITION_AWARE",), "TASK_DROPPED")):
        s = await scheduler("badoffer", *caps)
        offer = (await s.offers())[0]
        await s.decline([offer], refuse=0)
        task_id = await s.launch(offer, {"value": "true"})
        st = await s.update(task_id)
        assert st["state"] == state
        assert st["reason"] == "REASON_INVALID_OFFERS"
        assert st["source"] == "SOURCE_MASTER"
        assert (
            st["message"]
            == f"Task launched with invalid offers: Offer {offer['id']['value']} is no longer valid"
        )
        assert "uuid" not in st
        await s.teardown()


async def test_task_validation_errors(scheduler: Factory) -> None:
    s = await scheduler("taskerror")
    offer = (await s.offers())[0]
    res = small(offer)
    tasks = [
        {
            "name": "a",
            "task_id": {"value": "no-resources"},
            "agent_id": offer["agent_id"],
            "resources": [],
            "command": {"value": "true"},
        },
        {"name": "b", "task_id": {"value": "both"}, "agent_id": offer["agent_id"], "resources": res},
        {
            "name": "c",
            "task_id": {"value": "wrong-agent"},
            "agent_id": {"value": "nope"},
            "resources": res,
            "command": {"value": "true"},
        },
        {
            "name": "d",
            "task_id": {"value": "too-big"},
            "agent_id": offer["agent_id"],
            "resources": [{**res[0], "scalar": {"value": 100000.0}}],
            "command": {"value": "true"},
        },
    ]
    await s.call(
        "ACCEPT",
        accept={
            "offer_ids": [offer["id"]],
            "filters": {"refuse_seconds": 0},
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}],
        },
    )
    got = {}
    for _ in tasks:
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE"))["update"]["status"]
        got[st["task_id"]["value"]] = st
    for st in got.values():
        assert st["state"] == "TASK_ERROR"
        assert st["reason"] == "REASON_TASK_INVALID"
        assert st["source"] == "SOURCE_MASTER"
        assert "uuid" not in st
    assert got["no-resources"]["message"] == "Task uses no resources"
    assert got["both"]["message"] == (
        "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
    )
    assert got["wrong-agent"]["message"] == (
        f"Task uses invalid agent nope while agent {offer['agent_id']['value']} is expected"
    )
    assert got["too-big"]["message"].startswith("Total resources ")
    assert "required by task and its executor is more than available" in got["too-big"]["message"]


async def test_duplicate_task_id(scheduler: Factory) -> None:
    s = await scheduler("duplicate")
    offer = (await s.offers())[0]
    await s.launch(offer, {"value": "sleep 600"}, task_id="dup")
    offer2 = (await s.offers())[0]
    await s.launch(offer2, {"value": "true"}, task_id="dup")
    err = await s.wait_for(lambda e: e["type"] == "UPDATE" and e["update"]["status"]["state"] == "TASK_ERROR")
    assert err["update"]["status"]["message"] == "Task has duplicate ID: dup"


async def test_teardown(scheduler: Factory, master_url: str, http: aiohttp.ClientSession) -> None:
    s = await scheduler("teardown", failover_timeout=300.0)
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": "sleep 600"})
    while (st := await s.update(task_id))["state"] != "TASK_RUNNING":
        await s.ack(st)
    await s.call("TEARDOWN")
    await asyncio.wait_for(s.closed.wait(), 20)
    leftovers = [
        e
        for e in s.history
        if e["type"] not in ("HEARTBEAT", "OFFERS", "RESCIND", "SUBSCRIBED")
        and not (e["type"] == "UPDATE" and e["update"]["status"]["state"] != "TASK_KILLED")
    ]
    assert leftovers == []  # no UPDATE for the killed task, no final event
    call = {"type": "REVIVE", "framework_id": {"value": s.framework_id}}
    assert await s.raw_call(call) == (400, "Framework cannot be found")
    async with http.get(master_url + "/master/frameworks") as resp:
        body = await resp.json()
    assert any(f["id"] == s.framework_id for f in body["completed_frameworks"])
    again = RawScheduler(master_url, http)
    first = await again.subscribe(
        framework_info("teardown", failover_timeout=300.0, id={"value": s.framework_id}),
        expect_subscribed=False,
    )
    assert first == {"type": "ERROR", "error": {"message": "Framework has been removed"}}
    await asyncio.wait_for(again.closed.wait(), 10)
    await again.close()


async def test_failover_to_new_subscription(
    scheduler: Factory, master_url: str, http: aiohttp.ClientSession
) -> None:
    s = await scheduler("failover", failover_timeout=300.0)
    old_stream = s.stream_id
    new = RawScheduler(master_url, http)
    try:
        first = await new.subscribe(
            framework_info("failover", failover_timeout=300.0, id={"value": s.framework_id})
        )
        assert first["subscribed"]["framework_id"]["value"] == s.framework_id
        assert new.stream_id != old_stream
        err = await s.wait_for(lambda e: e["type"] == "ERROR", within=10)
        assert err == {"type": "ERROR", "error": {"message": "Framework failed over"}}
        await asyncio.wait_for(s.closed.wait(), 10)
        call = {"type": "REVIVE", "framework_id": {"value": s.framework_id}}
        status, body = await s.raw_call(call, stream_id=old_stream)
        assert status == 400
        assert body.startswith(f"The stream ID '{old_stream}' included in this request didn't match")
        assert await new.raw_call(call) == (202, "")
    finally:
        await new.teardown()


async def test_disconnect_keeps_framework_until_failover_timeout(
    scheduler: Factory, master_url: str, http: aiohttp.ClientSession
) -> None:
    s = await scheduler("disconnect", failover_timeout=300.0)
    await s.close()
    await asyncio.sleep(1.0)
    call = {"type": "REVIVE", "framework_id": {"value": s.framework_id}}
    assert await s.raw_call(call) == (403, "Framework is not subscribed")
    again = RawScheduler(master_url, http)
    try:
        first = await again.subscribe(
            framework_info("disconnect", failover_timeout=300.0, id={"value": s.framework_id})
        )
        assert first["subscribed"]["framework_id"]["value"] == s.framework_id
    finally:
        await again.teardown()


async def test_disconnect_without_failover_timeout_removes(
    scheduler: Factory, master_url: str, http: aiohttp.ClientSession
) -> None:
    s = await scheduler("nofailover")
    await s.close()
    for _ in range(50):
        async with http.get(master_url + "/master/frameworks") as resp:
            body = await resp.json()
        if any(f["id"] == s.framework_id for f in body["completed_frameworks"]):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("framework not removed")
    call = {"type": "REVIVE", "framework_id": {"value": s.framework_id}}
    assert await s.raw_call(call) == (400, "Framework cannot be found")
