"""Local cluster at scale.

Two scenarios:

* **custom executors** (:func:`scale`): 20 agents, 5 frameworks, 2,000 short tasks. Every task runs
  as a real process and every status update is acknowledged. Each framework runs one custom executor
  per agent (as production frameworks do), the scheduler side is raw HTTP (aiohttp), so only the
  local cluster is measured.
* **command tasks** (:func:`command_tasks`): ``mesos-framework local --agents A`` in its own process
  and N command tasks ``sleep 5`` (cpus 0.01, mem 8), one command executor each, launched by this
  library's `Scheduler` (:mod:`bench.end_to_end`), by pymesos and by the JavaScript
  mesos-framework (:mod:`bench.peers`), one after the other on a fresh cluster each. Besides each
  scheduler's own figures it reports the cluster process's CPU seconds and peak resident memory, and
  the CPU of the executor fork server and of the executors it reaped.

``python -m bench.local_scale [--quick] [--commands AGENTSxTASKS ...] [--peers lib pymesos js]``
prints the figures; ``bench.run`` calls :func:`run`.
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from mesos_framework.local import LocalCluster

EXECUTOR = r"""
import base64, http.client, json, os, subprocess, threading, uuid
env = os.environ
agent, _, addr = env["MESOS_SLAVE_PID"].partition("@")
host, port = addr.rsplit(":", 1)
ids = {"framework_id": {"value": env["MESOS_FRAMEWORK_ID"]},
       "executor_id": {"value": env["MESOS_EXECUTOR_ID"]}}
lock = threading.Lock()
conn = [None]
def post(call):
    with lock:
        for _ in range(3):
            try:
                if conn[0] is None:
                    conn[0] = http.client.HTTPConnection(host, int(port))
                conn[0].request("POST", f"/{agent}/api/v1/executor", json.dumps({**call, **ids}),
                                {"Content-Type": "application/json"})
                return conn[0].getresponse().read()
            except (OSError, http.client.HTTPException):
                conn[0] = None
def update(task_id, state):
    post({"type": "UPDATE", "update": {"status": {"task_id": task_id, "state": state,
          "source": "SOURCE_EXECUTOR", "uuid": base64.b64encode(uuid.uuid4().bytes).decode()}}})
def run(task):
    update(task["task_id"], "TASK_RUNNING")
    rc = subprocess.call(["/bin/sh", "-c", task["command"]["value"]] if "command" in task else ["true"])
    update(task["task_id"], "TASK_FINISHED" if rc == 0 else "TASK_FAILED")
c = http.client.HTTPConnection(host, int(port))
c.request("POST", f"/{agent}/api/v1/executor", json.dumps({"type": "SUBSCRIBE", "subscribe": {}, **ids}),
          {"Content-Type": "application/json", "Accept": "application/json"})
stream = c.getresponse()
while (line := stream.readline()):
    event = json.loads(stream.read(int(line)))
    if event["type"] == "LAUNCH":
        threading.Thread(target=run, args=(event["launch"]["task"],), daemon=True).start()
    elif event["type"] == "SHUTDOWN":
        break
