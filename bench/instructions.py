"""Instructions per task, end to end: the scheduler's work counted by callgrind, not timed.

The end-to-end section times each scheduler's CPU, which on this shared two-core machine varies
by a quarter from one run to the next (caches, other processes, the cluster's own executors). The
number of instructions a scheduler executes for the same job hardly varies at all. This section
runs each scheduler of :mod:`bench.end_to_end` / :mod:`bench.peers.e2e` under valgrind's callgrind
tool twice on the same master, with ``small`` and ``large`` tasks, and reports the difference per
task: the steady-state instructions one task costs its scheduler (start-up and imports cancel out).

Instructions are not time: a scheduler whose instructions miss the caches more often pays more per
instruction. The figure is the stable companion of the timed one, not a replacement; it shows
whether a change made the scheduler do less.

``python -m bench.instructions [--master HOST:PORT] [--small 50] [--large 200]`` (without
``--master`` a fresh real Mesos 1.11 is started, as for the end-to-end section). Needs valgrind.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
Row = dict[str, Any]

_COLLECTED = re.compile(rb"Collected : (\d+)")


class ValgrindMissing(RuntimeError):
    """valgrind is not installed (``apt-get install valgrind``)."""


def count(cmd: Sequence[str], *, timeout: float = 1800.0) -> tuple[int, str]:
    """Run ``cmd`` under callgrind; its instruction count and its last line of standard output."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise ValgrindMissing("valgrind is not installed (apt-get install valgrind)")
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        capture_output=True,
        timeout=timeout,
        check=False,
        cwd=os.fspath(REPO),
    )
    found = _COLLECTED.findall(proc.stderr)
    if proc.returncode != 0 or not found:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode} under callgrind: {' | '.join(tail)}")
    lines = proc.stdout.decode(errors="replace").strip().splitlines()
    return int(found[-1]), lines[-1] if lines else ""


def _commands(master: str, tasks: int) -> dict[str, list[str]]:
    from bench.peers import install

    commands = {
        "this library": [sys.executable, "-m", "bench.end_to_end", "--master", master, "--tasks", str(tasks)]
    }
    python = install.venv_python()
    if python.exists():
        script = os.fspath(REPO / "bench" / "peers" / "pymesos_e2e.py")
        commands["pymesos"] = [os.fspath(python), script, "--master", master, "--tasks", str(tasks)]
    return commands


def per_task(small: tuple[int, int], large: tuple[int, int]) -> float:
    """Instructions per task from two ``(tasks, instructions)`` runs of one scheduler."""
    (n_small, ir_small), (n_large, ir_large) = small, large
    if n_large <= n_small:
        raise ValueError("the large run needs more tasks than the small one")
    return (ir_large - ir_small) / (n_large - n_small)


def run_on(master: str, *, small: int = 50, large: int = 200) -> list[Row]:
    """Each scheduler, ``small`` then ``large`` tasks under callgrind on ``master``; a row each."""
    rows: list[Row] = []
    for name in _commands(master, small):
        row: Row = {"name": name, "small": small, "large": large}
        try:
            runs = []
            for n in (small, large):
                instructions, last = count(_commands(master, n)[name])
                result = json.loads(last)
                if not result.get("completed"):
                    raise RuntimeError(f"{name} did not finish {n} tasks under callgrind")
                runs.append((n, instructions))
            row["instructions_per_task"] = round(per_task(runs[0], runs[1]))
            row["runs"] = runs
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            row["error"] = str(exc)
        rows.append(row)
    base = next((r.get("instructions_per_task") for r in rows if r["name"] == "pymesos"), None)
    for row in rows:
        if base and row.get("instructions_per_task"):
            row["vs_pymesos"] = round(row["instructions_per_task"] / base, 3)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n")[0])
    parser.add_argument("--master", help="host:port of a running master (default: a fresh real Mesos)")
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=200)
    args = parser.parse_args(argv)
    if args.master:
        rows = run_on(args.master, small=args.small, large=args.large)
    else:
        from bench.peers import e2e

        with e2e.real_mesos() as master:
            rows = run_on(master, small=args.small, large=args.large)
    for row in rows:
        print(json.dumps(row))
    return 0 if all("error" not in row for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
