"""Metrics and an admin API for a `Scheduler` (the `[metrics]` extra: `prometheus-client`).

- `SchedulerMetrics`: Prometheus metrics of a scheduler, in a registry of their own.
- `AdminServer`: `/health`, `/ready`, `/metrics`, `/tasks` and the write operations (scale a
  type, restart a task, rolling restart) over HTTP, on a loopback port by default.

Nothing here is imported by the scheduler: importing `mesos_framework.admin` is what loads
`prometheus_client` and aiohttp's web server.
"""

from mesos_framework.admin._metrics import PREFIX, SchedulerMetrics
from mesos_framework.admin._server import ENV_HOST, ENV_PORT, ENV_TOKEN, AdminServer

__all__ = ["ENV_HOST", "ENV_PORT", "ENV_TOKEN", "PREFIX", "AdminServer", "SchedulerMetrics"]
