"""Reservations and persistent volumes through the master's operator API (RESERVE_RESOURCES,
CREATE_VOLUMES, SHRINK_VOLUME, GROW_VOLUME, DESTROY_VOLUMES, UNRESERVE_RESOURCES), in both
encodings, on the local cluster and on real Mesos 1.11: 202 and the result in later offers and
in GET_AGENTS; Mesos's 400 and 409 answers for invalid and unsatisfiable operations."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.errors import BadRequest, Conflict
from mesos_framework.local._codec import to_dict
from mesos_framework.operator import MasterOperator
from mesos_framework.protocol import ContentType
from tests.conformance.rawclient import RawScheduler, framework_info

ROLE = "opapi"


@pytest.fixture(params=[ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
def encoding(request: pytest.FixtureRequest) -> ContentType:
    return ContentType(request.param)


@pytest_asyncio.fixture
async def op(master_url: str, encoding: ContentType) -> AsyncIterator[MasterOperator]:
    async with MasterOperator(master_url, content_type=encoding) as client:
        yield client


@pytest_asyncio.fixture
async def scheduler(master_url: str, http: aiohttp.ClientSession) -> AsyncIterator[RawScheduler]:
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(
            framework_info("operator-reservations", "MULTI_ROLE", "RESERVATION_REFINEMENT", roles=[ROLE])
        )
        yield s
    finally:
        await s.teardown()


def scalar(name: str, value: float, *, reserved: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": "SCALAR", "scalar": {"value": value}}
    if reserved:
        out["reservations"] = [{"type": "DYNAMIC", "role": ROLE}]
    return out


def volume(persistence_id: str, size: float) -> dict[str, Any]:
    out = scalar("disk", size)
    out["disk"] = {"persistence": {"id": persistence_id}, "volume": {"container_path": "data", "mode": "RW"}}
    return out


def reserved_to_role(resource: dict[str, Any]) -> bool:
    stack = resource.get("reservations", [])
    return bool(stack) and stack[-1].get("role") == ROLE and stack[-1].get("type") == "DYNAMIC"


def persistence_id(resource: dict[str, Any]) -> str | None:
    return resource.get("disk", {}).get("persistence", {}).get("id")  # type: ignore[no-any-return]


async def offered(s: RawScheduler, predicate: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The resources of the next offer whose resources satisfy ``predicate`` (others declined)."""
    while True:
        offers = await s.offers(within=60)
        found = next((o for o in offers if predicate(o["resources"])), None)
        await s.decline([o for o in offers if o is not found], refuse=0.0)
        if found is not None:
            await s.decline([found], refuse=0.0)
            return list(found["resources"])


async def total(op: MasterOperator, agent_id: str) -> list[dict[str, Any]]:
    (agent,) = [a for a in (await op.get_agents()).agents if a.agent_info.id.value == agent_id]
    return [to_dict(r) for r in agent.total_resources]


