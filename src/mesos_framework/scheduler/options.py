"""Scheduler options: typed, then parsed and validated before anything starts.

Every option is a snake_case keyword of `Scheduler` (typed by `SchedulerKwargs`, so a type
checker rejects a misspelled option or a wrong type). The JavaScript library's camelCase names
map one to one (`masterUrl` -> `master`, `frameworkName` -> `framework_name`, ...): passing one
to `Scheduler` is an error that names its replacement; `options_from_js()` (used by
`Scheduler.from_options`) is the one adapter that accepts them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

from mesos_framework._redact import without_password
from mesos_framework.errors import ConfigurationError
from mesos_framework.persistence.base import StateStore
from mesos_framework.protocol import ContentType
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler._ha import (
    ENV_HA,
    HighAvailability,
    check_ha_options,
    parse_ha,
)
from mesos_framework.tasks.spec import MAX_SECONDS, TaskSpec
from mesos_framework.tasks.state import DEFAULT_RESTART_STATES, RestartPolicy, TaskState
from mesos_framework.transport import TLSConfig

__all__ = ["SEED_NAMES", "SchedulerKwargs", "SchedulerOptions", "options_from_js", "parse_options"]

#: The JavaScript library's option names and their snake_case equivalents here.
SEED_NAMES: dict[str, str] = {
    "masterUrl": "master",
    "port": "port",
    "frameworkName": "framework_name",
    "user": "user",
    "role": "role",
    "restartStates": "restart_states",
    "masterConnectionTimeout": "master_connection_timeout",
    "frameworkFailoverTimeout": "framework_failover_timeout",
    "exponentialBackoffFactor": "exponential_backoff_factor",
    "exponentialBackoffMinimum": "exponential_backoff_minimum",
    "exponentialBackoffMaximum": "exponential_backoff_maximum",
    "killUnknownTasks": "kill_unknown_tasks",
    "serialNumberedTasks": "serial_numbered_tasks",
    "staticPorts": "static_ports",
    "useZk": "use_zk",
    "zkUrl": "zk_url",
    "zkPrefix": "zk_prefix",
    "logging": "logging",
    "tasks": "tasks",
    "handlers": "handlers",
    "frameworkId": "framework_id",
    "webuiUrl": "webui_url",
}


class SchedulerKwargs(TypedDict, total=False):
    """The keyword options of `Scheduler` (see the options page for each one's meaning)."""

    master: str
    port: int | None
    framework_name: str
    user: str
    role: str
    roles: Sequence[str]
    restart_states: Iterable[str | int | TaskState]
    restart_backoff_minimum: float
    restart_backoff_maximum: float
    restart_backoff_factor: float
    max_restarts: int | None
    master_connection_timeout: float
    framework_failover_timeout: float
    exponential_backoff_factor: float
    exponential_backoff_minimum: float
    exponential_backoff_maximum: float
    tasks: Mapping[str, Mapping[str, Any] | TaskSpec] | Sequence[TaskSpec]
    handlers: Mapping[str, Callable[..., Any]]
    static_ports: bool
    serial_numbered_tasks: bool
    kill_unknown_tasks: bool
    use_zk: bool
    zk_url: str
    zk_prefix: str
    state_store: StateStore | str | None
    logging: Mapping[str, Any]
    framework_id: str | None
    checkpoint: bool
    capabilities: Sequence[str]
    principal: str | None
    secret: str | None
    token: str | None
    tls: TLSConfig | None
    labels: Mapping[str, str] | Sequence[Mapping[str, str]]
    hostname: str | None
    webui_url: str | None
    content_type: str | ContentType
    heartbeat_misses: float
    call_timeout: float
    request_timeout: float
    refuse_seconds: float
    idle_refuse_seconds: float
    reconcile_interval: float
    reconcile_retry_minimum: float
    reconcile_retry_maximum: float
    auto_acknowledge: bool
    reregister_when_removed: bool
    ha: HighAvailability | str | None
    admin_port: int | None
    admin_host: str
    admin_token: str | None


def options_from_js(options: Mapping[str, Any]) -> dict[str, Any]:
    """The JavaScript library's options (camelCase) as `Scheduler` keywords.

    `masterUrl` becomes `master`, `frameworkName` `framework_name`, and so on (`SEED_NAMES`);
    `logging.fileName` becomes `logging.file_name`. Names that are already snake_case pass
    unchanged; giving both spellings of one option is an error.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        name = SEED_NAMES.get(key, key)
        if name in out:
            raise ConfigurationError(f"given twice (as {name!r} and {key!r})", option=name)
        if name == "logging" and isinstance(value, Mapping):
            out[name] = {("file_name" if k == "fileName" else k): v for k, v in value.items()}
        else:
            out[name] = value
    return out


EVENT_TYPES = frozenset(scheduler_pb2.Event.Type.keys()) - {"UNKNOWN"}
_CAPABILITIES = frozenset(mesos_pb2.FrameworkInfo.Capability.Type.keys()) - {"UNKNOWN"}
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    """The validated options of a `Scheduler`."""

    master: str = "127.0.0.1:5050"
    framework_name: str = ""
    user: str = "root"
    roles: tuple[str, ...] = ("*",)
    multi_role: bool = False
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    master_connection_timeout: float = 10.0
    framework_failover_timeout: float = 604800.0
    exponential_backoff_factor: float = 1.5
    exponential_backoff_minimum: float = 1.0
    exponential_backoff_maximum: float = 15.0
    tasks: tuple[TaskSpec, ...] = ()
    handlers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    static_ports: bool = False
    serial_numbered_tasks: bool = True
    kill_unknown_tasks: bool = False
    use_zk: bool = False
    zk_url: str = "master.mesos:2181"
    zk_prefix: str = "/dcos-service-"
    state_store: StateStore | str | None = None
    checkpoint: bool = True
    capabilities: tuple[str, ...] = ()
    principal: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    tls: TLSConfig | None = None
    labels: tuple[tuple[str, str], ...] = ()
    hostname: str | None = None
    webui_url: str | None = None
    framework_id: str | None = None
    content_type: ContentType = ContentType.PROTOBUF
    log_level: int | None = None
    log_file: str | None = None
    heartbeat_misses: float = 2.0
    call_timeout: float = 30.0
    request_timeout: float = 30.0
    refuse_seconds: float = 5.0
    idle_refuse_seconds: float = 300.0
    reconcile_interval: float = 900.0
    reconcile_retry_minimum: float = 2.0
    reconcile_retry_maximum: float = 60.0
    auto_acknowledge: bool = True
    reregister_when_removed: bool = False
    ha: HighAvailability | None = None
    admin_port: int | None = None
    admin_host: str = "127.0.0.1"
    admin_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The dataclass's repr, but a password in the master's or the store's URL shows as ***.
        shown = []
        for f in fields(self):
            if f.repr:
                value = getattr(self, f.name)
                if isinstance(value, str) and f.name in ("master", "state_store"):
                    value = without_password(value)
                shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def zk_path(self) -> str:
        """Where ZooKeeper state lives: ``zk_prefix + framework_name``."""
        return self.zk_prefix + self.framework_name

    def framework_info(self, framework_id: str | None) -> mesos_pb2.FrameworkInfo:
        """The ``FrameworkInfo`` to subscribe with."""
        info = mesos_pb2.FrameworkInfo(
            user=self.user,
            name=self.framework_name,
            failover_timeout=self.framework_failover_timeout,
            checkpoint=self.checkpoint,
        )
        if framework_id:
            info.id.value = framework_id
        if self.multi_role:
            info.roles.extend(self.roles)
        else:
            info.role = self.roles[0]
        if self.hostname:
            info.hostname = self.hostname
        if self.webui_url:
            info.webui_url = self.webui_url
        if self.principal:
            info.principal = self.principal
        for key, value in self.labels:
            info.labels.labels.add(key=key, value=value)
        for cap in self.capabilities:
            info.capabilities.add(type=mesos_pb2.FrameworkInfo.Capability.Type.Value(cap))
        return info


def _bool(value: Any, option: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"expected true or false, got {value!r}", option=option)
    return value


def _num(
    value: Any, option: str, *, minimum: float = 0.0, strict: bool = False, maximum: float = MAX_SECONDS
) -> float:
    """A finite number in range (`maximum`: about 31 years, for the many options in seconds)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"expected a number, got {value!r}", option=option)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"must be a finite number, got {value!r}", option=option)
    if value < minimum or (strict and value == minimum):
        raise ConfigurationError(
            f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}", option=option
        )
    if value > maximum:
        raise ConfigurationError(f"must be at most {maximum:g}, got {value!r}", option=option)
    return float(value)


