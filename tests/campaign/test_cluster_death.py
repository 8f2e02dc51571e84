"""Campaign: a local cluster SIGKILLed under a custom executor built on `mesos_framework.executor`.

With checkpointing on, an executor waits up to ``MESOS_RECOVERY_TIMEOUT`` (15 minutes)
for its agent, as across an agent restart. The local cluster tells its executors its
process id: once that process is gone no agent comes back, and a custom executor must
end its task within seconds too (the local command executor's case is in
tests/local/test_cluster_death.py).
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.campaign.counts import figure
from tests.support.cluster_death import cluster_running_a_task, wait_until_gone


def test_a_custom_executors_task_ends_soon_after_the_cluster_is_sigkilled(tmp_path: Path) -> None:
    with cluster_running_a_task(tmp_path, custom_executor=True) as (cluster, task_pid):
        cluster.send_signal(signal.SIGKILL)
        cluster.wait(30)
        # Seconds in practice (one re-subscription back-off); generous for a loaded machine,
        # far below the 15 minutes of MESOS_RECOVERY_TIMEOUT.
        took = wait_until_gone(task_pid, 90)
        figure("local cluster SIGKILLed: a custom executor's task ended after", took)
