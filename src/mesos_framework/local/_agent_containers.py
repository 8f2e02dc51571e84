"""An agent's containers: executor processes, their sandboxes, volumes and destruction.

What Mesos's containerizer does for an agent: a sandbox per executor run, the
fetcher before the executor starts, the ``MESOS_*`` environment, the process
(forked by the fork server for the cluster's own executors, exec'd otherwise),
persistent volumes linked into sandboxes, and the destruction of a container's
processes (batched: one ``/proc`` scan per batch). The agent is known here only
as a `ContainerHost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from mesos_framework import protocol
from mesos_framework.local._agent_model import AgentFramework, Executor
from mesos_framework.local._fetcher import Fetcher, FetchError, Uri
from mesos_framework.local._launcher import FORKED_EXECUTOR, ExecutorProcess, ForkedProcess, ForkServer
from mesos_framework.local._process import kill_tree, kill_trees
from mesos_framework.local.config import ClusterConfig
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["COMMAND_EXECUTOR", "ContainerHost", "Containers", "command_argv", "command_executor_info"]

log = logging.getLogger("mesos_framework.local.agent")

COMMAND_EXECUTOR = str(Path(__file__).with_name("command_executor.py"))
"""The program run for command tasks and task groups (``mesos-executor`` and
``mesos-default-executor`` in Mesos); tests may point it at another executor."""


def command_argv(command: mesos_pb2.CommandInfo) -> tuple[list[str], str]:
    """The argv and program of a command as Mesos runs it: through ``/bin/sh -c`` when
    ``shell`` (its default), else ``value`` with ``arguments``."""
    if command.shell:
        return ["/bin/sh", "-c", command.value], "/bin/sh"
    return list(command.arguments) or [command.value], command.value


class ContainerHost(Protocol):
    """What the containers need of their agent."""

    @property
    def id(self) -> str | None: ...

    @property
    def pid(self) -> str: ...

    @property
    def address(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def reregistration_timeout(self) -> float: ...

    def all_executors(self) -> Iterable[Executor]:
        """Every executor whose process may still run (orphans included)."""
        ...

    def executor_exited(self, executor: Executor, wait_status: int, launch_error: str | None) -> None: ...

    def registration_timeout(self, executor: Executor) -> None: ...


def command_executor_info(
    fw_info: mesos_pb2.FrameworkInfo, task: mesos_pb2.TaskInfo
) -> mesos_pb2.ExecutorInfo:
    """The ``ExecutorInfo`` of a command task's executor, as ``Slave::getExecutorInfo``."""
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


