"""An agent's restart, as Mesos's ``--recover=reconnect``.

`crash()` (the agent process dies; executors and tasks keep running),
`recover()` (it starts again: forgotten containers are destroyed,
recovered executors may re-subscribe), `finish_recovery()` (the
re-registration timeout passed: the rest is destroyed, the agent
re-registers and resends pending updates).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from mesos_framework import protocol
from mesos_framework.local import _codec
from mesos_framework.local._agent_model import AgentFramework, AgentTask, Executor
from mesos_framework.local._links import MasterLink
from mesos_framework.local._process import kill_tree
from mesos_framework.local._updates import StatusUpdateManager
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["RecoveringAgent", "awaiting_executors", "crash", "finish_recovery", "recover"]

log = logging.getLogger("mesos_framework.local.agent")


class RecoveringAgent(Protocol):
    """What a restart reads and changes of an agent."""

    phase: str
    start_time: float
    master: MasterLink | None
    exits_while_down: list[tuple[Executor, int, str | None]]

    @property
    def id(self) -> str | None: ...

    @property
    def reachable(self) -> bool: ...

    @property
    def reregistration_timeout(self) -> float: ...

    @property
    def frameworks(self) -> dict[str, AgentFramework]: ...

    @property
    def orphans(self) -> list[Executor]: ...

    @property
    def updates(self) -> StatusUpdateManager: ...

    def register(self, master: MasterLink) -> None: ...

    def grace(self, ex: Executor) -> float: ...

    def destroy(self, executor: Executor) -> None: ...

    def executor_exited(self, executor: Executor, wait_status: int, launch_error: str | None) -> None: ...


def crash(agent: RecoveringAgent) -> None:
    """Fault: the agent process dies; executor and task processes keep running.

    Executor streams are cut and the executor API answers 503 until
    recovery. Only what Mesos checkpoints survives: frameworks with
    ``checkpoint`` set, their executors, tasks and pending status updates.
    Other frameworks are forgotten (their executors see the agent go and
    shut down; recovery destroys what is left), and the master removes
    their tasks from the agent (``TASK_LOST``, ``REASON_AGENT_DISCONNECTED``).
    """
    if agent.phase != "RUNNING":
        return
    agent.phase = "DOWN"
    agent.updates.stop()
    for fid, fw in list(agent.frameworks.items()):
        for ex in fw.executors.values():
            for timer in ex.timers:
                timer.cancel()
            ex.timers.clear()
            if ex.stream is not None:
                ex.stream.on_lost = None
                ex.stream.close()
                ex.stream = None
        if not fw.info.checkpoint:
            agent.updates.cleanup(fid)
            del agent.frameworks[fid]
            for ex in fw.executors.values():
                ex.framework_removed = True
                agent.orphans.append(ex)
    if agent.master is not None and agent.id is not None and agent.reachable:
        agent.master.agent_disconnected(agent.id)


def recover(agent: RecoveringAgent) -> None:
    """The agent process is back: recover checkpointed state, wait for executors.

    Like ``Slave::recover``: containers of forgotten executors are
    destroyed, queued tasks of recovered executors become launched tasks
    (still ``TASK_STAGING``), every live recovered executor waits in
    ``REGISTERING`` for its SUBSCRIBE, and executors that exited while the
    agent was down are reaped now.
    """
    if agent.phase != "DOWN":
        return
    agent.phase = "RECOVERING"
    agent.start_time = time.time()
    for ex in agent.orphans:
        if ex.process is not None and ex.process.returncode is None:
            kill_tree(ex.process.pid)
    loop = asyncio.get_running_loop()
    for fw in agent.frameworks.values():
        for ex in fw.executors.values():
            if ex.state == "TERMINATED":
                continue
            for group in ex.queued:
                for t in group:
                    ex.tasks[t.task_id.value] = AgentTask(info=t)
            ex.queued.clear()
            if ex.state == "TERMINATING":
                ex.timers.append(loop.call_later(agent.grace(ex), agent.destroy, ex))
            else:
                ex.state = "REGISTERING"
    exits, agent.exits_while_down = agent.exits_while_down, []
    for ex, wait_status, launch_error in exits:
        agent.executor_exited(ex, wait_status, launch_error)


def awaiting_executors(agent: RecoveringAgent) -> bool:
    """True while recovering and some recovered executor has not re-subscribed yet."""
    return agent.phase == "RECOVERING" and any(
        ex.state == "REGISTERING" for fw in agent.frameworks.values() for ex in fw.executors.values()
    )


def finish_recovery(
    agent: RecoveringAgent, master: MasterLink | None = None, *, timeout: float | None = None
) -> None:
    """The re-registration timeout passed: destroy executors that did not re-subscribe,
    re-register with the master and resend pending status updates.

    ``timeout`` is the one that applied (for the tasks' message; default
    ``executor_reregistration_timeout``).
    """
    if agent.phase != "RECOVERING":
        return
    timeout_text = protocol.format_duration(agent.reregistration_timeout if timeout is None else timeout)
    for fw in agent.frameworks.values():
        partition_aware = _codec.has_cap(fw.info, mesos_pb2.FrameworkInfo.Capability.PARTITION_AWARE)
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
            agent.destroy(ex)
    agent.phase = "RUNNING"
    if master is not None:
        agent.master = master
    if agent.master is not None and agent.reachable:
        agent.register(agent.master)
    for fid in list(agent.frameworks):
        agent.updates.resume(fid)
