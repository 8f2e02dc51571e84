from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesos_framework.errors import ResourceError
from mesos_framework.tasks import ranges as rng


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ([], ()),
        ([(5, 7), (1, 2)], ((1, 2), (5, 7))),
        ([(1, 3), (4, 6)], ((1, 6),)),
        ([(1, 10), (3, 4)], ((1, 10),)),
        ([(1, 5), (5, 9), (20, 20)], ((1, 9), (20, 20))),
    ],
)
def test_coalesce(given_: list[tuple[int, int]], expected: rng.RangeSet) -> None:
    assert rng.coalesce(given_) == expected


def test_coalesce_rejects_inverted() -> None:
    with pytest.raises(ResourceError, match=r"\[5-3\]"):
        rng.coalesce([(5, 3)])


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (((1, 10),), ((3, 4),), ((1, 2), (5, 10))),
        (((1, 10),), ((1, 10),), ()),
        (((1, 10),), ((0, 100),), ()),
        (((1, 5), (10, 15)), ((4, 11),), ((1, 3), (12, 15))),
        (((1, 5),), ((7, 9),), ((1, 5),)),
        (((1, 5), (7, 9)), ((2, 2), (8, 8)), ((1, 1), (3, 5), (7, 7), (9, 9))),
    ],
)
def test_difference(a: rng.RangeSet, b: rng.RangeSet, expected: rng.RangeSet) -> None:
    assert rng.difference(a, b) == expected


def test_take_first_spans_ranges_and_leaves_rest() -> None:
    taken, rest = rng.take_first(((10, 11), (20, 29)), 4)
    assert taken == [10, 11, 20, 21]
    assert rest == ((22, 29),)


def test_take_first_too_many() -> None:
    with pytest.raises(ResourceError, match="needed 3"):
        rng.take_first(((1, 2),), 3)


def test_huge_ranges_are_not_expanded() -> None:
    big = ((1, 10**12),)
    assert rng.count(big) == 10**12
    assert rng.count(rng.difference(big, ((5, 5),))) == 10**12 - 1
    taken, rest = rng.take_first(big, 2)
    assert taken == [1, 2] and rest == ((3, 10**12),)


ranges_st = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 20)).map(lambda t: (t[0], t[0] + t[1])), max_size=8
).map(rng.coalesce)


def _expand(r: rng.RangeSet) -> set[int]:
    return {p for b, e in r for p in range(b, e + 1)}


@given(ranges_st, ranges_st)
def test_set_laws(a: rng.RangeSet, b: rng.RangeSet) -> None:
    assert _expand(rng.union(a, b)) == _expand(a) | _expand(b)
    assert _expand(rng.difference(a, b)) == _expand(a) - _expand(b)
    assert rng.contains(a, b) == (_expand(b) <= _expand(a))
    assert rng.count(a) == len(_expand(a))
    assert rng.difference(rng.union(a, b), b) == rng.difference(a, b)
