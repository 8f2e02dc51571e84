"""Shared persistent volumes (``Resource.shared``, the ``SHARED_RESOURCES`` capability).

Against the local cluster and real Mesos 1.11 (docs/shared-resources.md;
``Master::_accept``'s ``remainingSharedResources``, the allocator's
``Slave::updateAvailable`` and ``validation::operation::validate(Destroy)``):
a shared volume is offered again while tasks use it, tasks of one ACCEPT and
of later ones use it at once, and DESTROY is refused while it is in use.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Awaitable
from typing import Any

import pytest

from tests.conformance.conftest import Factory
from tests.conformance.rawclient import RawScheduler, small
from tests.conformance.test_operations import (
    PRINCIPAL,
    ROLE,
    accept,
    acknowledge,
    find,
    offer_with,
    operation_status,
    reserved,
    scalar,
)


@pytest.fixture
def scheduler(scheduler: Factory) -> Factory:
    """Frameworks in the reservation role, able to refine reservations."""

    def make(name: str, *caps: str) -> Awaitable[RawScheduler]:
        return scheduler(name, "MULTI_ROLE", "RESERVATION_REFINEMENT", *caps, roles=[ROLE])

    return make


def volume_of(disk: dict[str, Any], persistence_id: str, *, shared: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(disk)
    out["disk"] = {
        "persistence": {"id": persistence_id, "principal": PRINCIPAL},
        "volume": {"container_path": "data", "mode": "RW"},
    }
    if shared:
        out["shared"] = {}
    return out


def task(offer: dict[str, Any], command: str, volume: dict[str, Any]) -> dict[str, Any]:
    task_id = f"t-{uuid.uuid4().hex[:8]}"
    return {
        "name": task_id,
        "task_id": {"value": task_id},
        "agent_id": offer["agent_id"],
        "resources": [*small(offer, 0.1, 32.0), volume],
        "command": {"value": command},
    }


async def wait_state(s: RawScheduler, task_id: str, state: str) -> None:
    while True:
        status = await s.update(task_id, within=60)
        if "uuid" in status:
            await s.ack(status)
        if status["state"] == state:
            return
        assert status["state"] in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"), status


async def test_shared_volume_is_used_at_once_and_kept_while_in_use(scheduler: Factory) -> None:
    """Two tasks of one ACCEPT on one copy of a shared volume, a third while they run (the
    volume is offered again, ``shared`` set), DESTROY refused with "Persistent volumes in use"
    until they end, then done; an executor may not use a shared volume."""
    s = await scheduler("shared", "SHARED_RESOURCES")
    offer = (await s.offers(within=60))[0]
    disk = reserved(scalar(find(offer, "disk"), 8.0))
    volume = volume_of(disk, "shared-1")
    await accept(
        s,
        offer,
        {"type": "RESERVE", "reserve": {"resources": [disk]}},
        {"type": "CREATE", "id": {"value": "create-shared"}, "create": {"volumes": [volume]}},
    )
    status = await operation_status(s, "create-shared")
    assert status["state"] == "OPERATION_FINISHED", status
    await acknowledge(s, status)

    def is_volume(r: dict[str, Any]) -> bool:
        return r.get("disk", {}).get("persistence", {}).get("id") == "shared-1"

    offer = await offer_with(s, is_volume)
    offered = next(r for r in offer["resources"] if is_volume(r))
    assert offered["shared"] == {}
    first, second = (task(offer, f"echo {n} > data/{n} && exec sleep 600", offered) for n in ("a", "b"))
    await accept(s, offer, {"type": "LAUNCH", "launch": {"task_infos": [first, second]}})
    for t in (first, second):
        await wait_state(s, t["task_id"]["value"], "TASK_RUNNING")

    offer = await offer_with(s, is_volume)  # offered again while both tasks use it
    third = task(offer, "until test -f data/a && test -f data/b; do sleep 0.2; done", offered)
    await accept(s, offer, {"type": "LAUNCH", "launch": {"task_infos": [third]}})
    await wait_state(s, third["task_id"]["value"], "TASK_FINISHED")

    offer = await offer_with(s, is_volume)
    destroy = {"type": "DESTROY", "id": {"value": "destroy-in-use"}, "destroy": {"volumes": [offered]}}
    custom = task(offer, "true", offered)
    custom["resources"] = custom["resources"][:2]
    del custom["command"]
    custom["executor"] = {
        "executor_id": {"value": "shares"},
        "command": {"value": "true"},
        "resources": [offered],
    }
    await accept(s, offer, {"type": "LAUNCH", "launch": {"task_infos": [custom]}}, destroy)
    status = await s.update(custom["task_id"]["value"], within=60)
    assert status["state"] == "TASK_ERROR", status
    shown = "disk(allocated: ops)(reservations: [(DYNAMIC,ops,conformance)])[shared-1:data]<SHARED>:8<1>"
    assert status["message"] == f"Executor resources {shown} should not contain any shared resources"
    status = await operation_status(s, "destroy-in-use")
    assert status["state"] == "OPERATION_ERROR", status
    agent = offer["agent_id"]["value"]
    pattern = re.escape(f"Persistent volumes in use; on agent {agent} at slave(1)@127.0.0.1:") + r"\d+ \(.*\)"
    assert re.fullmatch(pattern, status["message"]), status["message"]

    for t in (first, second):
        await s.call("KILL", kill={"task_id": t["task_id"], "agent_id": t["agent_id"]})
        await wait_state(s, t["task_id"]["value"], "TASK_KILLED")
    offer = await offer_with(s, is_volume)
    destroy["id"] = {"value": "destroy-unused"}
    await accept(s, offer, destroy, {"type": "UNRESERVE", "unreserve": {"resources": [disk]}})
    status = await operation_status(s, "destroy-unused")
    assert status["state"] == "OPERATION_FINISHED", status
    await acknowledge(s, status)


async def test_shared_volumes_need_the_capability(scheduler: Factory) -> None:
    """A framework without ``SHARED_RESOURCES`` cannot CREATE a shared volume
    (``OPERATION_ERROR`` with Mesos's message)."""
    s = await scheduler("unshared")
    offer = (await s.offers(within=60))[0]
    disk = reserved(scalar(find(offer, "disk"), 4.0))
    await accept(
        s,
        offer,
        {"type": "RESERVE", "reserve": {"resources": [disk]}},
        {"type": "CREATE", "id": {"value": "no-cap"}, "create": {"volumes": [volume_of(disk, "nope")]}},
        {"type": "UNRESERVE", "unreserve": {"resources": [disk]}},
    )
    status = await operation_status(s, "no-cap")
    assert status["state"] == "OPERATION_ERROR", status
    expected = (
        "Create volume operation for 'disk(allocated: ops)(reservations: [(DYNAMIC,ops,conformance)])"
        f"[nope:data]<SHARED>:4' has been attempted by framework '{s.framework_id}' with no "
        "SHARED_RESOURCES capability; on agent "
    )
    assert status["message"].startswith(expected), status["message"]


async def test_only_persistent_volumes_can_be_shared(scheduler: Factory) -> None:
    """``Master::accept`` validates the resources of each operation first
    (``Resources::validate``): a LAUNCH with a shared ``cpus`` or a shared plain disk is
    ``TASK_ERROR`` with Mesos's message, a RESERVE of shared disk ``OPERATION_ERROR``."""
    s = await scheduler("shared-cpus", "SHARED_RESOURCES")
    offer = (await s.offers(within=60))[0]
    cpus, mem = small(offer, 0.1, 32.0)
    disk = scalar(find(offer, "disk"), 1.0)
    shared_cpus = {**cpus, "shared": {}}
    shared_disk = {**disk, "shared": {}}
    bad_cpus = task(offer, "true", shared_disk)
    bad_cpus["resources"] = [shared_cpus, mem]
    bad_disk = task(offer, "true", shared_disk)
    await accept(
        s,
        offer,
        {"type": "LAUNCH", "launch": {"task_infos": [bad_cpus]}},
        {"type": "LAUNCH", "launch": {"task_infos": [bad_disk]}},
        {
            "type": "RESERVE",
            "id": {"value": "shared-reserve"},
            "reserve": {"resources": [reserved(shared_disk)]},
        },
    )
    for t, expected in (
        (bad_cpus, "Resource 'cpus(allocated: ops)<SHARED>:0.1' is invalid: Resource cpus cannot be shared"),
        (
            bad_disk,
            "Resource 'disk(allocated: ops)<SHARED>:1' is invalid: Only persistent volumes can be shared",
        ),
    ):
        status = await s.update(t["task_id"]["value"], within=60)
        assert status["state"] == "TASK_ERROR", status
        assert status["reason"] == "REASON_TASK_INVALID", status
        assert status["message"] == expected
    status = await operation_status(s, "shared-reserve")
    assert status["state"] == "OPERATION_ERROR", status
    assert status["message"] == (
        "Operation attempted with invalid resources: Resource 'disk(allocated: ops)(reservations: "
        "[(DYNAMIC,ops,conformance)])<SHARED>:1' is invalid: Only persistent volumes can be shared"
    )


async def test_shared_volumes_are_offered_only_to_frameworks_that_can_share(scheduler: Factory) -> None:
    """The allocator's ``stripIncapableResources``: a framework of the volume's role without
    ``SHARED_RESOURCES`` is offered the rest of the agent but not the shared volume."""
    maker = await scheduler("sharer", "SHARED_RESOURCES")
    offer = (await maker.offers(within=60))[0]
    disk = reserved(scalar(find(offer, "disk"), 2.0))
    volume = volume_of(disk, "shared-2")
    await accept(
        maker,
        offer,
        {"type": "RESERVE", "reserve": {"resources": [disk]}},
        {"type": "CREATE", "id": {"value": "create-2"}, "create": {"volumes": [volume]}},
    )
    status = await operation_status(maker, "create-2")
    assert status["state"] == "OPERATION_FINISHED", status
    await acknowledge(maker, status)
    await maker.teardown()

    def is_volume(r: dict[str, Any]) -> bool:
        return r.get("disk", {}).get("persistence", {}).get("id") == "shared-2"

    plain = await scheduler("plain")
    agent = offer["agent_id"]
    on_agent: dict[str, Any] | None = None
    while on_agent is None:
        offers = await plain.offers(within=60)
        on_agent = next((o for o in offers if o["agent_id"] == agent), None)
    assert any(r["name"] == "cpus" for r in on_agent["resources"])
    assert not any(is_volume(r) for r in on_agent["resources"])
    await plain.teardown()

    sharer = await scheduler("sharer-2", "SHARED_RESOURCES")
    offer = await offer_with(sharer, is_volume)
    offered = next(r for r in offer["resources"] if is_volume(r))
    await accept(
        sharer,
        offer,
        {"type": "DESTROY", "destroy": {"volumes": [offered]}},
        {"type": "UNRESERVE", "id": {"value": "unreserve-2"}, "unreserve": {"resources": [disk]}},
    )
    status = await operation_status(sharer, "unreserve-2")
    assert status["state"] == "OPERATION_FINISHED", status
    await acknowledge(sharer, status)
