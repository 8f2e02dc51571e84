"""The numbers inside raw Mesos messages a user passes (an `ExecutorInfo`, a `HealthCheck`, ...).

A task spec's own numbers (`cpus`, `instances`, ...) are checked where they are
parsed; a raw message given whole (as a protobuf message or a Mesos-JSON dict)
carries numbers of its own: the resources of an executor, a health check's
intervals. Each is checked here, and a bad one raises `ConfigurationError`
naming its field by its path (``tasks.web.executor.resources[0].scalar.value``):

- every ``float``/``double`` field is finite;
- a scalar resource is in ``[0, max_scalar]``; a resource's ranges have
  ``begin <= end``;
- a ``*_seconds`` field is in ``[0, max_seconds]``; a `DurationInfo` is not
  negative.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._compat import is_repeated

__all__ = ["check_message_numbers"]

_FLOATS = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)


def check_message_numbers(message: Message, option: str, *, max_scalar: float, max_seconds: float) -> None:
    """Raise `ConfigurationError` naming the first number of ``message`` out of range."""
    name = message.DESCRIPTOR.full_name.rpartition("mesos.v1.")[2]  # "Resource", "Value.Range"
    msg: Any = message
    if name == "Resource" and msg.HasField("scalar"):
        value = msg.scalar.value
        if math.isfinite(value) and not 0 <= value <= max_scalar:
            raise ConfigurationError(
                f"a resource's amount must be in [0, {max_scalar:g}], got {value!r}",
                option=f"{option}.scalar.value",
            )
    if name == "Value.Range":
        begin, end = msg.begin, msg.end
        if begin > end:
            raise ConfigurationError(
                f"a range must not end before it begins, got [{begin}, {end}]", option=option
            )
    if name == "DurationInfo" and msg.nanoseconds < 0:
        raise ConfigurationError(
            f"a duration must not be negative, got {msg.nanoseconds!r}", option=f"{option}.nanoseconds"
        )
    for field, value in message.ListFields():
        where = f"{option}.{field.name}"
        if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            if is_repeated(field):
                for i, item in enumerate(value):
                    check_message_numbers(
                        item, f"{where}[{i}]", max_scalar=max_scalar, max_seconds=max_seconds
                    )
            else:
                check_message_numbers(value, where, max_scalar=max_scalar, max_seconds=max_seconds)
            continue
        items = list(value) if is_repeated(field) else [value]
        for i, item in enumerate(items):
            at = f"{where}[{i}]" if is_repeated(field) else where
            if field.type in _FLOATS and not math.isfinite(item):
                raise ConfigurationError(f"must be a finite number, got {item!r}", option=at)
            seconds = field.name.endswith("_seconds") and isinstance(item, int | float)
            if seconds and not isinstance(item, bool) and not 0 <= item <= max_seconds:
                raise ConfigurationError(f"must be in [0, {max_seconds:g}] seconds, got {item!r}", option=at)
