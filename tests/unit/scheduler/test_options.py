from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.persistence import MemoryStore
from mesos_framework.protocol import ContentType
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.scheduler import SEED_NAMES, HighAvailability, Scheduler, parse_options
from mesos_framework.scheduler.options import SchedulerOptions
from mesos_framework.tasks import TaskState
from mesos_framework.transport import Credentials, TLSConfig

TASK = {"command": {"value": "x"}, "resources": {"cpus": 1, "mem": 1}}


def test_defaults_match_the_seed() -> None:
    o = parse_options({})
    assert o.master == "127.0.0.1:5050"
    assert o.framework_name.startswith("mesos-framework.")
    assert o.user == "root" and o.roles == ("*",) and not o.multi_role
    assert o.framework_failover_timeout == 604800
    assert (o.exponential_backoff_factor, o.exponential_backoff_minimum, o.exponential_backoff_maximum) == (
        1.5,
        1.0,
        15.0,
    )
    assert o.serial_numbered_tasks and not o.static_ports and not o.kill_unknown_tasks and not o.use_zk
    assert (o.zk_url, o.zk_prefix) == ("master.mesos:2181", "/dcos-service-")
    assert {TaskState.TASK_FAILED, TaskState.TASK_LOST, TaskState.TASK_ERROR} <= o.restart.states
    assert TaskState.TASK_FINISHED not in o.restart.states


@pytest.mark.parametrize(
    ("master", "port", "expected"),
    [
        ("10.0.0.1", None, "10.0.0.1:5050"),
        ("10.0.0.1", 5051, "10.0.0.1:5051"),
        ("a:1, b", 7, "a:1,b:7"),
        ("leader.mesos:5050", None, "leader.mesos:5050"),
        ("zk://h1:2181,h2:2181/mesos", None, "zk://h1:2181,h2:2181/mesos"),
        ("https://m:5050", None, "https://m:5050"),
        ("::1", None, "[::1]:5050"),
        ("local", None, "local"),
    ],
)
def test_master_forms(master: str, port: int | None, expected: str) -> None:
    assert parse_options({"master": master, "port": port}).master == expected


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"masterUrl": "x"}, "masterUrl"),
        ({"frameworkName": "x"}, "frameworkName"),
        ({"colour": 1}, "colour"),
        ({"port": 70000}, "port"),
        ({"master": "zk://h/mesos", "port": 1}, "port"),
        ({"master": "a:b"}, "master"),
        ({"role": "a", "roles": ["b"]}, "roles"),
        ({"roles": "a"}, "roles"),
        ({"roles": ["a", "a"]}, "roles"),
        ({"restart_states": ["TASK_RUNNING"]}, "restart_states"),
        ({"restart_states": ["TASK_NAPPING"]}, "restart_states"),
        ({"master_connection_timeout": 0}, "master_connection_timeout"),
        ({"framework_failover_timeout": -1}, "framework_failover_timeout"),
        ({"exponential_backoff_factor": 0.5}, "exponential_backoff_factor"),
        ({"exponential_backoff_minimum": 5, "exponential_backoff_maximum": 1}, "exponential_backoff_maximum"),
        ({"use_zk": "yes", "framework_name": "x"}, "use_zk"),
        ({"use_zk": True}, "framework_name"),
        ({"zk_prefix": "nope"}, "zk_prefix"),
        ({"framework_name": "bad/name"}, "framework_name"),
        ({"capabilities": ["FLYING"]}, "capabilities[0]"),
        ({"handlers": {"BOGUS": print}}, "handlers.BOGUS"),
        ({"handlers": {"UPDATE": 3}}, "handlers.UPDATE"),
        ({"tasks": {"web": {"resources": {"cpus": 1}}}}, "tasks.web.resources.mem"),
        (
            {"tasks": {"web": {**TASK, "resources": {"cpus": 1, "mem": 1, "fixed_ports": [80]}}}},
            "tasks.web.resources.fixed_ports",
        ),
        ({"tasks": 5}, "tasks"),
        ({"labels": 5}, "labels"),
        ({"content_type": "xml"}, "content_type"),
        ({"logging": {"colour": 1}}, "logging.colour"),
        ({"logging": {"level": "loud"}}, "logging.level"),
        ({"secret": "s"}, "secret"),
        ({"state_store": object(), "framework_name": "x"}, "state_store"),
        ({"restart_backoff_minimum": 5, "restart_backoff_maximum": 1}, "restart_backoff_maximum"),
    ],
)
def test_bad_options_name_themselves(options: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Scheduler(**options)
    assert info.value.option == option, str(info.value)


@pytest.mark.parametrize(("seed", "ours"), sorted(SEED_NAMES.items()))
def test_every_seed_name_maps_to_an_option(seed: str, ours: str) -> None:
    if seed != ours:
        with pytest.raises(ConfigurationError, match=f"use '{ours}'"):
            parse_options({seed: None})
    with pytest.raises(ConfigurationError) as info:
        parse_options({ours: object()})  # known option, bad value
    assert "unknown option" not in str(info.value)


def test_framework_info_single_and_multi_role() -> None:
    single = parse_options({"framework_name": "my fw", "role": "web", "labels": {"a": "b"}})
    info = single.framework_info("fid")
    assert (info.name, info.role, info.id.value, list(info.roles)) == ("my-fw", "web", "fid", [])
    assert info.checkpoint and info.failover_timeout == 604800
    assert [(lb.key, lb.value) for lb in info.labels.labels] == [("a", "b")]
    caps = {c.type for c in info.capabilities}
    assert caps == {mesos_pb2.FrameworkInfo.Capability.TASK_KILLING_STATE}
    multi = parse_options({"roles": ["a", "b"], "framework_failover_timeout": 0})
    info = multi.framework_info(None)
    assert list(info.roles) == ["a", "b"] and not info.HasField("role") and not info.HasField("id")
    assert info.failover_timeout == 0  # 0 can be set, unlike the seed's `|| 604800`
    assert mesos_pb2.FrameworkInfo.Capability.MULTI_ROLE in {c.type for c in info.capabilities}


def test_gpu_tasks_add_the_capability_and_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "10.1.1.1")
    monkeypatch.setenv("PORT0", "8080")
    o = parse_options({"tasks": {"g": {**TASK, "resources": {"cpus": 1, "mem": 1, "gpus": 1}}}})
    assert "GPU_RESOURCES" in o.capabilities
    assert (o.hostname, o.webui_url) == ("10.1.1.1", "http://10.1.1.1:8080")