"""


class Framework:
    """A raw-HTTP scheduler that launches ``total`` tasks and acks everything."""

    def __init__(self, url: str, http: aiohttp.ClientSession, name: str, total: int, script: Path) -> None:
        self.url, self.http, self.name, self.total, self.script = url, http, name, total, script
        self.launched = 0
        self.finished = 0
        self.lost = 0
        self.updates = 0
        self.done = asyncio.Event()
        self.fid: dict[str, str] = {}
        self.stream_id = ""
        self.executors: set[str] = set()

    async def call(self, call: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "Mesos-Stream-Id": self.stream_id}
        async with self.http.post(
            self.url + "/api/v1/scheduler", data=json.dumps(call), headers=headers
        ) as r:
            if r.status != 202:
                raise RuntimeError(f"{call['type']}: {r.status} {await r.text()}")

    async def run(self) -> None:
        info = {"user": "bench", "name": self.name, "failover_timeout": 60.0}
        body = json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}})
        resp = await self.http.post(
            self.url + "/api/v1/scheduler",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=None),
        )
        self.stream_id = resp.headers["Mesos-Stream-Id"]
        try:
            while not self.done.is_set():
                line = await resp.content.readline()
                if not line:
                    break
                event = json.loads(await resp.content.readexactly(int(line)))
                await self.handle(event)
            await self.call({"type": "TEARDOWN", "framework_id": self.fid})
        finally:
            resp.close()

    async def handle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "SUBSCRIBED":
            self.fid = event["subscribed"]["framework_id"]
        elif kind == "OFFERS":
            for offer in event["offers"]["offers"]:
                await self.use(offer)
        elif kind == "UPDATE":
            status = event["update"]["status"]
            self.updates += 1
            if "uuid" in status:
                await self.call(
                    {
                        "type": "ACKNOWLEDGE",
                        "framework_id": self.fid,
                        "acknowledge": {
                            "agent_id": status["agent_id"],
                            "task_id": status["task_id"],
                            "uuid": status["uuid"],
                        },
                    }
                )
            if status["state"] == "TASK_FINISHED":
                self.finished += 1
            elif status["state"] in ("TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_KILLED"):
                self.lost += 1
            if self.finished + self.lost >= self.total:
                self.done.set()

    async def use(self, offer: dict[str, Any]) -> None:
        free = {r["name"]: r["scalar"]["value"] for r in offer["resources"] if r["type"] == "SCALAR"}
        agent = offer["agent_id"]["value"]
        executor = {
            "executor_id": {"value": f"{self.name}-{agent}"},
            "command": {
                "shell": False,
                "value": sys.executable,
                "arguments": [sys.executable, str(self.script)],
            },
            "resources": _res(0.1, 32),
        }
        tasks = []
        if agent not in self.executors:
            free["cpus"] = free.get("cpus", 0) - 0.1
            free["mem"] = free.get("mem", 0) - 32
        while self.launched < self.total and free.get("cpus", 0) >= 0.1 - 1e-9 and free.get("mem", 0) >= 16:
            free["cpus"] -= 0.1
            free["mem"] -= 16
            tasks.append(
                {
                    "name": "t",
                    "task_id": {"value": f"{self.name}-{self.launched}"},
                    "agent_id": offer["agent_id"],
                    "resources": _res(0.1, 16),
                    "executor": executor,
                    "command": {"value": "true"},
                }
            )
            self.launched += 1
        for t in tasks:
            t.pop("command")  # a task has an executor or a command, not both
        if tasks:
            self.executors.add(agent)
        await self.call(
            {
                "type": "ACCEPT",
                "framework_id": self.fid,
                "accept": {
                    "offer_ids": [offer["id"]],
                    "filters": {"refuse_seconds": 0.0},
                    "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}],
                },
            }
        )


def _res(cpus: float, mem: float) -> list[dict[str, Any]]:
    return [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}, "role": "*"},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}, "role": "*"},
    ]


async def scale(agents: int, frameworks: int, tasks: int) -> dict[str, Any]:
    """Run ``tasks`` tasks split over ``frameworks`` on ``agents`` agents; figures."""
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        script = Path(tmp) / "executor.py"
        script.write_text(EXECUTOR)
        async with (
            LocalCluster(
                agents=agents, resources="cpus:2;mem:2048;disk:1024", allocation_interval=0.2
            ) as cluster,
            aiohttp.ClientSession() as http,
        ):
            per = tasks // frameworks
            fws = [Framework(cluster.url, http, f"bench{i}", per, script) for i in range(frameworks)]
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(f.run() for f in fws)), 900)
            seconds = time.perf_counter() - t0
    finished = sum(f.finished for f in fws)
    return {
        "name": f"{agents} agents x {frameworks} frameworks x {per * frameworks} tasks",
        "tasks": per * frameworks,
        "finished": finished,
        "lost": sum(f.lost for f in fws),
        "updates_acked": sum(f.updates for f in fws),
        "seconds": round(seconds, 2),
        "tasks_per_s": round(finished / seconds, 1),
    }


# --------------------------------------------------------------------------------------------
# Command tasks from three schedulers
# --------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
PEERS = ("this library", "pymesos", "mesos-framework (JS)")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _Cluster:
    """``mesos-framework local`` in a subprocess, its CPU and peak memory watched."""

    def __init__(self, agents: int) -> None:
        cmd = [sys.executable, "-m", "mesos_framework", "local", "--port", "0", "--agents", str(agents)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"local cluster printed no URL: {line!r}")
        self.master = line.removeprefix("http://").rstrip("/")
        self.peak_rss_kib = 0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.peak_rss_kib = max(self.peak_rss_kib, _rss_kib(self.proc.pid))
            except OSError:
                return

    def fork_server(self) -> int | None:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid and b"_forkserver" in cmdline:
                    return int(entry)
        return None

    def figures(self) -> dict[str, Any]:
        own, _ = _cpu_of(self.proc.pid)
        out: dict[str, Any] = {
            "cluster_cpu_s": round(own, 1),
            "cluster_peak_rss_mib": round(max(self.peak_rss_kib, _rss_kib(self.proc.pid)) / 1024, 1),
        }
        server = self.fork_server()
        if server is not None:
            fs_own, executors = _cpu_of(server)
            out["fork_server_cpu_s"] = round(fs_own, 1)
            out["executors_cpu_s"] = round(executors, 1)
        return out

    def close(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def _cluster(agents: int) -> Iterator[_Cluster]:
    cluster = _Cluster(agents)
    try:
        yield cluster
    finally:
        cluster.close()


def _scheduler_cmd(peer: str, master: str, tasks: int, command: str, timeout: float) -> list[str] | None:
    from bench.peers import e2e, install

    common = ["--master", master, "--tasks", str(tasks), "--command", command, "--timeout", str(timeout)]
    if peer == "this library":
        return [sys.executable, "-m", "bench.end_to_end", *common]
    status = install.ensure_peers(python=peer == "pymesos", node=peer != "pymesos")
    if peer == "pymesos":
        return (
            None
            if status.python is None
            else [os.fspath(status.python), os.fspath(e2e.PEERS_DIR / "pymesos_e2e.py"), *common]
        )
    if status.node is None or status.node_modules is None:
        return None
    return [
        status.node,
        os.fspath(e2e.PEERS_DIR / "mf_e2e.js"),
        "--node-modules",
        os.fspath(status.node_modules),
        *common,
    ]


def command_tasks(
    agents: int,
    tasks: int,
    peers: Sequence[str] = PEERS,
    *,
    command: str = "sleep 5",
    timeout: float = 1800.0,
) -> list[dict[str, Any]]:
    """Each scheduler of ``peers`` runs ``tasks`` command tasks on a fresh ``agents``-agent cluster."""
    from bench.peers import e2e

    rows: list[dict[str, Any]] = []
    for peer in peers:
        name = f"{agents} agents, {tasks} x '{command}', {peer}"
        cmd = _scheduler_cmd(peer, "MASTER", tasks, command, timeout)
        if cmd is None:
            rows.append({"name": name, "error": f"{peer} is not installed (bench/peers/setup.sh)"})
            continue
        with _cluster(agents) as cluster:
            cmd = [cluster.master if part == "MASTER" else part for part in cmd]
            t0 = time.perf_counter()
            try:
                out = e2e._peer(cmd, timeout) if peer != "this library" else _own(cmd, timeout)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
                rows.append({"name": name, "error": str(exc), **cluster.figures()})
                continue
            wall = time.perf_counter() - t0
            row = e2e._row("local cluster", out)
            finished = out.get("final_states", {}).get("TASK_FINISHED", 0)
            rows.append(
                {
                    "name": name,
                    "finished": finished,
                    "all_finished_s": row.get("all_finished_s"),
                    "wall_s": round(wall, 1),
                    "updates_per_task": round(out["updates"] / max(1, tasks), 2)
                    if "updates" in out
                    else None,
                    "problems": row["lost_or_twice"],
                    **cluster.figures(),
                }
            )
    return rows


def _own(cmd: list[str], timeout: float) -> dict[str, Any]:
    from bench import end_to_end

    return end_to_end._child(cmd, timeout)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for ``bench.run``."""
    sizes = (4, 2, 100) if quick else (20, 5, 2000)
    rows = [asyncio.run(scale(*sizes))]
    if quick:
        rows += command_tasks(2, 100, PEERS[:1])
    else:
        rows += command_tasks(10, 2000)
        rows += command_tasks(20, 10000, PEERS[:1])
    return rows


def main() -> None:
    """``python -m bench.local_scale [--quick] [--commands 10x2000 ...] [--peers ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--commands", nargs="*", metavar="AGENTSxTASKS", help="only the command-task scenario, these sizes"
    )
    parser.add_argument(
        "--peers", nargs="*", choices=["lib", "pymesos", "js"], default=["lib", "pymesos", "js"]
    )
    args = parser.parse_args()
    if args.commands is None:
        rows = run(args.quick)
    else:
        names = {"lib": PEERS[0], "pymesos": PEERS[1], "js": PEERS[2]}
        rows = []
        for size in args.commands:
            agents, _, tasks = size.partition("x")
            rows += command_tasks(int(agents), int(tasks), [names[p] for p in args.peers])
    for row in rows:
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
