"""Starting executor processes: by ``exec`` (custom executors) or through the fork server.

The local cluster's own command / default executor is started by `_forkserver`, a worker process
that has imported it once and forks a child per executor (a fraction of a fresh interpreter's CPU
and memory); its children are reaped there and their exits reported back. `ForkServer.spawn`
returns a `ForkedProcess` that the agent supervises like an ``asyncio.subprocess.Process``: a
``pid``, a ``returncode`` (None while it runs; negative for a signal) and ``wait()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ExecutorProcess", "ForkServer", "ForkedProcess"]

log = logging.getLogger(__name__)

FORK_SERVER = str(Path(__file__).with_name("_forkserver.py"))
FORKED_EXECUTOR = str(Path(__file__).with_name("command_executor.py"))
"""The executor the fork server runs (in place of ``python -P <it>``)."""


class ExecutorProcess(Protocol):
    """What the agent needs of an executor's process."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class ForkedProcess:
    """An executor forked by the fork server."""

    def __init__(self, pid: int, release: Callable[[], None] | None = None) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._ended = asyncio.Event()
        self._release = release

    def started(self) -> None:
        """The executor subscribed: its launch slot is free for the next one."""
        release, self._release = self._release, None
        if release is not None:
            release()

    def _exited(self, returncode: int) -> None:
        self.started()
        if self.returncode is None:
            self.returncode = returncode
            self._ended.set()

    async def wait(self) -> int:
        """Its return code once it ended (negative: the signal that ended it)."""
        await self._ended.wait()
        assert self.returncode is not None
        return self.returncode


class ForkServer:
    """One fork server process (started on the first `spawn`), shared by a cluster's agents.

    At most ``window`` executors are starting at once (forked, not yet subscribed: see
    `ForkedProcess.started`); later spawns wait for a slot. Thousands of interpreters starting
    together on two cores would each get a sliver of the CPU, all of them (and the cluster's own
    process) would be slow, and many would miss the registration timeout; in a short queue each
    starts in milliseconds. A slot is also freed when the executor ends or after ``slot_timeout``
    seconds (an executor that never subscribes holds up no other).
    """

    def __init__(self, window: int | None = None, slot_timeout: float = 10.0) -> None:
        self.window = window or 16 * (os.cpu_count() or 2)
        self.slot_timeout = slot_timeout
        self._slots: asyncio.Semaphore | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Lock | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[ForkedProcess]] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._next = 0
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The fork server's pid (None until started)."""
        return self._proc.pid if self._proc is not None else None

    async def _ensure(self) -> asyncio.subprocess.Process:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._proc is None or self._proc.returncode is not None:
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-P",
                    FORK_SERVER,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    start_new_session=True,  # Ctrl-C on the command line is the cluster's to handle
                    limit=1 << 20,
                )
                self._reader = asyncio.get_running_loop().create_task(self._read(self._proc))
            return self._proc

    async def spawn(
        self, argv: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path
    ) -> ForkedProcess:
        """Fork an executor: its own session, ``env``, ``cwd``, output appended to the two files."""
        if self._closed:
            raise OSError("the executor fork server is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.window)
        await self._slots.acquire()
        try:
            child = await self._fork(argv, env, cwd, stdout, stderr)
        except BaseException:
            self._slots.release()
            raise
        slots = self._slots
        timer = asyncio.get_running_loop().call_later(self.slot_timeout, child.started)

        def release() -> None:
            timer.cancel()
            slots.release()

        child._release = release
        if child.returncode is not None:  # it ended before it was handed out
            child.started()
        return child

    async def _fork(
        self, argv: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path
    ) -> ForkedProcess:
        proc = await self._ensure()
        assert proc.stdin is not None
        self._next += 1
        request_id = self._next
        future: asyncio.Future[ForkedProcess] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        request = {
            "id": request_id,
            "argv": argv,
            "env": env,
            "cwd": str(cwd),
            "stdout": str(stdout),
            "stderr": str(stderr),
        }
        proc.stdin.write(json.dumps(request).encode() + b"\n")
        try:
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            self._waiting.pop(request_id, None)
            raise OSError(f"the executor fork server is gone: {exc}") from exc
        return await future

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                self._message(json.loads(line))
        finally:
            self._lost(proc)

    def _message(self, message: dict[str, Any]) -> None:
        if "exit" in message:
            child = self._children.pop(int(message["exit"]), None)
            if child is not None:
                child._exited(int(message["returncode"]))
            return
        future = self._waiting.pop(int(message["id"]), None)
        if future is None or future.done():
            return
        if "error" in message:
            future.set_exception(OSError(message["error"]))
            return
        child = ForkedProcess(int(message["pid"]))
        self._children[child.pid] = child
        future.set_result(child)

    def _lost(self, proc: asyncio.subprocess.Process) -> None:
        """The fork server ended: fail the requests waiting for it; watch its children by pid."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(OSError("the executor fork server ended"))
        self._waiting.clear()
        orphans, self._children = self._children, {}
        if orphans and not self._closed:
            log.warning("the executor fork server ended; watching its %d executors by pid", len(orphans))
        for child in orphans.values():
            asyncio.get_running_loop().create_task(_watch(child))

    async def close(self) -> None:
        """End the fork server (executors it started are the agents' to stop)."""
        self._closed = True
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader


async def _watch(child: ForkedProcess) -> None:
    """A child whose parent (the fork server) is gone: it ended when its pid is gone."""
    while True:
        try:
            os.kill(child.pid, 0)
        except ProcessLookupError:
            child._exited(-signal.SIGKILL)  # its real status went with its parent
            return
        except PermissionError:
            pass
        await asyncio.sleep(0.5)
