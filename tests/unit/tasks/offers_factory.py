"""Build Mesos offers for matching tests."""

from __future__ import annotations

from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import Resources


def make_offer(
    offer_id: str = "o1",
    resources: str = "cpus:4;mem:4096;disk:10240;ports:[31000-31999]",
    *,
    agent: str = "a1",
    role: str | None = None,
    ip: str = "10.0.0.7",
    hostname: str = "agent1",
) -> mesos_pb2.Offer:
    offer = mesos_pb2.Offer()
    offer.id.value = offer_id
    offer.framework_id.value = "fw"
    offer.agent_id.value = agent
    offer.hostname = hostname
    offer.url.scheme = "http"
    offer.url.address.ip = ip
    offer.url.address.port = 5051
    offer.resources.extend(Resources.parse(resources, allocation_role=role).to_protos())
    return offer


def env(info: mesos_pb2.TaskInfo) -> dict[str, str]:
    cmd = info.command if info.HasField("command") else info.executor.command
    return {v.name: v.value for v in cmd.environment.variables}
