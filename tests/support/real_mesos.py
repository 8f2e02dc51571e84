"""The real Apache Mesos 1.11 harness from ``../shared/real-mesos``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(os.environ.get("REAL_MESOS_HARNESS", REPO.parent / "shared" / "real-mesos"))


def available() -> str | None:
    """None if the harness is here, else why not."""
    if not (HARNESS / "start").exists():
        return f"real Mesos harness not found at {HARNESS} (it lives in the project's shared/ folder)"
    return None


def build() -> None:
    """Build the harness (idempotent; a no-op once built)."""
    subprocess.run(["bash", str(HARNESS / "build")], check=True, capture_output=True, timeout=900)


class RealMesos:
    """A real Mesos 1.11 master with agents on 127.0.0.1, in the background."""

    def __init__(self, agents: int = 1, resources: str | None = None) -> None:
        self.port = free_port()
        self.agents = agents
        self.resources = resources
        self.work = Path(tempfile.mkdtemp(prefix="mf-real-mesos-"))
        self.work.chmod(0o755)
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.work / "log"

    def start(self) -> None:
        args = ["bash", str(HARNESS / "start"), str(self.port), str(self.agents)]
        if self.resources:
            args.append(self.resources)
        env = {**os.environ, "REAL_MESOS_WORK_DIR": str(self.work)}
        out = subprocess.run(args, check=True, capture_output=True, text=True, env=env, timeout=120)
        self.pid = int(out.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.pid is not None:
            subprocess.run(
                ["python3", str(HARNESS / "stop"), str(self.pid)],
                check=False,
                capture_output=True,
                timeout=60,
            )
            self.pid = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)
