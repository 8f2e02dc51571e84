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
import json
import logging
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger("mesos_framework.local.command_executor")

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
    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.id = info["task_id"]
        self.proc: asyncio.subprocess.Process | None = None
        self.killing = False
        self.terminal_uuid: str | None = None
        self.done = False


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
        self, task: _Task, state: str, message: str | None = None, reason: str | None = None
    ) -> None:
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
            self.killing_state = any(
                c.get("type") == "TASK_KILLING_STATE" for c in fw.get("capabilities", [])
            )
        elif kind == "LAUNCH":
            await self.launch([event["launch"]["task"]])
        elif kind == "LAUNCH_GROUP":
            self.group = True
            await self.launch(event["launch_group"]["task_group"]["tasks"])
        elif kind == "KILL":
            policy = event["kill"].get("kill_policy")
            tid = event["kill"]["task_id"]["value"]
            targets = (
                list(self.tasks.values())
                if self.group
                else [t for t in self.tasks.values() if t.id["value"] == tid]
            )
            for task in targets:
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
            task = _Task(info)
            self.tasks[task.id["value"]] = task
            self.unacked_tasks[task.id["value"]] = info
            await self.update(task, "TASK_STARTING")
            command = info.get("command", {})
            env = dict(os.environ)
            for var in command.get("environment", {}).get("variables", []):
                env[var["name"]] = var.get("value", "")
            container = info.get("container", {})
            try:
                if container.get("type") == "DOCKER":
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
                    cwd=self.sandbox,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    process_group=0,  # own group, same session: the agent can reap leftovers
                )
            except OSError as exc:
                await self.update(task, "TASK_FAILED", f"Failed to launch the command: {exc}")
                continue
            await self.update(task, "TASK_RUNNING")
            self.spawn(self.wait(task))

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
        if self.group and state != "TASK_FINISHED":
            for other in self.tasks.values():
                if other is not task and not other.killing:
                    self.spawn(self.kill(other, None))
        await self.update(task, state, message, reason)

    async def kill(self, task: _Task, policy: dict[str, Any] | None) -> None:
        if task.killing or task.proc is None or task.proc.returncode is not None:
            return
        task.killing = True
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
