"""Hot-standby replicas as real subprocesses (`tests.integration.ha_proc`), and checks on them."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from typing import Any

from kazoo.client import KazooClient

from tests.support.json_procs import JsonLinesProcess


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
