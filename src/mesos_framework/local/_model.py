"""The master's records shared with the allocator: outstanding offers and decline filters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mesos_framework.local.resources import Resources

__all__ = ["Filter", "Offer"]


@dataclass
class Offer:
    """An outstanding offer."""

    id: str
    framework_id: str
    agent_id: str
    role: str
    resources: Resources
    timer: asyncio.TimerHandle | None = None


@dataclass
class Filter:
    """A decline filter: (role, agent) resources refused until ``expires``."""

    role: str
    agent_id: str
    resources: Resources
    expires: float
