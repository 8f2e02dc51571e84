"""Tasks do not outlive a SIGKILLed local cluster (issue 15 item 8).

With checkpointing on (the scheduler's default) executors wait for their agent up to
``MESOS_RECOVERY_TIMEOUT`` (15 minutes), as across an agent restart; when the whole cluster
process is gone they must instead end their tasks within seconds.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.support.cluster_death import cluster_running_a_task, wait_until_gone


def test_tasks_end_soon_after_the_cluster_is_sigkilled(tmp_path: Path) -> None:
    with cluster_running_a_task(tmp_path) as (cluster, task_pid):
        cluster.send_signal(signal.SIGKILL)
        cluster.wait(30)
        # Seconds in practice (the executor's re-subscription back-off); generous for a loaded machine.
        wait_until_gone(task_pid, 90)
