"""mesos-framework: write Apache Mesos frameworks in Python.

The public names are re-exported here; the layers live in subpackages:

- `mesos_framework.protocol`: the Mesos v1 messages (`mesos`), their JSON and
  protobuf encodings, RecordIO framing and the `Builder`.
- `mesos_framework.transport`: HTTP to masters and agents, leader detection.
- `mesos_framework.tasks`: task specs, resources, offer matching, task states.
- `mesos_framework.scheduler`: the [`Scheduler`][mesos_framework.Scheduler].
- `mesos_framework.executor`: the [`Executor`][mesos_framework.Executor] and
  [`CommandExecutor`][mesos_framework.CommandExecutor].
- `mesos_framework.health`: the [`TaskHealthHelper`][mesos_framework.TaskHealthHelper].
- `mesos_framework.scheduler`'s `Session`: a framework's events as an async iterator, with the calls.
- `mesos_framework.operator`: the operator API clients (`MasterOperator`, `AgentOperator`).
- `mesos_framework.persistence`: state stores (memory, SQLite, ZooKeeper).
- `mesos_framework.local`: a local Mesos-compatible cluster
  ([`LocalCluster`][mesos_framework.LocalCluster]).
- `mesos_framework.errors`: the exception tree.

Importing the package is cheap and has no side effects (no logging handlers
other than a `NullHandler` on the `mesos_framework` logger, no threads,
signal handlers or network): each subpackage is imported the first time one
of its names is used.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports
from mesos_framework._version import __version__

if TYPE_CHECKING:
    from mesos_framework import errors
    from mesos_framework.errors import MesosError
    from mesos_framework.executor import CommandExecutor, Executor, ExecutorEnvironment
    from mesos_framework.health import TaskHealthHelper
    from mesos_framework.local import LocalCluster
    from mesos_framework.operator import AgentOperator, MasterOperator
    from mesos_framework.protocol import Builder, ContentType, get_mesos, mesos
    from mesos_framework.scheduler import Scheduler, Session
    from mesos_framework.tasks import TaskSpec, TaskState

__all__ = [
    "AgentOperator",
    "Builder",
    "CommandExecutor",
    "ContentType",
    "Executor",
    "ExecutorEnvironment",
    "LocalCluster",
    "MasterOperator",
    "MesosError",
    "Scheduler",
    "Session",
    "TaskHealthHelper",
    "TaskSpec",
    "TaskState",
    "__version__",
    "errors",
    "get_mesos",
    "mesos",
]

if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above (and so catch a misspelt name).
    # Each name comes from the public subpackage that exports it (never a module inside it).
    # A subpackage's own name (``"tasks"`` in ``mesos_framework.tasks``) is the subpackage.
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.cli": ["cli"],
            "mesos_framework.errors": ["errors", "MesosError"],
            "mesos_framework.executor": ["executor", "CommandExecutor", "Executor", "ExecutorEnvironment"],
            "mesos_framework.health": ["health", "TaskHealthHelper"],
            "mesos_framework.local": ["local", "LocalCluster"],
            "mesos_framework.operator": ["operator", "AgentOperator", "MasterOperator"],
            "mesos_framework.persistence": ["persistence"],
            "mesos_framework.protocol": ["protocol", "Builder", "ContentType", "get_mesos", "mesos"],
            "mesos_framework.scheduler": ["scheduler", "Scheduler", "Session"],
            "mesos_framework.tasks": ["tasks", "TaskSpec", "TaskState"],
            "mesos_framework.testing": ["testing"],
            "mesos_framework.transport": ["transport"],
        },
    )

# A library logs through ``logging`` and leaves the output to the application;
# without a handler configured, Python would print warnings through its "last resort".
logging.getLogger(__name__).addHandler(logging.NullHandler())
