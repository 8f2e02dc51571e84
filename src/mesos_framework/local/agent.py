"""An agent of the local cluster: executors as real processes, status updates.

Command tasks run through `command_executor`, a v1 HTTP executor, just
as Mesos's agent runs ``mesos-executor``; custom executors get the
``MESOS_*`` environment Mesos gives them. Every executor/agent status update
goes through a status update manager that forwards one update per task at a
time and retries it until the scheduler acknowledges that uuid.

Agent restarts (`Agent.crash()`, `Agent.recover()`,
`Agent.finish_recovery()`) follow Mesos's ``--recover=reconnect``: what a
checkpointing framework has on the agent survives and its executors
re-subscribe; everything else is forgotten and its containers destroyed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO

from mesos_framework import protocol
from mesos_framework.local import _agent_state, _codec, _executor_api, _recovery
from mesos_framework.local._agent_model import AgentFramework, AgentTask, Executor
from mesos_framework.local._executor_api import RECOVERING_MESSAGE, valid_uuid
from mesos_framework.local._fetcher import Fetcher, FetchError, Uri
from mesos_framework.local._launcher import FORKED_EXECUTOR, ExecutorProcess, ForkedProcess, ForkServer
from mesos_framework.local._links import AgentSnapshot, MasterLink
from mesos_framework.local._process import descendants, kill_tree, kill_trees
from mesos_framework.local._stream import EventStream
from mesos_framework.local._updates import StatusUpdateManager
from mesos_framework.local.config import ClusterConfig
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2

__all__ = [
    "RECOVERING_MESSAGE",
    "Agent",
    "AgentFramework",
    "AgentTask",
    "Executor",
    "descendants",
    "kill_tree",
    "valid_uuid",
]

log = logging.getLogger(__name__)

ExCall = executor_pb2.Call
ExEvent = executor_pb2.Event
TERMINAL = _codec.TERMINAL_STATES
COMMAND_EXECUTOR = str(Path(__file__).with_name("command_executor.py"))


def format_duration(seconds: float) -> str:
    """Stout duration text (``5secs``)."""
    return protocol.format_duration(seconds)


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
        hostname: str | None = None,
        domain: mesos_pb2.DomainInfo | None = None,
        launcher: ForkServer | None = None,
    ) -> None:
        self.index = index
        self.launcher = launcher
        """Forks the command / default executors (`_launcher`); None: every executor is exec'd."""
        self.hostname = hostname or config.hostname
        """The name this agent advertises (AgentInfo, offers, state); it listens on ``address``."""
        self.domain = domain
        """Its fault domain (None: none)."""
        self.name = f"slave({index})"
        self.total = total
        self.config = config
        self.address = address
        self.port = port
        self.work_dir = work_dir
        self.id: str | None = None
        self.master: MasterLink | None = None
        self.reachable = True
        self.start_time = time.time()
        self.frameworks: dict[str, AgentFramework] = {}
        self.completed_frameworks: deque[AgentFramework] = deque(maxlen=50)
        self.updates = StatusUpdateManager(self)
        self.fetcher = Fetcher(work_dir / "fetch", config.fetcher_cache_size)
        """``CommandInfo.uris`` into sandboxes, with this agent's cache."""
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
        info = mesos_pb2.AgentInfo(hostname=self.hostname, port=self.port)
        if self.id:
            info.id.value = self.id
        if self.domain is not None:
            info.domain.CopyFrom(self.domain)
        info.resources.extend(self.total.to_protos())
        info.attributes.extend(self.attributes)
        return info

    # ------------------------------------------------- offer operations
    def volume_path(self, role: str, persistence_id: str) -> Path:
        """Where a persistent volume lives (Mesos's ``volumes/roles/<role>/<id>``)."""
        return self.work_dir / "volumes" / "roles" / role / persistence_id

    def apply_conversion(self, consumed: Resources, converted: Resources) -> None:
        """A RESERVE/UNRESERVE/CREATE/DESTROY the master applied: the new total resources
        (what the agent checkpoints); volumes created get a directory, destroyed ones lose it."""
        self.total = self.total - consumed + converted
        for key in converted.items:
            if key.disk:
                self.volume_path(key.role, key.disk[0]).mkdir(parents=True, exist_ok=True)
        for key in consumed.items:
            if key.disk and key not in converted.items:
                shutil.rmtree(self.volume_path(key.role, key.disk[0]), ignore_errors=True)

    def _link_volumes(self, directory: Path, infos: list[mesos_pb2.Resource]) -> None:
        """Persistent volumes a task or executor uses appear at their ``container_path`` in the
        sandbox (Mesos bind-mounts them; a symbolic link here)."""
        for r in infos:
            if not (r.HasField("disk") and r.disk.HasField("persistence")):
                continue
            role = r.reservations[-1].role if r.reservations else (r.role or "*")
            target = self.volume_path(role, r.disk.persistence.id)
            target.mkdir(parents=True, exist_ok=True)
            path = r.disk.volume.container_path
            if not path or os.path.isabs(path):
                continue
            link = directory / path
            link.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                link.symlink_to(target)

    # -------------------------------------------------------- registration
    def register(self, master: MasterLink) -> None:
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
        """Fault: the agent process dies (`_recovery.crash()`)."""
        _recovery.crash(self)

    def recover(self) -> None:
        """The agent process is back (`_recovery.recover()`)."""
        _recovery.recover(self)

    def awaiting_executors(self) -> bool:
        """True while recovering and some recovered executor has not re-subscribed yet."""
        return _recovery.awaiting_executors(self)

    def finish_recovery(self, master: MasterLink | None = None, *, timeout: float | None = None) -> None:
        """The re-registration timeout passed (`_recovery.finish_recovery()`)."""
        _recovery.finish_recovery(self, master, timeout=timeout)

    def snapshot(self) -> AgentSnapshot:
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
        self._link_volumes(
            executor.directory, [*executor_info.resources, *(r for t in tasks for r in t.resources)]
        )
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
        info.command.uris.extend(cmd.uris)  # as Slave::getExecutorInfo: fetched for the executor
        if cmd.HasField("user"):
            info.command.user = cmd.user
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
        if executor.kind == "default":  # its task groups' fetches share the agent's cache
            env["MESOS_FRAMEWORK_LOCAL_FETCH_CACHE"] = str(self.fetcher.cache_dir)
            env["MESOS_FRAMEWORK_LOCAL_FETCH_CACHE_SIZE"] = str(self.config.fetcher_cache_size)
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
        user = cmd.user if cmd.HasField("user") else fw.info.user
        executor.waiter = loop.create_task(
            self._spawn(executor, program, argv, env, uris=list(cmd.uris), user=user)
        )
        if not self._forks(executor):  # a forked executor's timer starts when it is forked
            self._start_registration_timer(executor)
        return executor

    def _forks(self, executor: Executor) -> bool:
        """Whether the executor is started through the fork server: the cluster's own executor
        (unless `COMMAND_EXECUTOR` names another program)."""
        return self.launcher is not None and executor.kind != "custom" and COMMAND_EXECUTOR == FORKED_EXECUTOR

    def _start_registration_timer(self, executor: Executor) -> None:
        timer = asyncio.get_running_loop().call_later(
            self.config.executor_registration_timeout, self._registration_timeout, executor
        )
        executor.timers.append(timer)

    async def _spawn(
        self,
        executor: Executor,
        program: str,
        argv: list[str],
        env: dict[str, str],
        *,
        uris: list[mesos_pb2.CommandInfo.URI] | None = None,
        user: str | None = None,
    ) -> None:
        stdout, stderr = _open_logs(executor.directory)
        status = 0
        try:
            if uris:
                # The fetcher runs before the executor, as the containerizer's fetch step.
                try:
                    await asyncio.to_thread(
                        self.fetcher.fetch,
                        [Uri.from_proto(u) for u in uris],
                        executor.directory,
                        container_id=executor.container_id,
                        user=user or None,
                        stderr=stderr,
                    )
                except FetchError as exc:
                    log.warning("fetching for executor %s failed: %s", executor.id, exc)
                    self._executor_exited(executor, 1 << 8, f"Failed to launch container: {exc}")
                    return
                if executor.state in ("TERMINATING", "TERMINATED") or self._stopping:
                    self._executor_exited(executor, signal.SIGKILL, None)  # destroyed while fetching
                    return
            try:
                proc: ExecutorProcess
                if self.launcher is not None and self._forks(executor):
                    stdout.flush()
                    stderr.flush()
                    proc = await self.launcher.spawn(
                        argv,
                        env,
                        executor.directory,
                        executor.directory / "stdout",
                        executor.directory / "stderr",
                    )
                else:
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
            if isinstance(proc, ForkedProcess):
                if executor.state != "REGISTERING":
                    proc.started()  # it subscribed before its pid came back
                elif not self._stopping:
                    self._start_registration_timer(executor)
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
        `_kill_batches()`.
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

    def shut_down_by_master(self) -> None:
        """Shut down as an agent the master removed (a machine going DOWN): every framework's
        executors end, and the agent stays unregistered until `allow_reregistration()`."""
        self.reachable = False
        for fid in list(self.frameworks):
            self.shutdown_framework(fid)
        self.id = None

    def allow_reregistration(self) -> None:
        """After the machine is up again: the agent registers (as a new agent) when restarted."""
        self.reachable = True

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

    # ------------------------------------------------- executor API, state
    def executor_call(
        self, call: executor_pb2.Call, accept: str | None, content_type: str
    ) -> tuple[int, str] | EventStream:
        """Handle a parsed executor call (after content checks): `_executor_api`."""
        return _executor_api.executor_call(self, call, accept, content_type)

    def executor_update(self, ex: Executor, status: mesos_pb2.TaskStatus, *, ack: bool = True) -> bool:
        """An executor's update into the status update manager; False if ignored."""
        return _executor_api.executor_update(self, ex, status, ack=ack)

    def containers_json(self) -> list[dict[str, Any]]:
        """``/slave(N)/containers``: the live containers."""
        return _agent_state.containers_json(self)

    def state_json(self) -> dict[str, Any]:
        """``/slave(N)/state``."""
        return _agent_state.state_json(self)

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
