"""The pod service: two containers as one instance, restarted as a whole and scaled."""

from __future__ import annotations

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner


async def test_a_pod_restarts_as_a_whole_and_scales(local_cluster: LocalCluster, run_example: Runner) -> None:
    run = await run_example("pod_service.py", "--master", local_cluster.master_spec, timeout=120)
    why = run.explain()
    assert run.returncode == 0, why
    assert len(run.lines("pod app-", "web=RUNNING worker=RUNNING")) == 3, why
    # The crashing worker took its pod's web container with it; the pod came back whole.
    assert len(run.lines("ended as a whole: web TASK_KILLED worker TASK_FAILED")) == 1, why
    assert run.lines("scaled to 3: 3 pods running"), why
    assert run.lines("done (exit status 0)"), why
