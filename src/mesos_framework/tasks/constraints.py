"""Placement constraints: Marathon's operators on hostname and agent attributes.

A task spec's ``constraints`` limit the agents its instances may run on, the
way Marathon's do. Each constraint is ``[field, OPERATOR]`` or
``[field, OPERATOR, value]``; ``field`` is ``hostname`` (the offer's; also
``@hostname``), ``@region`` or ``@zone`` (the agent's fault domain) or the name
of an agent attribute:

* ``UNIQUE``: at most one instance per value (``["hostname", "UNIQUE"]``).
* ``CLUSTER``: every instance on the same value (``["rack", "CLUSTER", "r1"]``);
  without a value, on the value of the first instance placed.
* ``GROUP_BY``: spread evenly over the values; with a count, over at least that
  many values before any value gets a second instance more than another.
* ``LIKE`` / ``UNLIKE``: the value must (not) match a regular expression, in
  full. An agent without the attribute is not ``LIKE`` anything.
* ``MAX_PER``: at most ``count`` instances per value.
* ``IS``: the value must be exactly this.

Attribute values are compared as Marathon renders them: ``TEXT`` as is,
``SCALAR`` rounded to thousandths (half-even) without trailing zeros
(``2.50`` is ``2.5``), ``RANGES`` as ``[1-5,8-9]`` and ``SET`` as ``{a,b}``
(sorted). Only ``UNLIKE`` accepts an agent that lacks the attribute.

`ConstraintTracker` counts, per constraint, the instances of one task type on
each value; it is built once per round of offers from the tasks already
placed and updated with each launch of the round, so checking an offer costs
``O(constraints)`` however many tasks run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2

__all__ = [
    "OPERATORS",
    "Constraint",
    "ConstraintTracker",
    "attribute_value",
    "offer_values",
    "parse_constraints",
]

#: Operator -> its value: "none", "optional", "required", "count" or "optional-count".
OPERATORS: dict[str, str] = {
    "UNIQUE": "none",
    "CLUSTER": "optional",
    "GROUP_BY": "optional-count",
    "LIKE": "required",
    "UNLIKE": "required",
    "MAX_PER": "count",
    "IS": "required",
}

#: An agent's placement values: ``hostname`` and its attributes, rendered as strings.
Placement = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Constraint:
    """One placement constraint; build it with `parse_constraints` (or directly, validated)."""

    field: str
    operator: str
    value: str | None = None
    _pattern: re.Pattern[str] | None = _field(default=None, repr=False, compare=False)
    _count: int = _field(default=0, repr=False, compare=False)
    _option: str = _field(default="constraints", repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self._option
        if not isinstance(self.field, str) or not self.field:
            raise ConfigurationError(
                "the field must be a non-empty string (hostname or an attribute)", option=where
            )
        kind = OPERATORS.get(self.operator)
        if kind is None:
            raise ConfigurationError(
                f"unknown operator {self.operator!r}; expected one of {', '.join(OPERATORS)}", option=where
            )
        value = self.value
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"the value must be a string, got {value!r}", option=where)
        if kind == "none" and value is not None:
            raise ConfigurationError(f"{self.operator} takes no value, got {value!r}", option=where)
        if kind in ("required", "count") and value is None:
            what = "a count" if kind == "count" else "a value"
            raise ConfigurationError(f"{self.operator} needs {what}", option=where)
        if kind in ("count", "optional-count") and value is not None:
            if not value.isdigit() or int(value) < 1:
                raise ConfigurationError(
                    f"{self.operator} needs a whole number of at least 1, got {value!r}", option=where
                )
            object.__setattr__(self, "_count", int(value))
        if self.operator in ("LIKE", "UNLIKE"):
            assert value is not None
            try:
                object.__setattr__(self, "_pattern", re.compile(value))
            except re.error as exc:
                raise ConfigurationError(
                    f"not a valid regular expression {value!r}: {exc}", option=where
                ) from exc

    @property
    def count(self) -> int:
        """The count of ``MAX_PER`` and ``GROUP_BY`` (0 when none was given)."""
        return self._count

    def to_list(self) -> list[str]:
        """Marathon's JSON form, ``[field, OPERATOR]`` or ``[field, OPERATOR, value]``."""
        return [self.field, self.operator] if self.value is None else [self.field, self.operator, self.value]


