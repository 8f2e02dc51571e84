"""Quota through the master's operator API (UPDATE_QUOTA, the deprecated SET_QUOTA and
REMOVE_QUOTA, GET_QUOTA), on the local cluster and on real Mesos 1.11: the same answers, the
same validation texts, and a role's offers kept within its limits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from mesos_framework.errors import BadRequest
from mesos_framework.local._codec import to_dict
from mesos_framework.operator import MasterOperator
from mesos_framework.protocol import ContentType
from tests.conformance.rawclient import RawScheduler, framework_info


@pytest.fixture(params=[ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
def encoding(request: pytest.FixtureRequest) -> ContentType:
    return ContentType(request.param)


@pytest_asyncio.fixture
async def op(master_url: str, encoding: ContentType) -> AsyncIterator[MasterOperator]:
    async with MasterOperator(master_url, content_type=encoding) as client:
        yield client


def role() -> str:
    return f"quota-{uuid.uuid4().hex[:8]}"


async def configs(op: MasterOperator, name: str) -> list[dict[str, Any]]:
    status = (await op.get_quota()).status
    return [to_dict(c) for c in status.configs if c.role == name]


async def test_update_set_remove_and_get(op: MasterOperator, flavour: str) -> None:
    name = role()
    await op.update_quota(
        [{"role": name, "guarantees": {"cpus": {"value": 0.1}}, "limits": {"cpus": {"value": 0.5}}}]
    )
    try:
        assert await configs(op, name) == [
            {"role": name, "guarantees": {"cpus": {"value": 0.1}}, "limits": {"cpus": {"value": 0.5}}}
        ]
        status = (await op.get_quota()).status
        (info,) = [to_dict(i) for i in status.infos if i.role == name]
        assert info == {
            "role": name,
            "guarantee": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}],
        }
        with pytest.raises(BadRequest, match=f"Cannot set quota for role '{name}' which already has quota"):
            await op.set_quota(
                {"role": name, "guarantee": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}]}
            )
    finally:
        await op.remove_quota(name)
    assert await configs(op, name) == []
    if flavour == "local":  # (real Mesos 1.11 aborts on REMOVE_QUOTA of a role without quota)
        with pytest.raises(BadRequest, match=f"Role '{name}' has no quota set"):
            await op.remove_quota(name)
    # SET_QUOTA's guarantee is the limit as well
    await op.set_quota(
        {"role": name, "guarantee": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]}
    )
    try:
        assert await configs(op, name) == [
            {"role": name, "guarantees": {"mem": {"value": 64.0}}, "limits": {"mem": {"value": 64.0}}}
        ]
        # Mesos keeps no principal with a quota: the request's authenticated principal goes to the
        # authorizer only, and GET_QUOTA's QuotaInfo has the role and guarantee alone.
        (info,) = [to_dict(i) for i in (await op.get_quota()).status.infos if i.role == name]
        assert info == {
            "role": name,
            "guarantee": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 64.0}}],
        }
    finally:
        await op.remove_quota(name)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"guarantees": {"cpus": {"value": 2}}, "limits": {"cpus": {"value": 1}}},
            "Invalid QuotaConfig: 'QuotaConfig.guarantees' { cpus: 2 } is not contained within the "
            "'QuotaConfig.limits' { cpus: 1 }",
        ),
        (
            {"limits": {"cpus": {"value": -1}}},
            "Invalid QuotaConfig: Invalid limit configuration {'cpus': -1}: Negative values not supported",
        ),
        (
            {"guarantees": {"mem": {"value": 2e12}}},
            "Invalid QuotaConfig: Invalid 'QuotaConfig.guarantees': {'mem': 2000000000000} is invalid: "
            "values greater than 1 exabyte (1099511627776) are not supported",
        ),
    ],
    ids=["guarantee-above-limit", "negative", "too-large"],
)
async def test_invalid_update(master_url: str, config: dict[str, Any], message: str) -> None:
    async with MasterOperator(master_url) as op:
        with pytest.raises(BadRequest) as caught:
            await op.update_quota([{"role": role(), **config}])
        assert caught.value.body == message


async def test_nested_role_and_overcommit(master_url: str) -> None:
    async with MasterOperator(master_url, content_type=ContentType.JSON) as op:
        with pytest.raises(BadRequest) as caught:
            await op.update_quota([{"role": "a/b", "limits": {"cpus": {"value": 1}}}])
        assert caught.value.body == "Updating quota on nested role 'a/b' is not supported yet"
        name = role()
        with pytest.raises(BadRequest) as caught:
            await op.update_quota([{"role": name, "guarantees": {"cpus": {"value": 100000}}}])
        text = caught.value.body
        assert text.startswith(
            "Invalid QuotaConfig: total quota guarantees 'cpus:100000' exceed cluster capacity '"
        )
        assert text.endswith("' (use 'force' flag to bypass this check)")
        await op.update_quota([{"role": name, "guarantees": {"cpus": {"value": 100000}}}], force=True)
        await op.update_quota([{"role": name}])  # back to the default quota
        assert all(not c.get("guarantees") and not c.get("limits") for c in await configs(op, name))


async def test_offers_stay_within_the_limit(master_url: str, http: aiohttp.ClientSession) -> None:
    name = role()
    async with MasterOperator(master_url) as op:
        await op.update_quota([{"role": name, "limits": {"cpus": {"value": 0.5}, "mem": {"value": 100}}}])
        s = RawScheduler(master_url, http)
        try:
            await s.subscribe(framework_info("quota-limits", "MULTI_ROLE", roles=[name]))
            offers = await s.offers(within=60)
            cpus = sum(r["scalar"]["value"] for o in offers for r in o["resources"] if r["name"] == "cpus")
            mem = sum(r["scalar"]["value"] for o in offers for r in o["resources"] if r["name"] == "mem")
            assert 0 < cpus <= 0.5
            assert 0 < mem <= 100
        finally:
            await s.teardown()
            await op.remove_quota(name)
