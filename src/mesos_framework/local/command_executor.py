"""The local cluster's command (and default) executor, a v1 HTTP executor.

Run by an agent as ``python <path of this file>``: by path, so that starting
it imports nothing but the standard library (fast even on a busy machine).
It finds the agent through ``MESOS_SLAVE_PID``, SUBSCRIBEs, runs each task
it gets (``LAUNCH`` or ``LAUNCH_GROUP``) as a process group in the sandbox
and reports ``TASK_STARTING``, ``TASK_RUNNING`` and a terminal state with
Mesos's messages (``Command exited with status 3``). ``KILL`` sends
SIGTERM, then SIGKILL after the grace period, to the task's process group.
It exits once every task's terminal update has been acknowledged by the
agent, or on ``SHUTDOWN``, or when the agent goes away. With checkpointing
(``MESOS_CHECKPOINT=1``) it survives an agent restart as Mesos's executors
do: it re-subscribes after random delays in ``[0,
MESOS_SUBSCRIPTION_BACKOFF_MAX]`` until ``MESOS_RECOVERY_TIMEOUT``, sending
its unacknowledged tasks and updates along.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import importlib.util
import json
import logging
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

log = logging.getLogger("mesos_framework.local.command_executor")


def _sibling(name: str) -> ModuleType:
    """A standard-library-only module next to this file, loaded by path (importing the
    package would import the whole library)."""
    qualname = f"mesos_framework.local.{name}"
    module = sys.modules.get(qualname)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(qualname, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualname] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from mesos_framework.local import _checks
else:
    _checks = _sibling("_checks")

TERMINAL = {
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_ERROR",
    "TASK_LOST",
    "TASK_DROPPED",
    "TASK_GONE",
    "TASK_GONE_BY_OPERATOR",
}


def _parse_duration(text: str) -> float:
    units = {
        "ns": 1e-9,
        "us": 1e-6,
        "ms": 1e-3,
        "secs": 1,
        "mins": 60,
        "hrs": 3600,
        "days": 86400,
        "weeks": 604800,
    }
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            try:
                return float(text[: -len(unit)]) * units[unit]
            except ValueError:
                break
    return 5.0


class _HttpError(Exception):
    """The agent answered with an unexpected status or broke the connection."""


async def _request(
    host: str, port: int, path: str, body: bytes
) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter, dict[str, str]]:
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        writer.close()
        raise _HttpError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(parts[1]), reader, writer, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        async for chunk in _chunks(reader):
            out += chunk
        return out
    return await reader.readexactly(int(headers.get("content-length", "0")))


def _cluster_gone() -> bool:
    """Whether the local cluster process that started this executor has died.

    A checkpointing executor waits up to ``MESOS_RECOVERY_TIMEOUT`` (15 minutes) for its agent,
    as across an agent restart.  Local agents live in the cluster's process and their restarts
    keep it; once the process itself is gone (SIGKILL, a crash) no agent comes back, and the
    tasks must not outlive it by a quarter of an hour (issue 15 item 8).
    """
    raw = os.environ.get("MESOS_FRAMEWORK_LOCAL_CLUSTER_PID", "")
    if not raw.isdigit():
        return False
    pid = int(raw)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone (or its id taken by another user's process)
        return True
    try:  # killed, not yet reaped by its parent
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The pieces of a chunked HTTP body."""
    while True:
        size_line = await reader.readline()
        if not size_line:
            return
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return
        data = await reader.readexactly(size)
        await reader.readexactly(2)
        yield data


class _Task:
    def __init__(self, info: dict[str, Any], directory: str, group: str | None = None) -> None:
        self.info = info
        self.id = info["task_id"]
        self.directory = directory
        """Its sandbox: the executor's, or for a task group's task its own nested container's."""
        self.group = group
        self.container_id: str | None = None
        self.launch_error: str | None = None
        self.killing_group = False
        self.proc: asyncio.subprocess.Process | None = None
        self.killing = False
        self.terminal_uuid: str | None = None
        self.done = False
        self.last_status: dict[str, Any] | None = None
        self.checker: _checks.Checker | None = None
        self.health_checker: _checks.HealthChecker | None = None
        self.killed_by_health = False

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    def stop_checks(self) -> None:
        """Pause the checkers: no check or health updates once the task is killed or gone."""
        for checker in (self.checker, self.health_checker):
            if checker is not None:
                checker.pause()
        self.checker = self.health_checker = None


