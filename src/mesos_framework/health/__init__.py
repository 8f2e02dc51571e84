"""Task health checking for schedulers.

:class:`TaskHealthHelper` polls an HTTP endpoint of every running task,
tracks consecutive failures against a grace count, writes the result into the
task's runtime properties and emits an event on the scheduler when a task
turns (or stays) unhealthy, like the seed's ``TaskHealthHelper``.
"""

from mesos_framework.health._helper import (
    FAIL_COUNT_PROPERTY,
    HEALTHY_PROPERTY,
    AdditionalProperty,
    BodyCheck,
    HealthCheckedTask,
    HealthCheckTarget,
    TaskHealth,
    TaskHealthHelper,
)

__all__ = [
    "FAIL_COUNT_PROPERTY",
    "HEALTHY_PROPERTY",
    "AdditionalProperty",
    "BodyCheck",
    "HealthCheckTarget",
    "HealthCheckedTask",
    "TaskHealth",
    "TaskHealthHelper",
]
