"""ExecutorEnvironment: every MESOS_* variable, and an error naming each missing or malformed one."""

from __future__ import annotations

import pytest

from mesos_framework.errors import ConfigurationError, ExecutorEnvironmentError
from mesos_framework.executor import ExecutorEnvironment

BASE = {
    "MESOS_FRAMEWORK_ID": "fw-0001",
    "MESOS_EXECUTOR_ID": "exec-1",
    "MESOS_DIRECTORY": "/var/sandbox/1",
    "MESOS_SLAVE_PID": "slave(1)@127.0.0.1:5051",
}


def env(**changes: str | None) -> dict[str, str]:
    result = dict(BASE)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def test_what_a_real_agent_sets() -> None:
    parsed = ExecutorEnvironment.from_environ(
        env(
            MESOS_SANDBOX="/mnt/mesos/sandbox",
            MESOS_SLAVE_ID="agent-S0",
            MESOS_AGENT_ENDPOINT="127.0.0.1:5051",
            MESOS_CHECKPOINT="1",
            MESOS_RECOVERY_TIMEOUT="15mins",
            MESOS_SUBSCRIPTION_BACKOFF_MAX="2secs",
            MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="5secs",
            MESOS_EXECUTOR_AUTHENTICATION_TOKEN="jwt.token.here",
            MESOS_HTTP_COMMAND_EXECUTOR="1",
        )
    )
    assert parsed == ExecutorEnvironment(
        framework_id="fw-0001",
        executor_id="exec-1",
        directory="/var/sandbox/1",
        sandbox="/mnt/mesos/sandbox",
        agent_host="127.0.0.1",
        agent_port=5051,
        api_path="/slave(1)/api/v1/executor",
        agent_id="agent-S0",
        checkpoint=True,
        recovery_timeout=900.0,
        subscription_backoff_max=2.0,
        shutdown_grace_period=5.0,
        authentication_token="jwt.token.here",
        http_command_executor=True,
    )
    assert parsed.api_url == "http://127.0.0.1:5051/slave(1)/api/v1/executor"
    assert "jwt.token.here" not in repr(parsed)


def test_minimal_environment_and_defaults() -> None:
    parsed = ExecutorEnvironment.from_environ(env())
    assert parsed.sandbox == "/var/sandbox/1"  # MESOS_SANDBOX defaults to MESOS_DIRECTORY
    assert parsed.checkpoint is False
    assert parsed.recovery_timeout is None
    assert parsed.subscription_backoff_max is None
    assert parsed.shutdown_grace_period == 5.0
    assert parsed.authentication_token is None
    assert parsed.http_command_executor is False
    assert parsed.agent_id is None


def test_slave_pid_gives_the_path_of_that_agent_process() -> None:
    parsed = ExecutorEnvironment.from_environ(env(MESOS_SLAVE_PID="slave(3)@10.0.0.7:5050"))
    assert (parsed.agent_host, parsed.agent_port, parsed.api_path) == (
        "10.0.0.7",
        5050,
        "/slave(3)/api/v1/executor",
    )


def test_agent_endpoint_without_slave_pid() -> None:
    parsed = ExecutorEnvironment.from_environ(
        env(MESOS_SLAVE_PID=None, MESOS_AGENT_ENDPOINT="127.0.0.1:5051")
    )
    assert parsed.api_url == "http://127.0.0.1:5051/api/v1/executor"


def test_ipv6_addresses() -> None:
    parsed = ExecutorEnvironment.from_environ(env(MESOS_SLAVE_PID="slave(1)@[::1]:5051"))
    assert (parsed.agent_host, parsed.agent_port) == ("::1", 5051)
    assert parsed.agent_url == "http://[::1]:5051"
    parsed = ExecutorEnvironment.from_environ(env(MESOS_SLAVE_PID=None, MESOS_AGENT_ENDPOINT="[::1]:5051"))
    assert parsed.api_url == "http://[::1]:5051/api/v1/executor"


def test_durations_in_mesos_format() -> None:
    parsed = ExecutorEnvironment.from_environ(
        env(
            MESOS_CHECKPOINT="1",
            MESOS_RECOVERY_TIMEOUT="1.5hrs",
            MESOS_SUBSCRIPTION_BACKOFF_MAX="250ms",
            MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="1mins",
        )
    )
    assert (parsed.recovery_timeout, parsed.subscription_backoff_max, parsed.shutdown_grace_period) == (
        5400.0,
        0.25,
        60.0,
    )


