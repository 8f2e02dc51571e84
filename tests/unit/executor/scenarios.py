"""End-to-end executor scenarios, run against the local cluster and a real Mesos 1.11."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

from mesos_framework.protocol._schema import mesos_pb2
from tests.unit.executor.raw_scheduler import RawScheduler, executor_info

# A custom executor on the Executor class: RUNNING on LAUNCH; on "ping" it answers
# "pong" and finishes the task; it exits once the agent acknowledged everything.
ECHO_EXECUTOR = """
import asyncio
from mesos_framework.executor import Executor

class Echo(Executor):
    async def handle_launch(self, launch):
        await self.send_status(launch.task.task_id, "TASK_RUNNING", message="echo executor")

    async def handle_message(self, message):
        if message.data == b"ping":
            await self.message(b"pong")
            for task_id in list(self.tasks):
                await self.send_status(task_id, "TASK_FINISHED", message="ponged")

async def main():
    executor = Echo()

    async def maybe_exit(ack):
        if not executor.tasks and not executor.unacknowledged_updates:
            await executor.stop()

    executor.on("acknowledged", maybe_exit)
    await executor.run()

asyncio.run(main())
"""


def _write_script(directory: Path) -> str:
    directory.chmod(0o755)
    script = directory / "echo_executor.py"
    script.write_text(ECHO_EXECUTOR)
    return str(script)


async def custom_executor_scenario(scheduler: RawScheduler, scratch: Path) -> None:
    """A script on the Executor class runs a task; updates reach the scheduler and are acknowledged."""
    script = _write_script(scratch)
    executor_id = f"echo-{uuid.uuid4().hex[:8]}"
    task_id, agent_id = await scheduler.launch(
        "echo", executor=executor_info(executor_id, sys.executable, script, name="echo executor")
    )
    assert (await scheduler.until_state(task_id, "TASK_RUNNING"))[-1] == "TASK_RUNNING"
    await scheduler.message(agent_id, executor_id, b"ping")
    await scheduler.wait_for(lambda: b"pong" in scheduler.messages)
    assert await scheduler.until_state(task_id, "TASK_FINISHED") == ["TASK_RUNNING", "TASK_FINISHED"]
    updates = [s for s in scheduler.updates if s.task_id.value == task_id]
    assert [s.source for s in updates] == [mesos_pb2.TaskStatus.SOURCE_EXECUTOR] * 2
    assert [s.message for s in updates] == ["echo executor", "ponged"]
    assert all(s.uuid in scheduler.acknowledged for s in updates)
    # The executor left on its own, after the agent acknowledged its terminal update.
    await scheduler.wait_for(lambda: any(f.executor_id.value == executor_id for f in scheduler.failures))
    [failure] = [f for f in scheduler.failures if f.executor_id.value == executor_id]
    assert failure.status == 0


def command_executor(*flags: str) -> mesos_pb2.ExecutorInfo:
    """``python -m mesos_framework.executor`` as a CUSTOM executor."""
    eid = f"cmd-{uuid.uuid4().hex[:8]}"
    return executor_info(
        eid, sys.executable, "-m", "mesos_framework.executor", *flags, name="command executor"
    )


async def command_executor_scenario(scheduler: RawScheduler) -> None:
    """CommandExecutor through ExecutorInfo: a probe that finishes, exit 3, and a killed sleep."""
    # Mesos forbids TaskInfo.command next to TaskInfo.executor: the command travels
    # as the agent's --task_command flag, or as a JSON CommandInfo in TaskInfo.data.
    probe = 'test "$GREETING" = hello && test "$(pwd -P)" = "$(cd "$MESOS_SANDBOX" && pwd -P)"'
    ok = {"value": probe, "environment": {"variables": [{"name": "GREETING", "value": "hello"}]}}
    finished, _ = await scheduler.launch("ok", executor=command_executor("--task_command=" + json.dumps(ok)))
    failing, _ = await scheduler.launch("exit3", executor=command_executor(), data=b'{"value": "exit 3"}')
    sleeper, agent_id = await scheduler.launch(
        "sleeper", executor=command_executor(), data=b'{"value": "sleep 600"}'
    )

    assert await scheduler.until_state(finished, "TASK_FINISHED") == [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_FINISHED",
    ]
    assert await scheduler.until_state(failing, "TASK_FAILED") == [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_FAILED",
    ]
    last = [s for s in scheduler.updates if s.task_id.value == failing][-1]
    assert last.message == "Command exited with status 3"

    assert (await scheduler.until_state(sleeper, "TASK_RUNNING"))[-1] == "TASK_RUNNING"
    await scheduler.kill(sleeper, agent_id)
    assert await scheduler.until_state(sleeper, "TASK_KILLED") == [
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_KILLED",
    ]
    every = [s for s in scheduler.updates if s.task_id.value in (finished, failing, sleeper)]
    assert all(s.uuid in scheduler.acknowledged for s in every)
    # Each command executor exits by itself once its task is over and acknowledged.
    await scheduler.wait_for(lambda: len(scheduler.failures) >= 3)
    assert [f.status for f in scheduler.failures] == [0, 0, 0]


def _open_up(directory: Path) -> None:
    directory.chmod(0o777)


def _exists(path: Path) -> bool:
    return path.exists()


async def shutdown_scenario(scheduler: RawScheduler, scratch: Path) -> None:
    """TEARDOWN makes the agent send SHUTDOWN: the executor SIGTERMs its task (which notes it) and exits."""
    _open_up(scratch)
    mark = scratch / "terminated"
    command = {"value": f"trap 'echo term > {mark}; exit 0' TERM; sleep 600 & wait"}
    task_id, _ = await scheduler.launch(
        "graceful", executor=command_executor(), data=json.dumps(command).encode()
    )
    assert (await scheduler.until_state(task_id, "TASK_RUNNING"))[-1] == "TASK_RUNNING"
    await scheduler.teardown()
    for _ in range(600):
        if _exists(mark):
            break
        await asyncio.sleep(0.05)
    assert _exists(mark), "the task never got SIGTERM: the executor did not handle SHUTDOWN"
