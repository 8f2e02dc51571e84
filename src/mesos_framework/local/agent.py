"""An agent of the local cluster: executors as real processes, status updates.

Command tasks run through :mod:`.command_executor`, a v1 HTTP executor, just
as Mesos's agent runs ``mesos-executor``; custom executors get the
``MESOS_*`` environment Mesos gives them. Every executor/agent status update
goes through a status update manager that forwards one update per task at a
time and retries it until the scheduler acknowledges that uuid.

Agent restarts (:meth:`Agent.crash`, :meth:`Agent.recover`,
:meth:`Agent.finish_recovery`) follow Mesos's ``--recover=reconnect``: what a
checkpointing framework has on the agent survives and its executors
re-subscribe; everything else is forgotten and its containers destroyed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mesos_framework import protocol
from mesos_framework.local import _codec
from mesos_framework.local._stream import EventStream
from mesos_framework.local.config import VERSION, ClusterConfig
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import Master

__all__ = ["Agent", "kill_tree", "valid_uuid"]

log = logging.getLogger(__name__)

ExCall = executor_pb2.Call
ExEvent = executor_pb2.Event
TERMINAL = _codec.TERMINAL_STATES
RETRY_MAX = 600.0
RECOVERING_MESSAGE = "Agent has not finished recovery"
COMMAND_EXECUTOR = str(Path(__file__).with_name("command_executor.py"))


def format_duration(seconds: float) -> str:
    """Stout duration text (``5secs``)."""
    return protocol.format_duration(seconds)


def valid_uuid(data: bytes) -> bool:
    """stout's ``UUID::fromBytes``: 16 bytes with a known version nibble."""
    return len(data) == 16 and 1 <= (data[6] >> 4) <= 5


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, session id) of every process, from /proc."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), int(fields[3]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def _descendants(pid: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """Every descendant of ``pid`` still attached to it (``children``: ppid -> pids, if scanned)."""
    if children is None:
        children = _children(_proc_table())
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _children(table: dict[int, tuple[int, int]]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for child, (ppid, _sid) in table.items():
        children.setdefault(ppid, []).append(child)
    return children


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a container: the process, its descendants, their process groups,
    and everything left in the session it leads (orphans included)."""
    kill_trees({pid}, sig=sig)


def kill_trees(roots: set[int], ended: set[int] | None = None, *, sig: int = signal.SIGKILL) -> None:
    """:func:`kill_tree` for many containers with one /proc scan.

    ``roots`` are running executors (a scan of /proc reads the stat file of every process on the
    machine, so one scan for a batch matters when thousands of tasks end together). ``ended`` are
    executors already reaped: only what is left in the sessions they led is signalled, never
    their pid itself (which may belong to a new process by now).
    """
    ended = ended or set()
    if not roots and not ended:
        return
    own_pid, own_group, own_session = os.getpid(), os.getpgrp(), os.getsid(0)
    table = _proc_table()
    children = _children(table)
    sessions: dict[int, list[int]] = {}
    for p, (_ppid, sid) in table.items():
        sessions.setdefault(sid, []).append(p)
    pids: set[int] = set()
    for root in roots:
        pids.add(root)
        pids.update(_descendants(root, children))
        if root != own_session:
            pids.update(sessions.get(root, ()))
    left = {p for leader in ended - {own_session} for p in sessions.get(leader, ())}
    groups: set[int] = set()
    for p in pids:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(p))
    # the roots (the executors) first, so that they cannot report their tasks' deaths
    for root in roots - {own_pid}:
        with contextlib.suppress(OSError):
            os.kill(root, sig)
    for g in groups - {own_group}:
        with contextlib.suppress(OSError):
            os.killpg(g, sig)
    for p in (pids | left) - {own_pid}:
        with contextlib.suppress(OSError):
            os.kill(p, sig)


# --------------------------------------------------------------------------
# status update manager


@dataclass
class _UpdateStream:
    framework_id: str
    task_id: str
    pending: deque[mesos_pb2.TaskStatus] = field(default_factory=deque)
    seen: set[bytes] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None
    interval: float = 0.0
    latest_state: int = mesos_pb2.TASK_STAGING


class StatusUpdateManager:
    """Per-task FIFO of updates; only the head is forwarded, retried until acked."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.streams: dict[tuple[str, str], _UpdateStream] = {}
        self.paused: set[str] = set()

    def update(self, framework_id: str, status: mesos_pb2.TaskStatus) -> bool:
        """Add an update; False if it is a duplicate (same uuid)."""
        key = (framework_id, status.task_id.value)
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = _UpdateStream(framework_id, status.task_id.value)
        if status.uuid in stream.seen:
            return False
        stream.seen.add(status.uuid)
        stream.pending.append(status)
        stream.latest_state = status.state
        if len(stream.pending) == 1:
            self._forward(stream, reset=True)
        return True

    def _forward(self, stream: _UpdateStream, *, reset: bool = False) -> None:
        if not stream.pending:
            return
        if stream.timer is not None:
            stream.timer.cancel()
        if reset:
            stream.interval = self.agent.config.status_update_retry
        else:
            stream.interval = min(stream.interval * 2, RETRY_MAX)
        self.agent.forward_update(stream.framework_id, stream.pending[0], stream.latest_state)
        loop = asyncio.get_running_loop()
        stream.timer = loop.call_later(stream.interval, self._forward, stream)

    def acknowledge(self, framework_id: str, task_id: str, uuid_bytes: bytes) -> mesos_pb2.TaskStatus | None:
        """Ack of the head update: pops it, forwards the next; returns the acked update."""
        stream = self.streams.get((framework_id, task_id))
        if stream is None or not stream.pending or stream.pending[0].uuid != uuid_bytes:
            return None
        acked = stream.pending.popleft()
        if stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None
        if stream.pending:
            self._forward(stream, reset=True)
        elif acked.state in TERMINAL:
            del self.streams[(framework_id, task_id)]
        return acked

    def resume(self, framework_id: str) -> None:
        """Resend every pending head of a framework now (it re-subscribed)."""
        for stream in list(self.streams.values()):
            if stream.framework_id == framework_id and stream.pending:
                self._forward(stream, reset=True)

    def cleanup(self, framework_id: str) -> None:
        """Forget a framework's streams."""
        for key in [k for k in self.streams if k[0] == framework_id]:
            stream = self.streams.pop(key)
            if stream.timer is not None:
                stream.timer.cancel()

    def stop(self) -> None:
        """Cancel every retry timer."""
        for stream in self.streams.values():
            if stream.timer is not None:
                stream.timer.cancel()


