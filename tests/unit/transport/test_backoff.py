"""Backoff: capped, exponential, jittered, repeatable with a seeded rng."""

from __future__ import annotations

import random

import pytest

from mesos_framework.errors import ConfigurationError
from mesos_framework.transport import Backoff


def test_delays_grow_by_factor_up_to_the_cap_within_the_jitter_band() -> None:
    backoff = Backoff(minimum=1.0, maximum=15.0, factor=1.5, rng=random.Random(7))
    ceilings = []
    for _ in range(12):
        ceiling = backoff.ceiling
        delay = backoff.next()
        assert ceiling * 0.5 <= delay <= ceiling
        ceilings.append(ceiling)
    assert ceilings[:4] == [1.0, 1.5, 2.25, 3.375]
    assert ceilings[-1] == 15.0
    assert max(ceilings) == 15.0


def test_same_seed_same_delays_and_jitter_varies() -> None:
    a = [Backoff(rng=random.Random(3)).next() for _ in range(1)]
    b = [Backoff(rng=random.Random(3)).next() for _ in range(1)]
    assert a == b
    backoff = Backoff(minimum=10, maximum=10, rng=random.Random(1))
    delays = {backoff.next() for _ in range(20)}
    assert len(delays) > 1
    assert all(5.0 <= d <= 10.0 for d in delays)


def test_reset_starts_again_from_minimum() -> None:
    backoff = Backoff(minimum=0.5, maximum=8, factor=2, rng=random.Random(0))
    for _ in range(5):
        backoff.next()
    assert backoff.ceiling == 8
    backoff.reset()
    assert backoff.ceiling == 0.5


def test_never_zero_even_with_full_randomness() -> None:
    class Max(random.Random):
        def random(self) -> float:
            return 0.999999

    backoff = Backoff(minimum=0.001, maximum=0.002, rng=Max())
    assert all(backoff.next() > 0.0004 for _ in range(10))


def test_no_jitter_is_exact() -> None:
    backoff = Backoff(minimum=1, maximum=4, factor=2, jitter=0)
    assert [backoff.next() for _ in range(4)] == [1, 2, 4, 4]


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"minimum": 0}, "backoff.minimum"),
        ({"minimum": -1}, "backoff.minimum"),
        ({"minimum": 2, "maximum": 1}, "backoff.maximum"),
        ({"factor": 0.5}, "backoff.factor"),
        ({"jitter": 1.0}, "backoff.jitter"),
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, float], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Backoff(**kwargs)  # type: ignore[arg-type]
    assert info.value.option == option
