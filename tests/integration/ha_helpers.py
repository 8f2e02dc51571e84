"""Hot-standby replicas as real subprocesses (`tests.integration.ha_proc`), and checks on them.

The failover steps (`one_leader_running`, `stop_zookeeper_briefly`, `failovers`) and the final
check (`check_nothing_lost`) are shared by the HA tests on the local cluster and on real Mesos.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from kazoo.client import KazooClient

from tests.integration.scheduler_helpers import master_tasks, until
from tests.support.json_procs import JsonLinesProcess
from tests.support.zookeeper import ZooKeeperServer


class Replica(JsonLinesProcess):
    """One replica subprocess and the JSON lines it printed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        super().__init__(proc)
        self.killed_at: float | None = None

    @classmethod
    async def spawn(
        cls, master: str, zk: str, name: str, instances: int, session_timeout: float = 2.0
    ) -> Replica:
        return await cls.start(
            "tests.integration.ha_proc", master, zk, name, str(instances), str(session_timeout)
        )

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and self.killed_at is None

    @property
    def leading(self) -> bool:
        """Elected and not lost since (as far as its output says)."""
        last = [e["event"] for e in self.lines if e.get("event") in ("elected", "lost", "standby")]
        return self.alive and bool(last) and last[-1] == "elected"

    @property
    def elections(self) -> int:
        return len(self.events("elected"))

    def reconciled(self, since: float) -> bool:
        """Its latest report (after `since`) has every instance running."""
        found = [e for e in self.events("running") if e["t"] >= since]
        return bool(found)

    async def sigkill(self) -> None:
        if self.proc.returncode is None:
            self.killed_at = time.time()
        await super().sigkill()

    async def sigterm(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 60)
        await self._reader
        return code


def expire_session(zk: str, replica: Replica) -> None:
    """Expire the replica's current ZooKeeper session (a client with its ID and password closes it)."""
    elected = replica.events("elected")[-1]
    client = KazooClient(
        hosts=zk, client_id=(elected["session_id"], bytes.fromhex(elected["password"])), timeout=10
    )
    client.start(timeout=15)
    try:
        client.stop()  # closing the session expires it for its owner too
    finally:
        client.close()


def leaders(replicas: list[Replica]) -> list[Replica]:
    return [r for r in replicas if r.leading]


def launches(replicas: list[Replica]) -> Counter[str]:
    """Launches per instance name, across every replica."""
    return Counter(e["name"] for r in replicas for e in r.events("launch"))


def kills(replicas: list[Replica]) -> list[dict[str, Any]]:
    return [e for r in replicas for e in r.events("kill")]


def check_one_actor_at_a_time(replicas: list[Replica]) -> None:
    """Every call belongs to one (replica, term), and the terms' calls never interleave."""
    calls: list[tuple[float, int, int]] = []
    for r in replicas:
        term = 0
        for line in r.lines:
            if line.get("event") == "elected":
                term += 1
            elif line.get("event") == "call":
                assert term > 0, f"replica {r.pid} sent {line['call']} before being elected"
                calls.append((line["t"], r.pid, term))
    calls.sort()
    seen: set[tuple[int, int]] = set()
    current: tuple[int, int] | None = None
    for _, pid, term in calls:
        key = (pid, term)
        if key != current:
            assert key not in seen, f"replica {pid} acted again in term {term} after another leader acted"
            seen.add(key)
            current = key


def describe(replicas: list[Replica], last: int = 15) -> str:
    """The last lines each replica printed (for failure messages)."""
    return "\n".join(f"{r.pid}: {line}" for r in replicas for line in r.lines[-last:])


async def first_leader(replicas: list[Replica], instances: int, timeout: float = 120) -> Replica:  # noqa: ASYNC109
    """Wait until exactly one replica leads with `instances` tasks running and every replica stood by."""
    await until(
        lambda: len(leaders(replicas)) == 1 and len(leaders(replicas)[0].running()) == instances,
        timeout=timeout,
        what=lambda: f"a leader running {instances} instances:\n" + describe(replicas),
    )
    await until(lambda: all(r.events("standby") for r in replicas), what="every replica stood by")
    return leaders(replicas)[0]


async def one_leader_running(
    replicas: list[Replica],
    expected: set[str],
    since: float,
    timeout: float = 120,  # noqa: ASYNC109
) -> Replica:
    """Wait until exactly one replica leads, elected after `since`, and reports (after `since`)
    exactly the `expected` task IDs running."""

    def ok() -> bool:
        found = leaders(replicas)
        if len(found) != 1:
            return False
        leader = found[0]
        reports = [e for e in leader.events("running") if e["t"] >= since]
        elected = leader.events("elected")[-1]["t"]
        return bool(reports) and elected >= since and {t for _, t in leader.running()} == expected

    await until(
        ok, timeout=timeout, what=lambda: "one leader with every task running:\n" + describe(replicas)
    )
    (leader,) = leaders(replicas)
    return leader


async def expire_leader(zk: str, replicas: list[Replica], leader: Replica, expected: set[str]) -> Replica:
    """Expire the leader's ZooKeeper session: it reports leadership lost, and one replica leads again."""
    since = time.time()
    await asyncio.to_thread(expire_session, zk, leader)
    await until(
        lambda: bool(leader.events("lost")) and leader.events("lost")[-1]["t"] >= since,
        what="the expired leader reported leadership_lost",
    )
    return await one_leader_running(replicas, expected, since)


async def stop_zookeeper_briefly(
    server: ZooKeeperServer, replicas: list[Replica], leader: Replica, expected: set[str], pause: float = 1.0
) -> Replica:
    """Stop ZooKeeper: the leader fences itself and nobody leads; once it is back, one replica leads."""
    since = time.time()
    await asyncio.to_thread(server.stop)
    await until(lambda: not leader.leading, timeout=30, what="the leader fenced itself without ZooKeeper")
    assert leaders(replicas) == [], describe(replicas)
    await asyncio.sleep(pause)
    await asyncio.to_thread(server.start)
    return await one_leader_running(replicas, expected, since)


async def failovers(
    count: int,
    replicas: list[Replica],
    leader: Replica,
    expected: set[str],
    framework_id: str,
    *,
    zk: str,
    respawn: Callable[[], Awaitable[Replica]],
) -> Replica:
    """`count` failovers in a row: the leader's session expired, every fourth time a SIGKILL instead
    (and a new replica started). Each time one replica leads the same framework, `expected` running."""
    for i in range(count):
        if i % 4 == 3:
            since = time.time()
            await leader.sigkill()
            replicas.append(await respawn())
            leader = await one_leader_running(replicas, expected, since)
        else:
            leader = await expire_leader(zk, replicas, leader, expected)
        assert leader.events("subscribed")[-1]["framework_id"] == framework_id, describe(replicas)
    return leader


async def check_nothing_lost(
    url: str, replicas: list[Replica], framework_id: str, expected: set[str]
) -> None:
    """Every instance launched once, none killed, the master runs exactly `expected`, and the
    replicas' calls never interleaved."""
    names = {f"web-{n}": 1 for n in range(1, len(expected) + 1)}
    assert launches(replicas) == names, describe(replicas)
    assert kills(replicas) == [], describe(replicas)
    on_master = await master_tasks(url, framework_id)
    assert {t for t, state in on_master.items() if state == "TASK_RUNNING"} == expected, on_master
    assert len(on_master) == len(expected), on_master
    check_one_actor_at_a_time(replicas)
