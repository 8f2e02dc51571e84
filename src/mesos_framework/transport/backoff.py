"""Capped exponential backoff with jitter, as a pure value (no sleeping, no clock)."""

from __future__ import annotations

import random

from mesos_framework.errors import ConfigurationError

__all__ = ["Backoff"]


class Backoff:
    """Delays between retries: exponential, capped and jittered.

    The *n*-th call to `next()` (counting from 0 after `reset()`)
    draws a delay from ``[(1 - jitter) * ceiling, ceiling]`` where
    ``ceiling = min(maximum, minimum * factor ** n)``. Every delay is
    therefore positive, so a retry loop built on it never spins. Pass a
    seeded `random.Random` as ``rng`` for repeatable delays.
    """

    def __init__(
        self,
        minimum: float = 1.0,
        maximum: float = 15.0,
        factor: float = 1.5,
        rng: random.Random | None = None,
        *,
        jitter: float = 0.5,
    ) -> None:
        if not minimum > 0:
            raise ConfigurationError(f"must be > 0, got {minimum!r}", option="backoff.minimum")
        if not maximum >= minimum:
            raise ConfigurationError(
                f"must be >= minimum ({minimum!r}), got {maximum!r}", option="backoff.maximum"
            )
        if not factor >= 1:
            raise ConfigurationError(f"must be >= 1, got {factor!r}", option="backoff.factor")
        if not 0 <= jitter < 1:
            raise ConfigurationError(f"must be in [0, 1), got {jitter!r}", option="backoff.jitter")
        self.minimum = float(minimum)
        self.maximum = float(maximum)
        self.factor = float(factor)
        self.jitter = float(jitter)
        self._rng = rng if rng is not None else random.Random()
        self._ceiling = self.minimum

    @property
    def ceiling(self) -> float:
        """The largest delay the next call to `next()` can return."""
        return self._ceiling

    def next(self) -> float:
        """Return the next delay in seconds and grow the ceiling for the one after."""
        ceiling = self._ceiling
        self._ceiling = min(self.maximum, ceiling * self.factor)
        return ceiling * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """Start again from ``minimum`` (call it after a success)."""
        self._ceiling = self.minimum

    def __repr__(self) -> str:
        return (
            f"Backoff(minimum={self.minimum}, maximum={self.maximum}, factor={self.factor}, "
            f"jitter={self.jitter}, ceiling={self._ceiling})"
        )
