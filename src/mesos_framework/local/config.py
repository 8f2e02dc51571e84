"""Settings of a local cluster (timeouts, intervals, names)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RESOURCES", "VERSION", "AgentSpec", "ClusterConfig"]

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
    distinct_ports: bool = True
    """Give agent N the cluster's ``ports`` ranges shifted down by ``(N - 1)`` times their span
    (agent 1: 31000-32000, agent 2: 29999-30999, ...), so that tasks on different agents never
    bind the same loopback port. False: every agent offers the same ports, as ``mesos-local``."""
    domain: str | None = None
    """The master's fault domain, ``region/zone`` (needed when agents have one, as on Mesos)."""
    fetcher_cache_size: int = 2 * 1024**3
    """Bytes each agent's fetcher cache may hold (``--fetcher_cache_size``, 2 GB): least recently
    used files that no fetch is using are evicted to make room; a file that does not fit is
    fetched without the cache."""
    fork_executors: bool = True
    """Start the cluster's own command / default executors by forking a warm worker process
    (`_forkserver`) instead of a fresh interpreter each: a fraction of the CPU and memory per
    task. False: every executor is a new ``python`` process."""


@dataclass
class AgentSpec:
    """How one agent differs from the cluster's defaults (``None``: the default).

    ``resources`` is taken as written (no port shifting); ``hostname`` is the
    name the agent advertises (AgentInfo, offers, state), while it still
    listens on 127.0.0.1; ``domain`` is its fault domain, ``region/zone``.
    """

    resources: str | None = None
    attributes: dict[str, str] | None = None
    hostname: str | None = None
    domain: str | None = None