# --------------------------------------------------------------------------
# executors


@dataclass
class AgentTask:
    """The agent's record of a task."""

    info: mesos_pb2.TaskInfo
    state: int = mesos_pb2.TASK_STAGING
    statuses: list[mesos_pb2.TaskStatus] = field(default_factory=list)
    kill_requested: bool = False


@dataclass
class Executor:
    """A running (or starting) executor and its container."""

    info: mesos_pb2.ExecutorInfo
    framework_id: str
    container_id: str
    directory: Path
    kind: str  # "command", "default" or "custom"
    state: str = "REGISTERING"
    stream: EventStream | None = None
    queued: list[list[mesos_pb2.TaskInfo]] = field(default_factory=list)
    tasks: dict[str, AgentTask] = field(default_factory=dict)
    completed_tasks: deque[AgentTask] = field(default_factory=lambda: deque(maxlen=200))
    process: asyncio.subprocess.Process | None = None
    waiter: asyncio.Task[None] | None = None
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    shutdown_requested: bool = False
    framework_removed: bool = False
    pid: int | None = None
    pending_termination: tuple[int, int, str] | None = None  # state, reason, message

    @property
    def id(self) -> str:
        return str(self.info.executor_id.value)

    def all_tasks(self) -> dict[str, AgentTask]:
        return self.tasks


@dataclass
class AgentFramework:
    """The agent's record of a framework."""

    info: mesos_pb2.FrameworkInfo
    executors: dict[str, Executor] = field(default_factory=dict)
    completed_executors: deque[Executor] = field(default_factory=lambda: deque(maxlen=150))


