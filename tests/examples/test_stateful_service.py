"""The stateful service: a journal on a persistent volume survives a relaunch; scale-down frees it."""

from __future__ import annotations

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner


async def test_the_journal_survives_a_relaunch_and_scale_down_frees_the_volume(
    local_cluster: LocalCluster, run_example: Runner
) -> None:
    run = await run_example("stateful_service.py", "--master", local_cluster.master_spec, timeout=120)
    why = run.explain()
    assert run.returncode == 0, why
    assert run.lines("store-1 on", "journal has 1 line(s)"), why
    assert run.lines("relaunched on the same agent and volume: journal has 2 line(s)"), why
    for op in ("RESERVE", "CREATE", "DESTROY", "UNRESERVE"):
        assert run.lines(f"operation {op}: OPERATION_FINISHED"), why
    assert run.lines("volume destroyed and resources unreserved"), why
    assert run.lines("done (exit status 0)"), why
