"""Task specs: what to run, how many, with which resources.

A `TaskSpec` describes one task *type* (``web``) whose instances are
named ``web-1`` ... ``web-N``. Build it directly or with
`TaskSpec.from_dict()` from the seed's option format (camelCase or
snake_case keys); every error names the option path, such as
``tasks.web.resources.cpus``.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf.message import Message

from mesos_framework import protocol as _protocol
from mesos_framework.errors import ConfigurationError, MessageError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks._numbers import check_message_numbers
from mesos_framework.tasks.constraints import Constraint, parse_constraints
from mesos_framework.tasks.resources import to_milli

__all__ = [
    "MAX_INSTANCES",
    "MAX_PORTS",
    "MAX_SCALAR",
    "MAX_SECONDS",
    "ContainerSpec",
    "PersistentVolume",
    "PodSpec",
    "PortMapping",
    "TaskResources",
    "TaskSpec",
    "parse_task_id",
    "serial_env_name",
]

M = TypeVar("M", bound=Message)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
#: A pod container's name: it ends its Mesos task ID (``<pod task ID>.<name>``), so no dots.
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_PROTOCOLS = ("tcp", "udp", "sctp")

#: The most instances one task type may have (each waits in memory until launched).
MAX_INSTANCES = 10_000
#: The most host ports one task may ask for (there are no more on any host).
MAX_PORTS = 65_535
#: The largest scalar resource (cpus, mem, disk, gpus) a task may ask for. Mesos keeps scalars as
#: 64-bit fixed-point numbers with three decimals, so about 9.2e12 is its own limit.
MAX_SCALAR = 1e12
#: The longest duration (seconds, about 31 years) a spec or option may give.
MAX_SECONDS = 1e9


def _message(cls: type[M], value: Any, option: str) -> M:
    """A message of ``cls`` from an instance of it or a Mesos-JSON dict."""
    if isinstance(value, cls):
        out = cls()
        out.CopyFrom(value)
        return out
    if isinstance(value, Mapping):
        try:
            return _protocol.from_dict(cls, dict(value))
        except MessageError as exc:
            # Only the message's own faults are the user's; anything else is a bug and propagates.
            raise ConfigurationError(f"not a valid {cls.DESCRIPTOR.name}: {exc}", option=option) from exc
    raise ConfigurationError(
        f"expected a {cls.DESCRIPTOR.full_name} or a dict, got {type(value).__name__}", option=option
    )


def _number(
    value: Any,
    option: str,
    *,
    minimum: float = 0.0,
    maximum: float = MAX_SCALAR,
    integer: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"expected a number, got {value!r}", option=option)
    if integer and not isinstance(value, int):
        raise ConfigurationError(f"expected a whole number, got {value!r}", option=option)
    _in_range(value, option, minimum, maximum)
    return float(value)


def _in_range(value: float, option: str, minimum: float, maximum: float) -> None:
    """A finite number within ``[minimum, maximum]``, else `ConfigurationError` naming ``option``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"must be a finite number, got {value!r}", option=option)
    if value < minimum:
        raise ConfigurationError(f"must be at least {minimum:g}, got {value!r}", option=option)
    if value > maximum:
        raise ConfigurationError(f"must be at most {maximum:g}, got {value!r}", option=option)


def _check_command(command: mesos_pb2.CommandInfo, option: str, *, container: bool) -> None:
    """A command Mesos can run: not empty (unless a container's entrypoint runs), no NUL, sane names."""
    shell = command.shell if command.HasField("shell") else True
    if not command.value.strip() and (shell or not container):
        raise ConfigurationError("an empty command: give the command to run", option=f"{option}.value")
    if "\0" in command.value:
        raise ConfigurationError("a command must not contain a NUL character", option=f"{option}.value")
    for i, arg in enumerate(command.arguments):
        if "\0" in arg:
            raise ConfigurationError(
                "an argument must not contain a NUL character", option=f"{option}.arguments[{i}]"
            )
    for i, var in enumerate(command.environment.variables):
        _check_env(var.name, var.value, f"{option}.environment.variables[{i}]")


def _check_env(name: str, value: str, option: str) -> None:
    if not name or "=" in name or "\0" in name:
        raise ConfigurationError(
            f"an environment variable name must be non-empty, without '=' or NUL, got {name!r}",
            option=option,
        )
    if "\0" in value:
        raise ConfigurationError(f"the value of {name} must not contain a NUL character", option=option)


def serial_env_name(type_name: str) -> str:
    """The serial-number variable of a type: ``my-db`` gives ``TASK_MY_DB_SERIAL_NUMBER``."""
    return "TASK_" + re.sub(r"[^A-Za-z0-9_]", "_", type_name).upper() + "_SERIAL_NUMBER"


def id_safe(name: str) -> str:
    """A name usable inside a Mesos task ID (``/`` becomes ``_``)."""
    return name.replace("/", "_")


