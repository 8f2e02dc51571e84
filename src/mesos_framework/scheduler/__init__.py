"""The scheduler.

- `Scheduler`: a declarative framework that keeps its task types running.
- `Session`: a framework's subscription as an async iterator of events, with the calls beside it.
- `calls`: pure builders of every scheduler call.
- `HighAvailability`: where hot-standby replicas elect their leader (the `ha` option).
"""

from mesos_framework.errors import (
    FrameworkFailedOver,
    NotLeader,
    RestartsExhausted,
    ScalingNotAllowed,
    UnknownTask,
)
from mesos_framework.scheduler import calls
from mesos_framework.scheduler._ha import HighAvailability
from mesos_framework.scheduler._listen import EventName
from mesos_framework.scheduler._scheduler import EVENTS, Scheduler
from mesos_framework.scheduler._session import Session
from mesos_framework.scheduler.options import SEED_NAMES, SchedulerOptions, parse_options

__all__ = [
    "EVENTS",
    "SEED_NAMES",
    "EventName",
    "FrameworkFailedOver",
    "HighAvailability",
    "NotLeader",
    "RestartsExhausted",
    "ScalingNotAllowed",
    "Scheduler",
    "SchedulerOptions",
    "Session",
    "UnknownTask",
    "calls",
    "parse_options",
]
