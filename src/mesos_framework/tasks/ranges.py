"""Arithmetic on Mesos value ranges, such as port ranges, without expanding them.

A range set is a sorted tuple of disjoint, non-adjacent inclusive ``(begin, end)``
pairs. Every operation works on the pairs, so its cost grows with the number of
ranges, never with the number of ports they hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from mesos_framework.errors import ResourceError

__all__ = [
    "RangeSet",
    "coalesce",
    "contains",
    "count",
    "difference",
    "take_first",
    "union",
]

RangeSet = tuple[tuple[int, int], ...]
"""Sorted, disjoint, non-adjacent inclusive ``(begin, end)`` pairs."""


def coalesce(ranges: Iterable[tuple[int, int]]) -> RangeSet:
    """Normalise any ranges: sort them and merge overlapping or adjacent ones.

    Raises `ResourceError` for a range whose end is below its begin.
    """
    items = sorted(ranges)
    out: list[tuple[int, int]] = []
    for begin, end in items:
        if end < begin:
            raise ResourceError(f"invalid range [{begin}-{end}]: end is below begin")
        if out and begin <= out[-1][1] + 1:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return tuple(out)


def count(ranges: RangeSet) -> int:
    """How many values the ranges hold."""
    return sum(end - begin + 1 for begin, end in ranges)


def union(a: RangeSet, b: RangeSet) -> RangeSet:
    """All values in ``a`` or ``b``."""
    return coalesce((*a, *b))


def difference(a: RangeSet, b: RangeSet) -> RangeSet:
    """The values of ``a`` that are not in ``b`` (a linear merge of both)."""
    out: list[tuple[int, int]] = []
    j = 0
    for begin, end in a:
        cur = begin
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= end:
            b_begin, b_end = b[k]
            if b_begin > cur:
                out.append((cur, b_begin - 1))
            cur = max(cur, b_end + 1)
            if cur > end:
                break
            k += 1
        if cur <= end:
            out.append((cur, end))
    return tuple(out)


def contains(a: RangeSet, b: RangeSet) -> bool:
    """True when every value of ``b`` is in ``a``."""
    i = 0
    for begin, end in b:
        while i < len(a) and a[i][1] < begin:
            i += 1
        if i == len(a) or a[i][0] > begin or a[i][1] < end:
            return False
    return True


def take_first(ranges: RangeSet, n: int) -> tuple[list[int], RangeSet]:
    """Take the ``n`` lowest values; return them and the ranges that remain.

    Raises `ResourceError` when fewer than ``n`` values are available.
    """
    taken: list[int] = []
    rest = list(ranges)
    while len(taken) < n:
        if not rest:
            raise ResourceError(f"needed {n} values, only {len(taken)} available")
        begin, end = rest[0]
        want = n - len(taken)
        size = end - begin + 1
        if size <= want:
            taken.extend(range(begin, end + 1))
            rest.pop(0)
        else:
            taken.extend(range(begin, begin + want))
            rest[0] = (begin + want, end)
    return taken, tuple(rest)
