"""Run every benchmark in one go, print a markdown table and write it to ``bench/results/latest.md``.

``python -m bench.run`` (full sizes, a few minutes on 2 cores) or ``python -m bench.run --quick``
(tiny sizes, seconds). Every figure is shown next to a ratio against a baseline measured in the
same run, so numbers from different machines can be compared by their ratios. The peers (pymesos
0.3.15 and the JavaScript mesos-framework 0.5.3) are installed on first use into ``bench/.peers/``
by :mod:`bench.peers.install`, never into the project's environment.

Sections and where their numbers come from:

1. decoding: :mod:`bench.peer_decode` (JSON floor, pymesos, mesos-framework JS) and
   :mod:`bench.decode` (this library), on one recorded stream;
2. end to end: :mod:`bench.end_to_end` (this library) and the peers via :mod:`bench.peers.e2e`,
   on the same real Mesos 1.11 and local clusters;
3. offer matching: :mod:`bench.offer_matching`;
4. memory per tracked task: :mod:`bench.task_memory`;
5. failover: :mod:`bench.failover`;
6. local cluster scale: :mod:`bench.local_scale` when present;
7. import and start-up time: :mod:`bench.import_time` (`import mesos_framework` beside
   `import asyncio` in the same run, and `mesos-framework --help`).

A section module is imported when present and its ``run(...)`` called; one that is missing shows
as "not yet available" and one that fails shows its error, without stopping the others.

Row convention for section modules: ``run(...)`` returns a list of flat dicts. ``name`` labels the
row when present; ``error`` replaces the figures; ``note`` is free text; for decoding,
``events_per_s`` (required), ``events``/``expected_events`` (delivered vs in the stream),
``encoding`` and ``default: True`` on the library's default path.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.metadata
import inspect
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
Row = dict[str, Any]

#: Goals from the benchmark issue, checked in the summary.
DECODE_GOAL_VS_PYMESOS = 5.0
DECODE_GOAL_VS_FLOOR = 0.5
MEMORY_GOAL_BYTES = 3 * 1024

END_TO_END_PLAN = """\
How: on real Mesos 1.11 (`../shared/real-mesos`, one master + one agent with cpus:4;mem:4096 on
127.0.0.1) and on this project's local cluster (`mesos-framework local`, same resources), a fresh
cluster per N; on it, one after the other, each scheduler in its own process launches N tasks
`sh -c true` (cpus 0.01, mem 8): this library (`bench/end_to_end.py`, a `Scheduler` with one task
spec of N instances, no restart states), pymesos 0.3.15 (`bench/peers/pymesos_e2e.py`,
packing tasks into offers as a pymesos user would) and mesos-framework 0.5.3
(`bench/peers/mf_e2e.js`, one task definition with `instances: N`). Times are from the start of
the subscription; CPU is the scheduler process's own (user + system) over the run. Checked per
run: every task reached exactly one terminal state and none was launched twice."""

FAILOVER_PLAN = """\
(a) stream drop: the local cluster closes the framework's subscription stream; time to the next
SUBSCRIBED with the same framework id; baseline: the configured resubscribe backoff minimum.
(b) scheduler SIGKILL: N long tasks, SIGKILL the scheduler process, start it again with the same
ZooKeeper state; time until every task is reconciled; baseline: the same tasks' SUBSCRIBED ->
all RUNNING in the run before the kill. See `bench/failover.py`."""


@dataclass
class Section:
    """One section of the report: its rows, or why it has none."""

    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    status: str = "ok"
    """``ok``, ``not yet available``, ``pending``, ``skipped`` or ``error``."""
    detail: str = ""
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", os.fspath(BENCH_DIR.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def machine_info() -> dict[str, str]:
    """What the numbers were measured on: cores, CPU, memory, Python and library versions."""
    try:
        from google.protobuf.internal import api_implementation

        backend = api_implementation.Type()
    except ImportError:
        backend = "unknown"
    return {
        "nproc": f"{len(os.sched_getaffinity(0))} (of {os.cpu_count()})",
        "cpu": _cpu_model(),
        "memory": _mem_total(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "mesos-framework": f"{_version('mesos-framework')} (git {_git_commit()})",
        "protobuf": f"{_version('protobuf')} ({backend} backend)",
        "orjson": _version("orjson"),
        "aiohttp": _version("aiohttp"),
        "httptools": _version("httptools"),
        "msgspec": _version("msgspec"),
    }


# --------------------------------------------------------------------------------------------
# Running the sections
# --------------------------------------------------------------------------------------------


def _load(module: str) -> Any | None:
    """Import ``bench.<module>`` if its file exists; None when it does not (yet)."""
    if not (BENCH_DIR / f"{module}.py").exists():
        return None
    return importlib.import_module(f"bench.{module}")


def _call_run(mod: Any, **wanted: Any) -> list[Row]:
    """Call ``mod.run`` with those of ``wanted`` that its signature accepts."""
    run = mod.run
    params = inspect.signature(run).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in wanted.items() if accepts_any or k in params}
    rows = run(**kwargs)
    return [dict(r) for r in rows]


def _guarded(section: Section, fn: Callable[[], list[Row]]) -> Section:
    t0 = time.perf_counter()
    try:
        section.rows = fn()
    except Exception as exc:  # a failing benchmark must not hide the others
        section.status = "error"
        section.detail = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    section.seconds = time.perf_counter() - t0
    return section


def _speed(row: Row, *, cpu: bool = True) -> float:
    """Events per CPU second when the row has its CPU time (steady on a busy machine), else per second."""
    cpu_seconds = float(row.get("cpu_seconds") or 0.0)
    if cpu and cpu_seconds > 0 and "events" in row:
        return float(row["events"]) / cpu_seconds
    return float(row.get("events_per_s", 0.0))


def _merge_best(best: dict[str, Row], rows: Sequence[Row]) -> None:
    """Keep, per row name, the fastest error-free measurement seen so far."""
    for row in rows:
        name = str(row.get("name", "?"))
        old = best.get(name)
        faster = old is not None and _speed(row) > _speed(old)
        if old is None or ("error" not in row and ("error" in old or faster)):
            best[name] = row


def run_decoding(size_mb: float, repeat: int, peers: bool) -> Section:
    """Baselines from :mod:`bench.peer_decode` and the library from :mod:`bench.decode`.

    The parsers run in ``repeat`` interleaved rounds (floor, peers, library, then again) and each
    keeps its best round, so a burst of load on the machine hits every parser alike.
    """
    from bench import peer_decode

    section = Section("decoding", f"1. Event decoding ({size_mb:g} MB recorded stream)")

    def ours_rows(stream: Path) -> list[Row]:
        ours = _load("decode")
        if ours is None:
            return [{"name": "mesos-framework (this library)", "error": "not yet available"}]
        try:
            rows = _call_run(ours, size_mb=size_mb, stream=stream, path=stream, repeat=1)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return [{"name": "mesos-framework (this library)", "error": f"{type(exc).__name__}: {exc}"}]
        for row in rows:
            row.setdefault("mine", True)
        return rows

    def go() -> list[Row]:
        stream = peer_decode.stream_path(size_mb)
        best: dict[str, Row] = {}
        for _ in range(max(1, repeat)):
            _merge_best(best, peer_decode.run(size_mb, repeat=1, peers=peers))
            _merge_best(best, ours_rows(stream))
        return list(best.values())

    return _guarded(section, go)


def run_end_to_end(
    tasks: Sequence[int],
    peers: bool,
    *,
    clusters: Sequence[str] | None = None,
    peer_names: Sequence[str] | None = None,
    rounds: int = 1,
) -> Section:
    """This library (:mod:`bench.end_to_end`) and the peers (:mod:`bench.peers.e2e`) on one cluster.

    For each kind of cluster and N a fresh cluster is started and the schedulers run on it one
    after the other: this library first, then pymesos, then the JavaScript mesos-framework;
    with ``rounds`` > 1, that sequence ``rounds`` times on the same cluster (every round's rows
    are kept, labelled by round, so the report shows the spread). ``clusters`` and
    ``peer_names`` (``pymesos``, ``mesos-framework``) narrow the run.
    """
    section = Section("end_to_end", f"2. End to end: N short tasks (N = {', '.join(map(str, tasks))})")
    section.detail = END_TO_END_PLAN
    if not peers:
        section.status = "skipped"
        section.detail = "--no-peers (this section compares against the peers)"
        return section
    ours = _load("end_to_end")

    def go() -> list[Row]:
        from bench.peers import e2e, install

        status = install.ensure_peers()
        rows: list[Row] = []
        chosen = peer_names or e2e.PEERS
        for cluster, start in e2e.CLUSTERS.items():
            if clusters and not any(cluster.startswith(c) for c in clusters):
                continue
            for n in tasks:
                try:
                    with start() as master:
                        for round_ in range(1, max(1, rounds) + 1):
                            batch: list[Row] = []
                            if ours is None:
                                batch.append(
                                    {
                                        "cluster": cluster,
                                        "name": "this library",
                                        "tasks": n,
                                        "error": "not yet available: bench/end_to_end.py",
                                    }
                                )
                            else:
                                batch += ours.run_on(master, cluster, n)
                            batch += e2e.run_on(master, cluster, n, status=status, peers=chosen)
                            if rounds > 1:
                                for row in batch:
                                    row["round"] = round_
                            rows += batch
                except e2e.ClusterUnavailable as exc:
                    rows.append({"cluster": cluster, "name": "(cluster)", "tasks": n, "error": str(exc)})
        return rows

    return _guarded(section, go)


def run_module_section(key: str, title: str, module: str, **kwargs: Any) -> Section:
    """A section whose rows come from ``bench.<module>.run``."""
    section = Section(key, title)
    mod = _load(module)
    if mod is None:
        section.status = "not yet available"
        section.detail = f"bench/{module}.py does not exist yet"
        return section
    return _guarded(section, lambda: _call_run(mod, **kwargs))


def pending_section(key: str, title: str, plan: str, module: str | None = None, **kwargs: Any) -> Section:
    """A section whose benchmark is not written yet; runs ``bench.<module>`` once it exists."""
    if module is not None and (BENCH_DIR / f"{module}.py").exists():
        return run_module_section(key, title, module, **kwargs)
    return Section(key, title, status="pending", detail=plan)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "n/a"
    return f"{value / base:.2f}x"


def render_decoding(section: Section) -> list[str]:
    """Events/s per parser with ratios against the ``json.loads`` floor and against pymesos."""
    measured = [r for r in section.rows if "error" not in r]
    # CPU time is what a busy machine disturbs least; use it when every parser reported it.
    cpu = bool(measured) and all(float(r.get("cpu_seconds") or 0) > 0 for r in measured)
    floor = next((r for r in measured if r.get("baseline") == "floor"), None)
    pymesos = next((r for r in measured if r.get("baseline") == "pymesos"), None)
    floor_eps = _speed(floor, cpu=cpu) if floor else None
    pym_eps = _speed(pymesos, cpu=cpu) if pymesos else None
    body = []
    for r in section.rows:
        if "error" in r:
            body.append([_fmt(r.get("name", "?")), "", "", "", "", "", f"**{_fmt(r['error'])}**"])
            continue
        eps = _speed(r, cpu=cpu)
        delivered = f"{_fmt(r.get('events', ''))} / {_fmt(r.get('expected_events', ''))}"
        if r.get("encoding"):
            delivered += f" ({r['encoding']})"
        complete = r.get("events") == r.get("expected_events")
        # Bytes per second mean nothing for a parser that dropped events on the way.
        mbps = _fmt(float(r["mb_per_s"])) if "mb_per_s" in r and complete else ""
        body.append(
            [
                _fmt(r["name"]),
                delivered,
                _fmt(eps),
                mbps,
                _ratio(eps, floor_eps),
                _ratio(eps, pym_eps),
                _fmt(r.get("note", "")),
            ]
        )
    lines = _table(
        [
            "parser",
            "events delivered / in stream",
            "events per CPU second" if cpu else "events/s (wall)",
            "MB/s (wall)",
            "vs json.loads floor",
            "vs pymesos",
            "notes",
        ],
        body,
    )
    lines += [
        "",
        "Rates are events per CPU second of the parsing process (its user + system time)."
        if cpu
        else "Rates are per wall-clock second (not every parser reported its CPU time): "
        "a busy machine makes them noisy; compare ratios within one run.",
    ]
    mine = [r for r in section.rows if r.get("mine") and "error" not in r]
    default = next((r for r in mine if r.get("default")), mine[0] if mine else None)
    if default is not None and floor_eps and pym_eps:
        eps = _speed(default, cpu=cpu)
        ok_p = eps >= DECODE_GOAL_VS_PYMESOS * pym_eps
        ok_f = eps >= DECODE_GOAL_VS_FLOOR * floor_eps
        lines.append("")
        lines.append(
            f"Goal (default path `{default['name']}`): >= {DECODE_GOAL_VS_PYMESOS:g}x pymesos: "
            f"{eps / pym_eps:.2f}x ({'met' if ok_p else 'NOT met'}); within 2x of the floor: "
            f"{eps / floor_eps:.2f}x ({'met' if ok_f else 'NOT met'})."
        )
    return lines


def render_generic(section: Section) -> list[str]:
    """Any rows: one column per key, in order of first appearance."""
    keys: list[str] = []
    for r in section.rows:
        keys += [k for k in r if k not in keys and k != "section"]
    keys = [k for k in keys if k not in ("note", "error")] + [k for k in ("note", "error") if k in keys]
    return _table(keys, [[_fmt(r.get(k, "")) for k in keys] for r in section.rows])


def render_offer_matching(section: Section) -> list[str]:
    """Generic table plus a linearity ratio: time growth / (tasks + offers) growth.

    Rows with a ``name`` (``plain``, ``constraints``) are compared with the first row of that name.
    """
    rows = section.rows
    if rows and all({"tasks", "offers", "seconds"} <= r.keys() for r in rows):
        bases: dict[Any, Row] = {}
        for r in rows:
            base = bases.setdefault(r.get("name"), r)
            base_size = base["tasks"] + base.get("running", 0) + base["offers"]
            grow_time = r["seconds"] / base["seconds"] if base["seconds"] else float("nan")
            grow_size = (r["tasks"] + r.get("running", 0) + r["offers"]) / base_size
            r["time growth / size growth"] = round(grow_time / grow_size, 2)
    lines = render_generic(section)
    lines += ["", "A `time growth / size growth` near 1.0 at every size means linear in tasks + offers."]
    return lines


def render_memory(section: Section) -> list[str]:
    """Generic table plus the ratio to the 3 KB-per-task goal."""
    for r in section.rows:
        if "bytes_per_task" in r:
            worst = max(r["bytes_per_task"], r.get("rss_bytes_per_task", 0))
            r["vs 3 KB goal"] = f"{worst / MEMORY_GOAL_BYTES:.2f}x"
    return render_generic(section)


def render_end_to_end(section: Section) -> list[str]:
    """Timings per framework, CPU per task as a ratio to pymesos's on the same cluster and N."""
    for r in section.rows:
        if "error" in r:
            continue
        base = next(
            (
                b
                for b in section.rows
                if str(b.get("name", "")).startswith("pymesos")
                and "error" not in b
                and b.get("tasks") == r.get("tasks")
                and b.get("cluster") == r.get("cluster")
                and b.get("round") == r.get("round")
            ),
            None,
        )
        r["CPU/task vs pymesos"] = _ratio(r.get("cpu_ms_per_task"), base["cpu_ms_per_task"] if base else None)
        r["steady vs pymesos"] = _ratio(
            r.get("steady_cpu_ms_per_task"), base.get("steady_cpu_ms_per_task") if base else None
        )
    lines = render_generic(section)
    if section.detail:
        lines += ["", *section.detail.splitlines()]
    return lines


