"""Pods and persistent volumes: the parts of a task spec that are more than one task.

A `PodSpec` makes each instance of a task type a group of containers (each a
`ContainerSpec`) launched together on Mesos's default executor; a
`PersistentVolume` gives each instance reserved disk that outlives its tasks.
Both are given on a `mesos_framework.tasks.TaskSpec` (``pod``, ``volumes``), and
every error names the option path, such as ``tasks.web.pod.containers[0].name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks._checks import (
    MAX_SCALAR,
    check_command,
    check_env,
    check_health,
    check_raw_numbers,
    check_resources,
    health_message,
    in_range,
    message,
    parse_environment,
    parse_resources,
)
from mesos_framework.tasks.resources import TaskResources

__all__ = ["DEFAULT_EXECUTOR_RESOURCES", "ContainerSpec", "PersistentVolume", "PodSpec"]

#: A pod container's name: it ends its Mesos task ID (``<pod task ID>.<name>``), so no dots.
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_VOLUME_MODES = ("RW", "RO")
#: What Mesos's default executor of a pod needs by default (its minimum: 0.01 cpus, 32 MB).
DEFAULT_EXECUTOR_RESOURCES = TaskResources(cpus=0.1, mem=32.0, disk=10.0)


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
        in_range(self.size_mb, f"{where}.size_mb", 0, MAX_SCALAR)
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
        check_resources(self.resources, f"{where}.resources")
        if self.command is None and self.container is None:
            raise ConfigurationError("needs a command or a container", option=where)
        if self.command is not None:
            check_command(self.command, f"{where}.command", container=self.container is not None)
        if self.container is not None and self.container.type == mesos_pb2.ContainerInfo.DOCKER:
            raise ConfigurationError(
                "Mesos runs a pod's containers with its own containerizer: use a MESOS container",
                option=f"{where}.container",
            )
        check_raw_numbers(self, ("command", "container", "health_check"), where)
        if self.health_check is not None:
            check_health(self.health_check, f"{where}.health_check", has_ports=self.resources.ports > 0)
        for name, value in self.environment:
            check_env(name, value, f"{where}.environment.{name}")

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
        kwargs["resources"] = parse_resources(values.get("resources"), f"{where}.resources")
        if values.get("command") is not None:
            kwargs["command"] = message(mesos_pb2.CommandInfo, values["command"], f"{where}.command")
        if values.get("container") is not None:
            kwargs["container"] = message(mesos_pb2.ContainerInfo, values["container"], f"{where}.container")
        if values.get("health_check") is not None:
            kwargs["health_check"] = health_message(values["health_check"], f"{where}.health_check")
        if values.get("environment") is not None:
            kwargs["environment"] = parse_environment(values["environment"], f"{where}.environment")
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
        check_resources(self.executor_resources, f"{where}.executor_resources", executor=True)

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
                executor = parse_resources(raw_executor, f"{where}.executor_resources")
            value = value.get("containers")
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise ConfigurationError("expected a list of containers", option=f"{where}.containers")
        containers = tuple(
            ContainerSpec.from_dict(item, f"{where}.containers[{i}]") for i, item in enumerate(value)
        )
        return cls(containers, executor, where)


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