class Agent:
    """One agent (``slave(N)``) of the local cluster."""

    CAPABILITIES = (
        "MULTI_ROLE",
        "HIERARCHICAL_ROLE",
        "RESERVATION_REFINEMENT",
        "RESOURCE_PROVIDER",
        "RESIZE_VOLUME",
        "AGENT_OPERATION_FEEDBACK",
        "AGENT_DRAINING",
        "TASK_RESOURCE_LIMITS",
    )

    def __init__(
        self,
        index: int,
        total: Resources,
        work_dir: Path,
        config: ClusterConfig,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        attributes: dict[str, str] | None = None,
    ) -> None:
        self.index = index
        self.name = f"slave({index})"
        self.total = total
        self.config = config
        self.address = address
        self.port = port
        self.work_dir = work_dir
        self.id: str | None = None
        self.master: Master | None = None
        self.reachable = True
        self.start_time = time.time()
        self.frameworks: dict[str, AgentFramework] = {}
        self.completed_frameworks: deque[AgentFramework] = deque(maxlen=50)
        self.updates = StatusUpdateManager(self)
        self._attributes = attributes or {}
        self._stopping = False
        self.phase = "RUNNING"
        """``RUNNING``; ``DOWN`` (the agent process is gone); ``RECOVERING`` (restarted, executors
        may re-subscribe, other executor calls get 503)."""
        self.recovery_progress = asyncio.Event()
        """Set whenever an executor re-subscribes or exits (what a recovering agent waits for)."""
        self._orphans: list[Executor] = []
        self._to_destroy: set[int] = set()  # running executors to kill with their containers
        self._ended_sessions: set[int] = set()  # executors ended, their sessions not yet swept
        self._killer: asyncio.Task[None] | None = None
        self._exits_while_down: list[tuple[Executor, int, str | None]] = []
        self.attributes: list[mesos_pb2.Attribute] = []
        for key, value in self._attributes.items():
            attr = mesos_pb2.Attribute(name=key)
            try:
                attr.scalar.value = float(value)
                attr.type = mesos_pb2.Value.SCALAR
            except ValueError:
                attr.type = mesos_pb2.Value.TEXT
                attr.text.value = value
            self.attributes.append(attr)

    # --------------------------------------------------------------- naming
    @property
    def pid(self) -> str:
        return f"{self.name}@{self.address}:{self.port}"

    def attributes_json(self) -> dict[str, Any]:
        """Attributes as in the state endpoints."""
        out: dict[str, Any] = {}
        for a in self.attributes:
            out[a.name] = a.scalar.value if a.type == mesos_pb2.Value.SCALAR else a.text.value
        return out

    def agent_info(self) -> mesos_pb2.AgentInfo:
        """This agent's ``AgentInfo``."""
        info = mesos_pb2.AgentInfo(hostname=self.config.hostname, port=self.port)
        if self.id:
            info.id.value = self.id
        info.resources.extend(self.total.to_protos())
        info.attributes.extend(self.attributes)
        return info

    # -------------------------------------------------------- registration
    def register(self, master: Master) -> None:
        """(Re-)register with a master; keeps the agent id across masters.

        A restarting agent only remembers the master: it registers once recovered.
        """
        self.master = master
        if self.phase != "RUNNING":
            return
        self.id = master.register_agent(self, self.id)

    # ------------------------------------------------------------ restarts
    @property
    def reregistration_timeout(self) -> float:
        """Seconds executors have to re-subscribe after a restart (``--executor_reregistration_timeout``)."""
        return float(getattr(self.config, "executor_reregistration_timeout", 2.0))

    def crash(self) -> None:
        """Fault: the agent process dies; executor and task processes keep running.

        Executor streams are cut and the executor API answers 503 until
        recovery. Only what Mesos checkpoints survives: frameworks with
        ``checkpoint`` set, their executors, tasks and pending status updates.
        Other frameworks are forgotten (their executors see the agent go and
        shut down; recovery destroys what is left), and the master removes
        their tasks from the agent (``TASK_LOST``, ``REASON_AGENT_DISCONNECTED``).
        """
        if self.phase != "RUNNING":
            return
        self.phase = "DOWN"
        self.updates.stop()
        for fid, fw in list(self.frameworks.items()):
            for ex in fw.executors.values():
                for timer in ex.timers:
                    timer.cancel()
                ex.timers.clear()
                if ex.stream is not None:
                    ex.stream.on_lost = None
                    ex.stream.close()
                    ex.stream = None
            if not fw.info.checkpoint:
                self.updates.cleanup(fid)
                del self.frameworks[fid]
                for ex in fw.executors.values():
                    ex.framework_removed = True
                    self._orphans.append(ex)
        if self.master is not None and self.id is not None and self.reachable:
            self.master.agent_disconnected(self.id)

    def recover(self) -> None:
        """The agent process is back: recover checkpointed state, wait for executors.

        Like ``Slave::recover``: containers of forgotten executors are
        destroyed, queued tasks of recovered executors become launched tasks
        (still ``TASK_STAGING``), every live recovered executor waits in
        ``REGISTERING`` for its SUBSCRIBE, and executors that exited while the
        agent was down are reaped now.
        """
        if self.phase != "DOWN":
            return
        self.phase = "RECOVERING"
        self.start_time = time.time()
        for ex in self._orphans:
            if ex.process is not None and ex.process.returncode is None:
                kill_tree(ex.process.pid)
        loop = asyncio.get_running_loop()
        for fw in self.frameworks.values():
            for ex in fw.executors.values():
                if ex.state == "TERMINATED":
                    continue
                for group in ex.queued:
                    for t in group:
                        ex.tasks[t.task_id.value] = AgentTask(info=t)
                ex.queued.clear()
                if ex.state == "TERMINATING":
                    ex.timers.append(loop.call_later(self._grace(ex), self._destroy, ex))
                else:
                    ex.state = "REGISTERING"
        exits, self._exits_while_down = self._exits_while_down, []
        for ex, wait_status, launch_error in exits:
            self._executor_exited(ex, wait_status, launch_error)

    def awaiting_executors(self) -> bool:
        """True while recovering and some recovered executor has not re-subscribed yet."""
        return self.phase == "RECOVERING" and any(
            ex.state == "REGISTERING" for fw in self.frameworks.values() for ex in fw.executors.values()
        )

    def finish_recovery(self, master: Master | None = None, *, timeout: float | None = None) -> None:
        """The re-registration timeout passed: destroy executors that did not re-subscribe,
        re-register with the master and resend pending status updates.

        ``timeout`` is the one that applied (for the tasks' message; default
        ``executor_reregistration_timeout``).
        """
        if self.phase != "RECOVERING":
            return
        timeout_text = format_duration(self.reregistration_timeout if timeout is None else timeout)
        for fw in self.frameworks.values():
            partition_aware = any(
                c.type == mesos_pb2.FrameworkInfo.Capability.PARTITION_AWARE for c in fw.info.capabilities
            )
            for ex in list(fw.executors.values()):
                if ex.state != "REGISTERING":
                    continue
                log.info("destroying executor %s: it did not re-subscribe", ex.id)
                ex.state = "TERMINATING"
                ex.pending_termination = (
                    mesos_pb2.TASK_GONE if partition_aware else mesos_pb2.TASK_LOST,
                    mesos_pb2.TaskStatus.REASON_EXECUTOR_REREGISTRATION_TIMEOUT,
                    f"Executor did not reregister within {timeout_text}",
                )
                self._destroy(ex)
        self.phase = "RUNNING"
        if master is not None:
            self.master = master
        if self.master is not None and self.reachable:
            self.register(self.master)
        for fid in list(self.frameworks):
            self.updates.resume(fid)

    def snapshot(self) -> list[tuple[mesos_pb2.FrameworkInfo, list[mesos_pb2.ExecutorInfo], list[AgentTask]]]:
        """What a re-registering agent tells a new master: frameworks, custom executors, tasks."""
        out = []
        for fw in self.frameworks.values():
            executors = [
                e.info for e in fw.executors.values() if e.kind == "custom" and e.state != "TERMINATED"
            ]
            tasks: list[AgentTask] = []
            for ex in fw.executors.values():
                tasks.extend(ex.tasks.values())
                tasks.extend(AgentTask(info=info) for group in ex.queued for info in group)
            out.append((fw.info, executors, tasks))
        return out

    def framework_of_task(self, task_id: str) -> str | None:
        """The framework id owning a task id on this agent."""
        for fid, fw in self.frameworks.items():
            for ex in fw.executors.values():
                if task_id in ex.tasks or any(t.task_id.value == task_id for g in ex.queued for t in g):
                    return fid
        return None

    # ----------------------------------------------------- master -> agent
    def _framework(self, info: mesos_pb2.FrameworkInfo) -> AgentFramework:
        fid = info.id.value
        fw = self.frameworks.get(fid)
        if fw is None:
            fw = self.frameworks[fid] = AgentFramework(info=info)
        else:
            fw.info = info
        return fw

    def run_task(self, fw_info: mesos_pb2.FrameworkInfo, task: mesos_pb2.TaskInfo) -> None:
        """Launch a task (command or custom executor)."""
        if self.phase != "RUNNING":
            return
        fw = self._framework(fw_info)
        if task.HasField("command"):
            executor = self._command_executor_info(fw_info, task)
            kind = "command"
        else:
            executor = task.executor
            kind = "custom"
        self._run(fw, executor, kind, [task])

    def run_task_group(
        self,
        fw_info: mesos_pb2.FrameworkInfo,
        executor: mesos_pb2.ExecutorInfo,
        tasks: list[mesos_pb2.TaskInfo],
    ) -> None:
        """Launch a task group on a DEFAULT (or custom) executor."""
        if self.phase != "RUNNING":
            return
        fw = self._framework(fw_info)
        kind = "default" if executor.type == mesos_pb2.ExecutorInfo.DEFAULT else "custom"
        self._run(fw, executor, kind, tasks, group=True)

    def _run(
        self,
        fw: AgentFramework,
        executor_info: mesos_pb2.ExecutorInfo,
        kind: str,
        tasks: list[mesos_pb2.TaskInfo],
        *,
        group: bool = False,
    ) -> None:
        fid = fw.info.id.value
        docker = [
            t for t in tasks if t.HasField("container") and t.container.type == mesos_pb2.ContainerInfo.DOCKER
        ]
        if docker and not os.path.exists(self.config.docker_socket):
            for t in tasks:
                self._agent_update(
                    fid,
                    t.task_id.value,
                    mesos_pb2.TASK_FAILED,
                    "Failed to launch container: no Docker engine is reachable at "
                    + self.config.docker_socket,
                    mesos_pb2.TaskStatus.REASON_CONTAINER_LAUNCH_FAILED,
                    executor_info.executor_id.value if kind != "command" else None,
                )
            return
        executor = fw.executors.get(executor_info.executor_id.value)
        if executor is None or executor.state == "TERMINATED":
            executor = self._launch_executor(fw, executor_info, kind)
        if executor.state == "RUNNING":
            for t in tasks:
                executor.tasks[t.task_id.value] = AgentTask(info=t)
            self._deliver(executor, tasks, group)
        elif executor.state == "TERMINATING":
            for t in tasks:
                self._agent_update(
                    fid,
                    t.task_id.value,
                    mesos_pb2.TASK_FAILED if kind == "custom" else mesos_pb2.TASK_LOST,
                    "Executor terminating",
                    mesos_pb2.TaskStatus.REASON_EXECUTOR_TERMINATED,
                    executor.id,
                )
        else:
            executor.queued.append(list(tasks))

    def _deliver(self, executor: Executor, tasks: list[mesos_pb2.TaskInfo], group: bool) -> None:
        if executor.stream is None:
            return
        if group:
            ev = ExEvent(type=ExEvent.LAUNCH_GROUP)
            ev.launch_group.task_group.tasks.extend(tasks)
            executor.stream.send(ev)
        else:
            for t in tasks:
                ev = ExEvent(type=ExEvent.LAUNCH)
                ev.launch.task.CopyFrom(t)
                executor.stream.send(ev)

    def _command_executor_info(
        self, fw_info: mesos_pb2.FrameworkInfo, task: mesos_pb2.TaskInfo
    ) -> mesos_pb2.ExecutorInfo:
        cmd = task.command
        if cmd.shell:
            text = f"sh -c '{cmd.value[:15]}{'...' if len(cmd.value) > 15 else ''}'"
        else:
            argv = ", ".join([cmd.value, *cmd.arguments])
            text = f"[{argv[:15]}{'...' if len(argv) > 15 else ''}]"
        info = mesos_pb2.ExecutorInfo(
            type=mesos_pb2.ExecutorInfo.CUSTOM,
            name=f"Command Executor (Task: {task.task_id.value}) (Command: {text})",
            source=task.task_id.value,
        )
        info.executor_id.value = task.task_id.value
        info.framework_id.CopyFrom(fw_info.id)
        info.command.shell = False
        info.command.value = sys.executable
        info.command.arguments.extend([sys.executable, "-P", COMMAND_EXECUTOR])
        info.resources.extend(task.resources)
        return info

    def _sandbox(self, fid: str, eid: str, container_id: str) -> Path:
        return (
            self.work_dir
            / "slaves"
            / (self.id or "unregistered")
            / "frameworks"
            / fid
            / "executors"
            / eid
            / "runs"
            / container_id
        )

    def executor_environment(self, executor: Executor, fw_info: mesos_pb2.FrameworkInfo) -> dict[str, str]:
        """The ``MESOS_*`` variables Mesos gives an executor (§21)."""
        grace = self.config.executor_shutdown_grace_period
        if executor.info.HasField("shutdown_grace_period"):
            grace = executor.info.shutdown_grace_period.nanoseconds / 1e9
        env = {
            "MESOS_FRAMEWORK_ID": executor.framework_id,
            "MESOS_EXECUTOR_ID": executor.id,
            "MESOS_DIRECTORY": str(executor.directory),
            "MESOS_SANDBOX": str(executor.directory),
            "MESOS_SLAVE_ID": self.id or "",
            "MESOS_SLAVE_PID": self.pid,
            "MESOS_AGENT_ENDPOINT": f"{self.address}:{self.port}",
            "MESOS_CHECKPOINT": "1" if fw_info.checkpoint else "0",
            "MESOS_HTTP_COMMAND_EXECUTOR": "1",
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": format_duration(grace),
            "LIBPROCESS_PORT": "0",
            "LIBPROCESS_IP": self.address,
            # the executor ends its tasks when this process dies (issue 15 item 8)
            "MESOS_FRAMEWORK_LOCAL_CLUSTER_PID": str(os.getpid()),
        }
        if fw_info.checkpoint:
            env["MESOS_RECOVERY_TIMEOUT"] = "15mins"
            env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = format_duration(self.reregistration_timeout)
        return env

    def _launch_executor(self, fw: AgentFramework, info: mesos_pb2.ExecutorInfo, kind: str) -> Executor:
        fid = fw.info.id.value
        container_id = str(uuid.uuid4())
        directory = self._sandbox(fid, info.executor_id.value, container_id)
        directory.mkdir(parents=True, exist_ok=True)
        ex_info = mesos_pb2.ExecutorInfo()
        ex_info.CopyFrom(info)
        if kind == "default":
            ex_info.command.shell = False
            ex_info.command.value = sys.executable
            del ex_info.command.arguments[:]
            ex_info.command.arguments.extend([sys.executable, "-P", COMMAND_EXECUTOR])
        executor = Executor(
            info=info, framework_id=fid, container_id=container_id, directory=directory, kind=kind
        )
        fw.executors[executor.id] = executor
        env = {**os.environ, **self.executor_environment(executor, fw.info)}
        cmd = ex_info.command
        for var in cmd.environment.variables:
            env[var.name] = var.value
        if cmd.shell:
            argv = ["/bin/sh", "-c", cmd.value]
            program = "/bin/sh"
        else:
            argv = list(cmd.arguments) or [cmd.value]
            program = cmd.value
        loop = asyncio.get_running_loop()
        executor.waiter = loop.create_task(self._spawn(executor, program, argv, env))
        timer = loop.call_later(
            self.config.executor_registration_timeout, self._registration_timeout, executor
        )
        executor.timers.append(timer)
        return executor

    async def _spawn(self, executor: Executor, program: str, argv: list[str], env: dict[str, str]) -> None:
        stdout, stderr = _open_logs(executor.directory)
        status = 0
        try:
            try:
                proc = await asyncio.create_subprocess_exec(
                    argv[0],
                    *argv[1:],
                    executable=program,
                    cwd=executor.directory,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=stderr,
                    start_new_session=True,
                )
            except OSError as exc:
                log.warning("failed to launch executor %s: %s", executor.id, exc)
                stderr.write(f"Failed to launch executor: {exc}\n".encode())
                status = 127 << 8
                self._executor_exited(executor, status, f"Failed to launch container: {exc}")
                return
            executor.process = proc
            executor.pid = proc.pid
            code = await proc.wait()
            status = (code & 0xFF) << 8 if code >= 0 else -code
            self._clean_up_after(proc.pid)
            self._executor_exited(executor, status, None)
        finally:
            stdout.close()
            stderr.close()

    def _clean_up_after(self, pid: int) -> None:
        """Kill what an ended executor left behind, as Mesos destroys a container's cgroup.

        Its process group goes at once (the common case: a task's background job); the rest of
        its session (a process that moved to a group of its own) with the next batch of
        :meth:`_kill_batches`.
        """
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        self._ended_sessions.add(pid)
        self._start_killer()

    def _start_killer(self) -> None:
        if self._killer is None or self._killer.done():
            self._killer = asyncio.get_running_loop().create_task(self._kill_batches())

    async def _kill_batches(self) -> None:
        """Destroy queued containers and sweep ended executors' sessions: one /proc scan per batch.

        A scan reads the stat file of every process on the machine, in a thread: one scan per
        destroyed executor, on the event loop the master shares, took nearly all of the local
        cluster's CPU when thousands of short tasks ended together. What queues up while a scan
        runs goes in the next one.
        """
        while self._to_destroy or self._ended_sessions:
            roots, self._to_destroy = self._to_destroy, set()
            # A pid reused since by one of this agent's running executors is never swept.
            ended = self._ended_sessions - self._live_executor_pids()
            self._ended_sessions = set()
            await asyncio.to_thread(kill_trees, roots, ended)

    def _live_executor_pids(self) -> set[int]:
        executors = [ex for fw in self.frameworks.values() for ex in fw.executors.values()]
        return {
            ex.process.pid
            for ex in [*executors, *self._orphans]
            if ex.process is not None and ex.process.returncode is None
        }

    def _registration_timeout(self, executor: Executor) -> None:
        if executor.state == "REGISTERING":
            log.warning("executor %s did not subscribe in time", executor.id)
            executor.state = "TERMINATING"
            self._fail_queued(
                executor,
                mesos_pb2.TaskStatus.REASON_EXECUTOR_REGISTRATION_TIMEOUT,
                "Executor did not register in time",
            )
            self._destroy(executor)

    def _fail_queued(self, executor: Executor, reason: int, message: str) -> None:
        for group in executor.queued:
            for t in group:
                self._agent_update(
                    executor.framework_id,
                    t.task_id.value,
                    mesos_pb2.TASK_FAILED,
                    message,
                    reason,
                    executor.id,
                )
                executor.tasks[t.task_id.value] = AgentTask(info=t, state=mesos_pb2.TASK_FAILED)
        executor.queued.clear()

    def _destroy(self, executor: Executor) -> None:
        if executor.process is not None and executor.process.returncode is None:
            self._to_destroy.add(executor.process.pid)
            self._start_killer()

    def _executor_exited(self, executor: Executor, wait_status: int, launch_error: str | None) -> None:
        if self.phase == "DOWN" and not executor.framework_removed and not self._stopping:
            # nobody watches while the agent is down: reaped on recovery
            self._exits_while_down.append((executor, wait_status, launch_error))
            return
        for timer in executor.timers:
            timer.cancel()
        executor.timers.clear()
        executor.state = "TERMINATED"
        self.recovery_progress.set()
        if executor.stream is not None:
            executor.stream.close()
        fid = executor.framework_id
        fw = self.frameworks.get(fid)
        if not executor.framework_removed and not self._stopping:
            reason = (
                mesos_pb2.TaskStatus.REASON_CONTAINER_LAUNCH_FAILED
                if launch_error
                else mesos_pb2.TaskStatus.REASON_EXECUTOR_TERMINATED
            )
            for group in executor.queued:
                for t in group:
                    executor.tasks[t.task_id.value] = AgentTask(info=t)
            executor.queued.clear()
            for task in executor.tasks.values():
                if task.state in TERMINAL:
                    continue
                if executor.pending_termination is not None:
                    state, reason, message = executor.pending_termination
                elif task.kill_requested:
                    state, message = mesos_pb2.TASK_KILLED, "Executor terminated"
                elif launch_error:
                    state, message = mesos_pb2.TASK_FAILED, launch_error
                else:
                    state = mesos_pb2.TASK_FAILED
                    message = (
                        "Executor terminated"
                        if executor.kind != "command"
                        else (
                            "Abnormal executor termination: executor exited with status "
                            + str(wait_status >> 8)
                        )
                    )
                self._agent_update(fid, task.info.task_id.value, state, message, reason, executor.id)
            if (
                executor.kind == "custom"
                and self.master is not None
                and self.id
                and self.reachable
                and self.phase == "RUNNING"
            ):
                self.master.executor_exited(self.id, fid, executor.id, wait_status)
        if fw is not None and fw.executors.get(executor.id) is executor:
            del fw.executors[executor.id]
            fw.completed_executors.append(executor)
            if not fw.executors and executor.framework_removed:
                self.frameworks.pop(fid, None)
                self.completed_frameworks.append(fw)

    # --------------------------------------------------------- updates
    def _agent_update(  # noqa: PLR0917 - mirrors Mesos's createStatusUpdate
        self,
        fid: str,
        task_id: str,
        state: int,
        message: str,
        reason: int,
        executor_id: str | None,
    ) -> None:
        status = mesos_pb2.TaskStatus(
            state=state,
            source=mesos_pb2.TaskStatus.SOURCE_AGENT,
            message=message,
            reason=reason,
            timestamp=time.time(),
            uuid=uuid.uuid4().bytes,
        )
        status.task_id.value = task_id
        if self.id:
            status.agent_id.value = self.id
        if executor_id:
            status.executor_id.value = executor_id
        self._record(fid, status)
        self.updates.update(fid, status)

    def _record(self, fid: str, status: mesos_pb2.TaskStatus) -> None:
        fw = self.frameworks.get(fid)
        if fw is None:
            return
        for ex in fw.executors.values():
            task = ex.tasks.get(status.task_id.value)
            if task is not None:
                task.state = status.state
                task.statuses.append(status)
                return

    def forward_update(self, fid: str, status: mesos_pb2.TaskStatus, latest_state: int) -> None:
        """Called by the status update manager for every (re)send."""
        if self.master is None or self.id is None or not self.reachable or self.phase != "RUNNING":
            return
        self.master.status_update(self.id, fid, status, latest_state)

    def acknowledge(self, fid: str, task_id: str, uuid_bytes: bytes) -> None:
        """The scheduler acknowledged an update."""
        if self.phase != "RUNNING":
            return
        acked = self.updates.acknowledge(fid, task_id, uuid_bytes)
        if acked is None or acked.state not in TERMINAL:
            return
        fw = self.frameworks.get(fid)
        if fw is None:
            return
        for ex in fw.executors.values():
            task = ex.tasks.get(task_id)
            if task is not None and task.state in TERMINAL:
                del ex.tasks[task_id]
                ex.completed_tasks.append(task)
                return

    def update_framework(self, info: mesos_pb2.FrameworkInfo) -> None:
        """The framework (re-)subscribed: refresh its info, resend pending updates."""
        if self.phase != "RUNNING":
            return
        fw = self.frameworks.get(info.id.value)
        if fw is not None:
            fw.info = info
        self.updates.resume(info.id.value)

    # ------------------------------------------------------------- kills
    def kill_task(self, fid: str, task_id: str, policy: mesos_pb2.KillPolicy | None) -> None:
        """Kill a task: queued ones are dropped here, running ones get KILL."""
        if self.phase != "RUNNING":
            return  # a message to a dead agent is lost
        fw = self.frameworks.get(fid)
        if fw is None:
            return
        for ex in list(fw.executors.values()):
            for group in ex.queued:
                if any(t.task_id.value == task_id for t in group):
                    ex.queued.remove(group)
                    for t in group:
                        ex.tasks[t.task_id.value] = AgentTask(info=t)
                        self._agent_update(
                            fid,
                            t.task_id.value,
                            mesos_pb2.TASK_KILLED,
                            "Killed before delivery to the executor",
                            mesos_pb2.TaskStatus.REASON_TASK_KILLED_DURING_LAUNCH,
                            ex.id if ex.kind != "command" else None,
                        )
                    if not ex.queued and not any(t.state not in TERMINAL for t in ex.tasks.values()):
                        self.shutdown_executor(fid, ex.id)
                    return
            task = ex.tasks.get(task_id)
            if task is not None:
                if task.state in TERMINAL:
                    return
                task.kill_requested = True
                if ex.stream is not None and ex.state == "RUNNING":
                    ev = ExEvent(type=ExEvent.KILL)
                    ev.kill.task_id.value = task_id
                    if policy is not None:
                        ev.kill.kill_policy.CopyFrom(policy)
                    ex.stream.send(ev)
                return

    def shutdown_executor(self, fid: str, executor_id: str) -> None:
        """Send SHUTDOWN; destroy the container after the grace period."""
        if self.phase != "RUNNING":
            return
        fw = self.frameworks.get(fid)
        ex = fw.executors.get(executor_id) if fw else None
        if ex is None or ex.state == "TERMINATED":
            return
        ex.shutdown_requested = True
        for task in ex.tasks.values():
            task.kill_requested = True
        if ex.stream is not None:
            ex.stream.send(ExEvent(type=ExEvent.SHUTDOWN))
        ex.state = "TERMINATING"
        grace = self._grace(ex)
        loop = asyncio.get_running_loop()
        if ex.process is None and ex.waiter is not None and ex.waiter.done():
            return
        ex.timers.append(loop.call_later(grace, self._destroy, ex))

    def _grace(self, ex: Executor) -> float:
        if ex.info.HasField("shutdown_grace_period"):
            return float(ex.info.shutdown_grace_period.nanoseconds / 1e9)
        return self.config.executor_shutdown_grace_period

    def shutdown_framework(self, fid: str) -> None:
        """The framework was removed: shut its executors down, no updates."""
        if self.phase != "RUNNING":
            return
        fw = self.frameworks.get(fid)
        if fw is None:
            return
        self.updates.cleanup(fid)
        for ex in list(fw.executors.values()):
            ex.framework_removed = True
            ex.queued.clear()
            self.shutdown_executor(fid, ex.id)
        if not fw.executors:
            self.frameworks.pop(fid, None)
            self.completed_frameworks.append(fw)

    def framework_message(self, fid: str, executor_id: str, data: bytes) -> None:
        """Relay a scheduler MESSAGE to an executor."""
        if self.phase != "RUNNING":
            return
        fw = self.frameworks.get(fid)
        ex = fw.executors.get(executor_id) if fw else None
        if ex is None or ex.stream is None:
            return
        ev = ExEvent(type=ExEvent.MESSAGE)
        ev.message.data = data
        ex.stream.send(ev)

    def kill_executor(self, fid: str, executor_id: str) -> bool:
        """Fault: SIGKILL an executor's process tree."""
        fw = self.frameworks.get(fid)
        ex = fw.executors.get(executor_id) if fw else None
        if ex is None or ex.process is None or ex.process.returncode is not None:
            return False
        kill_tree(ex.process.pid)
        return True

    # ------------------------------------------------------ executor API
    def executor_call(
        self, call: executor_pb2.Call, accept: str | None, content_type: str
    ) -> tuple[int, str] | EventStream:
        """Handle a parsed executor call (after content checks)."""
        if self.phase == "DOWN":
            # Mesos refuses the connection, then answers 503 until the reconnect stage of recovery.
            return 503, RECOVERING_MESSAGE
        error = _validate_executor_call(call)
        if error is not None:
            return 400, f"Failed to validate Executor::Call: {error}"
        if call.type == ExCall.SUBSCRIBE:
            negotiated = _codec.negotiate(accept)
            if negotiated is None:
                return 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
        if call.type == ExCall.HEARTBEAT:
            return 202, ""
        if call.type != ExCall.SUBSCRIBE and self.phase == "RECOVERING":
            return 503, RECOVERING_MESSAGE
        fw = self.frameworks.get(call.framework_id.value)
        if fw is None:
            return 400, "Framework cannot be found"
        ex = fw.executors.get(call.executor_id.value)
        if ex is None:
            return 400, "Executor cannot be found"
        if call.type == ExCall.SUBSCRIBE:
            return self._subscribe(fw, ex, call.subscribe, _codec.negotiate(accept) or _codec.JSON)
        if ex.state == "REGISTERING":
            return 403, "Executor is not subscribed"
        if call.type == ExCall.UPDATE:
            self._executor_update(ex, call.update.status)
            return 202, ""
        if call.type == ExCall.MESSAGE:
            if self.master is not None and self.id and self.reachable:
                self.master.executor_message(self.id, ex.framework_id, ex.id, call.message.data)
            return 202, ""
        return 501, ""

    def _subscribe(
        self, fw: AgentFramework, ex: Executor, sub: executor_pb2.Call.Subscribe, content_type: str
    ) -> EventStream:
        stream = EventStream(content_type)
        if ex.stream is not None:
            ex.stream.on_lost = None
            ex.stream.close()
        if ex.state in ("TERMINATING", "TERMINATED"):
            stream.send(ExEvent(type=ExEvent.SHUTDOWN))
            stream.close()
            return stream
        ex.stream = stream
        stream.on_lost = lambda: self._executor_stream_lost(ex, stream)
        for timer in ex.timers:
            timer.cancel()
        ex.timers.clear()
        ex.state = "RUNNING"
        self.recovery_progress.set()
        # Replayed updates go to the status update manager, which drops duplicates; each one
        # accepted is acknowledged to the executor (after SUBSCRIBED), as Slave::subscribe does.
        replayed = [
            upd.status
            for upd in sub.unacknowledged_updates
            if self._executor_update(ex, upd.status, ack=False)
        ]
        unacked = {t.task_id.value for t in sub.unacknowledged_tasks}
        for task in ex.tasks.values():
            if task.state == mesos_pb2.TASK_STAGING and task.info.task_id.value not in unacked:
                pa = any(
                    c.type == mesos_pb2.FrameworkInfo.Capability.PARTITION_AWARE for c in fw.info.capabilities
                )
                self._agent_update(
                    ex.framework_id,
                    task.info.task_id.value,
                    mesos_pb2.TASK_DROPPED if pa else mesos_pb2.TASK_LOST,
                    "Task launched during agent restart",
                    mesos_pb2.TaskStatus.REASON_AGENT_RESTARTED,
                    ex.id,
                )
        ev = ExEvent(type=ExEvent.SUBSCRIBED)
        ev.subscribed.executor_info.CopyFrom(ex.info)
        ev.subscribed.framework_info.CopyFrom(fw.info)
        ev.subscribed.agent_info.CopyFrom(self.agent_info())
        ev.subscribed.container_id.value = ex.container_id
        stream.send(ev)
        for status in replayed:
            ack = ExEvent(type=ExEvent.ACKNOWLEDGED)
            ack.acknowledged.task_id.CopyFrom(status.task_id)
            ack.acknowledged.uuid = status.uuid
            stream.send(ack)
        queued, ex.queued = ex.queued, []
        for group in queued:
            for t in group:
                ex.tasks[t.task_id.value] = AgentTask(info=t)
            self._deliver(ex, group, group=ex.kind == "default" or len(group) > 1)
        return stream

    def _executor_stream_lost(self, ex: Executor, stream: EventStream) -> None:
        if ex.stream is stream:
            ex.stream = None

    def _executor_update(self, ex: Executor, status: mesos_pb2.TaskStatus, *, ack: bool = True) -> bool:
        """An executor's update into the status update manager; False if ignored (other agent)."""
        if status.HasField("agent_id") and status.agent_id.value != self.id:
            return False
        fid = ex.framework_id
        st = mesos_pb2.TaskStatus()
        st.CopyFrom(status)
        if self.id:
            st.agent_id.value = self.id
        # Like Slave::statusUpdate: executor_id only overwritten when the executor set one.
        if st.HasField("executor_id"):
            st.executor_id.value = ex.id
        st.source = mesos_pb2.TaskStatus.SOURCE_EXECUTOR
        if not st.HasField("timestamp"):
            st.timestamp = time.time()
        st.container_status.container_id.value = ex.container_id
        if not st.container_status.network_infos:
            st.container_status.network_infos.add().ip_addresses.add(
                protocol=mesos_pb2.NetworkInfo.IPv4, ip_address=self.address
            )
        if ex.pid is not None:
            st.container_status.executor_pid = ex.pid
        if ex.tasks.get(st.task_id.value) is None and not self.updates.streams.get((fid, st.task_id.value)):
            # an update for a task this executor does not run: still forwarded, as Mesos does
            pass
        self._record(fid, st)
        self.updates.update(fid, st)
        if ack and ex.stream is not None:
            ev = ExEvent(type=ExEvent.ACKNOWLEDGED)
            ev.acknowledged.task_id.CopyFrom(st.task_id)
            ev.acknowledged.uuid = st.uuid
            ex.stream.send(ev)
        return True

    # ------------------------------------------------------------- state
    def containers_json(self) -> list[dict[str, Any]]:
        """``/slave(N)/containers``: the live containers."""
        out = []
        for fid, fw in self.frameworks.items():
            for ex in fw.executors.values():
                if ex.state == "TERMINATED":
                    continue
                out.append(
                    {
                        "container_id": ex.container_id,
                        "executor_id": ex.id,
                        "executor_name": ex.info.name,
                        "framework_id": fid,
                        "source": ex.info.source,
                        "status": {"executor_pid": ex.pid} if ex.pid else {},
                    }
                )
        return out

    def _task_json(self, fid: str, task: AgentTask, executor: Executor) -> dict[str, Any]:
        res = Resources.from_protos(task.info.resources).unallocated()
        return {
            "id": task.info.task_id.value,
            "name": task.info.name,
            "framework_id": fid,
            "executor_id": executor.id if executor.kind != "command" else "",
            "slave_id": self.id,
            "state": mesos_pb2.TaskState.Name(task.state),
            "resources": res.summary(),
            "statuses": [
                {"state": mesos_pb2.TaskState.Name(s.state), "timestamp": s.timestamp} for s in task.statuses
            ],
        }

    def _executor_json(self, fid: str, ex: Executor) -> dict[str, Any]:
        res = Resources.from_protos(ex.info.resources).unallocated()
        tasks = [self._task_json(fid, t, ex) for t in ex.tasks.values() if t.state not in TERMINAL]
        done = [self._task_json(fid, t, ex) for t in ex.tasks.values() if t.state in TERMINAL]
        done += [self._task_json(fid, t, ex) for t in ex.completed_tasks]
        return {
            "id": ex.id,
            "name": ex.info.name,
            "source": ex.info.source,
            "container": ex.container_id,
            "directory": str(ex.directory),
            "resources": res.summary(),
            "tasks": tasks,
            "queued_tasks": [{"id": t.task_id.value, "name": t.name} for g in ex.queued for t in g],
            "completed_tasks": done,
        }

    def _framework_json(self, fid: str, fw: AgentFramework) -> dict[str, Any]:
        info = fw.info
        return {
            "id": fid,
            "name": info.name,
            "user": info.user,
            "failover_timeout": info.failover_timeout,
            "checkpoint": info.checkpoint,
            "hostname": info.hostname,
            "role": info.role,
            "executors": [self._executor_json(fid, e) for e in fw.executors.values()],
            "completed_executors": [self._executor_json(fid, e) for e in fw.completed_executors],
        }

    def state_json(self) -> dict[str, Any]:
        """``/slave(N)/state``."""
        return {
            "version": VERSION,
            "git_tag": VERSION,
            "start_time": self.start_time,
            "id": self.id,
            "pid": self.pid,
            "hostname": self.config.hostname,
            "capabilities": list(self.CAPABILITIES),
            "resources": self.total.summary(),
            "attributes": self.attributes_json(),
            "master_hostname": self.config.hostname,
            "flags": {"work_dir": str(self.work_dir), "port": str(self.port)},
            "frameworks": [self._framework_json(fid, fw) for fid, fw in self.frameworks.items()],
            "completed_frameworks": [
                self._framework_json(fw.info.id.value, fw) for fw in self.completed_frameworks
            ],
        }

    # ------------------------------------------------------------ shutdown
    async def stop(self, grace: float = 2.0) -> None:
        """Shut every executor down and wait for its processes to end."""
        self._stopping = True
        self.updates.stop()
        waiters = []
        for fw in self.frameworks.values():
            for ex in fw.executors.values():
                ex.framework_removed = True
                if ex.stream is not None:
                    ex.stream.send(ExEvent(type=ExEvent.SHUTDOWN))
                    ex.stream.close()
                if ex.waiter is not None:
                    waiters.append(ex.waiter)
        for ex in self._orphans:
            if ex.waiter is not None and not ex.waiter.done():
                waiters.append(ex.waiter)
        if waiters:
            _done, pending = await asyncio.wait(waiters, timeout=grace)
            live = [ex for fw in self.frameworks.values() for ex in fw.executors.values()]
            for ex in [*live, *self._orphans]:
                if ex.process is not None and ex.process.returncode is None:
                    kill_tree(ex.process.pid)
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        for fw in list(self.frameworks.values()):
            for ex in fw.executors.values():
                for timer in ex.timers:
                    timer.cancel()
        if self._killer is not None:
            with contextlib.suppress(Exception):
                await self._killer
        kill_trees(self._to_destroy, self._ended_sessions - self._live_executor_pids())
        self._to_destroy, self._ended_sessions = set(), set()


