"""The real-mesos harness's smoke.py, unchanged, against the local cluster."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mesos_framework.local import LocalCluster
from tests.support.prereq import unavailable

SMOKE = Path(__file__).resolve().parents[3] / "shared" / "real-mesos" / "smoke.py"


async def test_smoke_py_passes() -> None:
    if not SMOKE.exists():
        unavailable(f"the real-mesos harness's {SMOKE} not found")
    async with LocalCluster(agents=2) as cluster:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SMOKE),
            cluster.url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 170)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "all checks passed" in text