def parse_task_id(task_id: str, framework_name: str) -> tuple[str, int] | None:
    """``(id-safe type name, serial)`` of a task ID this library made, else ``None``.

    Task IDs are ``<framework_name>.<type>-<serial>.<uuid>``.
    """
    prefix = framework_name + "."
    if not task_id.startswith(prefix):
        return None
    name, dot, tail = task_id[len(prefix) :].rpartition(".")
    if not dot or len(tail) != 32:
        return None
    type_name, dash, serial = name.rpartition("-")
    if not dash or not serial.isdigit() or not type_name:
        return None
    return type_name, int(serial)


@dataclass(frozen=True, slots=True)
class PortMapping:
    """A container port that one of the task's host ports maps to."""

    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True, slots=True)
class TaskResources:
    """What one instance needs. ``ports`` counts all host ports, ``fixed_ports`` included."""

    cpus: float
    mem: float
    disk: float = 0.0
    gpus: float = 0.0
    ports: int = 0
    fixed_ports: tuple[int, ...] = ()

    def scalars_milli(self) -> tuple[tuple[str, int], ...]:
        """The non-zero scalar demands in thousandths, e.g. ``(("cpus", 500), ("mem", 128000))``."""
        return tuple(
            (name, to_milli(v))
            for name, v in (("cpus", self.cpus), ("mem", self.mem), ("disk", self.disk), ("gpus", self.gpus))
            if v > 0
        )

    @property
    def dynamic_ports(self) -> int:
        """How many host ports are picked freely from the offer."""
        return self.ports - len(self.fixed_ports)

    def __add__(self, other: TaskResources) -> TaskResources:
        return TaskResources(
            cpus=self.cpus + other.cpus,
            mem=self.mem + other.mem,
            disk=self.disk + other.disk,
            gpus=self.gpus + other.gpus,
            ports=self.ports + other.ports,
            fixed_ports=self.fixed_ports + other.fixed_ports,
        )


_VOLUME_MODES = ("RW", "RO")


@dataclass(frozen=True, slots=True)
class PersistentVolume:
    """A persistent volume of one instance: reserved disk that outlives its tasks.

    ``container_path`` is where the task sees it, relative to its sandbox (e.g. ``data``);
    ``size_mb`` the disk it takes; ``mode`` ``RW`` or ``RO``. Each instance gets its own
    volume, created on the agent it first runs on; it is relaunched there, on the same volume.
    """

    container_path: str
    size_mb: float
    mode: str = "RW"

    def check(self, where: str) -> None:
        """Raise `ConfigurationError` (naming ``where``) for a bad path, size or mode."""
        path = self.container_path
        if (
            not isinstance(path, str)
            or not path
            or path.startswith("/")
            or "\0" in path
            or any(part in ("", ".", "..") for part in path.split("/"))
        ):
            raise ConfigurationError(
                f"a volume's container_path is a relative path inside the sandbox (like data), got {path!r}",
                option=f"{where}.container_path",
            )
        if isinstance(self.size_mb, bool) or not isinstance(self.size_mb, int | float):
            raise ConfigurationError(f"expected a number, got {self.size_mb!r}", option=f"{where}.size_mb")
        _in_range(self.size_mb, f"{where}.size_mb", 0, MAX_SCALAR)
        if self.size_mb <= 0:
            raise ConfigurationError("a volume needs some disk", option=f"{where}.size_mb")
        if self.mode not in _VOLUME_MODES:
            raise ConfigurationError(f"mode must be RW or RO, got {self.mode!r}", option=f"{where}.mode")

    @classmethod
    def from_value(cls, value: Any, where: str) -> PersistentVolume:
        """A volume from itself or ``{"container_path", "size_mb", "mode"}`` (camelCase too)."""
        if isinstance(value, PersistentVolume):
            return value
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                f"expected a dict or PersistentVolume, got {type(value).__name__}", option=where
            )
        aliases = {
            "container_path": "container_path",
            "containerPath": "container_path",
            "size_mb": "size_mb",
            "sizeMb": "size_mb",
            "size": "size_mb",
            "mode": "mode",
        }
        values: dict[str, Any] = {}
        for key, item in value.items():
            canon = aliases.get(key)
            if canon is None:
                raise ConfigurationError(
                    "unknown option; expected container_path, size_mb or mode", option=f"{where}.{key}"
                )
            values[canon] = item
        for required in ("container_path", "size_mb"):
            if required not in values:
                raise ConfigurationError("required", option=f"{where}.{required}")
        mode = values.get("mode", "RW")
        volume = cls(
            values["container_path"], values["size_mb"], mode.upper() if isinstance(mode, str) else mode
        )
        volume.check(where)
        return volume


