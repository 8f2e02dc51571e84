"""The real-mesos harness's smoke.py, unchanged, against the local cluster."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from mesos_framework.local import LocalCluster

SMOKE = Path(__file__).resolve().parents[3] / "shared" / "real-mesos" / "smoke.py"


@pytest.mark.skipif(not SMOKE.exists(), reason=f"{SMOKE} not found")
async def test_smoke_py_passes() -> None:
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
