"""`mesos-framework run app.py --admin-port N`: the file's `AdminServer.from_env` serves there."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from mesos_framework.admin import AdminServer
from mesos_framework.errors import ConfigurationError
from mesos_framework.scheduler import Scheduler
from tests.support.ports import free_port

APP = """
import asyncio, os
from mesos_framework.admin import AdminServer
from mesos_framework.scheduler import Scheduler

async def main():
    s = Scheduler(
        master=os.environ["MESOS_MASTER"],
        framework_name="admin-cli",
        tasks={"web": {"command": {"value": "exec sleep 300", "shell": True},
                       "resources": {"cpus": 0.1, "mem": 16}, "instances": 2, "allow_scaling": True}},
    )
    admin = AdminServer.from_env(s)
    assert admin is not None
    async with admin:
        print("admin", admin.url, flush=True)
        await s.run()

asyncio.run(main())
"""

TASK = {"command": {"value": "true"}, "resources": {"cpus": 0.1, "mem": 16}}


def test_from_env() -> None:
    s = Scheduler(master="127.0.0.1:1", framework_name="env", tasks={"a": TASK})
    assert AdminServer.from_env(s, {}) is None
    assert AdminServer.from_env(s, {"MESOS_FRAMEWORK_ADMIN_PORT": ""}) is None
    server = AdminServer.from_env(
        s, {"MESOS_FRAMEWORK_ADMIN_PORT": "9100", "MESOS_FRAMEWORK_ADMIN_TOKEN": "t"}
    )
    assert server is not None and server.port == 9100 and server.host == "127.0.0.1"
    with pytest.raises(ConfigurationError) as info:
        AdminServer.from_env(s, {"MESOS_FRAMEWORK_ADMIN_PORT": "nine"})
    assert info.value.option == "MESOS_FRAMEWORK_ADMIN_PORT"


async def test_run_with_admin_port_serves_the_files_scheduler(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = free_port()
    token = "cli-token"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "mesos_framework", "run", str(app), "--master", "local", "--admin-port", str(port)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "MESOS_FRAMEWORK_ADMIN_TOKEN": token},
    )
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        assert line.decode().split() == ["admin", url]
        async with aiohttp.ClientSession() as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while True:
                async with http.get(f"{url}/tasks", headers=auth) as resp:
                    assert resp.status == 200
                    body = await resp.json()
                if sorted(t["name"] for t in body["tasks"] if t["state"] == "TASK_RUNNING") == [
                    "web-1",
                    "web-2",
                ]:
                    break
                assert loop.time() < deadline, body
                await asyncio.sleep(0.2)
            async with http.get(f"{url}/ready") as resp:
                assert resp.status == 200
            async with http.get(f"{url}/tasks") as resp:
                assert resp.status == 401  # the token came through the environment
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        _out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
