"""The scheduler.

- `Scheduler`: a declarative framework that keeps its task types running.
- `Session`: a framework's subscription as an async iterator of events, with the calls beside it.
- `calls`: pure builders of every scheduler call.
"""

from mesos_framework.errors import FrameworkFailedOver, RestartsExhausted, ScalingNotAllowed, UnknownTask
from mesos_framework.scheduler import calls
from mesos_framework.scheduler._listen import EventName
from mesos_framework.scheduler._scheduler import EVENTS, Scheduler
from mesos_framework.scheduler._session import Session
from mesos_framework.scheduler.options import SEED_NAMES, SchedulerOptions, parse_options

__all__ = [
    "EVENTS",
    "SEED_NAMES",
    "EventName",
    "FrameworkFailedOver",
    "RestartsExhausted",
    "ScalingNotAllowed",
    "Scheduler",
    "SchedulerOptions",
    "Session",
    "UnknownTask",
    "calls",
    "parse_options",
]