class CommandExecutor:
    """The executor's state machine (one agent connection)."""

    def __init__(self, env: dict[str, str]) -> None:
        name, _, addr = env["MESOS_SLAVE_PID"].partition("@")
        host, _, port = addr.rpartition(":")
        self.host, self.port = host, int(port)
        self.path = f"/{name}/api/v1/executor"
        self.ids = {
            "framework_id": {"value": env["MESOS_FRAMEWORK_ID"]},
            "executor_id": {"value": env["MESOS_EXECUTOR_ID"]},
        }
        self.sandbox = env.get("MESOS_SANDBOX", os.getcwd())
        self.grace = _parse_duration(env.get("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"))
        self.checkpoint = env.get("MESOS_CHECKPOINT") == "1"
        self.recovery_timeout = _parse_duration(env.get("MESOS_RECOVERY_TIMEOUT", "15mins"))
        self.backoff_max = _parse_duration(env.get("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"))
        self.subscribed = False
        self.shutting_down = False
        self.unacked_tasks: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, _Task] = {}
        self.killing_state = False
        self.group = False
        self.unacked: dict[str, dict[str, Any]] = {}
        self.finished = asyncio.Event()
        self.background: set[asyncio.Task[None]] = set()
        self.unhealthy = False  # the default executor's flag: some task was killed as unhealthy
        self.container_id = ""
        self.user: str | None = None
        self.fetch_cache = env.get("MESOS_FRAMEWORK_LOCAL_FETCH_CACHE")
        self.fetch_cache_size = env.get("MESOS_FRAMEWORK_LOCAL_FETCH_CACHE_SIZE", "")

    async def post(self, call: dict[str, Any]) -> int:
        """POST a call; returns the HTTP status (0 when the connection failed)."""
        body = json.dumps({**call, **self.ids}).encode()
        try:
            status, reader, writer, headers = await _request(self.host, self.port, self.path, body)
            text = await _read_body(reader, headers)
            writer.close()
        except (OSError, asyncio.IncompleteReadError, _HttpError) as exc:
            log.warning("%s failed: %s", call["type"], exc)
            return 0
        if status != 202:
            log.warning("%s -> %s %s", call["type"], status, text[:200])
        return status

    async def update(
        self,
        task: _Task,
        state: str,
        message: str | None = None,
        reason: str | None = None,
        *,
        healthy: bool | None = None,
    ) -> None:
        """A status from scratch (``createTaskStatus``): a task with a check always carries a
        ``check_status``, empty until the check has a result."""
        status: dict[str, Any] = {
            "task_id": task.id,
            "executor_id": self.ids["executor_id"],
            "state": state,
            "source": "SOURCE_EXECUTOR",
            "uuid": base64.b64encode(uuid.uuid4().bytes).decode(),
            "timestamp": time.time(),
        }
        if message is not None:
            status["message"] = message
        if reason is not None:
            status["reason"] = reason
        if healthy is not None:
            status["healthy"] = healthy
        if "check" in task.info:
            status["check_status"] = _checks.empty_check_status(task.info["check"])
        await self.forward(task, status)

    async def derived_update(self, task: _Task, reason: str, **fields: Any) -> None:
        """The previous status again with a new uuid, timestamp, ``reason`` and ``fields``
        (how Mesos's executors send check and health updates)."""
        if task.last_status is None:
            return
        status = copy.deepcopy(task.last_status)
        status["uuid"] = base64.b64encode(uuid.uuid4().bytes).decode()
        status["timestamp"] = time.time()
        status["reason"] = reason
        status.update(fields)
        await self.forward(task, status)

    async def forward(self, task: _Task, status: dict[str, Any]) -> None:
        state = status["state"]
        task.last_status = status
        if state in TERMINAL:
            task.terminal_uuid = status["uuid"]
        self.unacked[status["uuid"]] = status
        if not self.subscribed:
            log.info("%s of task %s kept for the next SUBSCRIBE", state, task.id["value"])
            return
        code = await self.post({"type": "UPDATE", "update": {"status": status}})
        if code == 503 and self.checkpoint:
            # the agent is recovering: try again while subscribed (the next SUBSCRIBE carries it too)
            self.spawn(self.retry_update(status))

    async def retry_update(self, status: dict[str, Any]) -> None:
        while status["uuid"] in self.unacked:
            await asyncio.sleep(random.uniform(0.05, max(self.backoff_max, 0.05)))
            if (
                self.subscribed
                and status["uuid"] in self.unacked
                and await self.post({"type": "UPDATE", "update": {"status": status}}) == 202
            ):
                return

    def spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self.background.add(t)
        t.add_done_callback(self.background.discard)

    async def subscribe(self) -> tuple[int, asyncio.StreamReader | None, asyncio.StreamWriter | None]:
        """One SUBSCRIBE attempt with the unacknowledged tasks and updates.

        Returns the status (0: no connection) and, on 200, the open stream.
        """
        subscribe: dict[str, Any] = {}
        if self.unacked_tasks:
            subscribe["unacknowledged_tasks"] = list(self.unacked_tasks.values())
        if self.unacked:
            subscribe["unacknowledged_updates"] = [{"status": st} for st in self.unacked.values()]
        body = json.dumps({"type": "SUBSCRIBE", "subscribe": subscribe, **self.ids}).encode()
        try:
            status, reader, writer, headers = await _request(self.host, self.port, self.path, body)
        except (OSError, asyncio.IncompleteReadError, _HttpError) as exc:
            log.warning("SUBSCRIBE failed: %s", exc)
            return 0, None, None
        if status != 200:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                log.warning("SUBSCRIBE -> %s %s", status, await _read_body(reader, headers))
            writer.close()
            return status, None, None
        return status, reader, writer

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handle events until done (False) or until the agent goes away (True)."""
        try:
            stream = asyncio.get_running_loop().create_task(self.read(reader))
            finished = asyncio.ensure_future(self.finished.wait())
            await asyncio.wait({stream, finished}, return_when=asyncio.FIRST_COMPLETED)
            finished.cancel()
            stream.cancel()
            with contextlib.suppress(
                asyncio.CancelledError, OSError, asyncio.IncompleteReadError, ValueError
            ):
                await stream
        finally:
            self.subscribed = False
            writer.close()
        return not self.finished.is_set()

    async def reconnect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Re-subscribe after random delays until the recovery timeout (checkpointing only)."""
        deadline = time.monotonic() + self.recovery_timeout
        while time.monotonic() < deadline and not _cluster_gone():
            await asyncio.sleep(random.uniform(0.0, self.backoff_max))
            status, reader, writer = await self.subscribe()
            if reader is not None and writer is not None:
                log.info("re-subscribed to the agent")
                return reader, writer
            if status not in (0, 503):
                return None
        return None

    async def run(self) -> int:
        status, reader, writer = await self.subscribe()
        if reader is None or writer is None:
            log.error("could not subscribe to the agent (status %s)", status)
            return 1
        while await self.serve(reader, writer):
            if self.shutting_down:
                await self.finished.wait()  # SHUTDOWN received: no reconnection
                break
            if not self.checkpoint:
                log.warning("lost the agent and checkpointing is off: shutting down")
                break
            log.warning("lost the agent; reconnecting for up to %ss", self.recovery_timeout)
            conn = await self.reconnect()
            if conn is None:
                log.error("the agent did not come back: shutting down")
                break
            reader, writer = conn
        await self.kill_all(self.grace)
        for t in list(self.background):
            t.cancel()
        return 0

    async def read(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        async for chunk in _chunks(reader):
            buffer += chunk
            while b"\n" in buffer:
                header, _, rest = buffer.partition(b"\n")
                size = int(header)
                if len(rest) < size:
                    break
                record, buffer = rest[:size], rest[size:]
                await self.handle(json.loads(record))
                if self.finished.is_set():
                    return

    async def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "SUBSCRIBED":
            self.subscribed = True
            fw = event["subscribed"].get("framework_info", {})
            self.container_id = event["subscribed"].get("container_id", {}).get("value", "")
            self.user = fw.get("user") or None
            self.killing_state = any(
                c.get("type") == "TASK_KILLING_STATE" for c in fw.get("capabilities", [])
            )
        elif kind == "LAUNCH":
            await self.launch([event["launch"]["task"]])
        elif kind == "LAUNCH_GROUP":
            self.group = True
            await self.launch_group(event["launch_group"]["task_group"]["tasks"])
        elif kind == "KILL":
            # One task; in a task group the others follow when it ends (the group's policy).
            policy = event["kill"].get("kill_policy")
            task = self.tasks.get(event["kill"]["task_id"]["value"])
            if task is not None:
                self.spawn(self.kill(task, policy))
        elif kind == "ACKNOWLEDGED":
            uid = event["acknowledged"]["uuid"]
            self.unacked.pop(uid, None)
            self.unacked_tasks.pop(event["acknowledged"]["task_id"]["value"], None)
            for task in self.tasks.values():
                if task.terminal_uuid == uid:
                    task.done = True
            if self.tasks and all(t.done for t in self.tasks.values()):
                self.finished.set()
        elif kind == "SHUTDOWN":
            self.shutting_down = True
            for task in self.tasks.values():
                self.spawn(self.kill(task, None))
            self.spawn(self._finish_after_kills())
        elif kind == "ERROR":
            log.error("agent error: %s", event.get("error", {}).get("message"))

    async def _finish_after_kills(self) -> None:
        deadline = time.monotonic() + self.grace + 1
        while time.monotonic() < deadline and any(  # noqa: ASYNC110
            t.proc and t.proc.returncode is None for t in self.tasks.values()
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        self.finished.set()

    async def launch(self, infos: list[dict[str, Any]]) -> None:
        for info in infos:
            task = _Task(info, self.sandbox)
            self.tasks[task.id["value"]] = task
            self.unacked_tasks[task.id["value"]] = info
            await self.update(task, "TASK_STARTING")
            try:
                await self.start_process(task, dict(os.environ))
            except OSError as exc:
                await self.update(task, "TASK_FAILED", f"Failed to launch the command: {exc}")
                continue
            await self.update(task, "TASK_RUNNING")
            self.start_checks(task)
            self.spawn(self.wait(task))

    async def start_process(
        self, task: _Task, env: dict[str, str], stdout: int | None = None, stderr: int | None = None
    ) -> None:
        info = task.info
        command = info.get("command", {})
        for var in command.get("environment", {}).get("variables", []):
            env[var["name"]] = var.get("value", "")
        if info.get("container", {}).get("type") == "DOCKER":
            argv, program = self.docker_argv(info, command), "docker"
        elif command.get("shell", True):
            argv, program = ["/bin/sh", "-c", command.get("value", "")], "/bin/sh"
        else:
            argv = list(command.get("arguments", [])) or [command.get("value", "")]
            program = command.get("value", argv[0])
        task.proc = await asyncio.create_subprocess_exec(
            argv[0],
            *argv[1:],
            executable=program,
            cwd=task.directory,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            process_group=0,  # own group, same session: the agent can reap leftovers
        )

    # ------------------------------------------------------------ task groups
    async def launch_group(self, infos: list[dict[str, Any]]) -> None:
        """Mesos's default executor: each task in a nested container of its own.

        Its sandbox is ``containers/<id>`` in the executor's (``tasks/<task id>`` links to it
        once it runs), with its ``CommandInfo.uris`` fetched there, its own ``stdout`` and
        ``stderr``, the parent's volumes mapped in, ``MESOS_SANDBOX`` pointing at it. A task that
        cannot be launched ends ``TASK_FAILED`` with the launch error; a task of the group that
        fails or is killed gets the others killed.
        """
        group = uuid.uuid4().hex
        tasks = []
        for info in infos:
            cid = str(uuid.uuid4())
            task = _Task(info, os.path.join(self.sandbox, "containers", cid), group)
            task.container_id = cid
            self.tasks[task.id["value"]] = task
            self.unacked_tasks[task.id["value"]] = info
            tasks.append(task)
            await self.update(task, "TASK_STARTING")
        for task in tasks:
            task.launch_error = await self.launch_nested(task)
        for task in tasks:
            if task.launch_error is not None:
                continue
            link = os.path.join(self.sandbox, "tasks", task.id["value"])
            os.makedirs(os.path.dirname(link), exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.symlink(task.directory, link)
            await self.update(task, "TASK_RUNNING")
            self.start_checks(task)
            self.spawn(self.wait(task))
        for task in tasks:
            if task.launch_error is not None:
                self.kill_group_of(task, "TASK_FAILED")
                await self.update(task, "TASK_FAILED", task.launch_error)

    async def launch_nested(self, task: _Task) -> str | None:
        """Sandbox, volumes, fetch and process of a task group's task; the launch error or None."""
        info = task.info
        try:
            os.makedirs(task.directory)
            self.map_volumes(task)
        except OSError as exc:
            return f"Failed to create sandbox: {exc}"
        stdout = os.open(
            os.path.join(task.directory, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        stderr = os.open(
            os.path.join(task.directory, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        try:
            uris = info.get("command", {}).get("uris", [])
            if uris:
                fetcher_module = _sibling("_fetcher")
                cache = self.fetch_cache or os.path.join(self.sandbox, ".fetch-cache")
                size = self.fetch_cache_size
                fetcher = fetcher_module.Fetcher(Path(cache), int(size) if size.isdigit() else None)
                container = f"{self.container_id}.{task.container_id}"
                command = info.get("command", {})
                user = command.get("user") or self.user
                try:
                    with _writer(stderr) as log_file:
                        await asyncio.to_thread(
                            fetcher.fetch,
                            [fetcher_module.Uri.from_json(u) for u in uris],
                            Path(task.directory),
                            container_id=container,
                            user=user,
                            stderr=log_file,
                        )
                except fetcher_module.FetchError as exc:
                    return str(exc)
            env = dict(os.environ)
            env["MESOS_SANDBOX"] = task.directory
            env["MESOS_CONTAINER_IP"] = "127.0.0.1"
            resources = info.get("resources", [])
            if resources:
                env["MESOS_ALLOCATION_ROLE"] = resources[0].get("allocation_info", {}).get("role", "*")
            try:
                await self.start_process(task, env, stdout, stderr)
            except OSError as exc:
                return f"Failed to launch the command: {exc}"
        finally:
            os.close(stdout)
            os.close(stderr)
        return None

    def map_volumes(self, task: _Task) -> None:
        """Mesos maps a task's disk volumes and ``SANDBOX_PATH`` volumes from the executor's
        sandbox (bind mounts there; symbolic links here)."""
        links: dict[str, str] = {}
        for resource in task.info.get("resources", []):
            volume = resource.get("disk", {}).get("volume")
            if volume and volume.get("container_path"):
                links[volume["container_path"]] = os.path.join(self.sandbox, volume["container_path"])
        for volume in task.info.get("container", {}).get("volumes", []):
            source = volume.get("source", {})
            if source.get("type") != "SANDBOX_PATH" or not volume.get("container_path"):
                continue
            sandbox_path = source.get("sandbox_path", {})
            base = self.sandbox if sandbox_path.get("type", "PARENT") == "PARENT" else task.directory
            links[volume["container_path"]] = os.path.join(base, sandbox_path.get("path", ""))
        for container_path, target in links.items():
            if os.path.isabs(container_path):
                continue  # an absolute path needs a mount namespace
            os.makedirs(target, exist_ok=True)
            link = os.path.join(task.directory, container_path)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.symlink(target, link)

    def kill_group_of(self, task: _Task, state: str) -> None:
        """The default executor's policy: a task of a group that fails or is killed (not during
        shutdown) gets the group's other tasks killed."""
        if task.group is None or self.shutting_down or task.killing_group:
            return
        if state not in ("TASK_FAILED", "TASK_KILLED"):
            return
        for other in self.tasks.values():
            if other is task or other.group != task.group or other.exited:
                continue
            other.killing_group = True
            if not other.killing:
                self.spawn(self.kill(other, None))

    def start_checks(self, task: _Task) -> None:
        """The task's check and health check start once it runs (as Mesos's executors do)."""
        tid = task.id["value"]
        if "check" in task.info:
            task.checker = _checks.Checker(
                task.info["check"],
                lambda status: self.spawn(self.check_updated(task, status)),
                task_id=tid,
                cwd=self.sandbox,
            )
            task.checker.start()
        if "health_check" in task.info:
            task.health_checker = _checks.HealthChecker(
                task.info["health_check"],
                lambda healthy, failures, kill: self.spawn(self.health_updated(task, healthy, kill)),
                task_id=tid,
                cwd=self.sandbox,
            )
            task.health_checker.start()

    async def check_updated(self, task: _Task, check_status: dict[str, Any]) -> None:
        if (
            task.killing
            or task.checker is None
            or (task.proc is not None and task.proc.returncode is not None)
        ):
            return
        log.info("check status of task %s: %s", task.id["value"], check_status)
        await self.derived_update(task, "REASON_TASK_CHECK_STATUS_UPDATED", check_status=check_status)

    async def health_updated(self, task: _Task, healthy: bool, kill: bool) -> None:
        if (
            task.killing
            or task.health_checker is None
            or (task.proc is not None and task.proc.returncode is not None)
        ):
            return
        log.info("task %s is %s", task.id["value"], "healthy" if healthy else "not healthy")
        await self.derived_update(task, "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED", healthy=healthy)
        if kill:
            task.killed_by_health = True
            self.unhealthy = True
            await self.kill(task, None)

    def docker_argv(self, info: dict[str, Any], command: dict[str, Any]) -> list[str]:
        image = info["container"].get("docker", {}).get("image", "")
        argv = [
            "docker",
            "run",
            "--rm",
            "-v",
            f"{self.sandbox}:/mnt/mesos/sandbox",
            "-w",
            "/mnt/mesos/sandbox",
        ]
        for var in command.get("environment", {}).get("variables", []):
            argv += ["-e", f"{var['name']}={var.get('value', '')}"]
        argv.append(image)
        if command.get("value"):
            if command.get("shell", True):
                argv += ["/bin/sh", "-c", command["value"]]
            else:
                argv += list(command.get("arguments", [])[1:]) or [command["value"]]
        return argv

    async def wait(self, task: _Task) -> None:
        assert task.proc is not None
        code = await task.proc.wait()
        task.stop_checks()
        with contextlib.suppress(OSError):
            os.killpg(task.proc.pid, signal.SIGKILL)
        if code >= 0:
            state = "TASK_FINISHED" if code == 0 else "TASK_FAILED"
            if task.killing and code != 0:
                state = "TASK_KILLED"
            message = f"Command exited with status {code}"
        else:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            message = f"Command terminated with signal {_strsignal(-code, name)}"
            state = "TASK_KILLED" if task.killing else "TASK_FAILED"
        reason = None
        if state == "TASK_FAILED" and code < 0:
            reason = "REASON_COMMAND_EXECUTOR_FAILED"
        self.kill_group_of(task, state)
        # Killed as unhealthy: the terminal update says so (the default executor: once any
        # task of the executor was, MESOS-8543).
        unhealthy = self.unhealthy if self.group else task.killed_by_health and task.killing
        await self.update(task, state, message, reason, healthy=False if unhealthy else None)

    async def kill(self, task: _Task, policy: dict[str, Any] | None) -> None:
        if task.killing or task.proc is None or task.proc.returncode is not None:
            return
        task.killing = True
        task.stop_checks()
        grace = self.grace
        kp = policy or task.info.get("kill_policy")
        if kp and "grace_period" in kp:
            grace = int(kp["grace_period"].get("nanoseconds", 0)) / 1e9
        if self.killing_state:
            await self.update(task, "TASK_KILLING")
        with contextlib.suppress(OSError):
            os.killpg(task.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(task.proc.wait()), grace)
        except TimeoutError:
            with contextlib.suppress(OSError):
                os.killpg(task.proc.pid, signal.SIGKILL)

    async def kill_all(self, grace: float) -> None:
        procs = [t.proc for t in self.tasks.values() if t.proc is not None and t.proc.returncode is None]
        for proc in procs:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), max(0.01, deadline - time.monotonic()))
        for proc in procs:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)


def _append(path: str) -> int:
    """A file descriptor appending to ``path`` (created)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def _writer(fd: int) -> BinaryIO:
    """A binary file object on ``fd`` that leaves it open."""
    return open(fd, "ab", closefd=False)


def _strsignal(num: int, fallback: str) -> str:
    text = signal.strsignal(num)
    return text if text else fallback


def main() -> int:
    """Entry point: run until the tasks are done."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s command-executor %(message)s"
    )
    if "MESOS_SLAVE_PID" not in os.environ:
        sys.stderr.write("MESOS_SLAVE_PID is not set: not started by an agent\n")
        return 1
    return asyncio.run(CommandExecutor(dict(os.environ)).run())


if __name__ == "__main__":
    sys.exit(main())