def _open_logs(directory: Path) -> tuple[BinaryIO, BinaryIO]:
    """The sandbox's stdout and stderr files, handed to the executor process."""
    return open(directory / "stdout", "ab"), open(directory / "stderr", "ab")


def _validate_executor_call(call: executor_pb2.Call) -> str | None:
    if not call.HasField("type"):
        return "Expecting 'type' to be present"
    if not call.HasField("executor_id"):
        return "Expecting 'executor_id' to be present"
    if not call.HasField("framework_id"):
        return "Expecting 'framework_id' to be present"
    if call.type == ExCall.SUBSCRIBE and not call.HasField("subscribe"):
        return "Expecting 'subscribe' to be present"
    if call.type == ExCall.UPDATE:
        if not call.HasField("update"):
            return "Expecting 'update' to be present"
        status = call.update.status
        if not status.HasField("uuid"):
            return "Expecting 'uuid' to be present"
        if not valid_uuid(status.uuid):
            return "Not a valid UUID"
        if status.HasField("executor_id") and status.executor_id.value != call.executor_id.value:
            return (
                f"ExecutorID in Call: {call.executor_id.value} does not match ExecutorID in TaskStatus: "
                f"{status.executor_id.value}"
            )
        if status.source != mesos_pb2.TaskStatus.SOURCE_EXECUTOR:
            return (
                f"Received Call from executor {call.executor_id.value} of framework "
                f"{call.framework_id.value} with invalid source, expecting 'SOURCE_EXECUTOR'"
            )
        if status.state == mesos_pb2.TASK_STAGING:
            return (
                f"Received TASK_STAGING from executor {call.executor_id.value} of framework "
                f"{call.framework_id.value} which is not allowed"
            )
    if call.type == ExCall.MESSAGE and not call.HasField("message"):
        return "Expecting 'message' to be present"
    return None
