"""mesos-framework: write Apache Mesos frameworks in Python.

The public names are re-exported here; the layers live in subpackages:

- :mod:`mesos_framework.protocol`: the Mesos v1 messages (``mesos``), their JSON and
  protobuf encodings, RecordIO framing and the ``Builder``.
- :mod:`mesos_framework.transport`: HTTP to masters and agents, leader detection.
- :mod:`mesos_framework.tasks`: task specs, resources, offer matching, task states.
- :mod:`mesos_framework.scheduler`: the :class:`Scheduler`.
- :mod:`mesos_framework.executor`: the :class:`Executor` and :class:`CommandExecutor`.
- :mod:`mesos_framework.health`: the :class:`TaskHealthHelper`.
- :mod:`mesos_framework.persistence`: state stores (memory, ZooKeeper).
- :mod:`mesos_framework.local`: a local Mesos-compatible cluster (:class:`LocalCluster`).
- :mod:`mesos_framework.errors`: the exception tree.

Importing the package has no side effects: no logging handlers, threads,
signal handlers or network.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from mesos_framework import errors
from mesos_framework.errors import MesosError
from mesos_framework.executor import CommandExecutor, Executor, ExecutorEnvironment
from mesos_framework.health import TaskHealthHelper
from mesos_framework.local import LocalCluster
from mesos_framework.protocol import Builder, ContentType, get_mesos, mesos
from mesos_framework.scheduler import Scheduler
from mesos_framework.tasks import TaskSpec, TaskState

try:
    __version__ = version("mesos-framework")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "Builder",
    "CommandExecutor",
    "ContentType",
    "Executor",
    "ExecutorEnvironment",
    "LocalCluster",
    "MesosError",
    "Scheduler",
    "TaskHealthHelper",
    "TaskSpec",
    "TaskState",
    "__version__",
    "errors",
    "get_mesos",
    "mesos",
]
