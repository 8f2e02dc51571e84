"""Smoke tests for the benchmark runner's pieces at tiny sizes, so the benchmark code cannot rot.

No timings are asserted (speed belongs in the benchmark itself): only that each piece runs,
counts what it should and renders a report.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench import peer_decode
from bench import run as bench_run
from bench.peers import install


@pytest.fixture(scope="module")
def tiny_records() -> list[bytes]:
    return peer_decode.make_records(0.3)


def test_stream_is_realistic(tiny_records: list[bytes]) -> None:
    events = [json.loads(r) for r in tiny_records]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "SUBSCRIBED"
    assert events[0]["subscribed"]["framework_id"]["value"]
    assert {"OFFERS", "UPDATE", "HEARTBEAT"} <= set(kinds)
    assert kinds[-1] == "UPDATE"
    offers = next(e for e in events if e["type"] == "OFFERS")["offers"]["offers"]
    assert len(offers) == peer_decode.OFFERS_PER_EVENT
    for offer in offers:
        names = [r["name"] for r in offer["resources"]]
        assert {"cpus", "mem", "disk", "ports"} <= set(names)
        ports = next(r for r in offer["resources"] if r["name"] == "ports")
        assert ports["type"] == "RANGES"
        assert all(r["begin"] <= r["end"] for r in ports["ranges"]["range"])
    updates = [e["update"]["status"] for e in events if e["type"] == "UPDATE"]
    assert {"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"} <= {s["state"] for s in updates}
    assert all(s["uuid"] and s["task_id"]["value"] for s in updates)
    # Mesos writes compact JSON: no newline can hide inside a record.
    assert all(b"\n" not in r for r in tiny_records)
    total = len(peer_decode.frame(tiny_records))
    assert 300_000 <= total < 300_000 + 200_000  # stops after the UPDATE burst that crosses the size


def test_stream_is_deterministic(tiny_records: list[bytes]) -> None:
    assert peer_decode.make_records(0.3) == tiny_records
    assert peer_decode.make_records(0.3, seed=1) != tiny_records


def test_recordio_round_trip(tmp_path: Path, tiny_records: list[bytes]) -> None:
    path = tmp_path / "s.recordio"
    path.write_bytes(peer_decode.frame(tiny_records))
    assert peer_decode.read_records(path) == tiny_records
    assert path.read_bytes().startswith(b"%d\n{" % len(tiny_records[0]))


def test_stream_path_is_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(peer_decode, "DATA_DIR", tmp_path)
    first = peer_decode.stream_path(0.05)
    mtime = first.stat().st_mtime_ns
    assert peer_decode.stream_path(0.05) == first
    assert first.stat().st_mtime_ns == mtime
    assert peer_decode.read_records(first) == peer_decode.make_records(0.05)


def test_floor_rows_count_every_record(tiny_records: list[bytes]) -> None:
    rows = peer_decode.floor_rows(tiny_records, repeat=1)
    assert [r["baseline"] for r in rows if "baseline" in r] == ["floor"]
    for row in rows:
        assert row["events"] == row["expected_events"] == len(tiny_records)
        assert row["events_per_s"] > 0


def _decoding_rows() -> list[dict[str, Any]]:
    return [
        {
            "name": "json.loads",
            "baseline": "floor",
            "events": 10,
            "expected_events": 10,
            "events_per_s": 1000.0,
            "mb_per_s": 1.0,
        },
        {
            "name": "pymesos",
            "baseline": "pymesos",
            "events": 10,
            "expected_events": 10,
            "events_per_s": 800.0,
            "mb_per_s": 0.8,
        },
        {
            "name": "ours",
            "mine": True,
            "default": True,
            "events": 10,
            "expected_events": 10,
            "events_per_s": 4000.0,
            "encoding": "json",
        },
        {"name": "broken", "error": "exit 1: boom | with pipe"},
    ]


def test_render_decoding_ratios_and_goal() -> None:
    section = bench_run.Section("decoding", "1. Event decoding", rows=_decoding_rows())
    text = "\n".join(bench_run.render_decoding(section))
    assert "| ours | 10 / 10 (json) | 4,000 |  | 4.00x | 5.00x |" in text
    assert "| pymesos | 10 / 10 | 800 | 0.8 | 0.80x | 1.00x |" in text
    assert "boom \\| with pipe" in text
    assert ">= 5x pymesos: 5.00x (met)" in text
    assert "within 2x of the floor: 4.00x (met)" in text


def test_render_offer_matching_linearity() -> None:
    rows = [{"tasks": 1000, "offers": 100, "seconds": 0.1}, {"tasks": 2000, "offers": 200, "seconds": 0.4}]
    section = bench_run.Section("offer_matching", "3. Offer matching", rows=rows)
    text = "\n".join(bench_run.render_offer_matching(section))
    # Twice the size, four times the time: the ratio shows quadratic growth as 2.0.
    assert text.splitlines()[3].endswith("| 2 |")


def test_report_marks_pending_missing_and_failed_sections() -> None:
    sections = [
        bench_run.Section("decoding", "1. Event decoding", rows=_decoding_rows()),
        bench_run.pending_section(
            "end_to_end", "2. End to end", bench_run.END_TO_END_PLAN, module="no_such_benchmark"
        ),
        bench_run.run_module_section("memory", "4. Memory", "no_such_benchmark"),
        bench_run._guarded(bench_run.Section("failover", "5. Failover"), lambda: 1 / 0),  # type: ignore[arg-type,return-value]
    ]
    text = bench_run.render(sections, {"nproc": "2"}, "python -m bench.run", "now")
    assert "## 2. End to end\n\n**PENDING**" in text
    assert "**NOT YET AVAILABLE**: bench/no_such_benchmark.py does not exist yet" in text
    assert "**ERROR**: ZeroDivisionError" in text
    assert "| nproc | 2 |" in text


def test_call_run_passes_only_accepted_arguments() -> None:
    class Mod:
        @staticmethod
        def run(sizes: tuple[int, ...] = (1,)) -> list[dict[str, Any]]:
            return [{"sizes": sizes}]

    assert bench_run._call_run(Mod, sizes=(5,), quick=True) == [{"sizes": (5,)}]


def test_machine_info_names_the_machine() -> None:
    info = bench_run.machine_info()
    assert info["python"].startswith("CPython 3.")
    assert int(info["nproc"].split()[0]) >= 1
    assert info["cpu"]


def test_runner_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peer_decode, "DATA_DIR", tmp_path / "data")
    out = tmp_path / "results" / "latest.md"
    code = bench_run.main(
        [
            "--quick",
            "--no-peers",
            "--size-mb",
            "0.1",
            "--only",
            "decoding",
            "end_to_end",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    assert "json.loads per record (floor)" in text
    assert "PENDING" in text or "## 2. End to end" in text
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["machine"]["python"].startswith("CPython")
    assert data["sections"][0]["key"] == "decoding"


@pytest.mark.slow
def test_peers_install_and_decode_tiny_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds bench/.peers on first use (about 30 s, PyPI and npm), then drives both peers."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed to benchmark the JavaScript peer")
    status = install.ensure_peers()
    assert status.problems == []
    assert status.versions["pymesos"] == install.PYMESOS_VERSION
    assert status.versions["mesos-framework"] == install.MESOS_FRAMEWORK_JS_VERSION
    monkeypatch.setattr(peer_decode, "DATA_DIR", tmp_path)
    rows = {r["name"]: r for r in peer_decode.run(0.2, repeat=1)}
    assert not [r for r in rows.values() if "error" in r]
    expected = rows["json.loads per record (floor)"]["expected_events"]
    pymesos = rows["pymesos 0.3.15 stream parser"]
    assert pymesos["events"] == expected
    assert pymesos["by_type"]["SUBSCRIBED"] == 1
    assert "C ext: True" in pymesos["note"]
    js = [r for n, r in rows.items() if n.startswith("mesos-framework (JS)")]
    assert len(js) == 2
    chunked, per_record = js
    # Fed one record per chunk it delivers all; fed 4 KiB chunks it loses events (its known bug).
    assert per_record["events"] == expected
    assert chunked["events"] < expected
    assert "LOST" in chunked["note"]


def test_end_to_end_row_flags_lost_and_twice_launched_tasks() -> None:
    from bench.peers import e2e

    clean = {
        "framework": "pymesos 0.3.15",
        "tasks": 3,
        "completed": True,
        "cpu_seconds": 0.3,
        "cpu_ms_per_task": 100.0,
        "final_states": {"TASK_FINISHED": 3},
        "never_finished": 0,
        "launched_twice": 0,
    }
    assert e2e._row("c", clean)["lost_or_twice"] == "none"
    bad = {
        **clean,
        "completed": False,
        "never_finished": 1,
        "launched_twice": 2,
        "final_states": {"TASK_FINISHED": 2, "TASK_LOST": 1},
    }
    text = e2e._row("c", bad)["lost_or_twice"]
    assert "did not finish in time" in text
    assert "1 tasks never finished" in text
    assert "2 tasks launched more than once" in text
    assert "TASK_LOST 1" in text


def test_render_end_to_end_ratio_to_pymesos() -> None:
    rows = [
        {"cluster": "c", "name": "pymesos 0.3.15", "tasks": 5, "cpu_ms_per_task": 2.0},
        {"cluster": "c", "name": "mesos-framework 0.5.3", "tasks": 5, "cpu_ms_per_task": 8.0},
        {"cluster": "c", "name": "ours", "tasks": 5, "error": "pending"},
    ]
    rows[0]["steady_cpu_ms_per_task"] = 1.0
    rows[1]["steady_cpu_ms_per_task"] = 0.5
    text = "\n".join(bench_run.render_end_to_end(bench_run.Section("end_to_end", "2", rows=rows)))
    assert "| c | mesos-framework 0.5.3 | 5 | 8 | 0.5 | 4.00x | 0.50x |  |" in text
    assert text.splitlines()[0].endswith("| error |")


def _assert_peers_finished(rows: list[dict[str, Any]]) -> None:
    assert [r["name"] for r in rows] == ["pymesos 0.3.15", "mesos-framework 0.5.3"], rows
    for row in rows:
        assert row["lost_or_twice"] == "none", row
        assert 0 < row["subscribed_s"] <= row["all_running_s"] <= row["all_finished_s"]
        assert row["cpu_seconds"] > 0


@pytest.mark.slow
@pytest.mark.real_mesos
def test_peer_schedulers_finish_tasks_on_real_mesos(real_mesos_cluster: Any) -> None:
    """Both peer schedulers launch and finish a few tasks on real Mesos 1.11, none lost or doubled."""
    from bench.peers import e2e

    master = real_mesos_cluster.url.removeprefix("http://")
    _assert_peers_finished(e2e.run_on(master, "real Mesos 1.11", 3, timeout=120))


@pytest.mark.slow
def test_peer_schedulers_finish_tasks_on_the_local_cluster() -> None:
    """The same on this project's local cluster, started and stopped by ``e2e.local_cluster``."""
    from bench.peers import e2e

    with e2e.local_cluster() as master:
        host, port = master.split(":")
        assert host == "127.0.0.1"
        assert int(port) > 0
        _assert_peers_finished(e2e.run_on(master, "local cluster", 3, timeout=120))


