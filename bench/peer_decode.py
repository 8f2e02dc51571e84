"""Event-decoding baselines: the JSON floor and the peers' stream parsers on one recorded stream.

The recorded stream is a RecordIO file (``<decimal length>\\n<record>`` repeated, as the Mesos
master writes inside its chunked HTTP response) of v1 scheduler events in Mesos's JSON encoding:
one SUBSCRIBED, then rounds of an OFFERS event with 100 offers (cpus/mem/disk scalars, port ranges,
some static reservations, attributes), a burst of UPDATE events (STARTING/RUNNING/FINISHED with
container status), a HEARTBEAT now and then and the odd RESCIND. :func:`stream_path` makes it
deterministically (same seed, same bytes) under ``bench/.data/`` and reuses it afterwards.

Baselines measured by :func:`run`, each over the same bytes:

- ``json.loads`` of every record, already split (the floor any JSON decoder pays);
  ``orjson.loads`` the same way, for reference;
- pymesos 0.3.15's own parser (HTTP chunked decoding with ``http-parser``'s C extension, its
  RecordIO regex loop and ``json.loads``), fed 4 KiB ``recv`` chunks, in the peers venv;
- the JavaScript ``mesos-framework`` 0.5.3 ``data`` handler under node, fed 4 KiB chunks.

Each row says how many events the parser delivered against how many the stream holds.

Run alone: ``python -m bench.peer_decode --size-mb 50``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.peers import install

DATA_DIR = Path(__file__).resolve().parent / ".data"
PEERS_DIR = Path(__file__).resolve().parent / "peers"
CHUNK = 4096
STREAM_SEED = 20261125
OFFERS_PER_EVENT = 100
_PEER_TIMEOUT = 900.0

Row = dict[str, Any]


# --------------------------------------------------------------------------------------------
# The recorded stream
# --------------------------------------------------------------------------------------------


class _StreamMaker:
    """Builds realistic v1 scheduler events (Mesos JSON) from one seeded RNG."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.master_id = self._uuid()
        self.framework_id = f"{self.master_id}-0000"
        self.agents = [f"{self.master_id}-S{i}" for i in range(400)]
        self.offer_seq = 0
        self.task_seq = 0
        self.clock = 1_764_000_000.0
        self.live_tasks: list[tuple[str, int, str]] = []  # (task id, agent index, container id)

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def _ip(self, agent: int) -> str:
        return f"127.{(agent >> 8) & 255}.{agent & 255}.{1 + agent % 200}"

    def subscribed(self) -> dict[str, Any]:
        return {
            "type": "SUBSCRIBED",
            "subscribed": {
                "framework_id": {"value": self.framework_id},
                "heartbeat_interval_seconds": 15.0,
                "master_info": {
                    "id": self.master_id,
                    "ip": 16777343,
                    "port": 5050,
                    "pid": "master@127.0.0.1:5050",
                    "hostname": "master-1.bench.local",
                    "version": "1.11.0",
                    "address": {"hostname": "master-1.bench.local", "ip": "127.0.0.1", "port": 5050},
                    "capabilities": [
                        {"type": "AGENT_UPDATE"},
                        {"type": "AGENT_DRAINING"},
                        {"type": "QUOTA_V2"},
                    ],
                },
            },
        }

    @staticmethod
    def _scalar(name: str, value: float, role: str = "*") -> dict[str, Any]:
        res: dict[str, Any] = {
            "name": name,
            "type": "SCALAR",
            "scalar": {"value": value},
            "allocation_info": {"role": "*"},
        }
        if role != "*":
            res["reservations"] = [{"type": "STATIC", "role": role}]
        return res

    def _ports(self) -> dict[str, Any]:
        start = 31000 + self.rng.randrange(0, 200)
        ranges = []
        for _ in range(self.rng.randint(2, 4)):
            width = self.rng.randint(5, 150)
            ranges.append({"begin": start, "end": start + width})
            start += width + self.rng.randint(2, 60)
        return {
            "name": "ports",
            "type": "RANGES",
            "ranges": {"range": ranges},
            "allocation_info": {"role": "*"},
        }

    def offer(self) -> dict[str, Any]:
        rng = self.rng
        index = rng.randrange(len(self.agents))
        self.offer_seq += 1
        host = f"agent-{index:04d}.bench.local"
        resources = [
            self._scalar("cpus", round(rng.uniform(0.5, 32.0), 1)),
            self._scalar("mem", float(rng.randrange(512, 131072, 128))),
            self._scalar("disk", float(rng.randrange(4096, 1_000_000, 1024))),
            self._ports(),
        ]
        if rng.random() < 0.25:
            resources.append(self._scalar("cpus", 2.0, role="analytics"))
            resources.append(self._scalar("mem", 4096.0, role="analytics"))
        if rng.random() < 0.1:
            resources.append(self._scalar("gpus", float(rng.choice([1, 2, 4, 8]))))
        offer: dict[str, Any] = {
            "id": {"value": f"{self.master_id}-O{self.offer_seq}"},
            "framework_id": {"value": self.framework_id},
            "agent_id": {"value": self.agents[index]},
            "hostname": host,
            "url": {
                "scheme": "http",
                "address": {"hostname": host, "ip": self._ip(index), "port": 5051},
                "path": "/slave(1)",
            },
            "resources": resources,
            "attributes": [
                {"name": "rack", "type": "TEXT", "text": {"value": f"rack-{index % 40:02d}"}},
                {"name": "zone", "type": "TEXT", "text": {"value": f"zone-{'abc'[index % 3]}"}},
                {"name": "generation", "type": "SCALAR", "scalar": {"value": float(index % 5)}},
            ],
        }
        if self.live_tasks and rng.random() < 0.3:
            offer["executor_ids"] = [{"value": self.live_tasks[-1][0]}]
        return offer

    def offers(self) -> dict[str, Any]:
        return {"type": "OFFERS", "offers": {"offers": [self.offer() for _ in range(OFFERS_PER_EVENT)]}}

    def update(self) -> dict[str, Any]:
        rng = self.rng
        self.clock += rng.uniform(0.0001, 0.01)
        if not self.live_tasks or rng.random() < 0.34:
            self.task_seq += 1
            agent = rng.randrange(len(self.agents))
            task = (f"web-{self.task_seq}.{self._uuid()}", agent, self._uuid())
            self.live_tasks.append(task)
            state = "TASK_STARTING"
        else:
            pick = rng.randrange(len(self.live_tasks))
            task = self.live_tasks[pick]
            state = rng.choice(["TASK_RUNNING", "TASK_RUNNING", "TASK_FINISHED"])
            if state == "TASK_FINISHED":
                self.live_tasks[pick] = self.live_tasks[-1]
                self.live_tasks.pop()
        status: dict[str, Any] = {
            "task_id": {"value": task[0]},
            "state": state,
            "source": "SOURCE_EXECUTOR",
            "agent_id": {"value": self.agents[task[1]]},
            "executor_id": {"value": task[0]},
            "timestamp": round(self.clock, 6),
            "uuid": base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode(),
            "container_status": {
                "container_id": {"value": task[2]},
                "network_infos": [{"ip_addresses": [{"protocol": "IPv4", "ip_address": self._ip(task[1])}]}],
                "executor_pid": rng.randrange(1000, 4_000_000),
            },
        }
        if state == "TASK_FINISHED":
            status["message"] = "Command exited with status 0"
        elif state == "TASK_RUNNING" and rng.random() < 0.5:
            status["healthy"] = True
            status["reason"] = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
        return {"type": "UPDATE", "update": {"status": status}}

    def rescind(self) -> dict[str, Any]:
        seq = self.rng.randint(max(1, self.offer_seq - 200), max(1, self.offer_seq))
        return {"type": "RESCIND", "rescind": {"offer_id": {"value": f"{self.master_id}-O{seq}"}}}

    def events(self) -> Iterator[dict[str, Any]]:
        yield self.subscribed()
        while True:
            yield self.offers()
            for i in range(self.rng.randint(150, 250)):
                yield self.update()
                if i % 97 == 0:
                    yield {"type": "HEARTBEAT"}
            if self.rng.random() < 0.3:
                yield self.rescind()