def _str(value: Any, option: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ConfigurationError(f"expected a non-empty string, got {value!r}", option=option)
    return value


def _master(master: Any, port: Any) -> str:
    text = _str(master, "master").strip()
    if port is not None:
        port_num = int(_num(port, "port", minimum=1))
        if port_num > 65535 or port_num != port:
            raise ConfigurationError(f"{port!r} is not a port", option="port")
    else:
        port_num = 5050
    if text == "local" or "://" in text:
        if port is not None:
            raise ConfigurationError(
                "port only applies to host names in master; put it in the URL", option="port"
            )
        return text
    hosts = []
    for item in filter(None, (h.strip() for h in text.split(","))):
        if item.startswith("["):  # [v6]:port or [v6]
            hosts.append(item if "]:" in item else f"{item}:{port_num}")
        elif item.count(":") == 1:
            host, _, p = item.partition(":")
            if not p.isdigit() or not host:
                raise ConfigurationError(f"{item!r} is not host:port", option="master")
            hosts.append(item)
        elif ":" in item:
            hosts.append(f"[{item}]:{port_num}")
        else:
            hosts.append(f"{item}:{port_num}")
    if not hosts:
        raise ConfigurationError("no master given", option="master")
    return ",".join(hosts)


def _labels(value: Any, option: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return tuple(value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                raise ConfigurationError("expected {key, value}", option=f"{option}[{i}]")
            out.append((item["key"], str(item.get("value", ""))))
        return tuple(out)
    raise ConfigurationError("expected a dict of strings or a list of {key, value}", option=option)


def _tasks(value: Any) -> tuple[TaskSpec, ...]:
    if isinstance(value, Mapping):
        specs = [
            v if isinstance(v, TaskSpec) else TaskSpec.from_dict(_str(k, "tasks"), v)
            for k, v in value.items()
        ]
        for k, v in value.items():
            if isinstance(v, TaskSpec) and v.name != k:
                raise ConfigurationError(
                    f"key {k!r} differs from the spec's name {v.name!r}", option=f"tasks.{k}"
                )
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        specs = list(value)
        for i, s in enumerate(specs):
            if not isinstance(s, TaskSpec):
                raise ConfigurationError("expected TaskSpec items (or pass a dict)", option=f"tasks[{i}]")
    else:
        raise ConfigurationError("expected a dict of task specs or a list of TaskSpec", option="tasks")
    names: set[str] = set()
    ids: dict[str, str] = {}
    for s in specs:
        if s.name in names:
            raise ConfigurationError("task type given twice", option=f"tasks.{s.name}")
        safe = s.name.replace("/", "_")
        if safe in ids:
            raise ConfigurationError(f"same task ID prefix as {ids[safe]!r}", option=f"tasks.{s.name}")
        names.add(s.name)
        ids[safe] = s.name
    return tuple(specs)


def _handlers(value: Any) -> dict[str, Callable[..., Any]]:
    if not isinstance(value, Mapping):
        raise ConfigurationError("expected a dict of event type to function", option="handlers")
    out: dict[str, Callable[..., Any]] = {}
    for key, fn in value.items():
        name = _str(key, "handlers").upper()
        if name not in EVENT_TYPES:
            raise ConfigurationError(
                f"unknown event type; expected one of {', '.join(sorted(EVENT_TYPES))}",
                option=f"handlers.{key}",
            )
        if not callable(fn):
            raise ConfigurationError("is not callable", option=f"handlers.{key}")
        out[name] = fn
    return out


def parse_options(options: Mapping[str, Any]) -> SchedulerOptions:
    """Validate keyword options into `SchedulerOptions`; every error names the option."""
    opts = dict(options)
    for key in list(opts):
        if key in SEED_NAMES and SEED_NAMES[key] != key:
            raise ConfigurationError(f"use {SEED_NAMES[key]!r} (the snake_case name)", option=key)
    known = {f for f in SchedulerOptions.__dataclass_fields__ if f not in ("multi_role", "restart", "roles")}
    known |= {
        "port",
        "role",
        "roles",
        "restart_states",
        "restart_backoff_minimum",
        "restart_backoff_maximum",
        "restart_backoff_factor",
        "max_restarts",
        "logging",
    }
    known -= {"log_level", "log_file"}
    for key in opts:
        if key not in known:
            raise ConfigurationError(
                f"unknown option; expected one of {', '.join(sorted(known))}", option=key
            )

    kw: dict[str, Any] = {}
    kw["master"] = _master(opts.get("master", "127.0.0.1"), opts.get("port"))

    name = opts.get("framework_name")
    if name is None:
        if opts.get("use_zk") or opts.get("state_store") is not None:
            raise ConfigurationError(
                "set a framework_name: persisted state is found by name after a restart",
                option="framework_name",
            )
        name = f"mesos-framework.{uuid.uuid4()}"
    name = _str(name, "framework_name").strip().replace(" ", "-")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", name):
        raise ConfigurationError("use letters, digits and _ . : - only", option="framework_name")
    kw["framework_name"] = name

    if "user" in opts:
        kw["user"] = _str(opts["user"], "user")

    role, roles = opts.get("role"), opts.get("roles")
    if role is not None and roles is not None:
        raise ConfigurationError("give role or roles, not both", option="roles")
    if roles is not None:
        if isinstance(roles, str) or not isinstance(roles, Sequence) or not roles:
            raise ConfigurationError("expected a non-empty list of role names", option="roles")
        kw["roles"] = tuple(_str(r, f"roles[{i}]") for i, r in enumerate(roles))
        if len(set(kw["roles"])) != len(kw["roles"]):
            raise ConfigurationError("roles must be unique", option="roles")
        kw["multi_role"] = True
    elif role is not None:
        kw["roles"] = (_str(role, "role"),)

    restart_kw: dict[str, Any] = {}
    if "restart_states" in opts:
        rs = opts["restart_states"]
        if isinstance(rs, str) or not isinstance(rs, Iterable):
            raise ConfigurationError("expected a list of task states", option="restart_states")
        try:
            states = RestartPolicy.states_from(rs)
        except ConfigurationError as exc:
            raise ConfigurationError(str(exc), option="restart_states") from exc
        for s in states:
            if not s.is_terminal:
                raise ConfigurationError(f"{s.name} is not a terminal state", option="restart_states")
        restart_kw["states"] = states
    else:
        restart_kw["states"] = DEFAULT_RESTART_STATES
    for opt, attr in (
        ("restart_backoff_minimum", "minimum"),
        ("restart_backoff_maximum", "maximum"),
        ("restart_backoff_factor", "factor"),
    ):
        if opt in opts:
            restart_kw[attr] = _num(opts[opt], opt)
    if opts.get("max_restarts") is not None:
        restart_kw["max_restarts"] = int(_num(opts["max_restarts"], "max_restarts"))
    try:
        kw["restart"] = RestartPolicy(**restart_kw)
    except ConfigurationError as exc:
        raise ConfigurationError(
            str(exc).split(": ", 1)[-1], option=(exc.option or "").replace(".", "_backoff_")
        ) from exc

    for opt in (
        "master_connection_timeout",
        "exponential_backoff_minimum",
        "exponential_backoff_maximum",
        "call_timeout",
        "request_timeout",
        "reconcile_retry_minimum",
        "reconcile_retry_maximum",
    ):
        if opt in opts:
            kw[opt] = _num(opts[opt], opt, strict=True)
    for opt in ("framework_failover_timeout", "refuse_seconds", "idle_refuse_seconds", "reconcile_interval"):
        if opt in opts:
            kw[opt] = _num(opts[opt], opt)
    if "exponential_backoff_factor" in opts:
        kw["exponential_backoff_factor"] = _num(
            opts["exponential_backoff_factor"], "exponential_backoff_factor", minimum=1
        )
    if "heartbeat_misses" in opts:
        kw["heartbeat_misses"] = _num(opts["heartbeat_misses"], "heartbeat_misses", minimum=1)
    mn = kw.get("exponential_backoff_minimum", 1.0)
    if kw.get("exponential_backoff_maximum", 15.0) < mn:
        raise ConfigurationError(
            "must be >= exponential_backoff_minimum", option="exponential_backoff_maximum"
        )

    for opt in (
        "static_ports",
        "serial_numbered_tasks",
        "kill_unknown_tasks",
        "use_zk",
        "checkpoint",
        "auto_acknowledge",
        "reregister_when_removed",
    ):
        if opt in opts:
            kw[opt] = _bool(opts[opt], opt)

    for opt in (
        "zk_url",
        "zk_prefix",
        "principal",
        "secret",
        "token",
        "hostname",
        "webui_url",
        "framework_id",
    ):
        if opts.get(opt) is not None:
            kw[opt] = _str(opts[opt], opt)
    if not kw.get("zk_prefix", "/").startswith("/"):
        raise ConfigurationError("must start with '/'", option="zk_prefix")
    if ("secret" in kw) != ("principal" in kw) and "secret" in kw:
        raise ConfigurationError("a secret needs a principal", option="secret")
    if "secret" in kw and "token" in kw:
        raise ConfigurationError("give principal/secret or a token, not both", option="token")

    # The seed's Marathon conventions: HOST and PORT0 describe where this scheduler runs.
    env_host = os.environ.get("HOST")
    if "hostname" not in kw and env_host:
        kw["hostname"] = env_host
    if "webui_url" not in kw and env_host and os.environ.get("PORT0"):
        kw["webui_url"] = f"http://{env_host}:{os.environ['PORT0']}"

    # Hot standby: the option, else what `mesos-framework run --ha` set.
    if opts.get("ha") is not None:
        kw["ha"] = parse_ha(opts["ha"])
    elif "ha" not in opts and os.environ.get(ENV_HA, "").strip():
        try:
            kw["ha"] = parse_ha(os.environ[ENV_HA])
        except ConfigurationError as exc:
            raise ConfigurationError(str(exc).split(": ", 1)[-1], option=ENV_HA) from None
    if opts.get("admin_port") is not None:
        admin_port = opts["admin_port"]
        if isinstance(admin_port, bool) or not isinstance(admin_port, int) or not 0 <= admin_port <= 65535:
            raise ConfigurationError(f"expected a TCP port 0..65535, got {admin_port!r}", option="admin_port")
        kw["admin_port"] = admin_port
    if "admin_host" in opts:
        kw["admin_host"] = _str(opts["admin_host"], "admin_host").strip()
    if opts.get("admin_token") is not None:
        kw["admin_token"] = _str(opts["admin_token"], "admin_token")
    if ("admin_token" in kw or "admin_host" in kw) and "admin_port" not in kw:
        raise ConfigurationError("admin_host and admin_token need an admin_port", option="admin_port")

    if opts.get("tls") is not None:
        if not isinstance(opts["tls"], TLSConfig):
            raise ConfigurationError("expected a TLSConfig", option="tls")
        kw["tls"] = opts["tls"]
    if opts.get("state_store") is not None:
        store = opts["state_store"]
        if isinstance(store, str):
            _str(store, "state_store")
        elif not isinstance(store, StateStore):
            raise ConfigurationError(
                "expected a StateStore or a store spec such as 'sqlite:///path/state.db'",
                option="state_store",
            )
        if opts.get("use_zk"):
            raise ConfigurationError("give use_zk or a state_store, not both", option="state_store")
        kw["state_store"] = opts["state_store"]
    if opts.get("labels") is not None:
        kw["labels"] = _labels(opts["labels"], "labels")
    if "content_type" in opts:
        ct = opts["content_type"]
        aliases = {"json": ContentType.JSON, "protobuf": ContentType.PROTOBUF}
        try:
            kw["content_type"] = (
                aliases[ct.lower()] if isinstance(ct, str) and ct.lower() in aliases else ContentType(ct)
            )
        except ValueError:
            raise ConfigurationError(
                "expected 'json', 'protobuf' or a ContentType", option="content_type"
            ) from None

    caps: list[str] = []
    if opts.get("capabilities") is not None:
        raw = opts["capabilities"]
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise ConfigurationError("expected a list of capability names", option="capabilities")
        for i, cap in enumerate(raw):
            cap_name = _str(cap, f"capabilities[{i}]").upper()
            if cap_name not in _CAPABILITIES:
                raise ConfigurationError(
                    f"unknown capability; expected one of {', '.join(sorted(_CAPABILITIES))}",
                    option=f"capabilities[{i}]",
                )
            caps.append(cap_name)
    else:
        caps.append("TASK_KILLING_STATE")
    if kw.get("multi_role"):
        caps.append("MULTI_ROLE")

    if opts.get("tasks") is not None:
        kw["tasks"] = _tasks(opts["tasks"])
        for spec in kw["tasks"]:
            if spec.resources.fixed_ports and not kw.get("static_ports", False):
                raise ConfigurationError(
                    "fixed ports need static_ports=True", option=f"tasks.{spec.name}.resources.fixed_ports"
                )
            if spec.resources.gpus:
                caps.append("GPU_RESOURCES")
    kw["capabilities"] = tuple(dict.fromkeys(caps))
    if opts.get("handlers") is not None:
        kw["handlers"] = _handlers(opts["handlers"])

    if opts.get("logging") is not None:
        lg = opts["logging"]
        if not isinstance(lg, Mapping):
            raise ConfigurationError("expected {level, path, file_name}", option="logging")
        for key in lg:
            if key not in ("level", "path", "file_name", "fileName"):
                raise ConfigurationError(
                    "unknown; expected level, path or file_name", option=f"logging.{key}"
                )
        if "level" in lg:
            level = lg["level"]
            if isinstance(level, str) and level.lower() in _LEVELS:
                kw["log_level"] = _LEVELS[level.lower()]
            elif isinstance(level, int) and not isinstance(level, bool):
                kw["log_level"] = level
            else:
                raise ConfigurationError(f"expected one of {', '.join(_LEVELS)}", option="logging.level")
        file_name = lg.get("file_name", lg.get("fileName"))
        if lg.get("path") is not None or file_name is not None:
            path = _str(lg.get("path", "."), "logging.path")
            kw["log_file"] = os.path.join(path, _str(file_name or "mesos-framework.log", "logging.file_name"))
    parsed = SchedulerOptions(**kw)
    check_ha_options(parsed)
    return parsed


__all__ += ["EVENT_TYPES"]
