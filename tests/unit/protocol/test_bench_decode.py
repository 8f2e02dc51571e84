"""bench.decode runs and decodes every event of its stream in both encodings (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import decode as bench_decode
from mesos_framework.protocol import ContentType, RecordIODecoder, decode, mesos, recordio_encode


def test_bench_decode_rows_account_for_every_event() -> None:
    rows = bench_decode.run(0.05, repeat=1)
    assert [r["encoding"] for r in rows] == ["json", "protobuf", "json", "protobuf", "protobuf"]
    assert all(r["events"] == r["expected_events"] > 3 for r in rows)
    assert [r.get("default", False) for r in rows] == [False, True, False, False, False]
    assert "without the C extension" in rows[3]["name"]
    assert "without the required-field check" in rows[4]["name"]


def test_bench_reads_a_recorded_json_stream(tmp_path: Path) -> None:
    events = bench_decode.synthesise(0.05)
    path = tmp_path / "stream.recordio"
    path.write_bytes(b"".join(recordio_encode(e.to_json()) for e in events))
    assert bench_decode.read_stream(path) == events
    rows = bench_decode.run(stream=path, repeat=1)
    assert rows[1]["events"] == len(events)


def test_synthesised_stream_survives_4k_chunking_in_both_encodings() -> None:
    events = bench_decode.synthesise(0.05)
    kinds = {mesos.scheduler.Event.Type.Name(e.type) for e in events}
    assert {"SUBSCRIBED", "OFFERS", "UPDATE", "HEARTBEAT"} <= kinds
    for ct in ContentType:
        framed = b"".join(
            recordio_encode(e.SerializeToString() if ct is ContentType.PROTOBUF else e.to_json())
            for e in events
        )
        dec = RecordIODecoder()
        out = [
            decode(mesos.scheduler.Event, r, ct)
            for i in range(0, len(framed), 4096)
            for r in dec.feed(framed[i : i + 4096])
        ]
        dec.close()
        if ct is ContentType.PROTOBUF:
            assert out == events
        else:
            assert [e.to_dict() for e in out] == [e.to_dict() for e in events]