def make_records(size_mb: float, *, seed: int = STREAM_SEED) -> list[bytes]:
    """Compact Mesos-JSON records of a realistic stream totalling about ``size_mb`` MB (10^6 bytes).

    The stream always ends after a burst of UPDATEs so every event type is present.
    """
    budget = int(size_mb * 1_000_000)
    records: list[bytes] = []
    total = 0
    for event in _StreamMaker(seed).events():
        record = json.dumps(event, separators=(",", ":")).encode()
        records.append(record)
        total += len(record) + len(str(len(record))) + 1
        if total >= budget and event["type"] == "UPDATE" and len(records) > 3:
            break
    return records


def frame(records: list[bytes]) -> bytes:
    """RecordIO-frame the records: ``<decimal length>\\n<record>`` each."""
    return b"".join(b"%d\n%s" % (len(r), r) for r in records)


def read_records(path: Path) -> list[bytes]:
    """Split a RecordIO file back into its records."""
    data = path.read_bytes()
    records: list[bytes] = []
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        length = int(data[pos:nl])
        records.append(data[nl + 1 : nl + 1 + length])
        pos = nl + 1 + length
    return records


def stream_path(size_mb: float, *, seed: int = STREAM_SEED) -> Path:
    """The recorded stream for ``size_mb`` as a RecordIO file under ``bench/.data/``, made if absent."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"events-{size_mb:g}mb-{seed}.recordio"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(frame(make_records(size_mb, seed=seed)))
        tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def _type_counts(records: list[bytes]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        kind = str(json.loads(record)["type"])
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _best_of(repeat: int, fn: Callable[[], int]) -> tuple[float, float, int]:
    best_wall, best_cpu, delivered = float("inf"), float("inf"), 0
    for _ in range(max(1, repeat)):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        delivered = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
    return best_wall, best_cpu, delivered


def _row(
    name: str,
    *,
    events: int,
    expected: int,
    seconds: float,
    cpu: float,
    nbytes: int,
    note: str = "",
    **extra: Any,
) -> Row:
    return {
        "section": "decoding",
        "name": name,
        "events": events,
        "expected_events": expected,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "events_per_s": events / seconds if seconds > 0 else 0.0,
        "mb_per_s": nbytes / 1e6 / seconds if seconds > 0 else 0.0,
        "note": note,
        **extra,
    }


def floor_rows(records: list[bytes], *, repeat: int = 3) -> list[Row]:
    """``json.loads`` (the floor) and ``orjson.loads`` of every already-split record."""
    nbytes = sum(len(r) for r in records)
    expected = len(records)
    loads = json.loads

    # Each decoded event is dropped at once, as a stream consumer would (keeping 50 MB of dicts
    # alive would make the measurement about the garbage collector instead).
    def plain() -> int:
        n = 0
        for record in records:
            loads(record)
            n += 1
        return n

    rows = []
    wall, cpu, n = _best_of(repeat, plain)
    rows.append(
        _row(
            "json.loads per record (floor)",
            events=n,
            expected=expected,
            seconds=wall,
            cpu=cpu,
            nbytes=nbytes,
            baseline="floor",
            note="records already split; dicts only, no event objects",
        )
    )
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a package dependency
        return rows
    oloads = orjson.loads

    def fast() -> int:
        n = 0
        for record in records:
            oloads(record)
            n += 1
        return n

    wall, cpu, n = _best_of(repeat, fast)
    rows.append(
        _row(
            "orjson.loads per record",
            events=n,
            expected=expected,
            seconds=wall,
            cpu=cpu,
            nbytes=nbytes,
            note="reference: the JSON parser the library uses",
        )
    )
    return rows


def _peer_json(cmd: list[str]) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_PEER_TIMEOUT, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"exit {proc.returncode}: {tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def pymesos_row(
    path: Path, expected: int, nbytes: int, python: Path, *, chunk: int = CHUNK, repeat: int = 3
) -> Row:
    """pymesos 0.3.15's ``Connection.read`` over the stream, in the peers venv."""
    out = _peer_json(
        [
            os.fspath(python),
            os.fspath(PEERS_DIR / "pymesos_decode.py"),
            "--recordio",
            os.fspath(path),
            "--chunk",
            str(chunk),
            "--repeat",
            str(repeat),
        ]
    )
    note = f"HTTP-chunked wire in {chunk} B recv()s; http-parser C ext: {out['compiled_http_parser']}"
    return _row(
        f"pymesos {out['pymesos']} stream parser",
        events=int(out["events"]),
        expected=expected,
        seconds=float(out["seconds"]),
        cpu=float(out["cpu_seconds"]),
        nbytes=nbytes,
        note=note,
        baseline="pymesos",
        by_type=out["by_type"],
    )