async def total_until(
    op: MasterOperator, agent_id: str, predicate: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The agent's total resources once they satisfy ``predicate`` (asserted within 60 s).

    Real Mesos updates an agent's total resources when the agent has applied an operation, which
    on a loaded machine can come after the next offer has already shown the change.
    """
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        resources = await total(op, agent_id)
        if predicate(resources) or asyncio.get_running_loop().time() > deadline:
            return resources
        await asyncio.sleep(0.2)


def amount(resources: list[dict[str, Any]], name: str, predicate: Callable[[dict[str, Any]], bool]) -> float:
    return float(sum(r["scalar"]["value"] for r in resources if r["name"] == name and predicate(r)))


async def test_reserve_create_resize_destroy_unreserve(op: MasterOperator, scheduler: RawScheduler) -> None:
    s = scheduler
    first = (await s.offers(within=60))[0]  # held: the reservation rescinds it
    agent_id = first["agent_id"]["value"]
    pid = f"op-{uuid.uuid4().hex[:8]}"
    plain = [scalar("cpus", 0.25), scalar("mem", 32.0), scalar("disk", 16.0)]
    await op.reserve_resources(agent_id, plain)
    try:
        resources = await offered(s, lambda rs: amount(rs, "disk", reserved_to_role) == 16.0)
        assert amount(resources, "cpus", reserved_to_role) == 0.25
        assert amount(resources, "mem", reserved_to_role) == 32.0
        reserved = lambda rs: amount(rs, "cpus", reserved_to_role) == 0.25  # noqa: E731
        assert reserved(await total_until(op, agent_id, reserved))

        await op.create_volumes(agent_id, [volume(pid, 16.0)])
        resources = await offered(s, lambda rs: any(persistence_id(r) == pid for r in rs))
        (vol,) = [r for r in resources if persistence_id(r) == pid]
        assert vol["scalar"]["value"] == 16.0 and reserved_to_role(vol)
        has_volume = lambda rs: any(persistence_id(r) == pid for r in rs)  # noqa: E731
        assert has_volume(await total_until(op, agent_id, has_volume))

        await op.shrink_volume(agent_id, volume(pid, 16.0), 4.0)
        resources = await offered(s, lambda rs: any(persistence_id(r) == pid for r in rs))
        assert [r["scalar"]["value"] for r in resources if persistence_id(r) == pid] == [12.0]
        assert amount(resources, "disk", lambda r: reserved_to_role(r) and "disk" not in r) == 4.0
        await op.grow_volume(agent_id, volume(pid, 12.0), scalar("disk", 4.0))
        resources = await offered(s, lambda rs: any(persistence_id(r) == pid for r in rs))
        assert [r["scalar"]["value"] for r in resources if persistence_id(r) == pid] == [16.0]

        # a second volume with the same persistence id is refused
        with pytest.raises(BadRequest, match=f"Invalid CREATE operation on agent {agent_id} at .*"):
            await op.create_volumes(agent_id, [volume(pid, 1.0)])
        # reserved but in a volume: unreserve first needs a DESTROY
        with pytest.raises(
            BadRequest, match="Invalid UNRESERVE operation: A dynamically reserved persistent"
        ):
            await op.unreserve_resources(agent_id, [volume(pid, 16.0)])

        await op.destroy_volumes(agent_id, [volume(pid, 16.0)])
        resources = await offered(
            s,
            lambda rs: (
                amount(rs, "disk", reserved_to_role) == 16.0 and not any(persistence_id(r) for r in rs)
            ),
        )
        # (this test's volume only: the shared real agent may hold other tests' volumes)
        no_volume = lambda rs: not any(persistence_id(r) == pid for r in rs)  # noqa: E731
        assert no_volume(await total_until(op, agent_id, no_volume))
        with pytest.raises(BadRequest, match="Invalid DESTROY operation: Persistent volumes not found"):
            await op.destroy_volumes(agent_id, [volume(pid, 16.0)])
    finally:
        await op.unreserve_resources(agent_id, plain)
    unreserved = lambda rs: not any(reserved_to_role(r) for r in rs)  # noqa: E731
    resources = await offered(s, unreserved)
    assert unreserved(await total_until(op, agent_id, unreserved))


async def test_operation_errors(op: MasterOperator, scheduler: RawScheduler) -> None:
    first = (await scheduler.offers(within=60))[0]
    agent_id = first["agent_id"]["value"]
    # more than the agent has: 409 with the allocator's text
    with pytest.raises(Conflict, match=r"does not contain cpus:1000\b"):
        await op.reserve_resources(agent_id, [scalar("cpus", 1000.0)])
    # nothing reserved to unreserve
    with pytest.raises(Conflict, match="does not contain"):
        await op.unreserve_resources(agent_id, [scalar("cpus", 0.5)])
    with pytest.raises(
        BadRequest,
        match=f"Invalid RESERVE operation on agent {agent_id} at .*: Resource cpus:1 is not dynamically",
    ):
        await op.reserve_resources(agent_id, [scalar("cpus", 1.0, reserved=False)])
    with pytest.raises(
        BadRequest, match="Invalid UNRESERVE operation: Resource cpus:1 is not dynamically reserved"
    ):
        await op.unreserve_resources(agent_id, [scalar("cpus", 1.0, reserved=False)])
    with pytest.raises(BadRequest, match="Invalid DESTROY operation: Persistent volumes not found"):
        await op.destroy_volumes(agent_id, [volume("no-such-volume", 1.0)])
    with pytest.raises(BadRequest, match="No agent found with specified ID"):
        await op.create_volumes("no-such-agent", [volume("v", 1.0)])
    # nothing was applied
    assert not any(reserved_to_role(r) for r in await total(op, agent_id))


def labelled(resource: dict[str, Any]) -> bool:
    stack = resource.get("reservations", [])
    return reserved_to_role(resource) and bool(stack[-1].get("labels"))


async def test_reserve_with_a_source(op: MasterOperator, scheduler: RawScheduler) -> None:
    first = (await scheduler.offers(within=60))[0]
    agent_id = first["agent_id"]["value"]
    plain = [scalar("cpus", 0.25)]
    tagged = [
        {
            **scalar("cpus", 0.25),
            "reservations": [
                {"type": "DYNAMIC", "role": ROLE, "labels": {"labels": [{"key": "k", "value": "v"}]}}
            ],
        }
    ]
    # quantities differ: 400
    with pytest.raises(
        BadRequest, match="Source and target resources should refer to identical resource quantities"
    ):
        await op.reserve_resources(agent_id, [scalar("cpus", 0.5)], source=plain)
    # the source is not reserved (yet): 409
    with pytest.raises(Conflict, match="does not contain"):
        await op.reserve_resources(agent_id, tagged, source=plain)
    await op.reserve_resources(agent_id, plain)
    try:
        await op.reserve_resources(agent_id, tagged, source=plain)  # re-reserved with a label
        try:
            relabelled = lambda rs: amount(rs, "cpus", labelled) == 0.25  # noqa: E731
            assert relabelled(await total_until(op, agent_id, relabelled))
        finally:
            await op.reserve_resources(agent_id, plain, source=tagged)
        back = lambda rs: amount(rs, "cpus", lambda r: reserved_to_role(r) and not labelled(r)) == 0.25  # noqa: E731
        assert back(await total_until(op, agent_id, back))
    finally:
        await op.unreserve_resources(agent_id, plain)