def parse_constraints(value: Any, where: str) -> tuple[Constraint, ...]:
    """Constraints from Marathon's JSON form or dicts; errors name ``<where>[i]``.

    Each item is ``[field, OPERATOR]``, ``[field, OPERATOR, value]``, a dict
    ``{"field": ..., "operator": ..., "value": ...}`` or a `Constraint`. Counts
    may be given as numbers.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigurationError(
            'expected a list of constraints such as [["hostname", "UNIQUE"]]', option=where
        )
    out: list[Constraint] = []
    for i, item in enumerate(value):
        option = f"{where}[{i}]"
        if isinstance(item, Constraint):
            out.append(Constraint(item.field, item.operator, item.value, _option=option))
            continue
        if isinstance(item, Mapping):
            unknown = set(item) - {"field", "operator", "value"}
            if unknown:
                raise ConfigurationError(
                    f"unknown key {sorted(unknown)[0]!r}; expected field, operator and value", option=option
                )
            if "field" not in item or "operator" not in item:
                raise ConfigurationError("needs a field and an operator", option=option)
            parts: list[Any] = [item["field"], item["operator"]]
            if item.get("value") is not None:
                parts.append(item["value"])
        elif isinstance(item, Sequence) and not isinstance(item, str | bytes):
            parts = list(item)
            if not 2 <= len(parts) <= 3:
                raise ConfigurationError(
                    f"expected [field, OPERATOR] or [field, OPERATOR, value], got {len(parts)} items",
                    option=option,
                )
        else:
            raise ConfigurationError(
                f"expected [field, OPERATOR, value] or a dict, got {type(item).__name__}", option=option
            )
        operator = parts[1]
        if not isinstance(operator, str):
            raise ConfigurationError(f"the operator must be a string, got {operator!r}", option=option)
        raw: Any = parts[2] if len(parts) == 3 else None
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        out.append(Constraint(parts[0], operator.upper(), raw, _option=option))
    return tuple(out)


# ---------------------------------------------------------------------------- values
_THOUSANDTH = Decimal("0.001")


def _scalar(number: float) -> str:
    if not math.isfinite(number):
        return repr(number)
    text = format(Decimal(repr(number)).quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def attribute_value(attribute: mesos_pb2.Attribute) -> str:
    """An attribute's value as Marathon compares it (``TEXT``, ``SCALAR``, ``RANGES``, ``SET``)."""
    kind = attribute.type
    if kind == mesos_pb2.Value.SCALAR:
        return _scalar(attribute.scalar.value)
    if kind == mesos_pb2.Value.RANGES:
        spans = sorted((r.begin, r.end) for r in attribute.ranges.range)
        return "[" + ",".join(f"{b}-{e}" for b, e in spans) + "]"
    if kind == mesos_pb2.Value.SET:
        return "{" + ",".join(sorted(attribute.set.item)) + "}"
    return str(attribute.text.value)


def offer_values(offer: mesos_pb2.Offer) -> dict[str, str]:
    """An offer's placement values: its attributes, ``hostname`` and ``@hostname``, and
    ``@region`` / ``@zone`` from the agent's fault domain (as Marathon names them)."""
    values = {attr.name: attribute_value(attr) for attr in offer.attributes}
    values["hostname"] = values["@hostname"] = offer.hostname
    if offer.HasField("domain") and offer.domain.HasField("fault_domain"):
        values["@region"] = offer.domain.fault_domain.region.name
        values["@zone"] = offer.domain.fault_domain.zone.name
    return values


# ---------------------------------------------------------------------------- checking
class _Counts:
    """Instances per value of one constraint's field, with the smallest non-zero count in O(1)."""

    __slots__ = ("by_value", "histogram", "minimum", "total")

    def __init__(self) -> None:
        self.by_value: dict[str | None, int] = {}
        #: count -> how many values have that count.
        self.histogram: dict[int, int] = {}
        self.minimum = 0
        self.total = 0

    def add(self, value: str | None) -> None:
        before = self.by_value.get(value, 0)
        self.by_value[value] = before + 1
        self.total += 1
        hist = self.histogram
        hist[before + 1] = hist.get(before + 1, 0) + 1
        if before == 0:
            self.minimum = 1
            return
        hist[before] -= 1
        if hist[before] == 0:
            del hist[before]
            if before == self.minimum:
                self.minimum = before + 1


@dataclass(slots=True)
class ConstraintTracker:
    """The constraints of one task type, with counts of its placed instances per value."""

    constraints: tuple[Constraint, ...]
    _counts: list[_Counts] = _field(default_factory=list)

    def __post_init__(self) -> None:
        self._counts = [_Counts() for _ in self.constraints]

    @classmethod
    def of(cls, constraints: tuple[Constraint, ...], placed: Iterable[Placement | None]) -> ConstraintTracker:
        """A tracker counting already placed instances (``None``: the agent's values are unknown)."""
        tracker = cls(constraints)
        for values in placed:
            tracker.add(values)
        return tracker

    def add(self, values: Placement | None) -> None:
        """Count one more instance on an agent with these values."""
        for constraint, counts in zip(self.constraints, self._counts, strict=True):
            counts.add(values.get(constraint.field) if values is not None else None)

    def allows(self, values: Placement) -> bool:
        """True when one more instance may run on an agent with these values."""
        for constraint, counts in zip(self.constraints, self._counts, strict=True):
            if not _allows(constraint, counts, values.get(constraint.field)):
                return False
        return True


def _allows(constraint: Constraint, counts: _Counts, value: str | None) -> bool:
    op = constraint.operator
    if value is None:
        return op == "UNLIKE"  # an agent without the attribute matches only UNLIKE (as in Marathon)
    here = counts.by_value.get(value, 0)
    if op == "UNIQUE":
        return here == 0
    if op == "MAX_PER":
        return here < constraint.count
    if op == "IS":
        return value == constraint.value
    if op == "LIKE":
        assert constraint._pattern is not None
        return constraint._pattern.fullmatch(value) is not None
    if op == "UNLIKE":
        assert constraint._pattern is not None
        return constraint._pattern.fullmatch(value) is None
    if op == "CLUSTER":
        return (constraint.value is None or value == constraint.value) and here == counts.total
    # GROUP_BY: a value not used yet is always fine; else the groups must number at least the
    # count and this one must be among the smallest.
    if here == 0:
        return True
    return len(counts.by_value) >= constraint.count and here == counts.minimum
