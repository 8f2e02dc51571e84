"""Hypothesis strategies that generate any Mesos message from its descriptor."""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from mesos_framework.protocol._compat import is_repeated, is_required
from mesos_framework.protocol._helpers import iter_message_classes
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2, scheduler_pb2

ALL_MESSAGE_CLASSES: list[type[Message]] = iter_message_classes(mesos_pb2, scheduler_pb2, executor_pb2)

_INT_BOUNDS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}
MAX_DEPTH = 3


def _scalar(fd: Any) -> st.SearchStrategy[Any]:
    t = fd.type
    if t == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=6)
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=6)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_DOUBLE:
        return st.floats(allow_nan=False)
    if t in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[t]
        return st.integers(min_value=lo, max_value=hi)
    if t == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in fd.enum_type.values])
    raise AssertionError(f"unexpected type {t} of {fd.full_name}")


@cache
def message_kwargs(desc: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Constructor keyword arguments for a message; required fields always present."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for fd in desc.fields:
        is_message = fd.type == FieldDescriptor.TYPE_MESSAGE
        if is_message and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            if depth >= MAX_DEPTH and value_fd.type == FieldDescriptor.TYPE_MESSAGE:
                continue
            value = (
                st.deferred(lambda d=value_fd.message_type, n=depth: message_kwargs(d, n + 1))  # type: ignore[misc]
                if value_fd.type == FieldDescriptor.TYPE_MESSAGE
                else _scalar(value_fd)
            )
            optional[fd.name] = st.dictionaries(st.text(max_size=4), value, max_size=2)
            continue
        if is_message:
            if depth >= MAX_DEPTH and not is_required(fd):
                continue
            strategy: st.SearchStrategy[Any] = st.deferred(
                lambda d=fd.message_type, n=depth: message_kwargs(d, n + 1)  # type: ignore[misc]
            )
        else:
            strategy = _scalar(fd)
        if is_repeated(fd):
            strategy = st.lists(strategy, max_size=2)
        if is_required(fd):
            required[fd.name] = strategy
        else:
            optional[fd.name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def messages(cls: type[Message]) -> st.SearchStrategy[Message]:
    """Initialized messages of ``cls``."""
    return message_kwargs(cls.DESCRIPTOR).map(lambda kw: cls(**kw))
