"""Task validation the master does beyond ids and resources: checks, health checks, fetcher URIs.

The messages are Mesos 1.11's (``src/common/validation.cpp``,
``src/master/validation.cpp``); each function returns the error text of the
``TASK_ERROR`` update, or None.
"""

from __future__ import annotations

from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["validate_check", "validate_health_check", "validate_task_checks"]

HC = mesos_pb2.HealthCheck
CI = mesos_pb2.CheckInfo


def _command_error(command: mesos_pb2.CommandInfo, what: str) -> str | None:
    if not command.HasField("value"):
        kind = "'shell command'" if command.shell else "'executable path'"
        return f"{what} must contain {kind}"
    return None


def _timing_error(msg: mesos_pb2.HealthCheck | mesos_pb2.CheckInfo, *, grace: bool) -> str | None:
    if msg.HasField("delay_seconds") and msg.delay_seconds < 0:
        return "Expecting 'delay_seconds' to be non-negative"
    if (
        grace
        and isinstance(msg, HC)
        and msg.HasField("grace_period_seconds")
        and msg.grace_period_seconds < 0
    ):
        return "Expecting 'grace_period_seconds' to be non-negative"
    if msg.HasField("interval_seconds") and msg.interval_seconds < 0:
        return "Expecting 'interval_seconds' to be non-negative"
    if msg.HasField("timeout_seconds") and msg.timeout_seconds < 0:
        return "Expecting 'timeout_seconds' to be non-negative"
    return None


def validate_health_check(hc: mesos_pb2.HealthCheck) -> str | None:
    """``common::validation::validateHealthCheck``."""
    if not hc.HasField("type"):
        return "HealthCheck must specify 'type'"
    if hc.type == HC.COMMAND:
        if not hc.HasField("command"):
            return "Expecting 'command' to be set for COMMAND health check"
        error = _command_error(hc.command, "Command health check")
        if error:
            return error
    elif hc.type == HC.HTTP:
        if not hc.HasField("http"):
            return "Expecting 'http' to be set for HTTP health check"
        if hc.http.HasField("scheme") and hc.http.scheme not in ("http", "https"):
            return f"Unsupported HTTP health check scheme: '{hc.http.scheme}'"
        if hc.http.HasField("path") and not hc.http.path.startswith("/"):
            return f"The path '{hc.http.path}' of HTTP health check must start with '/'"
    elif hc.type == HC.TCP:
        if not hc.HasField("tcp"):
            return "Expecting 'tcp' to be set for TCP health check"
    else:
        return f"'{HC.Type.Name(hc.type)}' is not a valid health check type"
    return _timing_error(hc, grace=True)


def validate_check(check: mesos_pb2.CheckInfo) -> str | None:
    """``common::validation::validateCheckInfo``."""
    if not check.HasField("type"):
        return "CheckInfo must specify 'type'"
    if check.type == CI.COMMAND:
        if not check.HasField("command"):
            return "Expecting 'command' to be set for COMMAND check"
        error = _command_error(check.command.command, "Command check")
        if error:
            return error
    elif check.type == CI.HTTP:
        if not check.HasField("http"):
            return "Expecting 'http' to be set for HTTP check"
        if check.http.HasField("path") and not check.http.path.startswith("/"):
            return f"The path '{check.http.path}' of HTTP check must start with '/'"
    elif check.type == CI.TCP:
        if not check.HasField("tcp"):
            return "Expecting 'tcp' to be set for TCP check"
    else:
        return f"'{CI.Type.Name(check.type)}' is not a valid check type"
    return _timing_error(check, grace=False)


def validate_task_checks(task: mesos_pb2.TaskInfo) -> str | None:
    """``validateCheck`` then ``validateHealthCheck`` of ``validateTask`` (after the kill policy
    and ``max_completion_time``, before the resources)."""
    if task.HasField("check"):
        error = validate_check(task.check)
        if error:
            return f"Task uses invalid check: {error}"
    if task.HasField("health_check"):
        error = validate_health_check(task.health_check)
        if error:
            return f"Task uses invalid health check: {error}"
    return None
