"""Import and command-line start-up cost.

``python -m bench.import_time`` times, each in fresh interpreters (the median of ``repeat``
runs), the import of ``asyncio`` (the baseline, measured in the same run), of
``mesos_framework``, of the scheduler's whole stack (``from mesos_framework import
Scheduler``) and of the local cluster, with the memory the import added (peak RSS); and the
wall time of ``mesos-framework --help`` beside that of ``python -c pass``. Goal: ``import
mesos_framework`` at most 3x ``import asyncio``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GOAL_VS_ASYNCIO = 3.0

IMPORTS = {
    "import asyncio (baseline)": "import asyncio",
    "import mesos_framework": "import mesos_framework",
    "from mesos_framework import Scheduler": "from mesos_framework import Scheduler",
    "from mesos_framework import LocalCluster; LocalCluster": (
        "from mesos_framework import LocalCluster; import mesos_framework.local.cluster"
    ),
}

_MEASURE = """\
import resource, sys, time
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0, c0 = time.perf_counter(), time.process_time()
exec(compile(sys.argv[1], "<import>", "exec"))
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, after - before, cpu)
"""


def _time_import(statement: str, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", _MEASURE, statement],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, kib, cpu = out.stdout.split()
        runs.append({"seconds": float(seconds), "kib": float(kib), "cpu": float(cpu)})
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "kib": statistics.median(r["kib"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
    }


def _wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("mesos-framework")
    if script.exists():
        return [str(script)]
    found = shutil.which("mesos-framework")
    return [found] if found else [sys.executable, "-m", "mesos_framework"]


def run(repeat: int = 7) -> list[dict[str, Any]]:
    """One row per import and one for the command line's ``--help``."""
    rows: list[dict[str, Any]] = []
    base: float | None = None
    base_cpu: float | None = None
    for name, statement in IMPORTS.items():
        measured = _time_import(statement, repeat)
        ms = measured["seconds"] * 1000
        cpu_ms = measured["cpu"] * 1000
        base = base if base is not None else ms
        base_cpu = base_cpu if base_cpu is not None else cpu_ms
        rows.append(
            {
                "name": name,
                "ms": round(ms, 1),
                "vs import asyncio": f"{ms / base:.2f}x" if base else "n/a",
                # CPU time: what a loaded machine disturbs least.
                "CPU ms": round(cpu_ms, 1),
                "CPU vs import asyncio": f"{cpu_ms / base_cpu:.2f}x" if base_cpu else "n/a",
                "added RSS MiB": round(measured["kib"] / 1024, 1),
            }
        )
    rows[1]["note"] = f"goal <= {GOAL_VS_ASYNCIO:g}x import asyncio"
    python_ms = _wall([sys.executable, "-c", "pass"], repeat) * 1000
    help_ms = _wall([*_cli(), "--help"], repeat) * 1000
    rows.append({"name": "python -c pass (baseline, wall)", "ms": round(python_ms, 1)})
    rows.append(
        {
            "name": "mesos-framework --help (wall)",
            "ms": round(help_ms, 1),
            "note": f"{help_ms - python_ms:.0f} ms more than starting Python",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
