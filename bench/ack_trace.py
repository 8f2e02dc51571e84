"""Where do status-update acknowledgements spend their time? (bench/RESULTS.md section 6)

``python -m bench.ack_trace [--agents 10] [--tasks 2000]`` runs ``mesos-framework local`` and
this library's scheduler (:mod:`bench.end_to_end`, ``sleep 5`` command tasks) in two processes,
each with a few of its functions wrapped to note, per update uuid, on ``CLOCK_MONOTONIC`` (one
clock for both processes):

* the cluster: each time an agent's status update manager forwards an update (first send and
  resends), when the master queues it on the framework's stream, when the master handles its
  ACKNOWLEDGE; the event loop's lag (a 100 ms sleep's lateness);
* the scheduler: when an update reaches its acknowledgement queue, when its acknowledgement is
  written (alone or in a batch) and when its answer is read.

It prints the distribution of each leg. Diagnostic only: the wrappers reach into private
functions, so it follows the code as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
now = time.monotonic


def _dump_every(path: str, seconds: float, snapshot: Callable[[], dict[str, Any]]) -> None:
    def loop() -> None:
        while True:
            time.sleep(seconds)
            try:
                data = json.dumps(snapshot())
            except RuntimeError:  # a dict changed while copied: next time
                continue
            Path(path + ".tmp").write_text(data)
            os.replace(path + ".tmp", path)

    threading.Thread(target=loop, daemon=True).start()


def cluster_main(out: str, argv: Sequence[str]) -> None:
    """``mesos-framework local ...`` with the update path noted."""
    from mesos_framework.local import _master_updates, _scheduler_calls, _updates

    sends: dict[str, list[float]] = {}
    queued: dict[str, float] = {}
    acked: dict[str, float] = {}
    lags: list[float] = []

    forward = _updates.StatusUpdateManager._forward

    def _forward(self: Any, stream: Any, *, reset: bool = False) -> None:
        if stream.pending:
            sends.setdefault(stream.pending[0].uuid.hex(), []).append(now())
        forward(self, stream, reset=reset)

    send_update = _master_updates.send_update

    def _send_update(fw: Any, status: Any) -> None:
        if status.uuid:
            queued.setdefault(status.uuid.hex(), now())
        send_update(fw, status)

    acknowledge = _scheduler_calls.acknowledge

    def _acknowledge(master: Any, fw: Any, ack: Any) -> None:
        acked.setdefault(ack.uuid.hex(), now())
        acknowledge(master, fw, ack)

    _updates.StatusUpdateManager._forward = _forward  # type: ignore[method-assign]
    _master_updates.send_update = _send_update
    _scheduler_calls.acknowledge = _acknowledge
    _dump_every(
        out,
        2.0,
        lambda: {"sends": dict(sends), "queued": dict(queued), "acked": dict(acked), "lags": lags[:]},
    )
    run = asyncio.run

    async def lag() -> None:
        while True:
            t = now()
            await asyncio.sleep(0.1)
            lags.append(now() - t - 0.1)

    def _run(main: Any, **kwargs: Any) -> Any:
        async def both() -> Any:
            ticker = asyncio.get_running_loop().create_task(lag())
            try:
                return await main
            finally:
                ticker.cancel()

        return run(both(), **kwargs)

    asyncio.run = _run
    from mesos_framework.cli import main

    sys.argv = ["mesos-framework", *argv]
    main()


def scheduler_main(out: str, argv: Sequence[str]) -> int:
    """``python -m bench.end_to_end ...`` with the acknowledgements noted."""
    import atexit

    from bench.end_to_end import child_main
    from mesos_framework.scheduler import _session

    received: dict[str, float] = {}
    started: dict[str, float] = {}
    answered: dict[str, float] = {}
    later = _session.Session.acknowledge_later

    def acknowledge_later(self: Any, status: Any) -> None:
        if status.uuid:
            received.setdefault(status.uuid.hex(), now())
        later(self, status)

    many = _session.Session._acknowledge_many
    nowait = _session.Session._acknowledge_nowait
    acknowledged = _session.Session._acknowledged

    async def acknowledge_many(self: Any, statuses: Any) -> None:
        t = now()
        for s in statuses:
            started.setdefault(s.uuid.hex(), t)
        await many(self, statuses)

    def acknowledge_nowait(self: Any, acks: Any, statuses: Any) -> bool:
        t = now()
        written = nowait(self, acks, statuses)
        if written:
            for s in statuses:
                started.setdefault(s.uuid.hex(), t)
        return written

    def on_acknowledged(self: Any, batch: Any, results: Any) -> None:
        t = now()
        for call in batch:
            answered.setdefault(call.acknowledge.uuid.hex(), t)
        acknowledged(self, batch, results)

    _session.Session.acknowledge_later = acknowledge_later  # type: ignore[method-assign]
    _session.Session._acknowledge_many = acknowledge_many  # type: ignore[method-assign]
    _session.Session._acknowledge_nowait = acknowledge_nowait  # type: ignore[method-assign]
    _session.Session._acknowledged = on_acknowledged  # type: ignore[method-assign]
    atexit.register(
        lambda: Path(out).write_text(
            json.dumps({"received": received, "started": started, "answered": answered})
        )
    )
    return child_main(argv)


def _quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    xs = sorted(values)

    def at(f: float) -> float:
        return xs[min(len(xs) - 1, int(f * len(xs)))]

    return (
        f"n={len(xs)} median {at(0.5):.2f} s, p90 {at(0.9):.2f} s, p99 {at(0.99):.2f} s, max {xs[-1]:.2f} s"
    )


def report(cluster: dict[str, Any], scheduler: dict[str, Any]) -> list[str]:
    """The legs of every acknowledged update's way, as lines."""
    sends, queued, acked = cluster["sends"], cluster["queued"], cluster["acked"]
    received, started, answered = scheduler["received"], scheduler["started"], scheduler["answered"]
    done = [u for u in sends if u in acked and u in queued and u in received and u in started]
    legs = {
        "agent's first send -> master queues it for the scheduler": [queued[u] - sends[u][0] for u in done],
        "queued -> the scheduler has it": [received[u] - queued[u] for u in done],
        "the scheduler has it -> its acknowledgement's batch starts": [
            started[u] - received[u] for u in done
        ],
        "batch starts -> the master handles the acknowledgement": [acked[u] - started[u] for u in done],
        "batch starts -> the whole batch is answered": [
            answered[u] - started[u] for u in done if u in answered
        ],
        "agent's first send -> acknowledgement at the master": [acked[u] - sends[u][0] for u in done],
    }
    lines = [
        f"updates: {len(sends)}, forwarded {sum(len(v) for v in sends.values())} times, "
        f"{sum(1 for v in sends.values() if len(v) > 1)} resent; {len(done)} followed end to end"
    ]
    lines += [f"{name}: {_quantiles(values)}" for name, values in legs.items()]
    lines.append(f"cluster event loop lag: {_quantiles(cluster['lags'])}")
    return lines