@pytest.mark.parametrize(
    ("changes", "variable", "words"),
    [
        ({"MESOS_FRAMEWORK_ID": None}, "MESOS_FRAMEWORK_ID", "not set"),
        ({"MESOS_EXECUTOR_ID": None}, "MESOS_EXECUTOR_ID", "not set"),
        ({"MESOS_DIRECTORY": None}, "MESOS_DIRECTORY", "not set"),
        ({"MESOS_EXECUTOR_ID": "  "}, "MESOS_EXECUTOR_ID", "empty"),
        ({"MESOS_SLAVE_PID": None}, "MESOS_SLAVE_PID", "MESOS_AGENT_ENDPOINT"),
        ({"MESOS_SLAVE_PID": "127.0.0.1:5051"}, "MESOS_SLAVE_PID", "libprocess PID"),
        ({"MESOS_SLAVE_PID": "slave(1)@127.0.0.1"}, "MESOS_SLAVE_PID", "address"),
        ({"MESOS_SLAVE_PID": "slave(1)@127.0.0.1:0"}, "MESOS_SLAVE_PID", "address"),
        ({"MESOS_SLAVE_PID": "slave(1)@::1:5051"}, "MESOS_SLAVE_PID", "IPv6"),
        ({"MESOS_SLAVE_PID": None, "MESOS_AGENT_ENDPOINT": "localhost"}, "MESOS_AGENT_ENDPOINT", "address"),
        ({"MESOS_AGENT_ENDPOINT": "http://127.0.0.1:5051"}, "MESOS_AGENT_ENDPOINT", "address"),
        ({"MESOS_AGENT_ENDPOINT": "127.0.0.1:99999"}, "MESOS_AGENT_ENDPOINT", "address"),
        ({"MESOS_CHECKPOINT": "true"}, "MESOS_CHECKPOINT", '"1" or "0"'),
        ({"MESOS_HTTP_COMMAND_EXECUTOR": "yes"}, "MESOS_HTTP_COMMAND_EXECUTOR", '"1" or "0"'),
        ({"MESOS_CHECKPOINT": "1"}, "MESOS_RECOVERY_TIMEOUT", "MESOS_CHECKPOINT=1"),
        (
            {"MESOS_CHECKPOINT": "1", "MESOS_RECOVERY_TIMEOUT": "15mins"},
            "MESOS_SUBSCRIPTION_BACKOFF_MAX",
            "MESOS_CHECKPOINT=1",
        ),
        (
            {
                "MESOS_CHECKPOINT": "1",
                "MESOS_RECOVERY_TIMEOUT": "15",
                "MESOS_SUBSCRIPTION_BACKOFF_MAX": "2secs",
            },
            "MESOS_RECOVERY_TIMEOUT",
            "'15'",
        ),
        (
            {
                "MESOS_CHECKPOINT": "1",
                "MESOS_RECOVERY_TIMEOUT": "1min",
                "MESOS_SUBSCRIPTION_BACKOFF_MAX": "2secs",
            },
            "MESOS_RECOVERY_TIMEOUT",
            "'1min'",
        ),
        ({"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "PT5S"}, "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "'PT5S'"),
        (
            {"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "-5secs"},
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
            "negative",
        ),
        ({"MESOS_SUBSCRIPTION_BACKOFF_MAX": "2 secs"}, "MESOS_SUBSCRIPTION_BACKOFF_MAX", "'2 secs'"),
    ],
)
def test_missing_or_malformed_variables_are_named(
    changes: dict[str, str | None], variable: str, words: str
) -> None:
    with pytest.raises(ExecutorEnvironmentError) as info:
        ExecutorEnvironment.from_environ(env(**changes))
    assert info.value.option == variable
    message = str(info.value)
    assert message.startswith(f"{variable}: ")
    assert words in message
    assert isinstance(info.value, ConfigurationError)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [*BASE, "MESOS_AGENT_ENDPOINT", "MESOS_CHECKPOINT", "MESOS_SANDBOX"]:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ExecutorEnvironmentError, match="MESOS_FRAMEWORK_ID"):
        ExecutorEnvironment.from_environ()
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    assert ExecutorEnvironment.from_environ().executor_id == "exec-1"