#: Stands for "not given" (a pod's resources are its containers' and its executor's).
_NO_RESOURCES = TaskResources(cpus=0.0, mem=0.0)
#: What Mesos's default executor of a pod needs by default (its minimum: 0.01 cpus, 32 MB).
DEFAULT_EXECUTOR_RESOURCES = TaskResources(cpus=0.1, mem=32.0, disk=10.0)


def _check_resources(res: TaskResources, where: str, *, executor: bool = False) -> None:
    for field_name in ("cpus", "mem", "disk", "gpus"):
        _in_range(getattr(res, field_name), f"{where}.{field_name}", 0, MAX_SCALAR)
    _in_range(res.ports, f"{where}.ports", 0, MAX_PORTS)
    if executor:
        if res.cpus < 0.01 or res.mem < 32 or res.disk <= 0:
            raise ConfigurationError(
                "Mesos's default executor needs at least 0.01 cpus, 32 MB of mem and some disk",
                option=where,
            )
        if res.ports or res.gpus:
            raise ConfigurationError("the executor takes no ports nor gpus", option=where)
        return
    if res.cpus <= 0 and res.mem <= 0:
        raise ConfigurationError("a task needs cpus or mem", option=where)
    if res.ports < len(res.fixed_ports):
        raise ConfigurationError(
            f"ports ({res.ports}) must count the {len(res.fixed_ports)} fixed ports too",
            option=f"{where}.ports",
        )
    if len(set(res.fixed_ports)) != len(res.fixed_ports):
        raise ConfigurationError("fixed ports must be unique", option=f"{where}.fixed_ports")
    for port in res.fixed_ports:
        if not 1 <= port <= 65535:
            raise ConfigurationError(f"{port} is not a port", option=f"{where}.fixed_ports")


def _check_raw_numbers(spec: object, parts: tuple[str, ...], where: str) -> None:
    """The numbers inside a spec's raw messages: finite, in range (a health check's seconds too)."""
    for part in parts:
        message = getattr(spec, part)
        if message is not None:
            check_message_numbers(message, f"{where}.{part}", max_scalar=MAX_SCALAR, max_seconds=MAX_SECONDS)


def _check_health(hc: mesos_pb2.HealthCheck, where: str, *, has_ports: bool) -> None:
    for seconds in ("delay_seconds", "interval_seconds", "timeout_seconds", "grace_period_seconds"):
        if hc.HasField(seconds):
            _in_range(getattr(hc, seconds), f"{where}.{seconds}", 0, MAX_SECONDS)
    if not has_ports:
        hc_port: int | None = None
        if hc.type == mesos_pb2.HealthCheck.HTTP:
            hc_port = hc.http.port
        elif hc.type == mesos_pb2.HealthCheck.TCP:
            hc_port = hc.tcp.port
        if hc_port == 0:
            raise ConfigurationError(
                "a health check without a port needs the task to have ports", option=where
            )


