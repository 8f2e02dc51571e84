"""The local cluster's registry: what a Mesos master keeps in its replicated registry.

Mesos's masters store the maintenance schedule and the machines' modes, quotas, weights and
the agents deactivated (``DEACTIVATE_AGENT``) or draining (``DRAIN_AGENT``) in the registry
(the replicated log), so a new leading master recovers them after a fail-over. The local
cluster holds one `Registry` that every master it starts takes over: a restarted (or newly
elected) master still refuses the agents of a ``DOWN`` machine, keeps the schedule and sends
its inverse offers, keeps the quotas and weights, and keeps an agent deactivated or draining
when it re-registers (a draining one is told to drain again). What Mesos's master keeps only
in memory (outstanding inverse offers, the frameworks' answers to them, when a drain began)
starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mesos_framework.protocol._schema import mesos_pb2

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
    deactivated: set[str] = field(default_factory=set)
    """Agents an operator deactivated (``DEACTIVATE_AGENT``, ``DRAIN_AGENT``) and not reactivated."""
    draining: dict[str, mesos_pb2.DrainInfo] = field(default_factory=dict)
    """Each draining or drained agent's ``DrainInfo`` (``DRAIN_AGENT``), until reactivated."""
