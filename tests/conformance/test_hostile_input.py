"""Hostile values the local cluster once answered with a 500 (issue 15), and how Mesos answers."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conformance.rawclient import RawScheduler, framework_info

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.mark.parametrize("cpus", [1e308, 1e16])
async def test_accept_with_a_scalar_too_large_for_fixed_point(
    master_url: str, http: aiohttp.ClientSession, cpus: float
) -> None:
    """Mesos keeps scalars in thousandths in an int64: the call is accepted and the task is invalid."""
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("huge-scalar"))
        offer = (await s.offers())[0]
        resources = [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}},
        ]
        task_id = await s.launch(offer, {"value": "true"}, extra={"resources": resources})
        status = await s.update(task_id)
        assert status["state"] == "TASK_ERROR", status
        assert status["reason"] == "REASON_TASK_INVALID"
        assert status["source"] == "SOURCE_MASTER"
        # and the master still offers the agent's resources
        assert await s.offers()
    finally:
        await s.teardown()


async def test_operator_call_of_a_type_not_in_the_enum(master_url: str, http: aiohttp.ClientSession) -> None:
    """An unknown enum name is dropped by the JSON parser, so the call has no type: 400."""
    async with http.post(master_url + "/api/v1", json={"type": "NOT_A_CALL"}, headers=JSON_HEADERS) as r:
        assert r.status == 400
        assert await r.text() == "Failed to validate master::Call: Expecting 'type' to be present"


async def test_operator_call_of_type_unknown_is_501(master_url: str, http: aiohttp.ClientSession) -> None:
    async with http.post(master_url + "/api/v1", json={"type": "UNKNOWN"}, headers=JSON_HEADERS) as r:
        assert r.status == 501


async def test_scheduler_call_of_a_type_not_in_the_enum(master_url: str, http: aiohttp.ClientSession) -> None:
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("unknown-call"))
        status, text = await s.raw_call({"type": "NOT_A_CALL", "framework_id": {"value": s.framework_id}})
        assert (status, text) == (400, "Failed to validate scheduler::Call: Expecting 'type' to be present")
    finally:
        await s.teardown()


async def test_scheduler_call_of_type_unknown(
    master_url: str, http: aiohttp.ClientSession, flavour: str
) -> None:
    """501, and the master goes on.

    Real Mesos 1.11 aborts instead (a ``LOG(FATAL)`` in ``FrameworkMetrics::incrementCall`` when a
    subscribed framework sends a call of type ``UNKNOWN``), so this one runs against the local
    cluster only: it must not copy a crash.
    """
    if flavour == "real":
        pytest.skip("Mesos 1.11's master aborts on a scheduler call of type UNKNOWN")
    s = RawScheduler(master_url, http)
    try:
        await s.subscribe(framework_info("unknown-call"))
        status, _ = await s.raw_call({"type": "UNKNOWN", "framework_id": {"value": s.framework_id}})
        assert status == 501
        status, _ = await s.raw_call({"type": "REVIVE", "framework_id": {"value": s.framework_id}})
        assert status == 202
    finally:
        await s.teardown()


@pytest.mark.parametrize("path", ["%00", "/tmp/%00x"])
async def test_files_read_of_a_path_with_nul(master_url: str, http: aiohttp.ClientSession, path: str) -> None:
    async with http.get(f"{master_url}/files/read?path={path}&offset=0") as r:
        assert r.status == 404
