"""The admin package without a cluster: its options, its metrics at rest, and import hygiene."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mesos_framework.admin import AdminServer, SchedulerMetrics
from mesos_framework.errors import ConfigurationError
from mesos_framework.scheduler import Scheduler

TASK = {"command": {"value": "true"}, "resources": {"cpus": 0.1, "mem": 16}}


def scheduler() -> Scheduler:
    return Scheduler(master="127.0.0.1:1", framework_name="unit", tasks={"web": {**TASK, "instances": 2}})


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"port": -1}, "admin_port"),
        ({"port": 65536}, "admin_port"),
        ({"port": "9090"}, "admin_port"),
        ({"port": True}, "admin_port"),
        ({"host": ""}, "admin_host"),
        ({"token": ""}, "admin_token"),
        ({"token": 123}, "admin_token"),
    ],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AdminServer(scheduler(), **kwargs)
    assert info.value.option == option


def test_metrics_of_a_scheduler_not_started() -> None:
    metrics = SchedulerMetrics(scheduler())
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    assert families["mesos_framework_leader"].samples[0].value == 1
    assert families["mesos_framework_subscribed"].samples[0].value == 0
    assert math.isnan(families["mesos_framework_heartbeat_lag_seconds"].samples[0].value)
    assert families["mesos_framework_offers_received"].samples[0].value == 0
    assert families["mesos_framework_tasks"].samples == []
    desired = families["mesos_framework_desired_instances"].samples
    assert [(s.labels, s.value) for s in desired] == [({"type": "web"}, 2)]
    metrics.close()


def test_a_registry_of_its_own_unless_given() -> None:
    s = scheduler()
    registry = CollectorRegistry()
    given = SchedulerMetrics(s, registry=registry)
    assert given.registry is registry
    own = SchedulerMetrics(s)
    assert own.registry is not registry
    with pytest.raises(ValueError, match="Duplicated"):
        SchedulerMetrics(s, registry=registry)  # one scheduler's metrics per registry


def test_the_scheduler_loads_neither_prometheus_nor_the_web_server() -> None:
    code = (
        "import sys\n"
        "from mesos_framework.scheduler import Scheduler\n"
        f"Scheduler(master='127.0.0.1:1', framework_name='x', tasks={{'a': {TASK!r}}})\n"
        "print(sorted(m for m in sys.modules if m.startswith(('prometheus_client', 'aiohttp.web'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ast.literal_eval(out.stdout.strip()) == []


def test_without_prometheus_client_the_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None\n"
        "try:\n"
        "    import mesos_framework.admin\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'mesos-framework[metrics]'" in out.stdout
