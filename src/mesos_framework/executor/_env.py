"""The ``MESOS_*`` environment an agent gives an executor, parsed and checked.

The agent sets these variables when it starts an executor (see Mesos's
``Slave::executorEnvironment``). `ExecutorEnvironment.from_environ()`
reads them; every missing or malformed value raises
`ExecutorEnvironmentError` whose ``option`` is
the variable's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mesos_framework.errors import ExecutorEnvironmentError, MesosError
from mesos_framework.protocol import parse_duration

__all__ = ["DEFAULT_SHUTDOWN_GRACE_PERIOD", "ExecutorEnvironment"]

DEFAULT_SHUTDOWN_GRACE_PERIOD = 5.0
"""Seconds; the agent's default ``--executor_shutdown_grace_period`` (used when the variable is absent)."""

TOKEN_VARIABLE = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
#: Set by the local cluster's agents (never by Mesos): the process id of the cluster.
LOCAL_CLUSTER_PID_VARIABLE = "MESOS_FRAMEWORK_LOCAL_CLUSTER_PID"

# A libprocess UPID: "<id>@<ip>:<port>", the ip possibly a bracketed IPv6 address.
_UPID = re.compile(r"^(?P<id>[^@/\s]+)@(?P<address>\S+)$")
_PROCESS_ID = re.compile(r"^[A-Za-z0-9_.()\-]+$")


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutorEnvironment:
    """What an executor learns from its environment.

    ``agent_host``/``agent_port`` and ``api_path`` locate the agent's executor
    API, as Mesos's own executor library does: from ``MESOS_SLAVE_PID``
    (``slave(1)@127.0.0.1:5051`` gives ``/slave(1)/api/v1/executor``), else from
    ``MESOS_AGENT_ENDPOINT`` with the path ``/api/v1/executor``. Durations are
    in seconds. ``recovery_timeout`` and ``subscription_backoff_max`` are set
    only when ``checkpoint`` is true (the agent sets them only then).
    ``local_cluster_pid`` is the process of the local cluster whose agent started
    the executor (``MESOS_FRAMEWORK_LOCAL_CLUSTER_PID``; never set by Mesos): once it
    is gone no agent comes back, and the executor stops waiting for one.
    """

    framework_id: str
    executor_id: str
    directory: str
    sandbox: str
    agent_host: str
    agent_port: int
    api_path: str = "/api/v1/executor"
    agent_id: str | None = None
    checkpoint: bool = False
    recovery_timeout: float | None = None
    subscription_backoff_max: float | None = None
    shutdown_grace_period: float = DEFAULT_SHUTDOWN_GRACE_PERIOD
    authentication_token: str | None = None
    http_command_executor: bool = False
    local_cluster_pid: int | None = None

    @property
    def agent_url(self) -> str:
        """The agent's base URL, e.g. ``http://127.0.0.1:5051``."""
        host = f"[{self.agent_host}]" if ":" in self.agent_host else self.agent_host
        return f"http://{host}:{self.agent_port}"

    @property
    def api_url(self) -> str:
        """The full URL of the agent's executor API."""
        return self.agent_url + self.api_path

    def __repr__(self) -> str:
        # Never print the token.
        token = "<set>" if self.authentication_token else None
        return (
            f"ExecutorEnvironment(framework_id={self.framework_id!r}, executor_id={self.executor_id!r}, "
            f"api_url={self.api_url!r}, checkpoint={self.checkpoint}, authentication_token={token})"
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ExecutorEnvironment:
        """Parse ``environ`` (default: `os.environ`).

        Required: ``MESOS_FRAMEWORK_ID``, ``MESOS_EXECUTOR_ID``,
        ``MESOS_DIRECTORY``, and ``MESOS_SLAVE_PID`` or
        ``MESOS_AGENT_ENDPOINT``; with ``MESOS_CHECKPOINT=1`` also
        ``MESOS_RECOVERY_TIMEOUT`` and ``MESOS_SUBSCRIPTION_BACKOFF_MAX``.
        ``MESOS_SANDBOX`` defaults to ``MESOS_DIRECTORY`` and
        ``MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`` to 5 seconds.

        Raises `ExecutorEnvironmentError`
        naming the variable that is missing or malformed.
        """
        env = os.environ if environ is None else environ
        framework_id = _required(env, "MESOS_FRAMEWORK_ID")
        executor_id = _required(env, "MESOS_EXECUTOR_ID")
        directory = _required(env, "MESOS_DIRECTORY")
        sandbox = _optional(env, "MESOS_SANDBOX") or directory

        pid = _optional(env, "MESOS_SLAVE_PID")
        endpoint = _optional(env, "MESOS_AGENT_ENDPOINT")
        if pid is not None:
            process_id, host, port = _parse_upid(pid)
            api_path = f"/{process_id}/api/v1/executor"
        elif endpoint is not None:
            host, port = _parse_address(endpoint, "MESOS_AGENT_ENDPOINT")
            api_path = "/api/v1/executor"
        else:
            raise ExecutorEnvironmentError(
                "not set (neither is MESOS_AGENT_ENDPOINT): cannot find the agent; "
                "is this process running as a Mesos executor?",
                option="MESOS_SLAVE_PID",
            )
        if endpoint is not None:  # must be well formed even when the pid wins
            _parse_address(endpoint, "MESOS_AGENT_ENDPOINT")

        checkpoint = _flag(env, "MESOS_CHECKPOINT")
        recovery_timeout: float | None = None
        backoff_max: float | None = None
        if checkpoint:
            recovery_timeout = _duration(env, "MESOS_RECOVERY_TIMEOUT", required=True)
            backoff_max = _duration(env, "MESOS_SUBSCRIPTION_BACKOFF_MAX", required=True)
        else:
            recovery_timeout = _duration(env, "MESOS_RECOVERY_TIMEOUT", required=False)
            backoff_max = _duration(env, "MESOS_SUBSCRIPTION_BACKOFF_MAX", required=False)
        grace = _duration(env, "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", required=False)

        return cls(
            framework_id=framework_id,
            executor_id=executor_id,
            directory=directory,
            sandbox=sandbox,
            agent_host=host,
            agent_port=port,
            api_path=api_path,
            agent_id=_optional(env, "MESOS_SLAVE_ID"),
            checkpoint=checkpoint,
            recovery_timeout=recovery_timeout,
            subscription_backoff_max=backoff_max,
            shutdown_grace_period=DEFAULT_SHUTDOWN_GRACE_PERIOD if grace is None else grace,
            authentication_token=_optional(env, TOKEN_VARIABLE),
            http_command_executor=_flag(env, "MESOS_HTTP_COMMAND_EXECUTOR"),
            local_cluster_pid=_pid(env, LOCAL_CLUSTER_PID_VARIABLE),
        )

    def agent_gone_for_good(self) -> bool:
        """True once the local cluster that started this executor has died (never for Mesos's agents).

        Local agents live in the cluster's process and restart inside it; when the process
        itself is gone (SIGKILL, a crash) no agent can come back.
        """
        pid = self.local_cluster_pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # its id taken by another user's process: not the cluster
            return True
        try:  # killed, not yet reaped by its parent
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                state = f.read().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            return False
        return state in ("Z", "X")


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    if not value.strip():
        raise ExecutorEnvironmentError("is set but empty", option=name)
    return value.strip()


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ExecutorEnvironmentError(
            "not set; the agent sets it for every executor (is this process running as a Mesos executor?)",
            option=name,
        )
    return value


def _pid(env: Mapping[str, str], name: str) -> int | None:
    value = _optional(env, name)
    if value is None:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ExecutorEnvironmentError(f"must be a process id, got {value!r}", option=name)
    return int(value)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = _optional(env, name)
    if value is None:
        return False
    if value not in ("0", "1"):
        raise ExecutorEnvironmentError(f'must be "1" or "0", got {value!r}', option=name)
    return value == "1"


def _duration(env: Mapping[str, str], name: str, *, required: bool) -> float | None:
    value = _optional(env, name)
    if value is None:
        if required:
            raise ExecutorEnvironmentError(
                "not set, but MESOS_CHECKPOINT=1 needs it (a Mesos duration such as '15mins')", option=name
            )
        return None
    try:
        seconds = parse_duration(value)
    except (MesosError, ValueError) as exc:
        raise ExecutorEnvironmentError(str(exc), option=name) from exc
    if seconds < 0:
        raise ExecutorEnvironmentError(f"must not be negative, got {value!r}", option=name)
    return seconds


def _parse_upid(value: str) -> tuple[str, str, int]:
    match = _UPID.match(value)
    if match is None or not _PROCESS_ID.match(match["id"]):
        raise ExecutorEnvironmentError(
            f"{value!r} is not a libprocess PID such as 'slave(1)@127.0.0.1:5051'", option="MESOS_SLAVE_PID"
        )
    host, port = _parse_address(match["address"], "MESOS_SLAVE_PID")
    return match["id"], host, port


def _parse_address(value: str, name: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an unbracketed IPv6 address cannot be split from its port
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ExecutorEnvironmentError(
            f"{value!r} is not an address such as '127.0.0.1:5051' (IPv6 in brackets)", option=name
        )
    return host, int(port_text)
