"""Failover: how fast the library's :class:`~mesos_framework.Scheduler` is back after losing things.

Two measurements, one row each (per setting):

(a) **stream drop**: a scheduler subscribed to an in-process
    :class:`~mesos_framework.local.LocalCluster` with a few running tasks; the cluster closes the
    framework's subscription stream as a network failure would
    (:meth:`LocalCluster.drop_framework_stream`) and we time until the scheduler's next SUBSCRIBED
    (with the same framework ID, checked), over several rounds. The scheduler waits one jittered
    resubscribe backoff before subscribing again, so the baseline is the configured
    ``exponential_backoff_minimum`` (ratio = measured / minimum); it is run at the default (1 s)
    and at 0.05 s, where what remains is the library's own reconnect cost. Real Mesos offers no way
    to drop one framework's stream from outside short of restarting the master (the harness stops
    master and agents together), so this part runs on the local cluster only.

(b) **scheduler SIGKILL**: a scheduler process with ZooKeeper persistence (``use_zk=True``, a real
    ZooKeeper from Debian's package via ``tests/support/zookeeper.py``) launches N long tasks
    (``sleep 600``) on a cluster that outlives it (``mesos-framework local`` in a subprocess, and
    real Mesos 1.11 when the harness is here); once all run it is SIGKILLed and a new process
    started at once with the same framework name. We time from the kill to: the new process having
    read ZooKeeper (``start()`` returned), SUBSCRIBED, and every recovered task reconciled (a status
    update for each after the subscription). Checked: the same framework ID, every task ID
    recovered, no task launched by the new process. Baseline: the first process's
    subscribe-to-all-RUNNING time for the same tasks (the run without the kill).

(c) **hot-standby takeover**: two replicas of one framework (``ha=``, ``tests/integration/ha_proc.py``,
    state and election in a real ZooKeeper) on the local cluster (``mesos-framework local`` in a
    subprocess); once the leader runs N tasks it is SIGKILLed and we time until the standby's
    SUBSCRIBED and until every task is reconciled (its first report with all N running after its
    election). Repeated with a fresh standby each round; the ZooKeeper session timeout is the
    floor (the dead leader's znode goes only when its session expires), so it is run at 2 s and
    5 s. Checked: the same framework ID and no launch by the new leader.

Each scheduler process is ``python -m bench.failover --child ...`` printing one JSON line per
milestone (wall-clock ``time.time()`` stamps, comparable across processes on one machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
Row = dict[str, Any]
CPUS, MEM = 0.01, 8.0


# --------------------------------------------------------------------------------------------
# (a) stream drop, in-process
# --------------------------------------------------------------------------------------------


async def _stream_drop(rounds: int, backoff_minimum: float, tasks: int) -> Row:
    from mesos_framework import Scheduler
    from mesos_framework.local import LocalCluster
    from mesos_framework.tasks import TaskRecord

    subscribed: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
    disconnected: list[float] = []
    running: set[str] = set()
    all_running = asyncio.Event()

    def on_launched(rec: TaskRecord) -> None:
        running.add(rec.task_id)
        if len(running) >= tasks:
            all_running.set()

    async with LocalCluster() as cluster:
        scheduler = Scheduler(
            master=cluster.url,
            framework_name="bench-failover-stream",
            exponential_backoff_minimum=backoff_minimum,
            refuse_seconds=0.5,
            tasks={
                "idle": {
                    "instances": tasks,
                    "command": {"value": "sleep 600", "shell": True},
                    "resources": {"cpus": CPUS, "mem": MEM},
                }
            },
        )
        scheduler.on(
            "subscribed", lambda sub: subscribed.put_nowait((time.perf_counter(), sub.framework_id.value))
        )
        scheduler.on("disconnected", lambda *_: disconnected.append(time.perf_counter()))
        scheduler.on("task_launched", on_launched)
        await scheduler.start()
        try:
            async with asyncio.timeout(120):
                _, framework_id = await subscribed.get()
                await all_running.wait()
            await asyncio.sleep(0.5)  # let the launch traffic settle
            times: list[float] = []
            detect: list[float] = []
            for _ in range(rounds):
                disconnected.clear()
                t0 = time.perf_counter()
                if not cluster.drop_framework_stream(framework_id):
                    raise RuntimeError("the local cluster had no stream to drop")
                async with asyncio.timeout(60):
                    t1, again = await subscribed.get()
                if again != framework_id:
                    raise RuntimeError(f"resubscribed as {again}, not {framework_id}")
                times.append(t1 - t0)
                if disconnected:
                    detect.append(disconnected[0] - t0)
                await asyncio.sleep(0.3)
            lost = tasks - sum(1 for r in scheduler.running_tasks())
        finally:
            try:
                if scheduler.connected:
                    await scheduler.teardown()
            finally:
                await scheduler.stop()
    median = statistics.median(times)
    return {
        "section": "failover",
        "name": f"(a) stream drop -> SUBSCRIBED, local cluster, backoff minimum {backoff_minimum:g} s",
        "rounds": rounds,
        "median_s": median,
        "min_s": min(times),
        "max_s": max(times),
        "drop_seen_s": statistics.median(detect) if detect else None,
        "baseline_s": backoff_minimum,
        "vs baseline": f"{median / backoff_minimum:.2f}x",
        "note": f"{tasks} tasks running throughout; {lost} not running after the drops"
        if lost
        else f"{tasks} tasks running throughout, all still running after",
    }


def stream_drop(rounds: int = 5, backoff_minimum: float = 1.0, tasks: int = 3) -> Row:
    """Measurement (a): one row.

    The expected warnings of the run (the scheduler's "subscription lost", the local master's
    aiohttp server failing to write to the dropped stream) are held back while it runs.
    """
    loggers = [logging.getLogger(name) for name in ("mesos_framework", "aiohttp.server")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_stream_drop(rounds, backoff_minimum, tasks))
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# --------------------------------------------------------------------------------------------
# (b) SIGKILL and restart with ZooKeeper: the scheduler process
# --------------------------------------------------------------------------------------------


def _say(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


async def _child_run(master: str, zk: str, name: str, total: int) -> None:
    from mesos_framework import Scheduler
    from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

    _say("started")
    launched: list[str] = []
    running: set[str] = set()
    waiting: set[str] = set()
    subscribed = False
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def on_accept(call: scheduler_pb2.Call) -> None:
        for operation in call.accept.operations:
            launched.extend(info.task_id.value for info in operation.launch.task_infos)

    def on_update(update: scheduler_pb2.Event.Update) -> None:
        task_id = update.status.task_id.value
        if update.status.state == mesos_pb2.TASK_RUNNING:
            running.add(task_id)
            if len(running) == total and not recovered_ids:
                _say("all_running", task_ids=sorted(running))
        if subscribed and task_id in waiting:
            waiting.discard(task_id)
            if not waiting:
                _say("reconciled", tasks=len(recovered_ids))

    def on_subscribed(sub: scheduler_pb2.Event.Subscribed) -> None:
        nonlocal subscribed
        subscribed = True
        _say("subscribed", framework_id=sub.framework_id.value)

    scheduler = Scheduler(
        master=master,
        framework_name=name,
        use_zk=True,
        zk_url=zk,
        framework_failover_timeout=3600,
        refuse_seconds=0.5,
        tasks={
            "long": {
                "instances": total,
                "command": {"value": "sleep 600", "shell": True},
                "resources": {"cpus": CPUS, "mem": MEM},
            }
        },
    )
    scheduler.on("sent_accept", on_accept)
    scheduler.on("update", on_update)
    scheduler.on("subscribed", on_subscribed)
    scheduler.on("error", lambda exc, *_: _say("error", message=f"{type(exc).__name__}: {exc}"))
    await scheduler.start()
    recovered_ids = sorted(r.task_id for r in scheduler.tasks if not r.state.is_terminal)
    waiting.update(recovered_ids)
    _say("recovered", framework_id=scheduler.framework_id, task_ids=recovered_ids)
    await stop.wait()
    _say("final", launched=launched, running=sorted(running))
    if scheduler.connected:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await scheduler.teardown()  # kills the tasks and clears the ZooKeeper state
    await scheduler.stop()


def child_main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.failover --child --master M --zk HOSTS --name N --tasks K``."""
    parser = argparse.ArgumentParser(prog="python -m bench.failover")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--master", required=True)
    parser.add_argument("--zk", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--tasks", type=int, required=True)
    args = parser.parse_args(argv)
    asyncio.run(_child_run(args.master, args.zk, args.name, args.tasks))
    return 0


class _Child:
    """A scheduler process whose JSON lines are read by a thread."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(
            cmd,
            cwd=os.fspath(REPO),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.errors: list[str] = []
        assert self.proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, out: IO[str]) -> None:
        for line in out:
            with contextlib.suppress(ValueError):
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def wait_for(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {event!r} from the scheduler within {timeout:g}s")
            try:
                msg = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if msg is None:
                raise RuntimeError(f"the scheduler exited ({self.proc.poll()}) before {event!r}")
            if msg.get("event") == "error" and len(self.errors) < 3:
                self.errors.append(str(msg.get("message")))
            if msg.get("event") == event:
                return msg

    def close(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._thread.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def sigkill_on(master: str, cluster: str, zk: str, tasks: int, timeout: float = 300.0) -> Row:
    """Measurement (b) on the master at ``host:port`` with ZooKeeper at ``zk``: one row."""
    name = f"bench-failover-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
    cmd = [sys.executable, "-m", "bench.failover", "--child", "--master", master, "--zk", zk]
    cmd += ["--name", name, "--tasks", str(tasks)]
    first = _Child(cmd)
    second: _Child | None = None
    try:
        sub1 = first.wait_for("subscribed", timeout)
        up = first.wait_for("all_running", timeout)
        baseline = up["t"] - sub1["t"]
        time.sleep(1.0)  # let the last updates be acknowledged and persisted
        t_kill = time.time()
        first.proc.send_signal(signal.SIGKILL)
        second = _Child(cmd)
        started = second.wait_for("started", timeout)
        recovered = second.wait_for("recovered", timeout)
        sub2 = second.wait_for("subscribed", timeout)
        done = second.wait_for("reconciled", timeout)
        time.sleep(1.0)  # room for a wrong relaunch to show
        second.proc.send_signal(signal.SIGTERM)
        final = second.wait_for("final", 30)
    finally:
        first.close(signal.SIGKILL)
        if second is not None:
            second.close()
    problems = []
    if sub2.get("framework_id") != sub1.get("framework_id"):
        problems.append(f"framework id changed: {sub1.get('framework_id')} -> {sub2.get('framework_id')}")
    if recovered.get("task_ids") != up.get("task_ids"):
        problems.append(f"recovered {len(recovered.get('task_ids', []))} of {tasks} task ids")
    if final.get("launched"):
        problems.append(f"{len(final['launched'])} tasks launched again after the restart")
    reconcile = done["t"] - t_kill
    return {
        "section": "failover",
        "name": f"(b) SIGKILL -> all {tasks} tasks reconciled, {cluster}, ZooKeeper",
        "tasks": tasks,
        "process_started_s": started["t"] - t_kill,
        "state_read_s": recovered["t"] - t_kill,
        "subscribed_s": sub2["t"] - t_kill,
        "reconciled_s": reconcile,
        "baseline_s": baseline,
        "vs baseline": f"{reconcile / baseline:.2f}x" if baseline > 0 else "n/a",
        "lost_or_twice": "none" if not problems else "; ".join(problems + second.errors[:2]),
        "note": "baseline: the first process's SUBSCRIBED -> all RUNNING (the run without a kill)",
    }


def sigkill_recovery(
    tasks: int = 100,
    *,
    clusters: Sequence[str] = ("local cluster", "real Mesos 1.11"),
    timeout: float = 300.0,
) -> list[Row]:
    """Measurement (b): one row per cluster (an ``error`` row where it cannot run)."""
    from bench.peers import e2e

    try:
        from tests.support import zookeeper
    except ImportError:
        return [
            {"name": "(b) SIGKILL", "error": "tests/support/zookeeper.py not importable (run from the repo)"}
        ]
    why = zookeeper.available()
    if why is not None:
        return [{"name": "(b) SIGKILL", "error": f"no ZooKeeper: {why}"}]
    rows: list[Row] = []
    server = zookeeper.ZooKeeperServer()
    try:
        server.start()
        for cluster in clusters:
            try:
                with e2e.CLUSTERS[cluster]() as master:
                    rows.append(sigkill_on(master, cluster, server.hosts, tasks, timeout))
            except e2e.ClusterUnavailable as exc:
                rows.append({"name": f"(b) SIGKILL, {cluster}", "error": f"skipped: {exc}"})
            except (RuntimeError, TimeoutError, OSError, KeyError) as exc:
                rows.append({"name": f"(b) SIGKILL, {cluster}", "error": f"{type(exc).__name__}: {exc}"})
    finally:
        server.close()
    return rows


class _Replica:
    """A `tests.integration.ha_proc` replica, its JSON lines gathered by a thread."""

    def __init__(self, master: str, zk: str, name: str, tasks: int, session_timeout: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.ha_proc",
                master,
                zk,
                name,
                str(tasks),
                str(session_timeout),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.lines: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(raw))

    def first(self, event: str, since: float = 0.0, tasks: int | None = None) -> dict[str, Any] | None:
        for line in list(self.lines):
            if (
                line.get("event") == event
                and line["t"] >= since
                and (tasks is None or len(line.get("tasks", ())) == tasks)
            ):
                return line
        return None

    def kill(self) -> float:
        t = time.time()
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._thread.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return t


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def ha_takeover(
    tasks: int = 20,
    *,
    rounds: int = 3,
    session_timeouts: Sequence[float] = (2.0, 5.0),
    timeout: float = 120.0,
) -> list[Row]:
    """Measurement (c): one row per session timeout, on the local cluster."""
    from bench.peers import e2e

    try:
        from tests.support import zookeeper
    except ImportError:
        return [
            {
                "name": "(c) HA takeover",
                "error": "tests/support/zookeeper.py not importable (run from the repo)",
            }
        ]
    why = zookeeper.available()
    if why is not None:
        return [{"name": "(c) HA takeover", "error": f"no ZooKeeper: {why}"}]
    rows: list[Row] = []
    server = zookeeper.ZooKeeperServer()
    try:
        server.start()
        with e2e.CLUSTERS["local cluster"]() as master:
            for session_timeout in session_timeouts:
                name = f"bench-ha-{int(session_timeout * 10)}"
                subscribed: list[float] = []
                reconciled: list[float] = []
                problems: list[str] = []
                leader = _Replica(master, server.hosts, name, tasks, session_timeout)
                standby = _Replica(master, server.hosts, name, tasks, session_timeout)
                replicas = [leader, standby]
                try:
                    _wait(
                        lambda a=leader, b=standby: (
                            a.first("running", tasks=tasks) or b.first("running", tasks=tasks)
                        ),
                        timeout,
                        "the first leader running every task",
                    )
                    if leader.first("elected") is None:
                        leader, standby = standby, leader
                    framework_id = leader.first("subscribed")["framework_id"]  # type: ignore[index]
                    for _ in range(rounds):
                        _wait(lambda s=standby: s.first("standby"), timeout, "the standby")
                        killed = leader.kill()
                        sub = _wait(
                            lambda s=standby, k=killed: s.first("subscribed", k), timeout, "SUBSCRIBED"
                        )
                        done = _wait(
                            lambda s=standby, k=killed: s.first("running", k, tasks),
                            timeout,
                            "all reconciled",
                        )
                        subscribed.append(sub["t"] - killed)
                        reconciled.append(done["t"] - killed)
                        if sub["framework_id"] != framework_id:
                            problems.append("another framework ID")
                        if standby.first("launch", killed) is not None:
                            problems.append("a task launched by the new leader")
                        leader, standby = (
                            standby,
                            _Replica(master, server.hosts, name, tasks, session_timeout),
                        )
                        replicas.append(standby)
                finally:
                    for r in replicas:
                        r.kill()
                rows.append(
                    {
                        "name": f"(c) HA takeover, session timeout {session_timeout:g} s, {tasks} tasks",
                        "SIGKILL -> SUBSCRIBED (median s)": round(statistics.median(subscribed), 2),
                        "SIGKILL -> all reconciled (median s)": round(statistics.median(reconciled), 2),
                        "max reconciled (s)": round(max(reconciled), 2),
                        "rounds": rounds,
                        "lost_or_twice": "none" if not problems else "; ".join(problems),
                    }
                )
    except (RuntimeError, TimeoutError, OSError, KeyError, e2e.ClusterUnavailable) as exc:
        rows.append({"name": "(c) HA takeover", "error": f"{type(exc).__name__}: {exc}"})
    finally:
        server.close()
    return rows


def run(
    *,
    quick: bool = False,
    rounds: int | None = None,
    tasks: int | None = None,
    clusters: Sequence[str] = ("local cluster", "real Mesos 1.11"),
) -> list[Row]:
    """Both measurements; ``quick`` uses 2 rounds and 3 tasks."""
    rounds = rounds or (2 if quick else 5)
    rows: list[Row] = []
    for minimum in (1.0, 0.05):
        try:
            rows.append(stream_drop(rounds, minimum))
        except (RuntimeError, TimeoutError, OSError) as exc:
            rows.append(
                {"name": f"(a) stream drop, backoff {minimum:g} s", "error": f"{type(exc).__name__}: {exc}"}
            )
    rows += sigkill_recovery(tasks or (3 if quick else 100), clusters=clusters)
    rows += ha_takeover(3 if quick else 20, rounds=2 if quick else 3)
    return rows


if __name__ == "__main__":
    sys.exit(child_main())
