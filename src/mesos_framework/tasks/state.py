"""Task states as an enum with behaviour, and the restart policy.

`TaskState` mirrors ``mesos.v1.TaskState`` (same names, same
numbers). Whether a state is terminal, active or a failure is defined once,
here.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable
from dataclasses import dataclass

from mesos_framework.errors import ConfigurationError

__all__ = ["DEFAULT_RESTART_STATES", "RestartPolicy", "TaskState"]


class TaskState(enum.IntEnum):
    """A Mesos task state (``mesos.v1.TaskState``), with the same numbers."""

    TASK_STAGING = 6
    TASK_STARTING = 0
    TASK_RUNNING = 1
    TASK_KILLING = 8
    TASK_FINISHED = 2
    TASK_FAILED = 3
    TASK_KILLED = 4
    TASK_ERROR = 7
    TASK_LOST = 5
    TASK_DROPPED = 9
    TASK_UNREACHABLE = 10
    TASK_GONE = 11
    TASK_GONE_BY_OPERATOR = 12
    TASK_UNKNOWN = 13

    @classmethod
    def parse(cls, value: str | int | TaskState) -> TaskState:
        """A state from its name (``"TASK_FAILED"`` or ``"FAILED"``) or number."""
        if isinstance(value, TaskState):
            return value
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise ConfigurationError(f"unknown task state number {value}") from None
        name = value.strip().upper()
        if not name.startswith("TASK_"):
            name = "TASK_" + name
        try:
            return cls[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown task state {value!r}; expected one of {', '.join(s.name for s in cls)}"
            ) from None

    @property
    def is_terminal(self) -> bool:
        """The task is over for good (FINISHED, FAILED, KILLED, ERROR, LOST, DROPPED, GONE...)."""
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        """The task is launched and not known to be over (STAGING, STARTING, RUNNING, KILLING)."""
        return self in _ACTIVE

    @property
    def is_failure(self) -> bool:
        """A terminal state other than a clean FINISHED or a requested KILLED."""
        return self.is_terminal and self not in (TaskState.TASK_FINISHED, TaskState.TASK_KILLED)

    @property
    def is_unknown(self) -> bool:
        """The master cannot tell (UNREACHABLE or UNKNOWN): the task may come back."""
        return self in (TaskState.TASK_UNREACHABLE, TaskState.TASK_UNKNOWN)

    @property
    def short(self) -> str:
        """The name without the ``TASK_`` prefix, e.g. ``"RUNNING"``."""
        return self.name[5:]


_TERMINAL = frozenset(
    {
        TaskState.TASK_FINISHED,
        TaskState.TASK_FAILED,
        TaskState.TASK_KILLED,
        TaskState.TASK_ERROR,
        TaskState.TASK_LOST,
        TaskState.TASK_DROPPED,
        TaskState.TASK_GONE,
        TaskState.TASK_GONE_BY_OPERATOR,
    }
)
_ACTIVE = frozenset(
    {TaskState.TASK_STAGING, TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_KILLING}
)

DEFAULT_RESTART_STATES: frozenset[TaskState] = frozenset(
    {
        TaskState.TASK_FAILED,
        TaskState.TASK_LOST,
        TaskState.TASK_ERROR,
        TaskState.TASK_DROPPED,
        TaskState.TASK_GONE,
        TaskState.TASK_GONE_BY_OPERATOR,
    }
)
"""The seed's defaults (FAILED, LOST, ERROR) plus the partition-aware ends of a lost task."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Which terminal states relaunch a task, and how long to wait first.

    The delay before the ``n``-th consecutive restart of one instance is
    ``minimum * factor ** (n - 1)``, capped at ``maximum``, with up to
    ``jitter`` (a fraction) added at random. An instance that ran for at
    least ``reset_after`` seconds starts counting again from the minimum, so
    only a crash loop backs off. ``max_restarts`` (``None``: unlimited) ends
    the loop: the instance is then given up and reported.
    """

    states: frozenset[TaskState] = DEFAULT_RESTART_STATES
    minimum: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.2
    reset_after: float = 60.0
    max_restarts: int | None = None

    def __post_init__(self) -> None:
        for name in ("minimum", "maximum", "reset_after", "jitter"):
            if getattr(self, name) < 0:
                raise ConfigurationError("must not be negative", option=f"restart.{name}")
        if self.factor < 1:
            raise ConfigurationError("must be at least 1", option="restart.factor")
        if self.maximum < self.minimum:
            raise ConfigurationError("must not be below restart.minimum", option="restart.maximum")
        if self.max_restarts is not None and self.max_restarts < 0:
            raise ConfigurationError("must not be negative", option="restart.max_restarts")

    @staticmethod
    def states_from(values: Iterable[str | int | TaskState]) -> frozenset[TaskState]:
        """Parse a ``restart_states`` option."""
        return frozenset(TaskState.parse(v) for v in values)

    def should_restart(self, state: TaskState) -> bool:
        """True when a task that ended in ``state`` is relaunched."""
        return state in self.states

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before restart number ``attempt`` (1 for the first)."""
        if attempt <= 0:
            return 0.0
        base = min(self.maximum, self.minimum * self.factor ** min(attempt - 1, 64))
        if self.jitter:
            base += base * self.jitter * (rng or random).random()
        return min(base, self.maximum * (1 + self.jitter))