def main() -> None:
    """Run both processes and print the legs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ack-trace-") as tmp:
        cluster_out, scheduler_out = f"{tmp}/cluster.json", f"{tmp}/scheduler.json"
        me = [sys.executable, "-m", "bench.ack_trace"]
        cluster = subprocess.Popen(
            [*me, "--cluster", cluster_out, "local", "--port", "0", "--agents", str(args.agents)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
        )
        try:
            assert cluster.stdout is not None
            master = cluster.stdout.readline().strip().removeprefix("http://").rstrip("/")
            run = subprocess.run(
                [
                    *me,
                    *("--scheduler", scheduler_out, "--master", master, "--tasks", str(args.tasks)),
                    *("--command", "sleep 5", "--timeout", "1800"),
                ],
                capture_output=True,
                text=True,
                cwd=REPO,
                check=False,
            )
            time.sleep(3)  # the cluster's last notes
        finally:
            cluster.terminate()
            cluster.wait(60)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        print(
            f"{args.tasks} tasks over {args.agents} agents: {result['updates'] / args.tasks:.1f} updates "
            f"per task, {result['sent'].get('acknowledge', 0)} acknowledgements sent"
        )
        for line in report(
            json.loads(Path(cluster_out).read_text()), json.loads(Path(scheduler_out).read_text())
        ):
            print(line)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--cluster":
        cluster_main(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) > 2 and sys.argv[1] == "--scheduler":
        sys.exit(scheduler_main(sys.argv[2], sys.argv[3:]))
    else:
        main()
