"""The pure task domain: resources, task specs, offer matching, task states.

Nothing here does I/O; the scheduler drives it.
"""

from mesos_framework.tasks import ranges
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
from mesos_framework.tasks.spec import PortMapping, TaskResources, TaskSpec, parse_task_id, serial_env_name
from mesos_framework.tasks.state import DEFAULT_RESTART_STATES, RestartPolicy, TaskState

__all__ = [
    "DEFAULT_RESTART_STATES",
    "Launch",
    "MatchResult",
    "OfferPool",
    "PendingQueue",
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
