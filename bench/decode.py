"""Event decoding speed of mesos_framework.protocol on a recorded scheduler event stream.

The stream holds one SUBSCRIBED, then rounds of an OFFERS event with 100 offers (cpus, mem, disk
scalars, two port ranges, a static reservation now and then, attributes), a burst of UPDATE
events (STARTING/RUNNING/FINISHED with container status and a 16-byte uuid) and a HEARTBEAT.
It is synthesised deterministically here, or read from a RecordIO file of JSON events
(``--stream PATH``, as :mod:`bench.run` passes the shared recording).

For each encoding the framed stream is fed in 4 KiB chunks through :class:`RecordIODecoder` and
every record through :func:`decode` into a ``mesos.scheduler.Event``, as the transport does. The
baseline is plain ``json.loads`` of the same JSON records, already split, in the same process;
``ratio_vs_json_loads`` > 1 means faster than that floor.

Run: ``python -m bench.decode`` (5 MB) or ``python -m bench.decode --size-mb 50``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mesos_framework.protocol import (
    ContentType,
    RecordIODecoder,
    _required,
    decode,
    decoder,
    from_dict,
    mesos,
    recordio_encode,
)

CHUNK = 4096
OFFERS_PER_EVENT = 100
UPDATES_PER_BURST = 60
SEED = 20261125

Row = dict[str, Any]


def _offer(rng: random.Random, n: int, master: str) -> dict[str, Any]:
    agent = rng.randrange(1000)
    role = "*" if rng.random() < 0.8 else "analytics"

    def scalar(name: str, value: float) -> dict[str, Any]:
        res: dict[str, Any] = {"name": name, "type": "SCALAR", "scalar": {"value": value}, "role": role}
        if role != "*":
            res["reservations"] = [{"type": "STATIC", "role": role}]
        return res

    lo = 31000 + rng.randrange(400)
    return {
        "id": {"value": f"{master}-O{n}"},
        "framework_id": {"value": f"{master}-0003"},
        "agent_id": {"value": f"{master}-S{agent}"},
        "hostname": f"agent{agent}.example.com",
        "url": {
            "scheme": "http",
            "address": {
                "hostname": f"agent{agent}.example.com",
                "ip": f"10.0.{agent // 250}.{agent % 250}",
                "port": 5051,
            },
            "path": "/slave(1)",
        },
        "resources": [
            scalar("cpus", float(rng.choice((2, 4, 8, 16)))),
            scalar("mem", float(rng.randrange(1024, 65536))),
            scalar("disk", float(rng.randrange(10000, 500000))),
            {
                "name": "ports",
                "type": "RANGES",
                "role": role,
                "ranges": {"range": [{"begin": lo, "end": lo + 400}, {"begin": lo + 402, "end": 32000}]},
            },
        ],
        "attributes": [
            {"name": "rack", "type": "TEXT", "text": {"value": f"r{agent % 40}"}},
            {"name": "zone", "type": "TEXT", "text": {"value": rng.choice(("a", "b", "c"))}},
            {"name": "gen", "type": "SCALAR", "scalar": {"value": float(agent % 5)}},
        ],
    }


def _update(rng: random.Random, n: int, master: str) -> dict[str, Any]:
    task = f"web-{n // 3}.{uuid.UUID(int=rng.getrandbits(128))}"
    state = ("TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED")[n % 3]
    return {
        "type": "UPDATE",
        "update": {
            "status": {
                "task_id": {"value": task},
                "state": state,
                "source": "SOURCE_EXECUTOR",
                "agent_id": {"value": f"{master}-S{rng.randrange(1000)}"},
                "executor_id": {"value": task},
                "timestamp": 1724430012.0 + n / 10,
                "uuid": rng.getrandbits(128).to_bytes(16, "big"),
                "container_status": {"container_id": {"value": str(uuid.UUID(int=rng.getrandbits(128)))}},
            }
        },
    }


def synthesise(size_mb: float, *, seed: int = SEED) -> list[Any]:
    """Scheduler events whose JSON encoding totals about ``size_mb`` megabytes."""
    rng = random.Random(seed)
    master = str(uuid.UUID(int=rng.getrandbits(128)))
    Event = mesos.scheduler.Event
    events: list[Any] = [
        from_dict(
            Event,
            {
                "type": "SUBSCRIBED",
                "subscribed": {
                    "framework_id": {"value": f"{master}-0003"},
                    "heartbeat_interval_seconds": 15.0,
                    "master_info": {
                        "id": master,
                        "ip": 184549386,
                        "port": 5050,
                        "hostname": "m1.example.com",
                        "version": "1.11.0",
                    },
                },
            },
        )
    ]
    target = size_mb * 1e6
    total = 0
    n = 0
    while total < target:
        offers = from_dict(
            Event,
            {
                "type": "OFFERS",
                "offers": {
                    "offers": [_offer(rng, n * OFFERS_PER_EVENT + i, master) for i in range(OFFERS_PER_EVENT)]
                },
            },
        )
        batch = [
            offers,
            *(
                from_dict(Event, _update(rng, n * UPDATES_PER_BURST + i, master))
                for i in range(UPDATES_PER_BURST)
            ),
            Event(type="HEARTBEAT"),
        ]
        for event in batch:
            events.append(event)
            total += len(event.to_json())
        n += 1
    return events


def read_stream(path: Path) -> list[Any]:
    """Events from a RecordIO file of JSON scheduler events (lenient, as from the wire)."""
    dec = RecordIODecoder()
    records = dec.feed(path.read_bytes())
    dec.close()
    return [decode(mesos.scheduler.Event, r, ContentType.JSON) for r in records]


def _best_of_interleaved(repeat: int, fns: list[Callable[[], int]]) -> list[tuple[float, float, int]]:
    """(wall, cpu, count) of each function's fastest run; they run in turn so noise hits all alike."""
    best = [(float("inf"), float("inf"), 0)] * len(fns)
    for _ in range(max(1, repeat)):
        for i, fn in enumerate(fns):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            count = fn()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if wall < best[i][0]:
                best[i] = (wall, cpu, count)
    return best


