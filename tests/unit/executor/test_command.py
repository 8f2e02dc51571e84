"""CommandExecutor: real subprocesses, truthful task states, kills with grace, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from mesos_framework.executor import CommandExecutor
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2
from tests.unit.executor.agent import Agent
from tests.unit.executor.conftest import Running

Call = executor_pb2.Call
TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED"}


def shell(value: str, **env: str) -> mesos_pb2.CommandInfo:
    command = mesos_pb2.CommandInfo(value=value)
    for name, val in env.items():
        command.environment.variables.add(name=name, value=val)
    return command


async def finished(agent: Agent, task_id: str) -> list[mesos_pb2.TaskStatus]:
    await agent.wait_for(lambda: TERMINAL & set(agent.states(task_id)))
    return [s for s in agent.updates if s.task_id.value == task_id]


def real(path: Path) -> str:
    return os.path.realpath(path)


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting for its reaper is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


async def test_shell_command_that_succeeds(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1", shell("test -d . && exit 0"))
    updates = await finished(agent, "t1")
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    assert updates[-1].message == "Command exited with status 0"


async def test_exit_status_is_a_failure_with_the_status(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1", shell("exit 3"))
    updates = await finished(agent, "t1")
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"]
    assert updates[-1].message == "Command exited with status 3"


async def test_argv_form_environment_and_sandbox(agent: Agent, running: Running, tmp_path: Path) -> None:
    script = 'printf "%s|%s|%s|%s" "$0" "$1" "$GREETING" "$(pwd -P)" > out.txt'
    command = mesos_pb2.CommandInfo(
        shell=False, value="/bin/sh", arguments=["my-sh", "-c", script, "arg0", "one"]
    )
    command.environment.variables.add(name="GREETING", value="hello world")
    executor = CommandExecutor(running.env(MESOS_EXECUTOR_AUTHENTICATION_TOKEN="t0ken"))
    await running.start(executor)
    await agent.launch("t1", command)
    await finished(agent, "t1")
    assert agent.states("t1")[-1] == "TASK_FINISHED"
    out = (tmp_path / "out.txt").read_text()
    assert out == f"arg0|one|hello world|{real(tmp_path)}"


async def test_task_environment_has_path_and_no_token(
    agent: Agent, running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "t0ken")
    monkeypatch.delenv("PATH")
    executor = CommandExecutor(running.env(MESOS_EXECUTOR_AUTHENTICATION_TOKEN="t0ken"))
    await running.start(executor)
    await agent.launch("t1", shell('env > env.txt; echo "$MESOS_SANDBOX" > sandbox.txt'))
    await finished(agent, "t1")
    lines = (tmp_path / "env.txt").read_text().splitlines()
    assert not any(line.startswith("MESOS_EXECUTOR_AUTHENTICATION_TOKEN=") for line in lines)
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in lines
    assert (tmp_path / "sandbox.txt").read_text().strip() == str(tmp_path)


async def test_program_that_cannot_start_fails(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1", mesos_pb2.CommandInfo(shell=False, value="/no/such/program", arguments=["x"]))
    updates = await finished(agent, "t1")
    assert agent.states("t1") == ["TASK_STARTING", "TASK_FAILED"]
    assert updates[-1].message.startswith("Failed to launch task subprocess")
    assert updates[-1].reason == mesos_pb2.TaskStatus.REASON_COMMAND_EXECUTOR_FAILED


async def test_task_without_command_is_invalid(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1")
    updates = await finished(agent, "t1")
    assert agent.states("t1") == ["TASK_FAILED"]
    assert updates[-1].reason == mesos_pb2.TaskStatus.REASON_TASK_INVALID


async def test_kill_sends_killing_then_killed(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1", shell("sleep 600"))
    await agent.wait_for(lambda: "TASK_RUNNING" in agent.states("t1"))
    pid = executor.processes["t1"]
    await agent.kill("t1")
    updates = await finished(agent, "t1")
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_KILLED"]
    assert updates[-1].message == "Command terminated with signal Terminated"
    assert not alive(pid)


async def test_kill_escalates_to_sigkill_after_the_grace_period(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    # The shell and its children ignore SIGTERM.
    await agent.launch("t1", shell("trap '' TERM; echo ready > ready.txt; sleep 600"))
    await agent.wait_for((running.sandbox / "ready.txt").exists)
    await agent.kill("t1", grace=0.2)
    updates = await finished(agent, "t1")
    assert agent.states("t1")[-1] == "TASK_KILLED"
    assert updates[-1].message == "Command terminated with signal Killed"


async def test_no_killing_state_without_the_capability(tmp_path: Path) -> None:
    agent = Agent()  # the framework lacks TASK_KILLING_STATE
    await agent.start()
    runs = Running(agent, tmp_path)
    try:
        executor = CommandExecutor(runs.env())
        await runs.start(executor)
        await agent.launch("t1", shell("sleep 600"))
        await agent.wait_for(lambda: "TASK_RUNNING" in agent.states("t1"))
        await agent.kill("t1")
        await finished(agent, "t1")
        assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]
    finally:
        await runs.close()
        await agent.stop()


async def test_max_completion_time(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch(
        "t1", shell("sleep 600"), max_completion_time=mesos_pb2.DurationInfo(nanoseconds=200_000_000)
    )
    updates = await finished(agent, "t1")
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"]
    assert updates[-1].reason == mesos_pb2.TaskStatus.REASON_MAX_COMPLETION_TIME_REACHED


async def test_stray_children_are_killed_when_the_task_ends(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1", shell("sleep 600 & echo $! > child.pid"))
    await finished(agent, "t1")
    child = int((running.sandbox / "child.pid").read_text())
    for _ in range(100):
        if not alive(child):
            break
        await asyncio.sleep(0.02)
    assert not alive(child)


async def test_shutdown_kills_running_tasks_and_exits(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env(MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="4secs"))
    task = await running.start(executor)
    await agent.launch("t1", shell("sleep 600"))
    await agent.launch("t2", shell("sleep 600"))
    await agent.wait_for(lambda: len(executor.processes) == 2)
    pids = list(executor.processes.values())
    await agent.shutdown()
    await asyncio.wait_for(task, 10)
    assert agent.states("t1")[-1] == "TASK_KILLED"
    assert agent.states("t2")[-1] == "TASK_KILLED"
    assert not any(alive(pid) for pid in pids)


async def test_exit_when_done(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env(), exit_when_done=True)
    task = await running.start(executor)
    await agent.launch("t1", shell("true"))
    await asyncio.wait_for(task, 10)
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    assert executor.unacknowledged_updates == []


async def test_stop_leaves_no_process_behind(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    task = await running.start(executor)
    await agent.launch("t1", shell("sleep 600"))
    await agent.wait_for(lambda: executor.processes)
    pid = executor.processes["t1"]
    await asyncio.wait_for(executor.stop(), 10)
    assert task.done()
    assert not alive(pid)


async def test_python_m_runs_the_command_executor(agent: Agent, tmp_path: Path) -> None:
    env = {**os.environ, **agent.environ(str(tmp_path))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.executor",
        "--launcher_dir=/ignored",
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await agent.wait_for(lambda: agent.subscribed, within=60)
        await agent.launch("t1", shell("echo hi > hi.txt"))
        returncode = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()
    assert returncode == 0
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    assert (tmp_path / "hi.txt").read_text() == "hi\n"


async def test_python_m_names_a_missing_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.executor",
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "MESOS_FRAMEWORK_ID: not set" in err.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM])
async def test_python_m_shuts_down_on_sigterm(agent: Agent, tmp_path: Path, signum: int) -> None:
    env = {**os.environ, **agent.environ(str(tmp_path))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.executor",
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await agent.wait_for(lambda: agent.subscribed, within=60)
        await agent.launch("t1", shell("sleep 600"))
        await agent.wait_for(lambda: "TASK_RUNNING" in agent.states("t1"))
        process.send_signal(signum)
        returncode = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()
    assert returncode == 0
    assert agent.states("t1")[-1] == "TASK_KILLED"


async def test_command_from_task_data_or_task_command(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    await agent.launch("t1", data=b'{"value": "exit 4"}')
    await agent.launch("t2", data=b"not json")
    await agent.launch("t3", data=b'{"valu": "typo"}')
    for task_id in ("t1", "t2", "t3"):
        await finished(agent, task_id)
    by_task = {s.task_id.value: s for s in agent.updates}
    assert by_task["t1"].message == "Command exited with status 4"
    assert by_task["t2"].reason == mesos_pb2.TaskStatus.REASON_TASK_INVALID
    assert "TaskInfo.data" in by_task["t2"].message
    assert by_task["t3"].reason == mesos_pb2.TaskStatus.REASON_TASK_INVALID
    assert "valu" in by_task["t3"].message


async def test_task_command_overrides(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env(), task_command=mesos_pb2.CommandInfo(value="exit 5"))
    await running.start(executor)
    await agent.launch("t1", shell("exit 0"))
    updates = await finished(agent, "t1")
    assert updates[-1].message == "Command exited with status 5"


async def test_launch_group_runs_every_task(agent: Agent, running: Running) -> None:
    executor = CommandExecutor(running.env())
    await running.start(executor)
    event = executor_pb2.Event(type=executor_pb2.Event.LAUNCH_GROUP)
    for task_id, value in (("g1", "exit 0"), ("g2", "exit 2")):
        task = event.launch_group.task_group.tasks.add(name=task_id)
        task.task_id.value = task_id
        task.agent_id.value = "agent-S0"
        task.command.value = value
    await agent.send(event)
    await finished(agent, "g1")
    await finished(agent, "g2")
    assert agent.states("g1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    assert agent.states("g2") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"]


async def test_python_m_survives_an_agent_restart_with_checkpointing(agent: Agent, tmp_path: Path) -> None:
    checkpointing = {
        "MESOS_CHECKPOINT": "1",
        "MESOS_RECOVERY_TIMEOUT": "1mins",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX": "100ms",
    }
    env = {**os.environ, **agent.environ(str(tmp_path), **checkpointing)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesos_framework.executor",
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await agent.wait_for(lambda: agent.subscribed, within=60)
        agent.auto_ack = False
        await agent.launch("t1", shell("sleep 600"))
        await agent.wait_for(lambda: agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING"])
        sent = agent.updates
        # The agent restarts; while it recovers it refuses subscriptions.
        agent.refuse_subscribe = (503, "Agent has not finished recovery")
        await agent.restart()
        await agent.wait_for(lambda: len(agent.of_type(Call.SUBSCRIBE)) >= 3)
        agent.refuse_subscribe = None
        await agent.wait_for(lambda: agent.subscribed)
        resubscribe = agent.of_type(Call.SUBSCRIBE)[-1].subscribe
        assert [t.task_id.value for t in resubscribe.unacknowledged_tasks] == ["t1"]
        assert [u.status for u in resubscribe.unacknowledged_updates] == sent
        # The task kept running; acknowledge the replayed updates, then kill it.
        agent.auto_ack = True
        for status in sent:
            await agent.acknowledge(status)
        await agent.kill("t1")
        returncode = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()
    assert returncode == 0
    assert agent.states("t1") == ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_KILLED"]
