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
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mesos_framework.local import _agent_state, _codec, _executor_api, _recovery
from mesos_framework.local._agent_containers import Containers, command_executor_info
from mesos_framework.local._agent_model import AgentFramework, AgentTask, Executor
from mesos_framework.local._executor_api import RECOVERING_MESSAGE, valid_uuid
from mesos_framework.local._launcher import ForkServer
from mesos_framework.local._links import AgentSnapshot, MasterLink
from mesos_framework.local._process import descendants, kill_tree
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
        self.containers = Containers(self, work_dir, config, launcher)
        """Executor processes, sandboxes, volumes (`_agent_containers`)."""
        self._attributes = attributes or {}
        self.phase = "RUNNING"
        """``RUNNING``; ``DOWN`` (the agent process is gone); ``RECOVERING`` (restarted, executors
        may re-subscribe, other executor calls get 503)."""
        self.recovery_progress = asyncio.Event()
        """Set whenever an executor re-subscribes or exits (what a recovering agent waits for)."""
        self.orphans: list[Executor] = []
        """Executors of frameworks forgotten in a crash: destroyed on recovery."""
        self.exits_while_down: list[tuple[Executor, int, str | None]] = []
        self.drain_config: mesos_pb2.DrainConfig | None = None
        """Set while the agent drains (``Slave::drain``): every launch is dropped until no
        executor runs and no update waits for its acknowledgement (`GET_AGENT` shows it)."""
        self.drain_started: float | None = None
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
        return self.containers.volume_path(role, persistence_id)

    def apply_conversion(self, consumed: Resources, converted: Resources) -> None:
        """A RESERVE/UNRESERVE/CREATE/DESTROY the master applied: the new total resources
        (what the agent checkpoints); volumes created get a directory, destroyed ones lose it."""
        self.total = self.total - consumed + converted
        self.containers.convert_volumes(consumed, converted)

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
        if task.HasField("command"):
            executor = command_executor_info(fw_info, task)
            kind = "command"
        else:
            executor = task.executor
            kind = "custom"
        if self.drain_config is not None:
            self._drop_while_draining(fw_info, executor, [task])
            return
        self._run(self._framework(fw_info), executor, kind, [task])

    def run_task_group(
        self,
        fw_info: mesos_pb2.FrameworkInfo,
        executor: mesos_pb2.ExecutorInfo,
        tasks: list[mesos_pb2.TaskInfo],
    ) -> None:
        """Launch a task group on a DEFAULT (or custom) executor."""
        if self.phase != "RUNNING":
            return
        if self.drain_config is not None:
            self._drop_while_draining(fw_info, executor, tasks)
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
                self.agent_update(
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
            executor = self.containers.launch(fw, executor_info, kind)
        self.containers.link_volumes(
            executor.directory, [*executor_info.resources, *(r for t in tasks for r in t.resources)]
        )
        if executor.state == "RUNNING":
            for t in tasks:
                executor.tasks[t.task_id.value] = AgentTask(info=t)
            self.deliver(executor, tasks, group)
        elif executor.state == "TERMINATING":
            for t in tasks:
                self.agent_update(
                    fid,
                    t.task_id.value,
                    mesos_pb2.TASK_FAILED if kind == "custom" else mesos_pb2.TASK_LOST,
                    "Executor terminating",
                    mesos_pb2.TaskStatus.REASON_EXECUTOR_TERMINATED,
                    executor.id,
                )
        else:
            executor.queued.append(list(tasks))

    # ------------------------------------------------------------- draining
    def drain(self, config: mesos_pb2.DrainConfig) -> None:
        """``Slave::drain``: drain until nothing runs and no update waits for its
        acknowledgement; an agent with nothing on it has nothing to drain."""
        if self._drained():
            log.info("%s has no frameworks or tasks: draining is already complete", self.name)
            return
        self.drain_config = mesos_pb2.DrainConfig()
        self.drain_config.CopyFrom(config)
        self.drain_started = time.time()
        log.info("%s is draining", self.name)

    def _drained(self) -> bool:
        if any(ex.state != "TERMINATED" for ex in self.all_executors()):
            return False
        return not any(stream.pending for stream in self.updates.streams.values())

    def _drain_progress(self) -> None:
        """``Slave::updateDrainStatus``: the drain ends once nothing is left."""
        if self.drain_config is not None and self._drained():
            log.info("%s finished draining", self.name)
            self.drain_config = None
            self.drain_started = None

    def _drop_while_draining(
        self,
        fw_info: mesos_pb2.FrameworkInfo,
        executor: mesos_pb2.ExecutorInfo,
        tasks: list[mesos_pb2.TaskInfo],
    ) -> None:
        """A launch that reached a draining agent: each task ends ``TASK_DROPPED`` (``TASK_LOST``
        for a framework that is not partition-aware), as in Mesos's ``Slave::_run``."""
        fid = fw_info.id.value
        aware = _codec.has_cap(fw_info, mesos_pb2.FrameworkInfo.Capability.PARTITION_AWARE)
        log.warning("%s drops %d task(s) of framework %s: it is draining", self.name, len(tasks), fid)
        for t in tasks:
            self.agent_update(
                fid,
                t.task_id.value,
                mesos_pb2.TASK_DROPPED if aware else mesos_pb2.TASK_LOST,
                "Task was received while agent was already draining",
                mesos_pb2.TaskStatus.REASON_AGENT_DRAINING,
                executor.executor_id.value,
            )
        if fid not in self.frameworks:
            # Mesos forgets a framework with nothing on the agent (its streams with it): the
            # update is sent once and not resent.
            self.updates.cleanup(fid)

    def deliver(self, executor: Executor, tasks: list[mesos_pb2.TaskInfo], group: bool) -> None:
        """Send tasks to a subscribed executor: one LAUNCH_GROUP, or a LAUNCH each."""
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

    def all_executors(self) -> Iterator[Executor]:
        """Every executor whose process may still run: the frameworks' and the orphans."""
        for fw in self.frameworks.values():
            yield from fw.executors.values()
        yield from self.orphans

    def destroy(self, executor: Executor) -> None:
        """Destroy an executor's container (its process tree)."""
        self.containers.destroy(executor)

    def registration_timeout(self, executor: Executor) -> None:
        """The executor did not subscribe within ``executor_registration_timeout``."""
        if executor.state == "REGISTERING":
            log.warning("executor %s did not subscribe in time", executor.id)
            executor.state = "TERMINATING"
            self._fail_queued(
                executor,
                mesos_pb2.TaskStatus.REASON_EXECUTOR_REGISTRATION_TIMEOUT,
                "Executor did not register in time",
            )
            self.destroy(executor)

    def _fail_queued(self, executor: Executor, reason: int, message: str) -> None:
        for group in executor.queued:
            for t in group:
                self.agent_update(
                    executor.framework_id,
                    t.task_id.value,
                    mesos_pb2.TASK_FAILED,
                    message,
                    reason,
                    executor.id,
                )
                executor.tasks[t.task_id.value] = AgentTask(info=t, state=mesos_pb2.TASK_FAILED)
        executor.queued.clear()

    def executor_exited(self, executor: Executor, wait_status: int, launch_error: str | None) -> None:
        """An executor's process ended (or never started): its tasks end as Mesos ends them."""
        if self.phase == "DOWN" and not executor.framework_removed and not self.containers.stopping:
            # nobody watches while the agent is down: reaped on recovery
            self.exits_while_down.append((executor, wait_status, launch_error))
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
        if not executor.framework_removed and not self.containers.stopping:
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
                self.agent_update(fid, task.info.task_id.value, state, message, reason, executor.id)
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
        self._drain_progress()

    # --------------------------------------------------------- updates
    def agent_update(  # noqa: PLR0917 - mirrors Mesos's createStatusUpdate
        self,
        fid: str,
        task_id: str,
        state: int,
        message: str,
        reason: int,
        executor_id: str | None,
    ) -> None:
        """An update the agent itself generates (``SOURCE_AGENT``), into the update manager."""
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
        self.record(fid, status)
        self.updates.update(fid, status)

    def record(self, fid: str, status: mesos_pb2.TaskStatus) -> None:
        """Note an update in the agent's record of the task."""
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
        if acked is None:
            return
        self._drain_progress()
        if acked.state not in TERMINAL:
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
                        self.agent_update(
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
        grace = self.grace(ex)
        loop = asyncio.get_running_loop()
        if ex.process is None and ex.waiter is not None and ex.waiter.done():
            return
        ex.timers.append(loop.call_later(grace, self.destroy, ex))

    def grace(self, ex: Executor) -> float:
        """The executor's shutdown grace period in seconds."""
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
        self._drain_progress()

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
        self.containers.stopping = True
        self.updates.stop()
        for fw in self.frameworks.values():
            for ex in fw.executors.values():
                ex.framework_removed = True
                if ex.stream is not None:
                    ex.stream.send(ExEvent(type=ExEvent.SHUTDOWN))
                    ex.stream.close()
        await self.containers.stop(grace)
        for ex in self.all_executors():
            for timer in ex.timers:
                timer.cancel()
