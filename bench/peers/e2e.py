"""End-to-end runs of the peer schedulers (pymesos, mesos-framework JS) on real and local clusters.

:func:`run` starts the real Mesos 1.11 harness from ``../shared/real-mesos`` (one master and agent
on 127.0.0.1, a free port) and this project's local cluster (``mesos-framework local``), then, for
each cluster and N, runs each peer's scheduler as its own process
(``pymesos_e2e.py`` in the peers venv, ``mf_e2e.js`` under node) launching N short command tasks,
one framework after the other on the same cluster. Each process reports its own timings and CPU
seconds; this module only collects them into rows. :func:`run_on` does the same against any
master already running (for instance the project's local cluster).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.peers import install

PEERS_DIR = Path(__file__).resolve().parent
HARNESS = Path(os.environ.get("REAL_MESOS_HARNESS", PEERS_DIR.parents[2] / "shared" / "real-mesos"))
Row = dict[str, Any]


class ClusterUnavailable(RuntimeError):
    """The real Mesos harness is missing or would not start; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def real_mesos(agents: int = 1, resources: str | None = None) -> Iterator[str]:
    """A real Mesos 1.11 master + agents on loopback for the duration; yields ``host:port``."""
    if not (HARNESS / "start").exists():
        raise ClusterUnavailable(f"real Mesos harness not found at {HARNESS}")
    build = subprocess.run(
        ["bash", os.fspath(HARNESS / "build")], capture_output=True, text=True, timeout=900, check=False
    )
    if build.returncode != 0:
        raise ClusterUnavailable(f"real Mesos harness build failed: {build.stderr.strip()[-500:]}")
    work = Path(tempfile.mkdtemp(prefix="bench-real-mesos-"))
    work.chmod(0o755)
    port = _free_port()
    args = ["bash", os.fspath(HARNESS / "start"), str(port), str(agents)]
    if resources:
        args.append(resources)
    pid: int | None = None
    try:
        started = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "REAL_MESOS_WORK_DIR": os.fspath(work)},
        )
        if started.returncode != 0:
            raise ClusterUnavailable(f"real Mesos did not start: {started.stderr.strip()[-500:]}")
        pid = int(started.stdout.strip().splitlines()[-1])
        yield f"127.0.0.1:{port}"
    finally:
        if pid is not None:
            subprocess.run(
                ["python3", os.fspath(HARNESS / "stop"), str(pid)],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def local_cluster(agents: int = 1) -> Iterator[str]:
    """This project's local cluster (``mesos-framework local``) in a subprocess; yields ``host:port``."""
    cmd = [sys.executable, "-m", "mesos_framework", "local", "--port", "0", "--agents", str(agents)]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError as exc:
        raise ClusterUnavailable(f"local cluster did not start: {exc}") from exc
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            raise ClusterUnavailable(f"local cluster printed no URL (exit {proc.poll()}): {line!r}")
        yield line.removeprefix("http://").rstrip("/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _peer(cmd: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60, check=False)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"exit {proc.returncode}, no result: {tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _row(cluster: str, out: dict[str, Any]) -> Row:
    problems = []
    if not out.get("completed"):
        problems.append("did not finish in time")
    if out.get("never_finished"):
        problems.append(f"{out['never_finished']} tasks never finished")
    if out.get("launched_twice"):
        problems.append(f"{out['launched_twice']} tasks launched more than once")
    finals = out.get("final_states", {})
    if set(finals) - {"TASK_FINISHED"}:
        problems.append("final states " + ", ".join(f"{k} {v}" for k, v in sorted(finals.items())))
        problems += [f"e.g. {sample}" for sample in out.get("failure_samples", [])[:2]]
    return {
        "section": "end_to_end",
        "cluster": cluster,
        "name": out["framework"],
        "tasks": out["tasks"],
        "subscribed_s": out.get("subscribed_s"),
        "all_running_s": out.get("all_running_s"),
        "all_finished_s": out.get("all_finished_s"),
        "cpu_seconds": out["cpu_seconds"],
        "cpu_ms_per_task": out["cpu_ms_per_task"],
        "startup_cpu_ms": out.get("startup_cpu_ms"),
        "steady_cpu_ms_per_task": out.get("steady_cpu_ms_per_task"),
        "lost_or_twice": "none" if not problems else "; ".join(problems),
    }


PEERS = ("pymesos", "mesos-framework")


def run_on(
    master: str,
    cluster: str,
    tasks: int,
    *,
    timeout: float = 900.0,
    status: install.PeerStatus | None = None,
    peers: Sequence[str] = PEERS,
) -> list[Row]:
    """Each peer (of ``peers``) launches ``tasks`` tasks on the master at ``host:port``; one row each."""
    status = status or install.ensure_peers()
    rows: list[Row] = []
    if status.python is not None and "pymesos" in peers:
        cmd = [
            os.fspath(status.python),
            os.fspath(PEERS_DIR / "pymesos_e2e.py"),
            "--master",
            master,
            "--tasks",
            str(tasks),
            "--timeout",
            str(timeout),
        ]
        try:
            rows.append(_row(cluster, _peer(cmd, timeout)))
        except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            rows.append({"cluster": cluster, "name": "pymesos", "tasks": tasks, "error": str(exc)})
    if status.node is not None and status.node_modules is not None and "mesos-framework" in peers:
        cmd = [
            status.node,
            os.fspath(PEERS_DIR / "mf_e2e.js"),
            "--node-modules",
            os.fspath(status.node_modules),
            "--master",
            master,
            "--tasks",
            str(tasks),
            "--timeout",
            str(timeout),
        ]
        try:
            rows.append(_row(cluster, _peer(cmd, timeout)))
        except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            rows.append(
                {"cluster": cluster, "name": "mesos-framework (JS)", "tasks": tasks, "error": str(exc)}
            )
    for problem in status.problems:
        rows.append({"cluster": cluster, "name": problem.split(":")[0], "tasks": tasks, "error": problem})
    return rows


CLUSTERS = {"real Mesos 1.11": real_mesos, "local cluster": local_cluster}


def run(
    tasks: Sequence[int] = (200,),
    *,
    clusters: Sequence[str] = ("real Mesos 1.11", "local cluster"),
    timeout: float = 900.0,
) -> list[Row]:
    """The peers on a fresh cluster of each kind per N; one row per (cluster, N, peer)."""
    status = install.ensure_peers()
    rows: list[Row] = []
    for cluster in clusters:
        for n in tasks:
            try:
                with CLUSTERS[cluster]() as master:
                    rows += run_on(master, cluster, n, timeout=timeout, status=status)
            except ClusterUnavailable as exc:
                rows.append({"cluster": cluster, "name": "(cluster)", "tasks": n, "error": str(exc)})
    return rows
