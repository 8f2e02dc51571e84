"""The scheduler: `Scheduler` (declarative tasks on the v1 scheduler API) and pure call builders."""

from mesos_framework.scheduler import calls
from mesos_framework.scheduler.core import (
    EVENTS,
    FrameworkFailedOver,
    ScalingNotAllowed,
    Scheduler,
    UnknownTask,
)
from mesos_framework.scheduler.options import SEED_NAMES, SchedulerOptions, parse_options

__all__ = [
    "EVENTS",
    "SEED_NAMES",
    "FrameworkFailedOver",
    "ScalingNotAllowed",
    "Scheduler",
    "SchedulerOptions",
    "UnknownTask",
    "calls",
    "parse_options",
]
