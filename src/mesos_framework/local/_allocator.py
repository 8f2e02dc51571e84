"""The local cluster's allocator: one DRF allocation round at a time.

Like Mesos's hierarchical allocator it offers each agent's free resources
(unreserved plus those reserved to the role) one agent x one role at a
time: roles by dominant share first, then frameworks within a role, ties
broken by how many offers each got, as Mesos's sorters do; decline filters
and suppressed roles are honoured, shared volumes are offered even while in use
(to ``SHARED_RESOURCES`` frameworks only), agents in another region than the
master's go only to REGION_AWARE frameworks. The order of agents comes from
``rng`` and filters expire by ``clock`` (both injectable, for tests).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from mesos_framework.local import _codec, _quota
from mesos_framework.local._model import Offer
from mesos_framework.local._topology import is_remote
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import AgentEntry, Master

__all__ = ["Allocator"]

TERMINAL = _codec.TERMINAL_STATES
Event = scheduler_pb2.Event
Cap = mesos_pb2.FrameworkInfo.Capability


class Allocator:
    """Allocation rounds for a `Master`."""

    def __init__(self, *, rng: random.Random | None = None, clock: Callable[[], float] | None = None) -> None:
        self.rng = rng or random.Random()
        self._clock = clock

    def now(self) -> float:
        """The filters' clock: ``clock`` if given, else the event loop's."""
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def shares(self, master: Master) -> tuple[dict[str, float], dict[str, float]]:
        """Dominant shares of frameworks and of roles (used plus offered)."""
        names = ("cpus", "mem", "disk")
        totals = Resources()
        for entry in master.agents.values():
            totals += entry.total.unallocated()
        total = {n: totals.scalar(n) for n in names}

        def dominant(amounts: dict[str, float]) -> float:
            return max((amounts.get(n, 0.0) / total[n] for n in names if total[n] > 0), default=0.0)

        fw_share: dict[str, float] = {}
        by_role: dict[str, dict[str, float]] = {}
        for fid, fw in master.frameworks.items():
            mine: dict[str, float] = {}
            for task in fw.tasks.values():
                if task.state in TERMINAL:
                    continue
                role = by_role.setdefault(task.role, {})
                for n in names:
                    amount = task.resources.scalar(n)
                    mine[n] = mine.get(n, 0.0) + amount
                    role[n] = role.get(n, 0.0) + amount
            for oid in fw.offers:
                offer = master.offers[oid]
                role = by_role.setdefault(offer.role, {})
                for n in names:
                    amount = offer.resources.scalar(n)
                    mine[n] = mine.get(n, 0.0) + amount
                    role[n] = role.get(n, 0.0) + amount
            fw_share[fid] = dominant(mine)
        return fw_share, {r: dominant(a) for r, a in by_role.items()}

    def allocate(self, master: Master) -> None:
        """One allocation round: offer every agent's free resources, DRF-fairly."""
        if master.stopped or not master.leader:
            return
        now = self.now()
        for fw in master.frameworks.values():
            fw.filters = [f for f in fw.filters if f.expires > now]
        candidates = [fw for fw in master.frameworks.values() if fw.connected]
        if not candidates:
            return
        shares = self.shares(master)
        batches: dict[str, list[Offer]] = {}
        agents = list(master.agents.values())
        self.rng.shuffle(agents)
        free = {entry.id: self._free(master, entry) for entry in agents if entry.active}
        room = _quota.Headroom.start(master, sum(free.values(), Resources()))
        for entry in agents:
            if not entry.active:
                continue
            available = free[entry.id]
            if not available.has_allocatable():
                continue
            remote = is_remote(master.domain, entry.agent.domain)
            pairs = [
                (fw, role)
                for fw in candidates
                for role in fw.roles
                if role not in fw.suppressed and (not remote or _region_aware(fw.info))
            ]
            fw_share, role_share = shares
            pairs.sort(
                key=lambda p: (
                    room.first(p[1]),
                    role_share.get(p[1], 0.0),
                    master.allocations.get(p[1], 0),
                    p[1],
                    fw_share.get(p[0].id, 0.0),
                    master.allocations.get(p[0].id, 0),
                    p[0].order,
                )
            )
            for fw, role in pairs:
                offerable = available.for_role(role)
                if not _shares(fw.info):  # Mesos's stripIncapableResources
                    offerable = offerable.non_shared()
                mine = _quota.fit(master, role, offerable, room)
                if not mine.has_allocatable():
                    continue
                if any(
                    f.role == role and f.agent_id == entry.id and f.resources.contains(mine)
                    for f in fw.filters
                ):
                    continue
                offer = Offer(
                    id=master.new_offer_id(),
                    framework_id=fw.id,
                    agent_id=entry.id,
                    role=role,
                    resources=mine.allocated(role),
                )
                master.offers[offer.id] = offer
                fw.offers.add(offer.id)
                entry.offers.add(offer.id)
                if master.config.offer_timeout is not None:
                    offer.timer = asyncio.get_running_loop().call_later(
                        master.config.offer_timeout, master.rescind, offer.id
                    )
                available -= mine
                room.took(role, mine)
                master.allocations[role] = master.allocations.get(role, 0) + 1
                master.allocations[fw.id] = master.allocations.get(fw.id, 0) + 1
                batches.setdefault(fw.id, []).append(offer)
                shares = self.shares(master)
                if not available.has_allocatable():
                    break
        for fid, offers in batches.items():
            fw = master.frameworks[fid]
            ev = Event(type=Event.OFFERS)
            for offer in offers:
                ev.offers.offers.append(master.offer_proto(fw, offer))
            fw.send(ev)

    @staticmethod
    def _free(master: Master, entry: AgentEntry) -> Resources:
        """What of an agent is neither used nor offered, plus one copy of each shared resource:
        as Mesos's allocator, shared volumes are offered even while in use or offered (once an
        allocation round, since each offer takes the copy from what is left)."""
        total = entry.total.unallocated()
        available = total - entry.used_total()
        for oid in entry.offers:
            available -= master.offers[oid].resources.unallocated()
        shared = total.shared()
        if shared:
            available = available.non_shared() + shared
        return available


def _region_aware(info: mesos_pb2.FrameworkInfo) -> bool:
    return _codec.has_cap(info, Cap.REGION_AWARE)


def _shares(info: mesos_pb2.FrameworkInfo) -> bool:
    """The framework may be offered shared resources (``SHARED_RESOURCES``)."""
    return _codec.has_cap(info, Cap.SHARED_RESOURCES)