class Containers:
    """An agent's containerizer: launches executors and destroys their containers."""

    def __init__(
        self, host: ContainerHost, work_dir: Path, config: ClusterConfig, launcher: ForkServer | None
    ) -> None:
        self.host = host
        self.work_dir = work_dir
        self.config = config
        self.launcher = launcher
        """Forks the command / default executors (`_launcher`); None: every executor is exec'd."""
        self.fetcher = Fetcher(work_dir / "fetch", config.fetcher_cache_size)
        """``CommandInfo.uris`` into sandboxes, with this agent's cache."""
        self.stopping = False
        """Set when the agent stops: executors still fetching are not started."""
        self._to_destroy: set[int] = set()  # running executors to kill with their containers
        self._ended_sessions: set[int] = set()  # executors ended, their sessions not yet swept
        self._killer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ volumes
    def volume_path(self, role: str, persistence_id: str) -> Path:
        """Where a persistent volume lives (Mesos's ``volumes/roles/<role>/<id>``)."""
        return self.work_dir / "volumes" / "roles" / role / persistence_id

    def convert_volumes(self, consumed: Resources, converted: Resources) -> None:
        """After a CREATE/DESTROY: volumes created get a directory, destroyed ones lose it."""
        for key in converted.items:
            if key.disk:
                self.volume_path(key.role, key.disk[0]).mkdir(parents=True, exist_ok=True)
        for key in consumed.items:
            if key.disk and key not in converted.items:
                shutil.rmtree(self.volume_path(key.role, key.disk[0]), ignore_errors=True)

    def link_volumes(self, directory: Path, infos: Iterable[mesos_pb2.Resource]) -> None:
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

    # ------------------------------------------------------------- launch
    def sandbox(self, fid: str, eid: str, container_id: str) -> Path:
        """An executor run's sandbox directory (Mesos's layout under the work directory)."""
        return (
            self.work_dir
            / "slaves"
            / (self.host.id or "unregistered")
            / "frameworks"
            / fid
            / "executors"
            / eid
            / "runs"
            / container_id
        )

    def environment(self, executor: Executor, fw_info: mesos_pb2.FrameworkInfo) -> dict[str, str]:
        """The ``MESOS_*`` variables Mesos gives an executor (§21)."""
        host = self.host
        grace = self.config.executor_shutdown_grace_period
        if executor.info.HasField("shutdown_grace_period"):
            grace = executor.info.shutdown_grace_period.nanoseconds / 1e9
        env = {
            "MESOS_FRAMEWORK_ID": executor.framework_id,
            "MESOS_EXECUTOR_ID": executor.id,
            "MESOS_DIRECTORY": str(executor.directory),
            "MESOS_SANDBOX": str(executor.directory),
            "MESOS_SLAVE_ID": host.id or "",
            "MESOS_SLAVE_PID": host.pid,
            "MESOS_AGENT_ENDPOINT": f"{host.address}:{host.port}",
            "MESOS_CHECKPOINT": "1" if fw_info.checkpoint else "0",
            "MESOS_HTTP_COMMAND_EXECUTOR": "1",
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": protocol.format_duration(grace),
            "LIBPROCESS_PORT": "0",
            "LIBPROCESS_IP": host.address,
            # the executor ends its tasks when this process dies (issue 15 item 8)
            "MESOS_FRAMEWORK_LOCAL_CLUSTER_PID": str(os.getpid()),
        }
        if executor.kind == "default":  # its task groups' fetches share the agent's cache
            env["MESOS_FRAMEWORK_LOCAL_FETCH_CACHE"] = str(self.fetcher.cache_dir)
            env["MESOS_FRAMEWORK_LOCAL_FETCH_CACHE_SIZE"] = str(self.config.fetcher_cache_size)
        if fw_info.checkpoint:
            env["MESOS_RECOVERY_TIMEOUT"] = "15mins"
            env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = protocol.format_duration(host.reregistration_timeout)
        return env

    def launch(self, fw: AgentFramework, info: mesos_pb2.ExecutorInfo, kind: str) -> Executor:
        """Start an executor in a new container; it is added to the framework's executors."""
        fid = fw.info.id.value
        container_id = str(uuid.uuid4())
        directory = self.sandbox(fid, info.executor_id.value, container_id)
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
        env = {**os.environ, **self.environment(executor, fw.info)}
        cmd = ex_info.command
        for var in cmd.environment.variables:
            env[var.name] = var.value
        argv, program = command_argv(cmd)
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
            self.config.executor_registration_timeout, self.host.registration_timeout, executor
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
                    self.host.executor_exited(executor, 1 << 8, f"Failed to launch container: {exc}")
                    return
                if executor.state in ("TERMINATING", "TERMINATED") or self.stopping:
                    self.host.executor_exited(executor, signal.SIGKILL, None)  # destroyed while fetching
                    return
            try:
                proc = await self._start(executor, program, argv, env, (stdout, stderr))
            except OSError as exc:
                log.warning("failed to launch executor %s: %s", executor.id, exc)
                stderr.write(f"Failed to launch executor: {exc}\n".encode())
                self.host.executor_exited(executor, 127 << 8, f"Failed to launch container: {exc}")
                return
            executor.process = proc
            executor.pid = proc.pid
            if isinstance(proc, ForkedProcess):
                if executor.state != "REGISTERING":
                    proc.started()  # it subscribed before its pid came back
                elif not self.stopping:
                    self._start_registration_timer(executor)
            code = await proc.wait()
            status = (code & 0xFF) << 8 if code >= 0 else -code
            self._clean_up_after(proc.pid)
            self.host.executor_exited(executor, status, None)
        finally:
            stdout.close()
            stderr.close()

    async def _start(
        self,
        executor: Executor,
        program: str,
        argv: list[str],
        env: dict[str, str],
        logs: tuple[BinaryIO, BinaryIO],
    ) -> ExecutorProcess:
        """The executor's process: forked by the fork server, or exec'd in a session of its own."""
        stdout, stderr = logs
        if self.launcher is not None and self._forks(executor):
            stdout.flush()
            stderr.flush()
            return await self.launcher.spawn(
                argv, env, executor.directory, executor.directory / "stdout", executor.directory / "stderr"
            )
        return await asyncio.create_subprocess_exec(
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

    # -------------------------------------------------------- destruction
    def destroy(self, executor: Executor) -> None:
        """Destroy an executor's container: kill its process tree (in the next batch)."""
        if executor.process is not None and executor.process.returncode is None:
            self._to_destroy.add(executor.process.pid)
            self._start_killer()

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
        return {
            ex.process.pid
            for ex in self.host.all_executors()
            if ex.process is not None and ex.process.returncode is None
        }

    async def stop(self, grace: float) -> None:
        """The agent stops: wait ``grace`` seconds for executors to end, then kill what is left."""
        self.stopping = True
        waiters = [
            ex.waiter for ex in self.host.all_executors() if ex.waiter is not None and not ex.waiter.done()
        ]
        if waiters:
            _done, pending = await asyncio.wait(waiters, timeout=grace)
            for ex in self.host.all_executors():
                if ex.process is not None and ex.process.returncode is None:
                    kill_tree(ex.process.pid)
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        if self._killer is not None:
            with contextlib.suppress(Exception):
                await self._killer
        kill_trees(self._to_destroy, self._ended_sessions - self._live_executor_pids())
        self._to_destroy, self._ended_sessions = set(), set()


def _open_logs(directory: Path) -> tuple[BinaryIO, BinaryIO]:
    """The sandbox's stdout and stderr files, handed to the executor process."""
    return open(directory / "stdout", "ab"), open(directory / "stderr", "ab")
