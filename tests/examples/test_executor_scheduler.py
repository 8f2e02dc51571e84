"""The custom executor example: tasks run by ``countdown_executor.py``, talking to the scheduler."""

from __future__ import annotations

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner, active_tasks, master_state


async def test_custom_executor_runs_tasks_and_exchanges_messages(
    local_cluster: LocalCluster, run_example: Runner
) -> None:
    run = await run_example(
        "executor_scheduler.py", "--master", local_cluster.url, "--countdown", "2", timeout=120
    )
    why = run.explain()
    assert run.returncode == 0, why
    for name in ("countdown-1", "countdown-2"):
        # The executor's messages, in order, then its answer to the scheduler's ping.
        lines = [line.split("executor: ", 1)[1] for line in run.lines("message from an executor", name)]
        countdown = [text for text in lines if not text.startswith("pong")]
        assert countdown == [f"{name}: 2", f"{name}: 1", f"{name}: liftoff"], why
        assert f"pong: ping {name}" in lines, why
        assert run.lines(name, "FINISHED"), why
    assert len(run.lines("finished: countdown done (data b'2 s')")) == 2, why
    assert run.lines("2 task(s) finished, 2 pong(s) received"), why
    state = await master_state(local_cluster.url)
    assert not active_tasks(state), why
