"""The hypothesis profile of the fuzz tests, and shared strategies for hostile input.

Fuzz tests run in CI, so they are reproducible (``derandomize``: the same examples every run)
and modest (a few dozen to a few hundred examples each, the whole lot well under a minute).
``MESOS_FRAMEWORK_FUZZ_EXAMPLES`` scales every count for a longer local campaign, and
``MESOS_FRAMEWORK_FUZZ_RANDOM=1`` draws fresh examples instead of the fixed ones.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_SCALE = float(os.environ.get("MESOS_FRAMEWORK_FUZZ_EXAMPLES", "1"))

settings.register_profile(
    "mesos-framework-fuzz",
    derandomize=os.environ.get("MESOS_FRAMEWORK_FUZZ_RANDOM") != "1",
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def fuzz(examples: int) -> settings:
    """The fuzz profile with ``examples`` examples (scaled by ``MESOS_FRAMEWORK_FUZZ_EXAMPLES``)."""
    return settings(settings.get_profile("mesos-framework-fuzz"), max_examples=max(1, int(examples * _SCALE)))


# Numbers that break naive code: huge, tiny, non-finite, out of every integer range.
HOSTILE_NUMBERS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([0, -1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**30, 1e308, -1e308, 5e-324, 1.5]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
HOSTILE_TEXT: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(["", "\x00", "../..", "%00", "\ud7ff", "é", "SUBSCRIBE", "UNKNOWN", "a" * 300]),
    st.text(max_size=12),
)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values whose object keys are mostly ``keys`` (so they reach deep into a schema)."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=6)) if keys else st.text(max_size=6)
    scalars = st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_TEXT)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(key, inner, max_size=4),
        ),
        max_leaves=20,
    )