def test_merge_best_keeps_the_fastest_error_free_round() -> None:
    best: dict[str, dict[str, Any]] = {}
    bench_run._merge_best(best, [{"name": "a", "error": "boom"}, {"name": "b", "events_per_s": 5.0}])
    bench_run._merge_best(best, [{"name": "a", "events_per_s": 1.0}, {"name": "b", "events_per_s": 3.0}])
    bench_run._merge_best(best, [{"name": "a", "error": "later"}, {"name": "b", "events_per_s": 7.0}])
    assert best == {"a": {"name": "a", "events_per_s": 1.0}, "b": {"name": "b", "events_per_s": 7.0}}


def test_render_decoding_uses_cpu_time_when_every_parser_has_it() -> None:
    rows = [
        {
            "name": "floor",
            "baseline": "floor",
            "events": 10,
            "expected_events": 10,
            "events_per_s": 1.0,
            "cpu_seconds": 0.01,
        },
        {
            "name": "pymesos",
            "baseline": "pymesos",
            "events": 10,
            "expected_events": 10,
            "events_per_s": 1.0,
            "cpu_seconds": 0.02,
        },
    ]
    text = "\n".join(bench_run.render_decoding(bench_run.Section("decoding", "1", rows=rows)))
    assert "events per CPU second" in text
    assert "| pymesos | 10 / 10 | 500 |  | 0.50x | 1.00x |" in text


