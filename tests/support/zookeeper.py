"""A real ZooKeeper server (Debian's ``zookeeper`` package) on a loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from tests.support.ports import free_port

ZK_SERVER = Path("/usr/share/zookeeper/bin/zkServer.sh")


def available() -> str | None:
    """None if a server can be started here, else why not."""
    if not ZK_SERVER.exists():
        return f"{ZK_SERVER} not found (apt-get install zookeeper; scripts/test does this)"
    if shutil.which("java") is None:
        return "no java on PATH for ZooKeeper"
    return None


class ZooKeeperServer:
    """Start, stop and restart a throw-away ZooKeeper on 127.0.0.1.

    The data directory survives :meth:`restart`, so a restarted server keeps
    its znodes (for "ZooKeeper restarted" fault tests).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mf-zk-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        (self.dir / "data").mkdir()
        self.config = self.dir / "zoo.cfg"
        self.config.write_text(
            "tickTime=2000\n"
            f"dataDir={self.dir / 'data'}\n"
            f"clientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr\n"
            "maxSessionTimeout=60000\n"
            "minSessionTimeout=1000\n"
        )

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "ZOO_LOG_DIR": str(self.dir), "ZOO_LOG4J_PROP": "WARN,ROLLINGFILE"}
        self._log = (self.dir / "stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [str(ZK_SERVER), "start-foreground", str(self.config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited: {(self.dir / 'stderr.log').read_text()[-2000:]}")
            if self.ruok():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("ZooKeeper did not answer ruok in time")

    def ruok(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"ruok")
                return s.recv(16) == b"imok"
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
