"""Task health checking for schedulers.

`TaskHealthHelper` polls an HTTP endpoint of every running task,
tracks consecutive failures against a grace count, writes the result into the
task's runtime properties and emits an event on the scheduler when a task
turns (or stays) unhealthy, like the seed's ``TaskHealthHelper``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
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

if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above (and so catch a misspelt name).
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.health._helper": [
                "FAIL_COUNT_PROPERTY",
                "HEALTHY_PROPERTY",
                "AdditionalProperty",
                "BodyCheck",
                "HealthCheckedTask",
                "HealthCheckTarget",
                "TaskHealth",
                "TaskHealthHelper",
            ],
        },
    )