def test_calls_section_measures_every_client() -> None:
    from bench import calls

    rows = calls.run(calls=20, repeat=1)
    assert [r["name"].split()[0] for r in rows] == ["http.client,", "aiohttp", "this"]
    assert all(r["calls"] == 20 and r["cpu_us_per_call"] > 0 for r in rows)
    assert rows[0]["vs_http_client"] == "1.00x"


def test_memory_section_reports_allocated_and_resident_bytes() -> None:
    from bench import task_memory

    rows = task_memory.run((2000, 4000))
    assert [r["tasks"] for r in rows] == [2000, 4000]
    assert all(0 < r["bytes_per_task"] < 10_000 for r in rows)
    assert all(0 <= r["rss_bytes_per_task"] < 10_000 for r in rows)  # RSS may not grow for small N


def test_import_time_section_reports_against_asyncio() -> None:
    section = bench_run.run_sections(["imports"], quick=True, size_mb=None, peers=False)[0]
    assert section.status == "ok", section.detail
    names = [row["name"] for row in section.rows]
    assert names[:2] == ["import asyncio (baseline)", "import mesos_framework"]
    assert "mesos-framework --help (wall)" in names
    assert section.rows[0]["vs import asyncio"] == "1.00x"
    assert all(row["ms"] > 0 for row in section.rows)
    report = bench_run.render([section], {"python": "x"}, "python -m bench.run --only imports", "now")
    assert "## 7. Import and start-up time" in report
    assert "| import mesos_framework |" in report