def mesos_framework_js_row(
    path: Path,
    expected: int,
    nbytes: int,
    node: str,
    node_modules: Path,
    *,
    chunk: int = CHUNK,
    repeat: int = 3,
) -> Row:
    """The JavaScript mesos-framework 0.5.3 ``data`` handler over the stream, under node."""
    out = _peer_json(
        [
            node,
            os.fspath(PEERS_DIR / "mf_decode.js"),
            "--node-modules",
            os.fspath(node_modules),
            "--recordio",
            os.fspath(path),
            "--chunk",
            str(chunk),
            "--repeat",
            str(repeat),
        ]
    )
    lost = expected - int(out["events"])
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(out.get("error_kinds", {}).items()))
    fed = f"{chunk} B chunks" if chunk > 0 else "one chunk per record (best case)"
    note = (
        f"{fed}; LOST {lost} of {expected} events ({100 * lost / max(1, expected):.1f}%); "
        f"error events: {out['errors']}" + (f" ({kinds})" if kinds else "")
    )
    return _row(
        f"mesos-framework (JS) {out['mesos-framework']} on node {out['node']}",
        events=int(out["events"]),
        expected=expected,
        seconds=float(out["seconds"]),
        cpu=float(out["cpu_seconds"]),
        nbytes=nbytes,
        note=note,
        by_type=out["by_type"],
    )


