"""Mesos executors on the v1 HTTP executor API.

- `ExecutorEnvironment`: the ``MESOS_*`` variables the agent sets,
  parsed and checked (`ExecutorEnvironmentError`
  names a missing or malformed one).
- `Executor`: subscribe, receive events (``on()`` listeners and an
  upper-case ``handlers`` map), send reliable status updates and messages,
  reconnect after an agent restart, shut down within the grace period.
- `CommandExecutor`: runs each task's ``CommandInfo`` as a subprocess;
  ``python -m mesos_framework.executor`` runs it as a Mesos command executor.
"""

from mesos_framework.errors import ExecutorEnvironmentError
from mesos_framework.executor._command import DEFAULT_KILL_GRACE_PERIOD, DEFAULT_PATH, CommandExecutor
from mesos_framework.executor._env import DEFAULT_SHUTDOWN_GRACE_PERIOD, ExecutorEnvironment
from mesos_framework.executor._executor import EVENT_NAMES, HANDLER_NAMES, Executor, Handler, Listener

__all__ = [
    "DEFAULT_KILL_GRACE_PERIOD",
    "DEFAULT_PATH",
    "DEFAULT_SHUTDOWN_GRACE_PERIOD",
    "EVENT_NAMES",
    "HANDLER_NAMES",
    "CommandExecutor",
    "Executor",
    "ExecutorEnvironment",
    "ExecutorEnvironmentError",
    "Handler",
    "Listener",
]
