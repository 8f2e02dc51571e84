"""Differences between the protobuf releases the package supports.

`FieldDescriptor.is_repeated` and `is_required` came with protobuf 6.31 and
`FieldDescriptor.label` went away in protobuf 7; the floor of the dependency is
older than both (the floors job, scripts/test-floors, runs the tests on it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

__all__ = ["is_repeated", "is_required"]


def _by_label(label: int) -> Callable[[Any], bool]:  # pragma: no cover - protobuf < 6.31 (floors job)
    def check(fd: Any) -> bool:
        return bool(fd.label == label)

    return check


def _by_attribute(name: str) -> Callable[[Any], bool]:
    def check(fd: Any) -> bool:
        return bool(getattr(fd, name))

    return check


if hasattr(FieldDescriptor, "is_repeated"):
    is_repeated = _by_attribute("is_repeated")
    is_required = _by_attribute("is_required")
else:  # pragma: no cover - protobuf < 6.31 (the floors job)
    is_repeated = _by_label(FieldDescriptor.LABEL_REPEATED)
    is_required = _by_label(FieldDescriptor.LABEL_REQUIRED)
