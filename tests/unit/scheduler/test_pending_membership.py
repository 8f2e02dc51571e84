"""The fleet's pending queue answers "is this instance queued?" from its counts, not a scan."""

from __future__ import annotations

from mesos_framework.tasks.matching import PendingGroup, PendingQueue
from tests.unit.scheduler.test_fleet import spec


def test_membership_follows_pushes_pops_and_removes_duplicates_included() -> None:
    queue = PendingQueue([spec("web")])
    for serial in (3, 1, 2, 1):  # a replacement may queue an instance twice
        queue.push("web", serial)
    assert ("web", 1) in queue and ("web", 3) in queue and ("db", 1) not in queue
    group = queue.group("web")
    assert group.pop() == 1 and ("web", 1) in queue  # one copy left
    assert queue.remove("web", 1) and ("web", 1) not in queue
    assert not queue.remove("web", 1)  # not queued: nothing to remove, the heap untouched
    assert [group.pop(), group.pop()] == [2, 3]
    assert not queue and ("web", 2) not in queue and group.queued == {}


def test_a_group_made_with_serials_counts_them() -> None:
    s = spec("web")
    group = PendingGroup(s, s.demand.scalars_milli(), [1, 2, 2])
    assert group.queued == {1: 1, 2: 2}
    assert group.remove(2) and group.queued == {1: 1, 2: 1} and sorted(group.serials) == [1, 2]