def render_with_detail(section: Section) -> list[str]:
    """Generic table followed by the section's description."""
    lines = render_generic(section)
    if section.detail:
        lines += ["", *section.detail.splitlines()]
    return lines


RENDERERS: dict[str, Callable[[Section], list[str]]] = {
    "failover": render_with_detail,
    "end_to_end": render_end_to_end,
    "decoding": render_decoding,
    "offer_matching": render_offer_matching,
    "memory": render_memory,
}


def render(sections: Sequence[Section], machine: dict[str, str], command: str, started: str) -> str:
    """The whole report as markdown."""
    lines = ["# Benchmark results", "", f"Run {started} with `{command}`.", ""]
    lines += _table(["machine", ""], [[k, _fmt(v)] for k, v in machine.items()])
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if section.status == "ok":
            lines += RENDERERS.get(section.key, render_generic)(section)
            lines += ["", f"_({section.seconds:.1f} s)_"]
        elif section.status == "pending":
            lines += ["**PENDING**", "", *section.detail.splitlines()]
        else:
            lines += [f"**{section.status.upper()}**: {section.detail}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

SECTION_KEYS = (
    "decoding",
    "end_to_end",
    "calls",
    "offer_matching",
    "memory",
    "failover",
    "local_scale",
    "imports",
)


def run_sections(
    keys: Sequence[str],
    *,
    quick: bool,
    size_mb: float | None,
    peers: bool,
    e2e_tasks: Sequence[int] | None = None,
    repeat: int | None = None,
    e2e_clusters: Sequence[str] | None = None,
    e2e_peers: Sequence[str] | None = None,
    e2e_rounds: int = 1,
) -> list[Section]:
    """Run the chosen sections in report order."""
    size = size_mb if size_mb is not None else (2.0 if quick else 50.0)
    repeat = repeat or (1 if quick else 3)
    match_sizes = (500, 1000) if quick else (1000, 2500, 5000, 10000, 20000)
    memory_sizes = (1000, 5000) if quick else (10_000, 100_000)
    sections: list[Section] = []
    for key in SECTION_KEYS:
        if key not in keys:
            continue
        if key == "decoding":
            sections.append(run_decoding(size, repeat, peers))
        elif key == "end_to_end":
            sections.append(
                run_end_to_end(
                    e2e_tasks or ((20,) if quick else (200,)),
                    peers,
                    clusters=e2e_clusters,
                    peer_names=e2e_peers,
                    rounds=e2e_rounds,
                )
            )
        elif key == "calls":
            sections.append(
                run_module_section(
                    key,
                    "2b. CPU per scheduler call on a kept-alive connection",
                    "calls",
                    calls=300 if quick else 3000,
                    repeat=repeat,
                )
            )
        elif key == "offer_matching":
            sections.append(
                run_module_section(
                    key,
                    "3. Offer matching scale (N tasks x N/10 offers; plain and with constraints)",
                    "offer_matching",
                    sizes=match_sizes,
                )
            )
        elif key == "memory":
            sections.append(
                run_module_section(key, "4. Memory per tracked task", "task_memory", sizes=memory_sizes)
            )
        elif key == "failover":
            section = pending_section(key, "5. Failover", FAILOVER_PLAN, module="failover", quick=quick)
            section.detail = section.detail or FAILOVER_PLAN
            sections.append(section)
        elif key == "local_scale":
            section = run_module_section(key, "6. Local cluster scale", "local_scale", quick=quick)
            if section.status != "not yet available":
                sections.append(section)
        elif key == "imports":
            sections.append(
                run_module_section(
                    key, "7. Import and start-up time", "import_time", repeat=3 if quick else 11
                )
            )
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.run [--quick] [--only SECTION ...] [--size-mb N] [--no-peers] [--output F]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round each (seconds)")
    parser.add_argument("--only", nargs="+", choices=SECTION_KEYS, help="run only these sections")
    parser.add_argument("--size-mb", type=float, help="decoding stream size (default 50, quick 2)")
    parser.add_argument("--no-peers", action="store_true", help="skip installing and running the peers")
    parser.add_argument("--repeat", type=int, help="decoding rounds, best kept (default 3; quick 1)")
    parser.add_argument(
        "--e2e-tasks", type=int, nargs="+", help="end-to-end task counts (default 200; quick 20)"
    )
    parser.add_argument(
        "--e2e-clusters", nargs="+", choices=("real", "local"), help="end-to-end clusters (default both)"
    )
    parser.add_argument(
        "--e2e-peers",
        nargs="+",
        choices=("pymesos", "mesos-framework"),
        help="end-to-end peers (default both)",
    )
    parser.add_argument(
        "--e2e-rounds", type=int, default=1, help="end-to-end: runs of every scheduler per cluster"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.md", help="markdown file to write"
    )
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench.run" + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()
    sections = run_sections(
        args.only or SECTION_KEYS,
        quick=args.quick,
        size_mb=args.size_mb,
        peers=not args.no_peers,
        e2e_tasks=args.e2e_tasks,
        repeat=args.repeat,
        e2e_clusters=args.e2e_clusters,
        e2e_peers=args.e2e_peers,
        e2e_rounds=args.e2e_rounds,
    )
    machine = machine_info()
    with contextlib.suppress(ImportError):
        from bench.peers import install

        if not args.no_peers:
            status = install.ensure_peers()
            for name in ("pymesos", "http-parser", "mesos-framework", "node"):
                if name in status.versions:
                    machine[f"peer {name}" if name != "node" else "node"] = status.versions[name]
    report = render(sections, machine, command, started)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    args.output.with_suffix(".json").write_text(
        json.dumps(
            {
                "started": started,
                "command": command,
                "machine": machine,
                "sections": [s.__dict__ for s in sections],
            },
            indent=1,
            default=str,
        )
        + "\n"
    )
    print(f"written to {args.output}", file=sys.stderr)
    return 1 if any(s.status == "error" for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
