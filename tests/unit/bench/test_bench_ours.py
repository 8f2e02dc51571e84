"""Smoke tests for this library's end-to-end and failover benchmarks at tiny sizes.

They run the real thing (scheduler processes, the local cluster, ZooKeeper, real Mesos when the
harness is here) so the benchmark code cannot rot; no timings are asserted, only that every task is
accounted for, none launched twice, and that the report renders the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import end_to_end, failover
from bench import run as bench_run
from bench.peers import e2e


def _assert_clean(row: dict[str, Any], tasks: int) -> None:
    assert "error" not in row, row
    assert row["name"] == "this library"
    assert row["tasks"] == tasks
    assert row["lost_or_twice"] == "none", row
    assert row["cpu_seconds"] > 0
    assert row["subscribed_s"] <= row["all_running_s"] <= row["all_finished_s"]


def test_end_to_end_on_the_local_cluster() -> None:
    rows = end_to_end.run((3,), clusters=("local cluster",), timeout=120)
    assert len(rows) == 1
    _assert_clean(rows[0], 3)
    assert rows[0]["cluster"] == "local cluster"
    assert rows[0]["mine"] is True


@pytest.mark.slow
@pytest.mark.real_mesos
def test_end_to_end_on_real_mesos(real_mesos_cluster: Any) -> None:
    master = real_mesos_cluster.url.removeprefix("http://")
    rows = end_to_end.run_on(master, "real Mesos 1.11", 3, timeout=120)
    assert len(rows) == 1
    _assert_clean(rows[0], 3)


def test_end_to_end_reports_a_missing_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(e2e, "HARNESS", tmp_path / "no-such-harness")
    rows = end_to_end.run((2,), clusters=("real Mesos 1.11",))
    assert rows == [
        {
            "cluster": "real Mesos 1.11",
            "name": "(cluster)",
            "tasks": 2,
            "error": f"real Mesos harness not found at {tmp_path / 'no-such-harness'}",
        }
    ]


def test_end_to_end_reports_a_scheduler_that_cannot_connect() -> None:
    # Nothing listens on port 1: the scheduler process gives up after its timeout and says so.
    rows = end_to_end.run_on("127.0.0.1:1", "nowhere", 2, timeout=3)
    assert len(rows) == 1
    assert rows[0]["lost_or_twice"] == "did not finish in time; 2 tasks never finished", rows


def test_stream_drop_resubscribes_as_the_same_framework() -> None:
    row = failover.stream_drop(rounds=2, backoff_minimum=0.05, tasks=1)
    assert row["rounds"] == 2
    assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
    assert row["baseline_s"] == 0.05
    assert row["note"].endswith("all still running after"), row


@pytest.mark.slow
@pytest.mark.zookeeper
def test_sigkill_recovery_reconciles_every_task(zookeeper_server: Any) -> None:
    with e2e.local_cluster() as master:
        row = failover.sigkill_on(master, "local cluster", zookeeper_server.hosts, 2, timeout=120)
    assert row["lost_or_twice"] == "none", row
    assert row["tasks"] == 2
    assert 0 < row["process_started_s"] <= row["state_read_s"] <= row["subscribed_s"] <= row["reconciled_s"]
    assert row["baseline_s"] > 0


@pytest.mark.slow
@pytest.mark.zookeeper
def test_ha_takeover_measures_a_standby_taking_over() -> None:
    (row,) = failover.ha_takeover(1, rounds=1, session_timeouts=(2.0,), timeout=120)
    assert "error" not in row, row
    assert row["lost_or_twice"] == "none", row
    assert 0 < row["SIGKILL -> SUBSCRIBED (median s)"] <= row["SIGKILL -> all reconciled (median s)"]


def test_report_renders_our_rows() -> None:
    rows = [
        {"cluster": "local cluster", "name": "this library", "tasks": 5, "cpu_ms_per_task": 1.5},
        {"cluster": "local cluster", "name": "pymesos 0.3.15", "tasks": 5, "cpu_ms_per_task": 1.0},
    ]
    section = bench_run.Section("end_to_end", "2. End to end", rows=rows, detail=bench_run.END_TO_END_PLAN)
    text = "\n".join(bench_run.render_end_to_end(section))
    assert "| local cluster | this library | 5 | 1.5 | 1.50x |" in text
    failover_section = bench_run.Section(
        "failover", "5. Failover", rows=[{"name": "(a)", "median_s": 0.5}], detail=bench_run.FAILOVER_PLAN
    )
    report = bench_run.render([failover_section], {"nproc": "2"}, "python -m bench.run", "now")
    assert "| (a) | 0.5 |" in report
    assert "(b) scheduler SIGKILL" in report
