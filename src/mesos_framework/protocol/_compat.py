"""Differences between the protobuf releases the package supports.

`FieldDescriptor.is_repeated` came with protobuf 6.31 and `FieldDescriptor.label`
went away in protobuf 7; the floor of the dependency is older than both (the
floors job of scripts/test runs the tests on it).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor

__all__ = ["is_repeated"]


def _is_repeated_attribute(fd: Any) -> bool:
    return bool(fd.is_repeated)


def _is_repeated_label(fd: Any) -> bool:  # pragma: no cover - protobuf < 6.31 (the floors job)
    return bool(fd.label == FieldDescriptor.LABEL_REPEATED)


is_repeated = _is_repeated_attribute if hasattr(FieldDescriptor, "is_repeated") else _is_repeated_label
"""Whether a field is repeated (a list, or a map)."""
