"""The pure task domain: resources, task specs, offer matching, task states.

Nothing here does I/O; the scheduler drives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesos_framework._lazy import exports as _exports

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
    from mesos_framework.tasks.records import TaskRecord, TaskTable
    from mesos_framework.tasks.resources import ResourceKey, Resources
    from mesos_framework.tasks.spec import (
        ContainerSpec,
        PersistentVolume,
        PodSpec,
        PortMapping,
        TaskResources,
        TaskSpec,
        parse_task_id,
        serial_env_name,
    )
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
    __getattr__, __dir__ = _exports(
        __name__,
        {
            "ranges": "mesos_framework.tasks.ranges",
            "Constraint": "mesos_framework.tasks.constraints",
            "Launch": "mesos_framework.tasks.matching",
            "MatchResult": "mesos_framework.tasks.matching",
            "OfferPool": "mesos_framework.tasks.matching",
            "PendingQueue": "mesos_framework.tasks.matching",
            "build_task_info": "mesos_framework.tasks.matching",
            "match_offers": "mesos_framework.tasks.matching",
            "TaskRecord": "mesos_framework.tasks.records",
            "TaskTable": "mesos_framework.tasks.records",
            "ResourceKey": "mesos_framework.tasks.resources",
            "Resources": "mesos_framework.tasks.resources",
            "ContainerSpec": "mesos_framework.tasks.spec",
            "PodSpec": "mesos_framework.tasks.spec",
            "PersistentVolume": "mesos_framework.tasks.spec",
            "PortMapping": "mesos_framework.tasks.spec",
            "TaskResources": "mesos_framework.tasks.spec",
            "TaskSpec": "mesos_framework.tasks.spec",
            "parse_task_id": "mesos_framework.tasks.spec",
            "serial_env_name": "mesos_framework.tasks.spec",
            "DEFAULT_RESTART_STATES": "mesos_framework.tasks.state",
            "RestartPolicy": "mesos_framework.tasks.state",
            "TaskState": "mesos_framework.tasks.state",
        },
    )
