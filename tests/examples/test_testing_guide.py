"""The tests shown in docs/testing.md (included from here, so the guide's code is known to work)."""

# --8<-- [start:basic]
import pytest

from mesos_framework import Scheduler, TaskState
from mesos_framework.local import LocalCluster
from mesos_framework.persistence import MemoryStore


def web_scheduler(master: str, **options: object) -> Scheduler:
    return Scheduler(
        master=master,
        framework_name="web-under-test",
        tasks={
            "web": {
                "instances": 2,
                "command": {"value": "sleep 300"},
                "resources": {"cpus": 0.1, "mem": 32, "ports": 1},
            }
        },
        restart_backoff_minimum=0.1,  # keep tests quick
        **options,
    )


async def test_two_instances_run(local_cluster: LocalCluster) -> None:
    async with web_scheduler(local_cluster.url) as scheduler:
        await scheduler.wait_for("task_launched", lambda _: len(scheduler.running_tasks()) == 2, timeout=60)
        ports = {task.ports[0] for task in scheduler.running_tasks()}
        assert len(ports) == 2  # each instance got a port of its own
        await scheduler.teardown()


# --8<-- [end:basic]
# --8<-- [start:faults]
@pytest.mark.local_cluster(agents=2, resources="cpus:1;mem:512;ports:[31000-31010]")
async def test_a_lost_executor_is_replaced(local_cluster: LocalCluster) -> None:
    async with web_scheduler(local_cluster.url) as scheduler:
        await scheduler.wait_for("task_launched", lambda _: len(scheduler.running_tasks()) == 2, timeout=60)
        victim = scheduler.task_records("web")[0]
        assert scheduler.framework_id is not None
        # SIGKILL the task's executor: the agent reports the task failed, and it is relaunched.
        assert local_cluster.kill_executor(scheduler.framework_id, victim.executor_id or victim.task_id)
        (ended,) = await scheduler.wait_for("removed_task", lambda t: t.task_id == victim.task_id, timeout=60)
        assert ended.state == TaskState.TASK_FAILED
        (again,) = await scheduler.wait_for("task_launched", lambda t: t.name == victim.name, timeout=60)
        assert again.task_id != victim.task_id
        await scheduler.teardown()


async def test_a_restarted_scheduler_takes_its_tasks_back(local_cluster: LocalCluster) -> None:
    store = MemoryStore()  # stands in for ZooKeeper
    async with web_scheduler(local_cluster.url, state_store=store) as first:
        await first.wait_for("task_launched", lambda _: len(first.running_tasks()) == 2, timeout=60)
        before = {t.task_id for t in first.tasks}
    # The first scheduler stopped without a teardown: its framework fails over, its tasks run on.
    async with web_scheduler(local_cluster.url, state_store=store) as second:
        assert {t.task_id for t in second.tasks} == before  # recovered from the store
        await second.subscribe(timeout=60)  # wait until subscribed
        assert second.framework_id == first.framework_id
        await second.teardown()


# --8<-- [end:faults]
