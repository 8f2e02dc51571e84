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

from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from mesos_framework.local.cluster import LocalCluster
    from mesos_framework.local.config import DEFAULT_RESOURCES, AgentSpec, ClusterConfig

__all__ = ["DEFAULT_RESOURCES", "AgentSpec", "ClusterConfig", "LocalCluster"]

if not TYPE_CHECKING:
    # Lazy, so that the command executor (a submodule run by agents) starts fast. Hidden from
    # type checkers, which see the imports above (and so catch a misspelt name).
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.local.cluster": ["LocalCluster"],
            "mesos_framework.local.config": ["DEFAULT_RESOURCES", "AgentSpec", "ClusterConfig"],
        },
    )
