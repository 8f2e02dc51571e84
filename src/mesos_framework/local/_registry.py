"""The local cluster's registry: what a Mesos master keeps in its replicated registry.

Mesos's masters store the maintenance schedule and the machines' modes, quotas and weights
in the registry (the replicated log), so a new leading master recovers them after a fail-over.
The local cluster holds one `Registry` that every master it starts takes over: a restarted (or
newly elected) master still refuses the agents of a ``DOWN`` machine, keeps the schedule and
sends its inverse offers, and keeps the quotas and weights. What Mesos's master keeps only in
memory (outstanding inverse offers and the frameworks' answers to them) starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mesos_framework.local._maintenance import _State as Maintenance
    from mesos_framework.local._quota import Quota

__all__ = ["Registry"]


@dataclass(eq=False)
class Registry:
    """The registry the local cluster's masters share (each takes it over when it leads)."""

    maintenance: Maintenance | None = None
    """The maintenance schedule and machine modes (``None`` before any schedule was set)."""
    quotas: dict[str, Quota] = field(default_factory=dict)
    """Each role's quota."""
    weights: dict[str, float] = field(default_factory=dict)
    """Each role's weight (``UPDATE_WEIGHTS``)."""
