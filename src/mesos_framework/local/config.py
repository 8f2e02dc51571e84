"""Settings of a local cluster (timeouts, intervals, names)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RESOURCES", "VERSION", "ClusterConfig"]

VERSION = "1.11.0"
"""The Mesos version the local cluster reports (and follows)."""

DEFAULT_RESOURCES = "cpus:4;mem:4096;disk:10240;ports:[31000-32000]"


@dataclass
class ClusterConfig:
    """Tunables of a local cluster; the defaults are Mesos's own.

    Tests shorten ``status_update_retry`` and ``allocation_interval`` to run
    faster; everything else keeps the upstream values unless asked.
    """

    hostname: str = "localhost"
    """Hostname advertised in MasterInfo, AgentInfo and offers."""
    heartbeat_interval: float = 15.0
    """Seconds between HEARTBEAT events on scheduler streams."""
    allocation_interval: float = 1.0
    """Seconds between allocation rounds (new offers for recovered resources)."""
    offer_timeout: float | None = None
    """Rescind offers outstanding this long (None: never, as Mesos's default)."""
    status_update_retry: float = 10.0
    """First retry interval of unacknowledged status updates (doubles, capped at 10 min)."""
    executor_registration_timeout: float = 60.0
    """Seconds an executor has to SUBSCRIBE before its container is destroyed."""
    executor_shutdown_grace_period: float = 5.0
    """Default grace period between SHUTDOWN and SIGKILL of an executor."""
    executor_reregistration_timeout: float = 2.0
    """Seconds a restarted agent waits for executors to re-subscribe before destroying them
    (``--executor_reregistration_timeout``; executors get it as ``MESOS_SUBSCRIPTION_BACKOFF_MAX``)."""
    max_completed_frameworks: int = 50
    """Torn-down frameworks remembered (their ids cannot subscribe again)."""
    max_completed_tasks: int = 1000
    """Finished tasks remembered per framework for the state endpoints."""
    docker_socket: str = "/var/run/docker.sock"
    """Where DOCKER containers would be started (absent: such tasks fail)."""
