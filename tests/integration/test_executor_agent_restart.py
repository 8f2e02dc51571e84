"""The library's Executor across an agent restart on the local cluster (checkpointing).

Issue 5's check: the executor reconnects and re-sends its unacknowledged
updates and tasks; the scheduler ends up receiving and acknowledging every
update; nothing is lost.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mesos_framework.local import LocalCluster
from mesos_framework.protocol._schema import executor_pb2, mesos_pb2
from tests.unit.executor.raw_scheduler import Event, RawScheduler, executor_info

# Driven through files in the control directory given as argv[1]. The "chatty" task reports
# RUNNING at once; the "quiet" one says nothing until the agent is down. While it is down,
# both report twice; once told to finish, both finish. The executor leaves when the agent has
# acknowledged everything. Each successful SUBSCRIBE call is saved for the test to read.
EXECUTOR = """
import asyncio, sys
from pathlib import Path
from mesos_framework.executor import Executor

CTL = Path(sys.argv[1])

async def until(name):
    while not (CTL / name).exists():
        await asyncio.sleep(0.02)

class Recovering(Executor):
    async def handle_launch(self, launch):
        self.spawn(self.play(launch.task.task_id.value, launch.task.name))

    async def play(self, task_id, name):
        if name == "chatty":
            await self.send_status(task_id, "TASK_RUNNING", message="before the restart")
        (CTL / f"{name}-launched").touch()
        await until("agent-down")
        await self.send_status(task_id, "TASK_RUNNING", message="while the agent is down")
        await self.send_status(task_id, "TASK_RUNNING", message="still down")
        (CTL / f"{name}-sent").touch()
        await until("finish")
        await self.send_status(task_id, "TASK_FINISHED", message="done")

async def main():
    executor = Recovering()
    calls = []

    def record(call):
        calls.append(call)
        name = f"{executor.executor_id.value}-subscribe-{len(calls)}.pb"
        # Written whole, then renamed: the test never reads a file created but not yet written.
        part = CTL / (name + ".part")
        part.write_bytes(call.SerializeToString())
        part.replace(CTL / name)

    async def maybe_exit(ack):
        if not executor.tasks and not executor.unacknowledged_updates:
            await executor.stop()

    executor.on("sent_subscribe", record)
    executor.on("acknowledged", maybe_exit)
    await executor.run()

asyncio.run(main())
"""


class HoldingScheduler(RawScheduler):
    """Records every update; while ``holding``, acknowledges none of them."""

    holding = False

    async def _handle(self, event: Any) -> None:
        if self.holding and event.type == Event.UPDATE and event.update.status.uuid:
            self.updates.append(event.update.status)
            self._notify()
            return
        await super()._handle(event)


async def _until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - watching files written by another process
            await asyncio.sleep(0.02)


async def _subscriptions(ctl: Path, executor_id: str, count: int) -> None:
    def saved() -> bool:
        return len(list(ctl.glob(f"{executor_id}-subscribe-*.pb"))) >= count

    await _until(saved)


def _last_subscribe(ctl: Path, executor_id: str) -> tuple[int, executor_pb2.Call]:
    files = sorted(ctl.glob(f"{executor_id}-subscribe-*.pb"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    call = executor_pb2.Call()
    call.ParseFromString(files[-1].read_bytes())
    return len(files), call


async def test_executor_reconnects_and_nothing_is_lost(tmp_path: Path) -> None:
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    script = tmp_path / "recovering_executor.py"
    script.write_text(EXECUTOR)
    async with LocalCluster(status_update_retry=0.5, allocation_interval=0.2) as cluster:
        sched = HoldingScheduler(cluster.url)
        await sched.subscribe("agent-restart", checkpoint=True)
        try:
            sched.holding = True
            chatty, _ = await sched.launch(
                "chatty", executor=executor_info("exec-chatty", sys.executable, str(script), str(ctl))
            )
            quiet, _ = await sched.launch(
                "quiet", executor=executor_info("exec-quiet", sys.executable, str(script), str(ctl))
            )
            # the scheduler has chatty's first update but does not acknowledge it
            await sched.wait_for(lambda: sched.states(chatty) == ["TASK_RUNNING"])
            await _until(lambda: (ctl / "chatty-launched").exists() and (ctl / "quiet-launched").exists())
            assert sched.acknowledged == []

            cluster.stop_agent(1)
            (ctl / "agent-down").touch()
            await _until(lambda: (ctl / "chatty-sent").exists() and (ctl / "quiet-sent").exists())
            sched.holding = False
            # (it ends once both are back; the slack only matters on a very busy machine)
            await cluster.recover_agent(1, reregistration_timeout=15.0)

            # Both executors re-subscribed with what the agent had not acknowledged.
            for executor_id, task_id, unacked_tasks in (
                ("exec-chatty", chatty, []),
                ("exec-quiet", quiet, [quiet]),
            ):
                # (the executor saves the call once it has the agent's answer: maybe only just now)
                await _subscriptions(ctl, executor_id, 2)
                count, call = _last_subscribe(ctl, executor_id)
                assert count == 2, executor_id
                assert [t.task_id.value for t in call.subscribe.unacknowledged_tasks] == unacked_tasks
                resent = [u.status for u in call.subscribe.unacknowledged_updates]
                assert [s.message for s in resent] == ["while the agent is down", "still down"]
                assert {s.task_id.value for s in resent} == {task_id}

            (ctl / "finish").touch()
            assert (await sched.until_state(chatty, "TASK_FINISHED"))[-1] == "TASK_FINISHED"
            assert (await sched.until_state(quiet, "TASK_FINISHED"))[-1] == "TASK_FINISHED"

            for task_id, expected in (
                (chatty, ["before the restart", "while the agent is down", "still down", "done"]),
                (quiet, ["while the agent is down", "still down", "done"]),
            ):
                updates = [s for s in sched.updates if s.task_id.value == task_id]
                unique: dict[bytes, mesos_pb2.TaskStatus] = {}
                for status in updates:
                    unique.setdefault(status.uuid, status)
                assert [s.message for s in unique.values()] == expected
                assert {s.source for s in updates} == {mesos_pb2.TaskStatus.SOURCE_EXECUTOR}
                assert all(uid in sched.acknowledged for uid in unique)
            # chatty's held update was resent after the restart and acknowledged then
            first = next(s for s in sched.updates if s.task_id.value == chatty)
            assert sched.acknowledged.count(first.uuid) >= 1
            assert len([s for s in sched.updates if s.uuid == first.uuid]) >= 2

            # each executor left by itself once everything was acknowledged
            await sched.wait_for(lambda: len(sched.failures) >= 2)
            assert sorted((f.executor_id.value, f.status) for f in sched.failures) == [
                ("exec-chatty", 0),
                ("exec-quiet", 0),
            ]
        finally:
            await sched.close()
