"""The Executor against a scriptable agent: calls, events, bookkeeping, reconnection, shutdown."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from mesos_framework.errors import BadRequest, ConfigurationError, ExecutorEnvironmentError, MessageError
from mesos_framework.executor import Executor, ExecutorEnvironment
from mesos_framework.protocol import ContentType
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2
from tests.unit.executor.agent import AGENT_ID, EXECUTOR_ID, FRAMEWORK_ID, Agent
from tests.unit.executor.conftest import Running, recorder

Call = executor_pb2.Call
Event = executor_pb2.Event


def status(task_id: str, state: int, **fields: Any) -> mesos_pb2.TaskStatus:
    result = mesos_pb2.TaskStatus(state=state, **fields)
    result.task_id.value = task_id
    return result


async def test_subscribe_sends_ids_and_empty_subscribe(agent: Agent, running: Running) -> None:
    executor = Executor(running.env(MESOS_EXECUTOR_AUTHENTICATION_TOKEN="secret-token"))
    subscribed: list[Any] = []
    sent: list[Any] = []
    executor.on("subscribed", recorder(subscribed))
    executor.on("sent_subscribe", recorder(sent))
    await running.start(executor)
    await agent.wait_for(lambda: subscribed)
    [call] = agent.of_type(Call.SUBSCRIBE)
    assert call.framework_id.value == FRAMEWORK_ID
    assert call.executor_id.value == EXECUTOR_ID
    assert call.HasField("subscribe")
    assert list(call.subscribe.unacknowledged_tasks) == []
    assert list(call.subscribe.unacknowledged_updates) == []
    assert agent.headers[0]["Authorization"] == "Bearer secret-token"
    assert agent.headers[0]["Content-Type"] == "application/x-protobuf"
    assert sent == [call]
    assert subscribed[0].agent_info.id.value == AGENT_ID
    assert executor.agent_id is not None and executor.agent_id.value == AGENT_ID
    assert executor.container_id is not None and executor.container_id.value == "container-1"
    assert executor.framework_info is not None and executor.framework_info.id.value == FRAMEWORK_ID
    assert executor.framework_has_capability("TASK_KILLING_STATE")
    assert not executor.framework_has_capability("PARTITION_AWARE")
    assert executor.subscriptions == 1
    await executor.message(b"hello")  # calls carry the token too
    assert [h["Authorization"] for h in agent.headers] == ["Bearer secret-token"] * 2


async def test_update_fills_the_left_out_fields(agent: Agent, running: Running) -> None:
    executor = Executor(running.env())
    sent: list[mesos_pb2.TaskStatus] = []
    acked: list[Any] = []
    executor.on("sent_update", recorder(sent))
    executor.on("acknowledged", recorder(acked))
    await running.start(executor)
    original = status("t1", mesos_pb2.TASK_RUNNING, message="up")
    result = await executor.update(original)
    assert not original.HasField("uuid") and not original.HasField("source")  # the caller's copy is untouched
    await agent.wait_for(lambda: acked)
    [update] = agent.of_type(Call.UPDATE)
    got = update.update.status
    assert got == result
    assert sent == [result]
    assert uuid.UUID(bytes=got.uuid).version == 4  # 16 random bytes the agent accepts as a UUID
    assert got.source == mesos_pb2.TaskStatus.SOURCE_EXECUTOR
    assert got.executor_id.value == EXECUTOR_ID
    assert got.agent_id.value == AGENT_ID
    assert got.timestamp > 0
    assert got.message == "up"
    assert update.framework_id.value == FRAMEWORK_ID and update.executor_id.value == EXECUTOR_ID
    assert acked[0].uuid == got.uuid
    assert executor.unacknowledged_updates == []
    # Fields given by the caller are kept.
    fixed = uuid.uuid4().bytes
    kept = await executor.update(status("t1", mesos_pb2.TASK_FINISHED, uuid=fixed, timestamp=12.5))
    assert (kept.uuid, kept.timestamp) == (fixed, 12.5)
    assert len({s.uuid for s in agent.updates}) == 2


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: mesos_pb2.TaskStatus(state=mesos_pb2.TASK_RUNNING), "TaskStatus.task_id"),
        (lambda: status("t", mesos_pb2.TASK_STAGING), "TaskStatus.state"),
        (lambda: status("t", mesos_pb2.TASK_RUNNING, uuid=b"short"), "TaskStatus.uuid"),
        (
            lambda: status("t", mesos_pb2.TASK_RUNNING, source=mesos_pb2.TaskStatus.SOURCE_MASTER),
            "TaskStatus.source",
        ),
        (
            lambda: status("t", mesos_pb2.TASK_RUNNING, executor_id=mesos_pb2.ExecutorID(value="other")),
            "TaskStatus.executor_id",
        ),
        (
            lambda: status("t", mesos_pb2.TASK_RUNNING, agent_id=mesos_pb2.AgentID(value="other-agent")),
            "TaskStatus.agent_id",
        ),
    ],
)
async def test_invalid_updates_are_refused_before_sending(
    agent: Agent, running: Running, make: Any, path: str
) -> None:
    executor = Executor(running.env())
    await running.start(executor)
    with pytest.raises(MessageError) as info:
        await executor.update(make())
    assert info.value.path == path
    assert agent.updates == []
    assert executor.unacknowledged_updates == []


async def test_updates_before_subscribing_go_out_with_subscribe(agent: Agent, running: Running) -> None:
    executor = Executor(running.env())
    queued = await executor.update(status("t1", mesos_pb2.TASK_RUNNING))
    assert executor.unacknowledged_updates == [queued]
    await running.start(executor)
    [call] = agent.of_type(Call.SUBSCRIBE)
    assert [u.status for u in call.subscribe.unacknowledged_updates] == [queued]


async def test_launch_tracks_the_task_until_an_update_for_it_is_acknowledged(
    agent: Agent, running: Running
) -> None:
    executor = Executor(running.env())
    launched: list[Any] = []
    executor.on("launch", recorder(launched))
    await running.start(executor)
    agent.auto_ack = False
    await agent.launch("t1")
    await agent.wait_for(lambda: launched)
    assert [t.task_id.value for t in executor.unacknowledged_tasks] == ["t1"]
    assert list(executor.tasks) == ["t1"]
    sent = await executor.send_status("t1", "TASK_RUNNING")
    assert executor.unacknowledged_updates == [sent]
    await agent.acknowledge(sent)
    await agent.wait_for(lambda: not executor.unacknowledged_tasks)
    assert executor.unacknowledged_updates == []
    assert list(executor.tasks) == ["t1"]  # still active: RUNNING is not terminal
    await executor.send_status("t1", "FINISHED", message="done")
    assert executor.tasks == {}


async def test_handlers_replace_defaults_and_listeners_follow(agent: Agent, running: Running) -> None:
    order: list[str] = []

    async def on_launch(ex: Executor, launch: Event.Launch) -> None:
        order.append(f"handler:{launch.task.task_id.value}")
        await ex.send_status(launch.task.task_id, mesos_pb2.TASK_RUNNING)

    def on_message(ex: Executor, message: Event.Message) -> None:
        order.append(f"handler:{message.data.decode()}")

    executor = Executor(running.env(), handlers={"launch": on_launch, "MESSAGE": on_message})
    assert set(executor.handlers) == {"LAUNCH", "MESSAGE"}

    @executor.on("launch")
    async def listener(launch: Event.Launch) -> None:
        order.append("listener")

    def broken(payload: Any) -> None:
        raise RuntimeError("listener bug")

    executor.on("message", broken)
    executor.on("message", lambda m: order.append("second listener"))
    await running.start(executor)
    await agent.launch("t1")
    event = Event(type=Event.MESSAGE)
    event.message.data = b"ping"
    await agent.send(event)
    await agent.wait_for(lambda: "second listener" in order)
    assert order == ["handler:t1", "listener", "handler:ping", "second listener"]
    assert agent.states("t1") == ["TASK_RUNNING"]
    executor.off("launch", listener)
    await agent.launch("t2")
    await agent.wait_for(lambda: "handler:t2" in order)
    assert order.count("listener") == 1


def test_bad_handlers_and_events_are_refused(agent: Agent, running: Running) -> None:
    with pytest.raises(ConfigurationError) as info:
        Executor(running.env(), handlers={"OFFERS": lambda ex, p: None})
    assert info.value.option == "handlers.OFFERS"
    with pytest.raises(ConfigurationError) as info:
        Executor(running.env(), handlers={"KILL": "not callable"})  # type: ignore[dict-item]
    assert info.value.option == "handlers.KILL"
    with pytest.raises(ConfigurationError, match="unknown executor event 'lunch'"):
        Executor(running.env()).on("lunch", print)


async def test_a_failing_launch_handler_reports_task_failed(agent: Agent, running: Running) -> None:
    def explode(ex: Executor, launch: Event.Launch) -> None:
        raise ValueError("cannot run this")

    executor = Executor(running.env(), handlers={"LAUNCH": explode})
    await running.start(executor)
    await agent.launch("t1")
    await agent.wait_for(lambda: agent.updates)
    [failed] = agent.updates
    assert failed.state == mesos_pb2.TASK_FAILED
    assert "cannot run this" in failed.message


async def test_message_heartbeat_and_error(agent: Agent, running: Running) -> None:
    executor = Executor(running.env())
    sent: list[bytes] = []
    errors: list[Any] = []
    beats: list[Any] = []
    executor.on("sent_message", recorder(sent))
    executor.on("error", recorder(errors))
    executor.on("heartbeat", recorder(beats))
    await running.start(executor)
    await executor.message(b"\x00pong")
    assert sent == [b"\x00pong"]
    assert [c.message.data for c in agent.of_type(Call.MESSAGE)] == [b"\x00pong"]
    await executor.heartbeat()
    assert len(agent.of_type(Call.HEARTBEAT)) == 1
    error = Event(type=Event.ERROR)
    error.error.message = "something broke"
    await agent.send(error)
    await agent.send(Event(type=Event.HEARTBEAT))
    await agent.wait_for(lambda: beats)
    assert [e.message for e in errors] == ["something broke"]
    assert beats == [None]
    assert executor.last_heartbeat is not None


async def test_json_content_type(agent: Agent, running: Running) -> None:
    executor = Executor(running.env(), content_type=ContentType.JSON)
    acked: list[Any] = []
    executor.on("acknowledged", recorder(acked))
    await running.start(executor)
    await executor.send_status("t1", mesos_pb2.TASK_RUNNING)
    await agent.wait_for(lambda: acked)
    assert agent.headers[0]["Content-Type"] == "application/json"
    assert agent.states() == ["TASK_RUNNING"]


async def test_agent_refusing_the_first_subscription_is_an_error(agent: Agent, running: Running) -> None:
    agent.refuse_subscribe = (400, "Executor cannot be found")
    executor = Executor(running.env())
    task = await running.start(executor, subscribed=False)
    with pytest.raises(BadRequest, match="Executor cannot be found"):
        await task


async def test_reconnect_after_agent_restart_resends_unacknowledged(agent: Agent, running: Running) -> None:
    env = running.env(
        MESOS_CHECKPOINT="1", MESOS_RECOVERY_TIMEOUT="1mins", MESOS_SUBSCRIPTION_BACKOFF_MAX="50ms"
    )
    executor = Executor(env, rng=random.Random(7))
    disconnected: list[Any] = []
    executor.on("disconnected", recorder(disconnected))
    await running.start(executor)
    agent.auto_ack = False
    await agent.launch("t1")
    await agent.wait_for(lambda: executor.unacknowledged_tasks)
    running_status = await executor.send_status("t1", mesos_pb2.TASK_RUNNING)
    # The agent goes down; while it recovers it answers 503.
    agent.refuse_subscribe = (503, "Agent has not finished recovery")
    await agent.restart()
    await agent.wait_for(lambda: len(agent.of_type(Call.SUBSCRIBE)) >= 3)
    # An update made while disconnected is kept, too.
    finished = await executor.send_status("t1", mesos_pb2.TASK_FINISHED)
    agent.refuse_subscribe = None
    agent.auto_ack = True
    await agent.wait_for(lambda: executor.subscriptions == 2)
    resubscribe = agent.of_type(Call.SUBSCRIBE)[-1]
    assert [t.task_id.value for t in resubscribe.subscribe.unacknowledged_tasks] == ["t1"]
    assert [u.status for u in resubscribe.subscribe.unacknowledged_updates] == [running_status, finished]
    assert len(disconnected) == 1
    # The agent acknowledges the replayed updates; nothing is left.
    for update in resubscribe.subscribe.unacknowledged_updates:
        await agent.acknowledge(update.status)
    await agent.wait_for(lambda: not executor.unacknowledged_updates)
    assert executor.unacknowledged_tasks == []
    assert executor.tasks == {}


async def test_without_checkpointing_losing_the_agent_shuts_down(agent: Agent, running: Running) -> None:
    executor = Executor(running.env())
    shutdowns: list[Any] = []
    executor.on("shutdown", recorder(shutdowns))
    task = await running.start(executor)
    await agent.launch("t1")
    await agent.wait_for(lambda: executor.tasks)
    await agent.stop()
    await asyncio.wait_for(task, 10)
    assert shutdowns == [None]
    assert len(agent.of_type(Call.SUBSCRIBE)) == 1  # no reconnection attempt
    assert executor.tasks == {}  # reported killed (queued: the agent is gone)
    assert [mesos_pb2.TaskState.Name(s.state) for s in executor.unacknowledged_updates] == ["TASK_KILLED"]


async def test_recovery_timeout_ends_in_shutdown(agent: Agent, running: Running) -> None:
    env = running.env(
        MESOS_CHECKPOINT="1", MESOS_RECOVERY_TIMEOUT="300ms", MESOS_SUBSCRIPTION_BACKOFF_MAX="20ms"
    )
    executor = Executor(env)
    shutdowns: list[Any] = []
    executor.on("shutdown", recorder(shutdowns))
    task = await running.start(executor)
    await agent.stop()
    await asyncio.wait_for(task, 10)
    assert shutdowns == [None]


async def test_shutdown_event_kills_tasks_and_ends_run(agent: Agent, running: Running) -> None:
    killed: list[str] = []

    async def on_kill(ex: Executor, kill: Event.Kill) -> None:
        killed.append(f"{kill.task_id.value}:{kill.kill_policy.grace_period.nanoseconds / 1e9}")
        await ex.send_status(kill.task_id, mesos_pb2.TASK_KILLED, message="stopped")

    executor = Executor(running.env(MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="4secs"), handlers={"KILL": on_kill})
    task = await running.start(executor)
    await agent.launch("t1")
    await agent.launch("t2")
    await agent.wait_for(lambda: len(executor.tasks) == 2)
    await agent.shutdown()
    await asyncio.wait_for(task, 10)
    assert killed == ["t1:2.0", "t2:2.0"]  # the grace period minus 2s for the tasks
    assert sorted(agent.states()) == ["TASK_KILLED", "TASK_KILLED"]
    assert executor.unacknowledged_updates == []  # it waited for the acknowledgements


async def test_default_kill_reports_killed(agent: Agent, running: Running) -> None:
    executor = Executor(running.env())
    await running.start(executor)
    await agent.launch("t1")
    await agent.kill("unknown-task")
    await agent.kill("t1")
    await agent.wait_for(lambda: agent.updates)
    assert agent.states() == ["TASK_KILLED"]


async def test_run_only_once(agent: Agent, running: Running) -> None:
    executor = Executor(running.env())
    await running.start(executor)
    with pytest.raises(ConfigurationError):
        await executor.run()


async def test_a_checkpointing_executor_stops_waiting_once_its_local_cluster_is_gone(
    agent: Agent, running: Running
) -> None:
    # The local cluster tells its executors its process id; once that process is gone no agent
    # comes back, and waiting out MESOS_RECOVERY_TIMEOUT (15 minutes here) would leave the
    # tasks running that long (issue 15: only the local command executors noticed).
    cluster = await asyncio.create_subprocess_exec("sleep", "600")
    env = running.env(
        MESOS_CHECKPOINT="1",
        MESOS_RECOVERY_TIMEOUT="15mins",
        MESOS_SUBSCRIPTION_BACKOFF_MAX="50ms",
        MESOS_FRAMEWORK_LOCAL_CLUSTER_PID=str(cluster.pid),
    )
    executor = Executor(env)
    shutdowns: list[Any] = []
    executor.on("shutdown", recorder(shutdowns))
    task = await running.start(executor)
    await agent.launch("t1")
    await agent.wait_for(lambda: executor.tasks)
    # The cluster alive, a lost agent is waited for (an agent restart inside the cluster).
    await agent.stop()
    await asyncio.sleep(0.5)
    assert not task.done()
    cluster.kill()
    await cluster.wait()
    await asyncio.wait_for(task, 20)  # generous: in practice one back-off delay (50 ms)
    assert shutdowns == [None]
    assert executor.tasks == {}
    assert [mesos_pb2.TaskState.Name(s.state) for s in executor.unacknowledged_updates] == ["TASK_KILLED"]


def test_the_local_cluster_pid_must_be_a_process_id(agent: Agent, tmp_path: Path) -> None:
    with pytest.raises(ExecutorEnvironmentError) as info:
        ExecutorEnvironment.from_environ(
            agent.environ(str(tmp_path), MESOS_FRAMEWORK_LOCAL_CLUSTER_PID="12ab")
        )
    assert info.value.option == "MESOS_FRAMEWORK_LOCAL_CLUSTER_PID"
    assert "12ab" in str(info.value)