def run(size_mb: float = 50.0, *, repeat: int = 3, chunk: int = CHUNK, peers: bool = True) -> list[Row]:
    """Measure every baseline on the recorded stream of ``size_mb``; one row per parser.

    A peer that cannot be installed or run gives a row with ``error`` set instead of numbers.
    """
    path = stream_path(size_mb)
    records = read_records(path)
    expected = len(records)
    nbytes = path.stat().st_size
    rows = floor_rows(records, repeat=repeat)
    for row in rows:
        row.update(stream=os.fspath(path), stream_bytes=nbytes, by_type_expected=_type_counts(records))
    if not peers:
        return rows
    status = install.ensure_peers()
    # A fresh subprocess's first round pays for page faults on its buffers; keep at least two
    # rounds inside each peer process and report its best.
    peer_repeat = max(2, repeat)
    if status.python is not None:
        try:
            rows.append(pymesos_row(path, expected, nbytes, status.python, chunk=chunk, repeat=peer_repeat))
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
            rows.append({"section": "decoding", "name": "pymesos 0.3.15 stream parser", "error": str(exc)})
    if status.node is not None and status.node_modules is not None:
        try:
            rows.append(
                mesos_framework_js_row(
                    path, expected, nbytes, status.node, status.node_modules, chunk=chunk, repeat=peer_repeat
                )
            )
            # Its best case, one 'data' chunk per record, shows the harness delivers when it can.
            best_case = mesos_framework_js_row(
                path, expected, nbytes, status.node, status.node_modules, chunk=0, repeat=peer_repeat
            )
            best_case["name"] += ", one chunk per record"
            rows.append(best_case)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
            rows.append({"section": "decoding", "name": "mesos-framework (JS) 0.5.3", "error": str(exc)})
    for problem in status.problems:
        rows.append({"section": "decoding", "name": problem.split(":")[0], "error": problem})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line: print the baselines as a small table."""
    parser = argparse.ArgumentParser(prog="python -m bench.peer_decode", description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=50.0, help="size of the recorded stream (MB)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per parser; the best is kept")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="bytes per chunk fed to the peers")
    parser.add_argument("--no-peers", action="store_true", help="only the in-process JSON floor")
    args = parser.parse_args(argv)
    rows = run(args.size_mb, repeat=args.repeat, chunk=args.chunk, peers=not args.no_peers)
    floor = next((r for r in rows if r.get("baseline") == "floor"), None)
    print(f"{'parser':<48} {'events':>9} {'of':>9} {'events/s':>12} {'MB/s':>8} {'x floor':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['name']:<48} ERROR {row['error']}")
            continue
        ratio = row["events_per_s"] / floor["events_per_s"] if floor else float("nan")
        print(
            f"{row['name']:<48} {row['events']:>9} {row['expected_events']:>9} "
            f"{row['events_per_s']:>12.0f} {row['mb_per_s']:>8.1f} {ratio:>8.3f}  {row['note']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
