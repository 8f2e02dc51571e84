"""A local Mesos-compatible cluster in pure Python.

A master and agents that run real processes, in one asyncio event loop on
loopback ports, speaking Mesos 1.11's v1 scheduler, executor and operator
HTTP APIs:

    from mesos_framework.local import LocalCluster

    async with LocalCluster(agents=2) as cluster:
        ...  # point a scheduler at cluster.url

This package uses only `mesos_framework.errors` and
`mesos_framework.protocol` from the library, so the library's client
side is always tested against an independent implementation (and against
real Mesos by the conformance suite).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mesos_framework.local.cluster import LocalCluster
    from mesos_framework.local.config import DEFAULT_RESOURCES, AgentSpec, ClusterConfig

__all__ = ["DEFAULT_RESOURCES", "AgentSpec", "ClusterConfig", "LocalCluster"]

_LAZY = {
    "LocalCluster": "mesos_framework.local.cluster",
    "ClusterConfig": "mesos_framework.local.config",
    "AgentSpec": "mesos_framework.local.config",
    "DEFAULT_RESOURCES": "mesos_framework.local.config",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that the command executor (a submodule run by agents) starts fast.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(module), name)
