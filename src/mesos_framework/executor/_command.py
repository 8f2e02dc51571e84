"""`CommandExecutor`: runs each launched task's ``CommandInfo`` as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import signal
import subprocess
from dataclasses import dataclass, field
from typing import Any

import orjson

from mesos_framework.errors import ConfigurationError, MesosError, MessageError
from mesos_framework.executor._env import TOKEN_VARIABLE, ExecutorEnvironment
from mesos_framework.executor._executor import Executor
from mesos_framework.protocol import from_dict
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2
from mesos_framework.tasks.state import TaskState

__all__ = ["DEFAULT_KILL_GRACE_PERIOD", "DEFAULT_PATH", "CommandExecutor"]

logger = logging.getLogger(__name__)

DEFAULT_KILL_GRACE_PERIOD = 3.0
"""Seconds between SIGTERM and SIGKILL when neither the KILL nor the task names a kill policy."""

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""``PATH`` given to a task whose environment has none (executors get no PATH from the agent)."""


@dataclass(slots=True)
class _Process:
    task: mesos_pb2.TaskInfo
    process: asyncio.subprocess.Process
    kill_requested: bool = False
    timed_out: bool = False
    kill_deadline: float | None = None
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class CommandExecutor(Executor):
    """An executor that runs each launched task's ``CommandInfo`` and reports on it truthfully.

    For every ``LAUNCH`` (and each task of a ``LAUNCH_GROUP``) it sends
    ``TASK_STARTING``, starts the command in the sandbox as a new process
    group (``shell=True``: ``/bin/sh -c value``; otherwise ``value`` is the
    program and ``arguments`` the full argv, argv[0] included), sends
    ``TASK_RUNNING``, and when the process ends ``TASK_FINISHED`` (exit 0),
    ``TASK_FAILED`` (non-zero exit or signal, with the status in the message)
    or ``TASK_KILLED`` (after a KILL). A failed start is ``TASK_FAILED``.

    The task's environment is the executor's own (without the executor's
    authentication token) overlaid with ``CommandInfo.environment``, with a
    default ``PATH`` if none is set. A kill sends SIGTERM to the process
    group and SIGKILL after the grace period of the KILL's kill policy, else
    the task's, else `DEFAULT_KILL_GRACE_PERIOD`; ``TASK_KILLING``
    comes first when the framework has the ``TASK_KILLING_STATE`` capability.
    ``TaskInfo.max_completion_time`` is enforced (``TASK_FAILED`` with
    ``REASON_MAX_COMPLETION_TIME_REACHED``).

    With ``exit_when_done`` the executor ends once all its tasks are over and
    their updates acknowledged, as Mesos's command executor does.
    ``task_command`` overrides the command of every task (the agent's
    ``--task_command`` flag). Subclass and override `command_for()`,
    `argv_for()` or `environment_for()` to change what runs.
    """

    def __init__(
        self,
        env: ExecutorEnvironment | None = None,
        *,
        exit_when_done: bool = False,
        task_command: mesos_pb2.CommandInfo | None = None,
        default_kill_grace_period: float = DEFAULT_KILL_GRACE_PERIOD,
        **options: Any,
    ) -> None:
        super().__init__(env, **options)
        self.exit_when_done = exit_when_done
        self.task_command = task_command
        self.default_kill_grace_period = default_kill_grace_period
        self._processes: dict[str, _Process] = {}
        self._launched = 0

    @property
    def processes(self) -> dict[str, int]:
        """Process ids of the running tasks, by task id."""
        return {task_id: p.process.pid for task_id, p in self._processes.items()}

    # ------------------------------------------------------------- what runs

    def command_for(self, task: mesos_pb2.TaskInfo) -> mesos_pb2.CommandInfo | None:
        """The command to run for ``task``, or None if it has none.

        ``task_command`` if given, else ``task.command``, else ``task.data``
        holding a JSON ``CommandInfo`` (Mesos forbids ``command`` on a task
        that names its executor, so a scheduler launching this executor
        through ``ExecutorInfo`` passes the command there). Raises
        `MessageError` if ``data`` is not one.
        """
        if self.task_command is not None:
            return self.task_command
        if task.HasField("command"):
            return task.command
        if task.data:
            try:
                obj = orjson.loads(task.data)
            except orjson.JSONDecodeError as exc:
                raise MessageError("TaskInfo.data", f"not a JSON CommandInfo: {exc}") from exc
            return from_dict(mesos_pb2.CommandInfo, obj)
        return None

    def argv_for(self, command: mesos_pb2.CommandInfo) -> tuple[str, list[str]]:
        """``(program, argv)`` for ``command``; raises ConfigurationError if it cannot run."""
        if command.shell:
            if not command.value:
                raise ConfigurationError("a shell command needs a value", option="CommandInfo.value")
            return "/bin/sh", ["sh", "-c", command.value]
        if not command.value:
            raise ConfigurationError(
                "a non-shell command needs the program in value", option="CommandInfo.value"
            )
        return command.value, list(command.arguments) or [command.value]

    def environment_for(self, task: mesos_pb2.TaskInfo, command: mesos_pb2.CommandInfo) -> dict[str, str]:
        """The task's environment: ours minus the executor token, plus the command's variables.

        ``MESOS_SANDBOX`` is the sandbox; ``PATH`` defaults to `DEFAULT_PATH`.
        """
        environment = dict(os.environ)
        environment.pop(TOKEN_VARIABLE, None)
        environment["MESOS_SANDBOX"] = self.env.sandbox
        for variable in command.environment.variables:
            if variable.type == mesos_pb2.Environment.Variable.SECRET:
                raise ConfigurationError(
                    "secret environment variables are not supported by this executor",
                    option=f"CommandInfo.environment.{variable.name}",
                )
            environment[variable.name] = variable.value
        environment.setdefault("PATH", DEFAULT_PATH)
        return environment

    def _user_for(self, command: mesos_pb2.CommandInfo) -> str | None:
        if not command.HasField("user") or not command.user:
            return None
        current = getpass.getuser()
        if command.user == current:
            return None
        if os.geteuid() != 0:
            raise ConfigurationError(
                f"cannot run as user {command.user!r}: the executor runs as {current!r}, not root",
                option="CommandInfo.user",
            )
        return command.user

    # ----------------------------------------------------------------- LAUNCH

    async def handle_launch(self, launch: executor_pb2.Event.Launch) -> None:
        """Start the task's command (see the class docstring)."""
        task = launch.task
        task_id = task.task_id.value
        self._launched += 1
        if task_id in self._processes:
            await self.send_status(
                task.task_id, TaskState.TASK_FAILED, message="a task with this id already runs"
            )
            return
        try:
            command = self.command_for(task)
        except MesosError as exc:
            command, problem = None, f"the task's command is invalid: {exc}"
        else:
            problem = "the task has no CommandInfo to run (neither command nor JSON in data)"
        if command is None:
            await self.send_status(
                task.task_id, TaskState.TASK_FAILED, message=problem, reason="REASON_TASK_INVALID"
            )
            return
        await self.send_status(task.task_id, TaskState.TASK_STARTING)
        try:
            program, argv = self.argv_for(command)
            environment = self.environment_for(task, command)
            user = self._user_for(command)
            extra: dict[str, Any] = {"user": user} if user is not None else {}
            process = await asyncio.create_subprocess_exec(
                *argv,
                executable=program,
                env=environment,
                cwd=self.env.sandbox,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **extra,
            )
        except (OSError, ValueError, MesosError) as exc:
            await self.send_status(
                task.task_id,
                TaskState.TASK_FAILED,
                message=f"Failed to launch task subprocess: {exc}",
                reason="REASON_COMMAND_EXECUTOR_FAILED",
            )
            return
        running = _Process(task, process)
        self._processes[task_id] = running
        logger.info("task %s started as pid %d", task_id, process.pid)
        await self.send_status(task.task_id, TaskState.TASK_RUNNING)
        limit = task.max_completion_time.nanoseconds / 1e9 if task.HasField("max_completion_time") else 0.0
        if limit > 0:
            loop = asyncio.get_running_loop()
            running.timers.append(loop.call_later(limit, self._completion_time_reached, running))
        self.spawn(self._reap(running), name=f"reap-{task_id}")

    def _completion_time_reached(self, running: _Process) -> None:
        if running.kill_requested or running.process.returncode is not None:
            return
        logger.info("task %s reached its max_completion_time", running.task.task_id.value)
        running.timed_out = True
        self._signal_kill(running, 0.0)

    async def _reap(self, running: _Process) -> None:
        returncode = await running.process.wait()
        for timer in running.timers:
            timer.cancel()
        _signal_group(running.process.pid, signal.SIGKILL)  # leave no stray children behind
        task = running.task
        self._processes.pop(task.task_id.value, None)
        if returncode >= 0:
            message = f"Command exited with status {returncode}"
        else:
            message = f"Command terminated with signal {signal.strsignal(-returncode) or -returncode}"
        reason: str | None = None
        if running.timed_out:
            state, reason = TaskState.TASK_FAILED, "REASON_MAX_COMPLETION_TIME_REACHED"
        elif running.kill_requested:
            state = TaskState.TASK_KILLED
        elif returncode == 0:
            state = TaskState.TASK_FINISHED
        else:
            state = TaskState.TASK_FAILED
        logger.info("task %s: %s -> %s", task.task_id.value, message, state.name)
        await self.send_status(task.task_id, state, message=message, reason=reason)

    # ------------------------------------------------------------------ KILL

    async def handle_kill(self, kill: executor_pb2.Event.Kill) -> None:
        """SIGTERM the task's process group, SIGKILL after the grace period."""
        task_id = kill.task_id.value
        running = self._processes.get(task_id)
        if running is None:
            await super().handle_kill(kill)  # launched but not running: report it killed
            return
        if kill.HasField("kill_policy") and kill.kill_policy.HasField("grace_period"):
            grace = kill.kill_policy.grace_period.nanoseconds / 1e9
        elif running.task.HasField("kill_policy") and running.task.kill_policy.HasField("grace_period"):
            grace = running.task.kill_policy.grace_period.nanoseconds / 1e9
        else:
            grace = self.default_kill_grace_period
        if not running.kill_requested and self.framework_has_capability("TASK_KILLING_STATE"):
            await self.send_status(kill.task_id, TaskState.TASK_KILLING)
        self._signal_kill(running, max(grace, 0.0))

    def _signal_kill(self, running: _Process, grace: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if running.kill_requested:
            # A repeated kill may only shorten the grace period.
            if running.kill_deadline is not None and deadline >= running.kill_deadline:
                return
        else:
            running.kill_requested = True
            _signal_group(running.process.pid, signal.SIGTERM)
        running.kill_deadline = deadline
        running.timers.append(loop.call_later(grace, _signal_group, running.process.pid, signal.SIGKILL))

    # ------------------------------------------------------- ending the run

    async def _after_acknowledged(self, payload: executor_pb2.Event.Acknowledged) -> None:
        if self.exit_when_done and self._launched and not self._tasks and not self._unacked_updates:
            logger.info("all tasks are over and acknowledged: the executor exits")
            self._request_stop()

    async def run(self) -> None:
        """As `Executor.run()`; no task process outlives it."""
        try:
            await super().run()
        finally:
            for running in list(self._processes.values()):
                for timer in running.timers:
                    timer.cancel()
                _signal_group(running.process.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    await running.process.wait()
            self._processes.clear()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
