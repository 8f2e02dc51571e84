"""AgentOperator calls neither cluster can answer with success (the local agent runs no
containers or resource providers; the test harness's Mesos 1.11 agent stops on PRUNE_IMAGES and
on REMOVE_CONTAINER): each against an agent scripted here with Mesos's documented answer
(``200 OK``, and for WAIT_NESTED_CONTAINER its response), in both encodings, checking the call
the client sent."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from mesos_framework.operator import AgentOperator
from mesos_framework.protocol import ContentType, decode, encode, mesos, to_dict
from tests.unit.transport.conftest import Serve

Call = mesos.agent.Call


@pytest.mark.parametrize("encoding", [ContentType.PROTOBUF, ContentType.JSON], ids=["protobuf", "json"])
async def test_agent_calls_against_mesos_answers(serve: Serve, encoding: ContentType) -> None:
    seen: list[dict[str, Any]] = []

    async def agent(request: web.Request) -> web.Response:
        assert request.path == "/slave(1)/api/v1"
        assert request.headers["Content-Type"] == encoding.value
        call = decode(Call, await request.read(), encoding)
        seen.append(to_dict(call))
        if call.type == Call.WAIT_NESTED_CONTAINER:
            response = mesos.agent.Response(type="WAIT_NESTED_CONTAINER")
            response.wait_nested_container.exit_status = 0
            return web.Response(body=encode(response, encoding), content_type=encoding.value)
        return web.Response(status=200)

    url = await serve(agent)
    nested = {"value": "child", "parent": {"value": "parent"}}
    async with AgentOperator(url, content_type=encoding) as op:
        await op.prune_images([{"type": "DOCKER", "docker": {"name": "busybox"}}])
        info = {"type": "org.apache.mesos.rp.local.storage", "name": "test"}
        await op.add_resource_provider_config(info)
        await op.update_resource_provider_config(info)
        await op.remove_resource_provider_config("org.apache.mesos.rp.local.storage", "test")
        await op.mark_resource_provider_gone("rp-1")
        await op.remove_container("standalone-1")
        await op.launch_nested_container(nested, command={"value": "sleep 1"})
        ended = await op.wait_nested_container(nested)
        await op.kill_nested_container(nested, signal=15)
        await op.remove_nested_container(nested)
    assert ended.exit_status == 0
    assert [c["type"] for c in seen] == [
        "PRUNE_IMAGES",
        "ADD_RESOURCE_PROVIDER_CONFIG",
        "UPDATE_RESOURCE_PROVIDER_CONFIG",
        "REMOVE_RESOURCE_PROVIDER_CONFIG",
        "MARK_RESOURCE_PROVIDER_GONE",
        "REMOVE_CONTAINER",
        "LAUNCH_NESTED_CONTAINER",
        "WAIT_NESTED_CONTAINER",
        "KILL_NESTED_CONTAINER",
        "REMOVE_NESTED_CONTAINER",
    ]
    (image,) = seen[0]["prune_images"]["excluded_images"]
    assert image["type"] == "DOCKER" and image["docker"] == {"name": "busybox"}
    assert seen[1]["add_resource_provider_config"] == {"info": info}
    assert seen[3]["remove_resource_provider_config"] == {"type": info["type"], "name": "test"}
    assert seen[4]["mark_resource_provider_gone"] == {"resource_provider_id": {"value": "rp-1"}}
    assert seen[5]["remove_container"] == {"container_id": {"value": "standalone-1"}}
    assert seen[6]["launch_nested_container"]["container_id"] == nested
    assert seen[6]["launch_nested_container"]["command"]["value"] == "sleep 1"
    assert seen[8]["kill_nested_container"] == {"container_id": nested, "signal": 15}
