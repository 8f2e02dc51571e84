"""Running the examples as a user would: as child processes, checked by their output.

Every run gets a unique ``MF_EXAMPLE_RUN`` environment variable. Everything
it starts (the local cluster, executors, tasks) inherits it, so after the run
``leftovers()`` finds any process that outlived it by reading
``/proc/*/environ``; the fixture fails the test if one is found (and kills it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class ExampleRun:
    """The outcome of one example run."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    tag: str = field(repr=False)

    def lines(self, *needles: str) -> list[str]:
        """Lines of stdout containing every needle."""
        return [line for line in self.stdout.splitlines() if all(n in line for n in needles)]

    def explain(self) -> str:
        """Everything the run printed, for assertion messages."""
        return (
            f"$ {' '.join(self.argv)}\n-- exit {self.returncode}\n"
            f"-- stdout\n{self.stdout}\n-- stderr\n{self.stderr}"
        )


def leftovers(tag: str) -> list[int]:
    """PIDs of live processes whose environment carries ``MF_EXAMPLE_RUN=tag``."""
    needle = f"MF_EXAMPLE_RUN={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie is gone, only not yet reaped
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


Runner = Callable[..., Awaitable[ExampleRun]]


@pytest_asyncio.fixture
async def run_example() -> AsyncIterator[Runner]:
    """``await run_example("command_scheduler.py", "--master", url, timeout=60)``.

    Runs ``python examples/<file> args...`` (or, with ``module=True``,
    ``python -m args...``) from the repository root, in this event loop so a
    ``local_cluster`` fixture keeps serving it. Fails the test if the run leaves
    a process behind.
    """
    tags: list[str] = []

    async def run(
        *args: str,
        module: bool = False,
        timeout: float = 120.0,  # noqa: ASYNC109
        env: dict[str, str] | None = None,
    ) -> ExampleRun:
        tag = uuid.uuid4().hex
        tags.append(tag)
        argv = (
            [sys.executable, "-m", *args] if module else [sys.executable, str(EXAMPLES / args[0]), *args[1:]]
        )
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {}), "MF_EXAMPLE_RUN": tag},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(timeout):
                out, err = await proc.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = await proc.communicate()
            run = ExampleRun(argv, -9, out.decode(), err.decode(), tag)
            raise AssertionError(f"example did not end within {timeout:g}s\n{run.explain()}") from None
        assert proc.returncode is not None
        return ExampleRun(argv, proc.returncode, out.decode(), err.decode(), tag)

    yield run

    stray = {tag: leftovers(tag) for tag in tags}
    for pids in stray.values():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not any(stray.values()), f"processes left behind by an example run: {stray}"


async def master_state(url: str) -> dict[str, Any]:
    """The master's ``/master/state`` (the operator view a user would look at)."""
    async with aiohttp.ClientSession() as http, http.get(url.rstrip("/") + "/master/state") as resp:
        assert resp.status == 200, await resp.text()
        state: dict[str, Any] = await resp.json(content_type=None)
        return state


def active_tasks(state: dict[str, Any], framework_id: str | None = None) -> list[dict[str, Any]]:
    """Tasks of active frameworks (or of one framework) from a ``/master/state`` document."""
    return [
        task
        for fw in state.get("frameworks", [])
        if framework_id is None or fw.get("id") == framework_id
        for task in fw.get("tasks", [])
    ]