def _chunked(framed: bytes, handle: Callable[[bytes], object]) -> Callable[[], int]:
    """Feed ``framed`` to a RecordIO decoder in 4 KiB chunks and ``handle`` every record."""

    def go() -> int:
        dec = RecordIODecoder()
        count = 0
        for i in range(0, len(framed), CHUNK):
            for record in dec.feed(framed[i : i + CHUNK]):
                handle(record)
                count += 1
        dec.close()
        return count

    return go


def _through_decoder(framed: bytes, content_type: ContentType) -> Callable[[], int]:
    """RecordIO + ``decoder(Event)`` (``decode()`` bound to the type), as the transport does."""
    return _chunked(framed, decoder(mesos.scheduler.Event, content_type))


def _without_extension(framed: bytes) -> Callable[[], int]:
    """The default path as installed without a C compiler: upb's encoder checks the required
    fields, a second upb parse (a schema copy that verifies UTF-8) the strings."""
    event = mesos.scheduler.Event
    saved = _required._STATUS.get(event)
    _required._STATUS[event] = _required._python_status(event)
    try:
        decode_event = decoder(event, ContentType.PROTOBUF)
    finally:
        if saved is None:
            del _required._STATUS[event]
        else:
            _required._STATUS[event] = saved
    return _chunked(framed, decode_event)


def _parse_only(framed: bytes) -> Callable[[], int]:
    """RecordIO + ``Event.FromString`` without the required-field check ``decode()`` makes."""
    return _chunked(framed, mesos.scheduler.Event.FromString)


def run(size_mb: float = 5.0, *, stream: Path | None = None, repeat: int = 3) -> list[Row]:
    """Measure both encodings against ``json.loads``; return one row per measurement."""
    events = read_stream(Path(stream)) if stream is not None else synthesise(size_mb)
    json_records = [e.to_json() for e in events]
    pb_records = [e.SerializeToString() for e in events]
    expected = len(events)

    def floor() -> int:
        loads = json.loads
        for r in json_records:
            loads(r)
        return len(json_records)

    framed = {
        ContentType.PROTOBUF: b"".join(recordio_encode(r) for r in pb_records),
        ContentType.JSON: b"".join(recordio_encode(r) for r in json_records),
    }
    timings = _best_of_interleaved(
        repeat,
        [
            floor,
            *(_through_decoder(framed[ct], ct) for ct in (ContentType.PROTOBUF, ContentType.JSON)),
            _without_extension(framed[ContentType.PROTOBUF]),
            _parse_only(framed[ContentType.PROTOBUF]),
        ],
    )
    floor_s, floor_cpu, _ = timings[0]
    floor_rate = expected / floor_s
    rows: list[Row] = [
        {
            "section": "decoding",
            "name": "json.loads of split records (floor, same process)",
            "encoding": "json",
            "events": expected,
            "expected_events": expected,
            "seconds": floor_s,
            "cpu_seconds": floor_cpu,
            "events_per_s": floor_rate,
            "mb_per_s": sum(map(len, json_records)) / 1e6 / floor_s,
            "ratio_vs_json_loads": 1.0,
        }
    ]
    for (seconds, cpu, count), ct in zip(timings[1:3], (ContentType.PROTOBUF, ContentType.JSON), strict=True):
        label = "protobuf" if ct is ContentType.PROTOBUF else "json"
        rate = count / seconds
        rows.append(
            {
                "section": "decoding",
                "name": f"mesos-framework {label}: RecordIO 4 KiB chunks + decoder()",
                "encoding": label,
                "events": count,
                "expected_events": expected,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "events_per_s": rate,
                "mb_per_s": len(framed[ct]) / 1e6 / seconds,
                "ratio_vs_json_loads": rate / floor_rate,
                "default": ct is ContentType.PROTOBUF,
                "note": f"{len(framed[ct]) / 1e6:.1f} MB framed",
            }
        )
    references = (
        (
            "mesos-framework protobuf without the C extension: decoder() checking required fields"
            " with upb's encoder and strings with a UTF-8-verifying second parse",
            "the default path as installed without a C compiler",
        ),
        (
            "protobuf without the required-field check (reference, not a path of the library)",
            "RecordIO + Event.FromString only: what the required-field check costs",
        ),
    )
    for (seconds, cpu, count), (name, note) in zip(timings[3:], references, strict=True):
        rows.append(
            {
                "section": "decoding",
                "name": name,
                "encoding": "protobuf",
                "events": count,
                "expected_events": expected,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "events_per_s": count / seconds,
                "mb_per_s": len(framed[ContentType.PROTOBUF]) / 1e6 / seconds,
                "ratio_vs_json_loads": count / seconds / floor_rate,
                "note": note,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.decode [--size-mb N] [--stream PATH] [--repeat N]``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=5.0, help="size of the synthesised JSON stream")
    ap.add_argument("--stream", type=Path, help="RecordIO file of JSON events to use instead")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args(argv)
    for row in run(args.size_mb, stream=args.stream, repeat=args.repeat):
        print(
            f"{row['name']:<62} {row['events']:>7} events  {row['events_per_s']:>11,.0f} ev/s  "
            f"{row['mb_per_s']:>7.1f} MB/s  x{row['ratio_vs_json_loads']:.2f} vs json.loads"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
