"""The pure task domain: resources, task specs, offer matching, task states.

Nothing here does I/O; the scheduler drives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from mesos_framework.tasks import ranges
    from mesos_framework.tasks.constraints import Constraint
    from mesos_framework.tasks.matching import (
        Launch,
        MatchResult,
        OfferPool,
        PendingQueue,
        build_task_info,
        match_offers,
    )
    from mesos_framework.tasks.pods import ContainerSpec, PersistentVolume, PodSpec
    from mesos_framework.tasks.records import TaskRecord, TaskTable
    from mesos_framework.tasks.resources import ResourceKey, Resources, TaskResources
    from mesos_framework.tasks.spec import PortMapping, TaskSpec, parse_task_id, serial_env_name
    from mesos_framework.tasks.state import DEFAULT_RESTART_STATES, RestartPolicy, TaskState

__all__ = [
    "DEFAULT_RESTART_STATES",
    "Constraint",
    "ContainerSpec",
    "Launch",
    "MatchResult",
    "OfferPool",
    "PendingQueue",
    "PersistentVolume",
    "PodSpec",
    "PortMapping",
    "ResourceKey",
    "Resources",
    "RestartPolicy",
    "TaskRecord",
    "TaskResources",
    "TaskSpec",
    "TaskState",
    "TaskTable",
    "build_task_info",
    "match_offers",
    "parse_task_id",
    "ranges",
    "serial_env_name",
]

if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above (and so catch a misspelt name).
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.tasks.ranges": ["ranges"],
            "mesos_framework.tasks.constraints": ["Constraint"],
            "mesos_framework.tasks.matching": [
                "Launch",
                "MatchResult",
                "OfferPool",
                "PendingQueue",
                "build_task_info",
                "match_offers",
            ],
            "mesos_framework.tasks.pods": ["ContainerSpec", "PersistentVolume", "PodSpec"],
            "mesos_framework.tasks.records": ["TaskRecord", "TaskTable"],
            "mesos_framework.tasks.resources": ["ResourceKey", "Resources", "TaskResources"],
            "mesos_framework.tasks.spec": ["PortMapping", "TaskSpec", "parse_task_id", "serial_env_name"],
            "mesos_framework.tasks.state": ["DEFAULT_RESTART_STATES", "RestartPolicy", "TaskState"],
        },
    )
