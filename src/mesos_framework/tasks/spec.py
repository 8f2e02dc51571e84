"""Task specs: what to run, how many, with which resources.

A `TaskSpec` describes one task *type* (``web``) whose instances are
named ``web-1`` ... ``web-N``. Build it directly or with
`TaskSpec.from_dict()` from the seed's option format (camelCase or
snake_case keys); every error names the option path, such as
``tasks.web.resources.cpus``. A pod's containers and an instance's persistent
volumes are specs of their own, in `mesos_framework.tasks.pods`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks._checks import (
    MAX_PORTS,
    MAX_SCALAR,
    MAX_SECONDS,
    check_command,
    check_env,
    check_health,
    check_raw_numbers,
    check_resources,
    health_message,
    in_range,
    message,
    number,
    parse_environment,
    parse_resources,
)
from mesos_framework.tasks.constraints import Constraint, parse_constraints
from mesos_framework.tasks.pods import ContainerSpec, PersistentVolume, PodSpec
from mesos_framework.tasks.resources import TaskResources

# Defined elsewhere but still importable from here, as before the pod and volume specs moved
# out: MAX_PORTS, MAX_SCALAR (tasks._checks), ContainerSpec, PersistentVolume, PodSpec
# (tasks.pods) and TaskResources (tasks.resources).
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

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_PROTOCOLS = ("tcp", "udp", "sctp")

#: The most instances one task type may have (each waits in memory until launched).
MAX_INSTANCES = 10_000


@functools.lru_cache(maxsize=1024)  # asked for at every launch
def serial_env_name(type_name: str) -> str:
    """The serial-number variable of a type: ``my-db`` gives ``TASK_MY_DB_SERIAL_NUMBER``."""
    return "TASK_" + re.sub(r"[^A-Za-z0-9_]", "_", type_name).upper() + "_SERIAL_NUMBER"


def _uuid4_hex() -> str:
    """``uuid.uuid4().hex`` without building the `UUID` object (a third of its cost, at every launch)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


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


#: Stands for "not given" (a pod's resources are its containers' and its executor's).
_NO_RESOURCES = TaskResources(cpus=0.0, mem=0.0)


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
        in_range(self.instances, f"{where}.instances", 0, MAX_INSTANCES)
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
        check_resources(res, f"{where}.resources")
        if self.command is None and self.executor is None and self.container is None:
            raise ConfigurationError("needs a command, a container or an executor", option=where)
        if self.command is not None:
            check_command(self.command, f"{where}.command", container=self.container is not None)
        if self.executor is not None and self.executor.HasField("command"):
            check_command(
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
        check_raw_numbers(self, ("command", "container", "executor", "health_check"), where)
        if self.health_check is not None:
            check_health(
                self.health_check,
                f"{where}.health_check",
                has_ports=res.ports > 0 or bool(self.port_mappings),
            )
        self._check_common(where)

    def _check_common(self, where: str) -> None:
        for name, value in self.environment:
            check_env(name, value, f"{where}.environment.{name}")
        if self.kill_grace_period is not None:
            in_range(self.kill_grace_period, f"{where}.kill_grace_period", 0, MAX_SECONDS)
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
                number(values["instances"], f"{where}.instances", maximum=MAX_INSTANCES, integer=True)
            )
        if "priority" in values:
            kwargs["priority"] = int(
                number(
                    values["priority"], f"{where}.priority", minimum=-(2**31), maximum=2**31 - 1, integer=True
                )
            )
        if "allow_scaling" in values:
            if not isinstance(values["allow_scaling"], bool):
                raise ConfigurationError("expected true or false", option=f"{where}.allow_scaling")
            kwargs["allow_scaling"] = values["allow_scaling"]
        if values.get("command") is not None:
            kwargs["command"] = message(mesos_pb2.CommandInfo, values["command"], f"{where}.command")
        if values.get("container") is not None:
            kwargs["container"] = message(mesos_pb2.ContainerInfo, values["container"], f"{where}.container")
        if values.get("executor") is not None:
            executor = values["executor"]
            if isinstance(executor, Mapping) and not ({"executor_id", "executorId"} & executor.keys()):
                # As the JavaScript library does: each task gets an executor ID at launch (its task ID).
                executor = {**executor, "executor_id": {"value": ""}}
            kwargs["executor"] = message(mesos_pb2.ExecutorInfo, executor, f"{where}.executor")
        if values.get("health_check") is not None:
            kwargs["health_check"] = health_message(values["health_check"], f"{where}.health_check")
        if values.get("pod") is not None:
            kwargs["pod"] = PodSpec.from_value(values["pod"], f"{where}.pod")
            if values.get("resources") is not None:
                raise ConfigurationError(
                    "a pod's resources are its containers' and its executor's: give them there",
                    option=f"{where}.resources",
                )
        else:
            kwargs["resources"] = parse_resources(values.get("resources"), f"{where}.resources")
        if values.get("port_mappings"):
            kwargs["port_mappings"] = _port_mappings(values["port_mappings"], f"{where}.port_mappings")
        if values.get("labels") is not None:
            kwargs["labels"] = _labels(values["labels"], f"{where}.labels")
        if values.get("environment") is not None:
            kwargs["environment"] = parse_environment(values["environment"], f"{where}.environment")
        if values.get("kill_grace_period") is not None:
            kwargs["kill_grace_period"] = number(
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
        return f"{framework_name}.{id_safe(self.name)}-{serial}.{_uuid4_hex()}"

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
        out.append(PortMapping(int(number(port, f"{where}[{i}].port", integer=True)), proto.lower()))
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