def _health_message(value: Any, where: str) -> mesos_pb2.HealthCheck:
    """A health check from a message or a dict (``type`` guessed, a missing port filled at launch)."""
    if isinstance(value, Mapping):
        hc = dict(value)
        if "type" not in hc:
            hc["type"] = next((t for t in ("HTTP", "TCP", "COMMAND") if t.lower() in hc), "HTTP")
        for kind in ("http", "tcp"):
            if isinstance(hc.get(kind), Mapping) and "port" not in hc[kind]:
                # Filled at launch with the first (container) port.
                hc[kind] = {**hc[kind], "port": 0}
        value = hc
    return _message(mesos_pb2.HealthCheck, value, where)


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """One container of a pod: a Mesos task of the pod's task group.

    ``name`` ends the container's task ID (``<pod task ID>.<name>``): letters, digits, ``_`` and
    ``-``. ``command`` runs in the container (a ``container`` with an image may run its
    entrypoint instead); ``health_check`` is this container's (a missing HTTP/TCP port is its
    first host port); ``environment`` is added to its command, after the pod's.
    """

    name: str
    resources: TaskResources
    command: mesos_pb2.CommandInfo | None = None
    container: mesos_pb2.ContainerInfo | None = None
    health_check: mesos_pb2.HealthCheck | None = None
    environment: tuple[tuple[str, str], ...] = ()
    _option: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self._option or f"pod.{self.name}"
        if not isinstance(self.name, str) or not _CONTAINER_NAME.match(self.name):
            raise ConfigurationError(
                "a container name must start with a letter or digit; use letters, digits, _ and - "
                "(at most 63)",
                option=where,
            )
        if not isinstance(self.resources, TaskResources):
            raise ConfigurationError("expected TaskResources", option=f"{where}.resources")
        _check_resources(self.resources, f"{where}.resources")
        if self.command is None and self.container is None:
            raise ConfigurationError("needs a command or a container", option=where)
        if self.command is not None:
            _check_command(self.command, f"{where}.command", container=self.container is not None)
        if self.container is not None and self.container.type == mesos_pb2.ContainerInfo.DOCKER:
            raise ConfigurationError(
                "Mesos runs a pod's containers with its own containerizer: use a MESOS container",
                option=f"{where}.container",
            )
        _check_raw_numbers(self, ("command", "container", "health_check"), where)
        if self.health_check is not None:
            _check_health(self.health_check, f"{where}.health_check", has_ports=self.resources.ports > 0)
        for name, value in self.environment:
            _check_env(name, value, f"{where}.environment.{name}")

    @classmethod
    def from_dict(cls, value: Any, where: str) -> ContainerSpec:
        """A container from a dict: ``name``, ``resources``, ``command``, ``container``,
        ``health_check``, ``environment``."""
        if isinstance(value, ContainerSpec):
            return value
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                f"expected a dict or ContainerSpec, got {type(value).__name__}", option=where
            )
        values: dict[str, Any] = {}
        for key, item in value.items():
            canon = _CONTAINER_ALIASES.get(key)
            if canon is None:
                raise ConfigurationError(
                    f"unknown option; expected one of {', '.join(sorted(set(_CONTAINER_ALIASES.values())))}",
                    option=f"{where}.{key}",
                )
            values[canon] = item
        name = values.get("name")
        if not isinstance(name, str):
            raise ConfigurationError("required: the container's name", option=f"{where}.name")
        kwargs: dict[str, Any] = {"name": name, "_option": where}
        kwargs["resources"] = _resources(values.get("resources"), f"{where}.resources")
        if values.get("command") is not None:
            kwargs["command"] = _message(mesos_pb2.CommandInfo, values["command"], f"{where}.command")
        if values.get("container") is not None:
            kwargs["container"] = _message(mesos_pb2.ContainerInfo, values["container"], f"{where}.container")
        if values.get("health_check") is not None:
            kwargs["health_check"] = _health_message(values["health_check"], f"{where}.health_check")
        if values.get("environment") is not None:
            kwargs["environment"] = _environment(values["environment"], f"{where}.environment")
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class PodSpec:
    """A group of containers launched together (``LAUNCH_GROUP``) on Mesos's default executor.

    The pod is one instance: it is placed, scaled, restarted and replaced as a whole. When a
    container fails or is killed, the executor kills the others (the task group's policy) and the
    instance ends; it is restarted like any task. ``executor_resources`` are the default
    executor's own (Mesos needs some cpus, mem and disk for it), on top of the containers'.
    """

    containers: tuple[ContainerSpec, ...]
    executor_resources: TaskResources = DEFAULT_EXECUTOR_RESOURCES
    _option: str = field(default="pod", repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self._option
        if isinstance(self.containers, ContainerSpec) or not isinstance(self.containers, Sequence):
            raise ConfigurationError("expected a list of ContainerSpec", option=f"{where}.containers")
        containers = tuple(self.containers)
        if not containers:
            raise ConfigurationError("a pod needs at least one container", option=f"{where}.containers")
        seen: set[str] = set()
        for i, c in enumerate(containers):
            if not isinstance(c, ContainerSpec):
                raise ConfigurationError(
                    f"expected a ContainerSpec, got {type(c).__name__}", option=f"{where}.containers[{i}]"
                )
            if c.name in seen:
                raise ConfigurationError(
                    f"two containers named {c.name!r}", option=f"{where}.containers[{i}]"
                )
            seen.add(c.name)
        fixed = [p for c in containers for p in c.resources.fixed_ports]
        if len(set(fixed)) != len(fixed):
            raise ConfigurationError(
                "two containers ask for the same fixed port", option=f"{where}.containers"
            )
        object.__setattr__(self, "containers", containers)
        if not isinstance(self.executor_resources, TaskResources):
            raise ConfigurationError("expected TaskResources", option=f"{where}.executor_resources")
        _check_resources(self.executor_resources, f"{where}.executor_resources", executor=True)

    @property
    def resources(self) -> TaskResources:
        """Everything one pod needs: the executor's resources and every container's."""
        total = self.executor_resources
        for c in self.containers:
            total = total + c.resources
        return total

    def container(self, name: str) -> ContainerSpec | None:
        """The container of this name, if any."""
        return next((c for c in self.containers if c.name == name), None)

    @classmethod
    def from_value(cls, value: Any, where: str) -> PodSpec:
        """A pod from a `PodSpec`, a list of containers, or
        ``{"containers": [...], "executor_resources": {...}}``."""
        if isinstance(value, PodSpec):
            return value
        executor = DEFAULT_EXECUTOR_RESOURCES
        if isinstance(value, Mapping):
            unknown = set(value) - {"containers", "executor_resources", "executorResources"}
            if unknown:
                raise ConfigurationError(
                    "unknown option; expected containers or executor_resources",
                    option=f"{where}.{sorted(unknown)[0]}",
                )
            raw_executor = value.get("executor_resources", value.get("executorResources"))
            if raw_executor is not None:
                executor = _resources(raw_executor, f"{where}.executor_resources")
            value = value.get("containers")
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise ConfigurationError("expected a list of containers", option=f"{where}.containers")
        containers = tuple(
            ContainerSpec.from_dict(item, f"{where}.containers[{i}]") for i, item in enumerate(value)
        )
        return cls(containers, executor, where)


_ALIASES: dict[str, str] = {
    "instances": "instances",
    "priority": "priority",
    "allow_scaling": "allow_scaling",
    "allowScaling": "allow_scaling",
    "command": "command",
    "command_info": "command",
    "commandInfo": "command",
    "container": "container",
    "container_info": "container",
    "containerInfo": "container",
    "executor": "executor",
    "executor_info": "executor",
    "executorInfo": "executor",
    "resources": "resources",
    "port_mappings": "port_mappings",
    "portMappings": "port_mappings",
    "health_check": "health_check",
    "healthCheck": "health_check",
    "health_checks": "health_check",
    "healthChecks": "health_check",
    "labels": "labels",
    "environment": "environment",
    "env": "environment",
    "kill_grace_period": "kill_grace_period",
    "killGracePeriod": "kill_grace_period",
    "constraints": "constraints",
    "pod": "pod",
    "volumes": "volumes",
    "persistent_volumes": "volumes",
    "persistentVolumes": "volumes",
    "reserve": "reserve",
    "keep_volumes_on_scale_down": "keep_volumes_on_scale_down",
    "keepVolumesOnScaleDown": "keep_volumes_on_scale_down",
}
_CONTAINER_ALIASES: dict[str, str] = {
    "name": "name",
    "resources": "resources",
    "command": "command",
    "command_info": "command",
    "commandInfo": "command",
    "container": "container",
    "container_info": "container",
    "containerInfo": "container",
    "health_check": "health_check",
    "healthCheck": "health_check",
    "environment": "environment",
    "env": "environment",
}
_RESOURCE_ALIASES: dict[str, str] = {
    "cpus": "cpus",
    "mem": "mem",
    "disk": "disk",
    "gpus": "gpus",
    "ports": "ports",
    "fixed_ports": "fixed_ports",
    "fixedPorts": "fixed_ports",
    "static_ports": "fixed_ports",
    "staticPorts": "fixed_ports",
}


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task type: its instances, resources and how to run them.

    ``command``, ``container``, ``executor`` and ``health_check`` are Mesos
    messages, passed through to every ``TaskInfo``. ``priority``: lower
    launches first. ``port_mappings`` map the task's host ports, in order, to
    container ports (Docker BRIDGE/USER networks, or a Mesos container's
    first network). ``environment`` is added to every instance's command.
    ``constraints`` limit where instances run (Marathon's operators, see
    `mesos_framework.tasks.constraints`). ``pod`` makes each instance a group of
    containers (a `PodSpec`, or a list of `ContainerSpec`) launched together on Mesos's
    default executor; a pod's resources are its containers' and its executor's, and
    ``command``, ``container``, ``executor``, ``health_check`` and ``port_mappings`` belong
    to its containers instead. ``reserve`` reserves each instance's resources on the agent it
    first runs on (for the framework's role) and relaunches it only there; ``volumes`` (which
    imply ``reserve``) gives each instance persistent volumes on that reservation, kept across
    its relaunches. When an instance is scaled away its volumes are destroyed and its
    resources unreserved, unless ``keep_volumes_on_scale_down`` (then scaling up again reuses
    them).
    """

    name: str
    resources: TaskResources = _NO_RESOURCES
    instances: int = 1
    priority: int = 0
    allow_scaling: bool = False
    command: mesos_pb2.CommandInfo | None = None
    container: mesos_pb2.ContainerInfo | None = None
    executor: mesos_pb2.ExecutorInfo | None = None
    health_check: mesos_pb2.HealthCheck | None = None
    port_mappings: tuple[PortMapping, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    kill_grace_period: float | None = None
    constraints: tuple[Constraint, ...] = ()
    pod: PodSpec | None = None
    volumes: tuple[PersistentVolume, ...] = ()
    reserve: bool = False
    keep_volumes_on_scale_down: bool = False
    _option: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self._option or f"tasks.{self.name}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigurationError(
                "a task type name must start with a letter or digit; use letters, digits and _ . : / -",
                option=where,
            )
        _in_range(self.instances, f"{where}.instances", 0, MAX_INSTANCES)
        if self.volumes or self.reserve:
            self._check_reservation(where)
        if self.pod is not None:
            self._check_pod(where)
            return
        res = self.resources
        if res is _NO_RESOURCES:
            raise ConfigurationError(
                "required: a task's resources (cpus and mem)", option=f"{where}.resources"
            )
        _check_resources(res, f"{where}.resources")
        if self.command is None and self.executor is None and self.container is None:
            raise ConfigurationError("needs a command, a container or an executor", option=where)
        if self.command is not None:
            _check_command(self.command, f"{where}.command", container=self.container is not None)
        if self.executor is not None and self.executor.HasField("command"):
            _check_command(
                self.executor.command,
                f"{where}.executor.command",
                container=self.executor.HasField("container"),
            )
        if self.port_mappings:
            if len(self.port_mappings) != res.ports:
                raise ConfigurationError(
                    f"{len(self.port_mappings)} port mappings for {res.ports} ports; give one per port",
                    option=f"{where}.port_mappings",
                )
            if self.network_mode() not in ("BRIDGE", "USER"):
                raise ConfigurationError(
                    "port mappings need a container on a BRIDGE or USER network",
                    option=f"{where}.port_mappings",
                )
            for i, pm in enumerate(self.port_mappings):
                if not 1 <= pm.container_port <= 65535:
                    raise ConfigurationError(
                        f"{pm.container_port} is not a port", option=f"{where}.port_mappings[{i}].port"
                    )
                if pm.protocol not in _PROTOCOLS:
                    raise ConfigurationError(
                        f"protocol must be one of {', '.join(_PROTOCOLS)}",
                        option=f"{where}.port_mappings[{i}].protocol",
                    )
        _check_raw_numbers(self, ("command", "container", "executor", "health_check"), where)
        if self.health_check is not None:
            _check_health(
                self.health_check,
                f"{where}.health_check",
                has_ports=res.ports > 0 or bool(self.port_mappings),
            )
        self._check_common(where)

    def _check_common(self, where: str) -> None:
        for name, value in self.environment:
            _check_env(name, value, f"{where}.environment.{name}")
        if self.kill_grace_period is not None:
            _in_range(self.kill_grace_period, f"{where}.kill_grace_period", 0, MAX_SECONDS)
        if self.constraints:
            # Placement constraints (tasks/constraints.py); errors name tasks.<type>.constraints[i].
            checked = parse_constraints(self.constraints, f"{where}.constraints")
            object.__setattr__(self, "constraints", checked)

    def _check_reservation(self, where: str) -> None:
        if isinstance(self.volumes, PersistentVolume) or not isinstance(self.volumes, Sequence):
            raise ConfigurationError("expected a list of PersistentVolume", option=f"{where}.volumes")
        volumes = tuple(self.volumes)
        paths: set[str] = set()
        for i, volume in enumerate(volumes):
            if not isinstance(volume, PersistentVolume):
                raise ConfigurationError(
                    f"expected a PersistentVolume, got {type(volume).__name__}",
                    option=f"{where}.volumes[{i}]",
                )
            volume.check(f"{where}.volumes[{i}]")
            if volume.container_path in paths:
                raise ConfigurationError("two volumes at one container_path", option=f"{where}.volumes[{i}]")
            paths.add(volume.container_path)
        object.__setattr__(self, "volumes", volumes)
        if not isinstance(self.reserve, bool):
            raise ConfigurationError("expected true or false", option=f"{where}.reserve")
        object.__setattr__(self, "reserve", True)  # a volume lives on reserved disk
        if self.pod is not None:
            raise ConfigurationError(
                "reservations and volumes are for tasks; a pod cannot have them yet",
                option=f"{where}.volumes",
            )
        if self.executor is not None:
            raise ConfigurationError(
                "reservations and volumes are for command and container tasks, not custom executors",
                option=f"{where}.volumes",
            )

    @property
    def demand(self) -> TaskResources:
        """What placing one instance takes from an offer: its resources and its volumes' disk."""
        if not self.volumes:
            return self.resources
        res = self.resources
        return TaskResources(
            cpus=res.cpus,
            mem=res.mem,
            disk=res.disk + sum(v.size_mb for v in self.volumes),
            gpus=res.gpus,
            ports=res.ports,
            fixed_ports=res.fixed_ports,
        )

    def _check_pod(self, where: str) -> None:
        pod = self.pod
        if isinstance(pod, Sequence) and not isinstance(pod, str | bytes):
            pod = PodSpec(tuple(pod), _option=f"{where}.pod")  # a list of ContainerSpec
            object.__setattr__(self, "pod", pod)
        if not isinstance(pod, PodSpec):
            raise ConfigurationError(
                f"expected a PodSpec or a list of ContainerSpec, got {type(pod).__name__}",
                option=f"{where}.pod",
            )
        for attr in ("command", "container", "executor", "health_check"):
            if getattr(self, attr) is not None:
                raise ConfigurationError(
                    f"a pod's {attr} belongs to its containers (give it on a ContainerSpec)",
                    option=f"{where}.{attr}",
                )
        if self.port_mappings:
            raise ConfigurationError("a pod takes no port mappings", option=f"{where}.port_mappings")
        if self.resources is not _NO_RESOURCES and self.resources != pod.resources:
            raise ConfigurationError(
                "a pod's resources are its containers' and its executor's: give them there",
                option=f"{where}.resources",
            )
        object.__setattr__(self, "resources", pod.resources)
        self._check_common(where)

    @property
    def health_checked(self) -> bool:
        """True when the task (or, for a pod, one of its containers) has a health check."""
        if self.pod is not None:
            return any(c.health_check is not None for c in self.pod.containers)
        return self.health_check is not None

    # -- parsing ------------------------------------------------------------
    @classmethod
    def from_dict(cls, name: str, spec: Mapping[str, Any], *, option: str | None = None) -> TaskSpec:
        """A spec from the seed's option format, e.g. ``{"instances": 2, "commandInfo": {...}, ...}``."""
        where = option or f"tasks.{name}"
        if isinstance(spec, TaskSpec):
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigurationError(f"expected a dict or TaskSpec, got {type(spec).__name__}", option=where)
        values: dict[str, Any] = {}
        for key, value in spec.items():
            canon = _ALIASES.get(key)
            if canon is None:
                raise ConfigurationError(
                    f"unknown option; expected one of {', '.join(sorted(set(_ALIASES.values())))}",
                    option=f"{where}.{key}",
                )
            if canon in values:
                raise ConfigurationError(
                    f"given twice (as {key!r} and another name)", option=f"{where}.{key}"
                )
            values[canon] = value
        kwargs: dict[str, Any] = {"name": name, "_option": where}
        if "instances" in values:
            kwargs["instances"] = int(
                _number(values["instances"], f"{where}.instances", maximum=MAX_INSTANCES, integer=True)
            )
        if "priority" in values:
            kwargs["priority"] = int(
                _number(
                    values["priority"], f"{where}.priority", minimum=-(2**31), maximum=2**31 - 1, integer=True
                )
            )
        if "allow_scaling" in values:
            if not isinstance(values["allow_scaling"], bool):
                raise ConfigurationError("expected true or false", option=f"{where}.allow_scaling")
            kwargs["allow_scaling"] = values["allow_scaling"]
        if values.get("command") is not None:
            kwargs["command"] = _message(mesos_pb2.CommandInfo, values["command"], f"{where}.command")
        if values.get("container") is not None:
            kwargs["container"] = _message(mesos_pb2.ContainerInfo, values["container"], f"{where}.container")
        if values.get("executor") is not None:
            executor = values["executor"]
            if isinstance(executor, Mapping) and not ({"executor_id", "executorId"} & executor.keys()):
                # As the JavaScript library does: each task gets an executor ID at launch (its task ID).
                executor = {**executor, "executor_id": {"value": ""}}
            kwargs["executor"] = _message(mesos_pb2.ExecutorInfo, executor, f"{where}.executor")
        if values.get("health_check") is not None:
            kwargs["health_check"] = _health_message(values["health_check"], f"{where}.health_check")
        if values.get("pod") is not None:
            kwargs["pod"] = PodSpec.from_value(values["pod"], f"{where}.pod")
            if values.get("resources") is not None:
                raise ConfigurationError(
                    "a pod's resources are its containers' and its executor's: give them there",
                    option=f"{where}.resources",
                )
        else:
            kwargs["resources"] = _resources(values.get("resources"), f"{where}.resources")
        if values.get("port_mappings"):
            kwargs["port_mappings"] = _port_mappings(values["port_mappings"], f"{where}.port_mappings")
        if values.get("labels") is not None:
            kwargs["labels"] = _labels(values["labels"], f"{where}.labels")
        if values.get("environment") is not None:
            kwargs["environment"] = _environment(values["environment"], f"{where}.environment")
        if values.get("kill_grace_period") is not None:
            kwargs["kill_grace_period"] = _number(
                values["kill_grace_period"], f"{where}.kill_grace_period", maximum=MAX_SECONDS
            )
        if values.get("constraints") is not None:
            kwargs["constraints"] = parse_constraints(values["constraints"], f"{where}.constraints")
        if values.get("volumes") is not None:
            raw = values["volumes"]
            if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
                raise ConfigurationError("expected a list of volumes", option=f"{where}.volumes")
            kwargs["volumes"] = tuple(
                PersistentVolume.from_value(v, f"{where}.volumes[{i}]") for i, v in enumerate(raw)
            )
        for flag in ("reserve", "keep_volumes_on_scale_down"):
            if flag in values:
                if not isinstance(values[flag], bool):
                    raise ConfigurationError("expected true or false", option=f"{where}.{flag}")
                kwargs[flag] = values[flag]
        return cls(**kwargs)

    # -- derived ------------------------------------------------------------
    def network_mode(self) -> str:
        """``HOST``, ``BRIDGE``, ``USER`` or ``NONE`` for the task's container."""
        c = self.container
        if c is None:
            return "HOST"
        if c.type == mesos_pb2.ContainerInfo.DOCKER and c.HasField("docker"):
            return str(mesos_pb2.ContainerInfo.DockerInfo.Network.Name(c.docker.network))
        if c.network_infos:
            return "USER"
        return "HOST"

    def instance_name(self, serial: int) -> str:
        """The instance name, ``<type>-<serial>``."""
        return f"{self.name}-{serial}"

    def new_task_id(self, framework_name: str, serial: int) -> str:
        """A fresh, unique task ID from which the type and serial can be recovered."""
        return f"{framework_name}.{id_safe(self.name)}-{serial}.{uuid.uuid4().hex}"

    def template(self) -> mesos_pb2.TaskInfo:
        """The parts of every instance's ``TaskInfo`` that do not depend on the offer."""
        info = mesos_pb2.TaskInfo()
        if self.command is not None:
            info.command.CopyFrom(self.command)
        if self.container is not None:
            info.container.CopyFrom(self.container)
            if self.command is None and self.executor is None:
                # A container task without a command runs the image's entrypoint.
                info.command.shell = False
        if self.executor is not None:
            info.executor.CopyFrom(self.executor)
        if self.health_check is not None:
            info.health_check.CopyFrom(self.health_check)
        for key, value in self.labels:
            info.labels.labels.add(key=key, value=value)
        if self.kill_grace_period is not None:
            info.kill_policy.grace_period.nanoseconds = int(self.kill_grace_period * 1e9)
        return info


def _resources(value: Any, where: str) -> TaskResources:
    if isinstance(value, TaskResources):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError("required: a dict with at least cpus and mem", option=where)
    vals: dict[str, Any] = {}
    for key, v in value.items():
        canon = _RESOURCE_ALIASES.get(key)
        if canon is None:
            raise ConfigurationError(
                f"unknown resource; expected one of {', '.join(sorted(set(_RESOURCE_ALIASES.values())))}",
                option=f"{where}.{key}",
            )
        vals[canon] = v
    for required in ("cpus", "mem"):
        if required not in vals:
            raise ConfigurationError("required", option=f"{where}.{required}")
    fixed_raw = vals.get("fixed_ports") or []
    if not isinstance(fixed_raw, Sequence) or isinstance(fixed_raw, str):
        raise ConfigurationError("expected a list of port numbers", option=f"{where}.fixed_ports")
    fixed = tuple(
        int(_number(p, f"{where}.fixed_ports[{i}]", maximum=math.inf, integer=True))
        for i, p in enumerate(fixed_raw)
    )
    ports = (
        int(_number(vals["ports"], f"{where}.ports", maximum=MAX_PORTS, integer=True))
        if vals.get("ports") is not None
        else len(fixed)
    )
    return TaskResources(
        cpus=_number(vals["cpus"], f"{where}.cpus"),
        mem=_number(vals["mem"], f"{where}.mem"),
        disk=_number(vals.get("disk", 0) or 0, f"{where}.disk"),
        gpus=_number(vals.get("gpus", 0) or 0, f"{where}.gpus", integer=True),
        ports=ports,
        fixed_ports=fixed,
    )


def _environment(env: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ConfigurationError("expected a dict of strings", option=where)
    return tuple(env.items())


def _port_mappings(value: Any, where: str) -> tuple[PortMapping, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigurationError("expected a list of {port, protocol}", option=where)
    out = []
    for i, item in enumerate(value):
        if isinstance(item, PortMapping):
            out.append(item)
            continue
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(PortMapping(item))
            continue
        if not isinstance(item, Mapping):
            raise ConfigurationError("expected {port, protocol}", option=f"{where}[{i}]")
        port = item.get("container_port", item.get("port"))
        if port is None:
            raise ConfigurationError("required", option=f"{where}[{i}].port")
        proto = item.get("protocol", "tcp")
        if not isinstance(proto, str):
            raise ConfigurationError("expected a string", option=f"{where}[{i}].protocol")
        out.append(PortMapping(int(_number(port, f"{where}[{i}].port", integer=True)), proto.lower()))
    return tuple(out)


def _labels(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, mesos_pb2.Labels):
        return tuple((label.key, label.value) for label in value.labels)
    if isinstance(value, Mapping):
        if "labels" in value and isinstance(value["labels"], list):
            return _labels(value["labels"], where)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ConfigurationError("expected a dict of strings", option=where)
        return tuple(value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                raise ConfigurationError("expected {key, value}", option=f"{where}[{i}]")
            out.append((item["key"], str(item.get("value", ""))))
        return tuple(out)
    raise ConfigurationError("expected a dict, a list of {key, value} or mesos.Labels", option=where)
