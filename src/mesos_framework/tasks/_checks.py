"""The checks and parsers that task specs and pod specs share.

Each raises `ConfigurationError` naming the option path of the bad value (such as
``tasks.web.resources.cpus``); `mesos_framework.tasks.spec` and
`mesos_framework.tasks.pods` build on them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message

from mesos_framework import protocol as _protocol
from mesos_framework.errors import ConfigurationError, MessageError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks._numbers import check_message_numbers
from mesos_framework.tasks.resources import TaskResources

__all__ = [
    "MAX_PORTS",
    "MAX_SCALAR",
    "MAX_SECONDS",
    "RESOURCE_ALIASES",
    "check_command",
    "check_env",
    "check_health",
    "check_raw_numbers",
    "check_resources",
    "health_message",
    "in_range",
    "message",
    "number",
    "parse_environment",
    "parse_resources",
]

M = TypeVar("M", bound=Message)

#: The most host ports one task may ask for (there are no more on any host).
MAX_PORTS = 65_535
#: The largest scalar resource (cpus, mem, disk, gpus) a task may ask for. Mesos keeps scalars as
#: 64-bit fixed-point numbers with three decimals, so about 9.2e12 is its own limit.
MAX_SCALAR = 1e12
#: The longest duration (seconds, about 31 years) a spec or option may give.
MAX_SECONDS = 1e9


def message(cls: type[M], value: Any, option: str) -> M:
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


def number(
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
    in_range(value, option, minimum, maximum)
    return float(value)


def in_range(value: float, option: str, minimum: float, maximum: float) -> None:
    """A finite number within ``[minimum, maximum]``, else `ConfigurationError` naming ``option``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"must be a finite number, got {value!r}", option=option)
    if value < minimum:
        raise ConfigurationError(f"must be at least {minimum:g}, got {value!r}", option=option)
    if value > maximum:
        raise ConfigurationError(f"must be at most {maximum:g}, got {value!r}", option=option)


def check_command(command: mesos_pb2.CommandInfo, option: str, *, container: bool) -> None:
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
        check_env(var.name, var.value, f"{option}.environment.variables[{i}]")


def check_env(name: str, value: str, option: str) -> None:
    if not name or "=" in name or "\0" in name:
        raise ConfigurationError(
            f"an environment variable name must be non-empty, without '=' or NUL, got {name!r}",
            option=option,
        )
    if "\0" in value:
        raise ConfigurationError(f"the value of {name} must not contain a NUL character", option=option)


def check_resources(res: TaskResources, where: str, *, executor: bool = False) -> None:
    for field_name in ("cpus", "mem", "disk", "gpus"):
        in_range(getattr(res, field_name), f"{where}.{field_name}", 0, MAX_SCALAR)
    in_range(res.ports, f"{where}.ports", 0, MAX_PORTS)
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


def check_raw_numbers(spec: object, parts: tuple[str, ...], where: str) -> None:
    """The numbers inside a spec's raw messages: finite, in range (a health check's seconds too)."""
    for part in parts:
        message = getattr(spec, part)
        if message is not None:
            check_message_numbers(message, f"{where}.{part}", max_scalar=MAX_SCALAR, max_seconds=MAX_SECONDS)


def check_health(hc: mesos_pb2.HealthCheck, where: str, *, has_ports: bool) -> None:
    for seconds in ("delay_seconds", "interval_seconds", "timeout_seconds", "grace_period_seconds"):
        if hc.HasField(seconds):
            in_range(getattr(hc, seconds), f"{where}.{seconds}", 0, MAX_SECONDS)
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


def health_message(value: Any, where: str) -> mesos_pb2.HealthCheck:
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
    return message(mesos_pb2.HealthCheck, value, where)


def parse_resources(value: Any, where: str) -> TaskResources:
    if isinstance(value, TaskResources):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError("required: a dict with at least cpus and mem", option=where)
    vals: dict[str, Any] = {}
    for key, v in value.items():
        canon = RESOURCE_ALIASES.get(key)
        if canon is None:
            raise ConfigurationError(
                f"unknown resource; expected one of {', '.join(sorted(set(RESOURCE_ALIASES.values())))}",
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
        int(number(p, f"{where}.fixed_ports[{i}]", maximum=math.inf, integer=True))
        for i, p in enumerate(fixed_raw)
    )
    ports = (
        int(number(vals["ports"], f"{where}.ports", maximum=MAX_PORTS, integer=True))
        if vals.get("ports") is not None
        else len(fixed)
    )
    return TaskResources(
        cpus=number(vals["cpus"], f"{where}.cpus"),
        mem=number(vals["mem"], f"{where}.mem"),
        disk=number(vals.get("disk", 0) or 0, f"{where}.disk"),
        gpus=number(vals.get("gpus", 0) or 0, f"{where}.gpus", integer=True),
        ports=ports,
        fixed_ports=fixed,
    )


def parse_environment(env: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ConfigurationError("expected a dict of strings", option=where)
    return tuple(env.items())


RESOURCE_ALIASES: dict[str, str] = {
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
