"""Bounds on what clients may send the local cluster (issue 15: never a 500, every size bounded).

* Request bodies: at most `MAX_BODY` bytes; a larger one is answered
  ``413 Request Entity Too Large`` before it is read into memory.  Real Mesos sets no limit of
  its own (libprocess reads any body; a 50 MB framework name left it without an answer for
  30 s), so the bound is the local cluster's: generous for any real call (an ACCEPT of a
  thousand tasks is about 1 MB) and small enough that one request cannot balloon the process.
  Names, labels and every other string live inside a body, so they are bounded with it.
* Scalar resource values: Mesos keeps scalars in fixed point (thousandths, in an ``int64``)
  after ``llround(value * 1000)``; a value whose thousandths do not fit, or NaN, comes out as
  ``INT64_MIN`` there, and the task fails validation (``TASK_ERROR``, ``REASON_TASK_INVALID``)
  with a 202 for the call.  `fixed_point()` does the same conversion without raising, and
  `scalar_problem()` refuses such values (and negative or non-finite ones) up front.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["INT64_MIN", "MAX_BODY", "fixed_point", "resources_problem", "scalar_problem"]

MAX_BODY = 8 * 1024 * 1024
"""Largest request body the local cluster reads, in bytes."""

INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def fixed_point(value: float) -> int:
    """``value`` in thousandths, as Mesos converts it; ``INT64_MIN`` when that does not fit."""
    thousandths = value * 1000
    if not math.isfinite(thousandths) or not INT64_MIN <= thousandths <= _INT64_MAX:
        return INT64_MIN
    return round(thousandths)


def scalar_problem(value: float) -> str | None:
    """Why a scalar resource value is invalid, or None."""
    if math.isnan(value):
        return "value is NaN"
    if value < 0:
        return "value < 0"
    if fixed_point(value) == INT64_MIN:
        return f"value {value!r} is out of range"
    return None


def resources_problem(resources: Iterable[mesos_pb2.Resource]) -> str | None:
    """Why a list of resources given by a client is invalid (its scalars), or None."""
    for r in resources:
        if r.type == mesos_pb2.Value.SCALAR:
            problem = scalar_problem(r.scalar.value)
            if problem is not None:
                return f"Task uses invalid resources: Invalid scalar resource {r.name}: {problem}"
    return None