def test_misc_options() -> None:
    o = parse_options(
        {
            "framework_name": "x",
            "content_type": "json",
            "state_store": MemoryStore(),
            "logging": {"level": "debug"},
            "handlers": {"heartbeat": print},
        }
    )
    assert o.content_type is ContentType.JSON
    assert o.handlers == {"HEARTBEAT": print}
    assert o.zk_path == "/dcos-service-x"


async def test_log_file_only_when_configured(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from tests.support.ports import free_port

    monkeypatch.chdir(tmp_path)  # the seed wrote logs/ relative to its package; nothing may appear here
    quiet = Scheduler(master=f"127.0.0.1:{free_port()}", framework_name="quiet")
    await quiet.start()
    await quiet.stop()
    assert list(tmp_path.iterdir()) == []
    loud = Scheduler(
        master=f"127.0.0.1:{free_port()}",
        framework_name="loud",
        logging={"level": "info", "path": str(tmp_path), "file_name": "fw.log"},
    )
    await loud.start()
    logging.getLogger("mesos_framework.scheduler.test").info("hello")
    await loud.stop()
    assert "hello" in (tmp_path / "fw.log").read_text()
    assert not any(isinstance(h, logging.FileHandler) for h in logging.getLogger("mesos_framework").handlers)
    logging.getLogger("mesos_framework").setLevel(logging.NOTSET)


def test_js_names_through_the_one_adapter() -> None:
    s = Scheduler.from_options(
        {"masterUrl": "10.0.0.1", "port": 5051, "frameworkName": "js", "logging": {"fileName": "x.log"}}
    )
    assert s.options.master == "10.0.0.1:5051"
    assert s.options.framework_name == "js"
    assert s.options.log_file is not None and s.options.log_file.endswith("x.log")
    with pytest.raises(ConfigurationError, match="given twice"):
        Scheduler.from_options({"masterUrl": "a", "master": "b"})
    with pytest.raises(ConfigurationError, match="use 'master'"):
        Scheduler(masterUrl="x")  # type: ignore[call-arg]


def test_secrets_are_hidden_in_reprs() -> None:
    o = parse_options({"principal": "p", "secret": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(o) and "s3cr3t-value" not in str(o)
    t = parse_options(
        {
            "framework_name": "f",
            "token": "t0k3n-value",
            "admin_port": 0,
            "admin_token": "adm1n-value",
            "ha": "zk://zkuser:zkp4ss-value@zk1:2181/f/leader",
            "use_zk": True,
        }
    )
    for text in (repr(t), str(t), repr(t.ha)):
        assert "t0k3n-value" not in text and "adm1n-value" not in text and "zkp4ss-value" not in text
    assert o.secret == "s3cr3t-value" and t.token == "t0k3n-value" and t.admin_token == "adm1n-value"
    assert t.ha is not None and t.ha.auth == "zkuser:zkp4ss-value"
    # Passwords in the master's and the store's ZooKeeper URLs are masked, the rest shown.
    u = parse_options(
        {
            "framework_name": "f",
            "master": "zk://mu:m4ster-value@zk1:2181/mesos",
            "state_store": "zk://su:st0re-value@zk1:2181/f",
        }
    )
    assert "m4ster-value" not in repr(u) and "st0re-value" not in repr(u)
    assert "master='zk://mu:***@zk1:2181/mesos'" in repr(u)
    assert "state_store='zk://su:***@zk1:2181/f'" in repr(u)
    assert u.master == "zk://mu:m4ster-value@zk1:2181/mesos"


@pytest.mark.parametrize("cls", [SchedulerOptions, HighAvailability, TLSConfig, Credentials])
def test_every_secret_field_is_left_out_of_the_repr(cls: type) -> None:
    """A field named like a secret (a future one too) is declared with ``repr=False``."""
    secretive = ("secret", "token", "password", "auth", "credential")
    fields = [f for f in dataclasses.fields(cls) if any(word in f.name for word in secretive)]
    assert fields or cls is TLSConfig
    assert [f.name for f in fields if f.repr] == []
