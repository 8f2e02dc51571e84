"""The ``mesos-framework`` command line.

Commands:

- ``local``: start a local Mesos-compatible cluster and stay in the foreground.
- ``run FILE``: run a framework file against ``--master`` (default ``local``,
  a cluster started for the run and stopped after it).
- ``state``, ``agents``, ``frameworks``, ``tasks``: a master's state as tables.
- ``events``: print a master's operator event stream (one line per event, or
  JSON), or with ``--framework`` the events a scheduler receives.
- ``logs TASK``: a task's sandbox stdout/stderr (``--follow``).
- ``maintenance``: show and change the maintenance schedule.

Errors are one clear line on stderr (exit status 1) unless ``--debug`` is given.
"""

from __future__ import annotations

from mesos_framework.cli._main import cli, main

__all__ = ["cli", "main"]
