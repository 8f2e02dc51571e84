"""Drive pymesos 0.3.15's own event-stream parser over a recorded stream, without a network.

Runs INSIDE the peers venv (``bench/.peers/venv/bin/python bench/peers/pymesos_decode.py ...``);
it imports nothing from this project. pymesos parses the subscription stream in
``pymesos.process.Connection.read``: it ``recv``s at most ``select.PIPE_BUF`` (4 KiB) bytes, feeds
them to ``http_parser``'s ``HttpParser`` (HTTP/1.1 chunked transfer encoding), accumulates the body,
splits RecordIO records with a regex and ``json.loads`` each one, then hands the dict to its
callback's ``process_event``. We build a ``Connection`` around a fake socket whose ``recv`` returns
the recorded bytes 4 KiB at a time, framed as Mesos sends them (HTTP response head, one HTTP chunk
per RecordIO record, terminating zero chunk), and call ``read()`` until pymesos says the stream
ended. Prints one JSON object: events delivered (total and per type), wall and CPU seconds of the
best round.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator


def read_records(path: str) -> list[bytes]:
    """Split a RecordIO file (``<length>\\n<bytes>`` repeated) into its records."""
    with open(path, "rb") as fh:
        data = fh.read()
    records: list[bytes] = []
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        length = int(data[pos:nl])
        records.append(data[nl + 1 : nl + 1 + length])
        pos = nl + 1 + length
    return records


def http_wire(records: list[bytes]) -> list[bytes]:
    """What a Mesos master writes on the subscription connection: head, one HTTP chunk per record."""
    head = (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json\r\n"
        b"Mesos-Stream-Id: 6b3e9d1c-bench-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    parts = [head]
    for record in records:
        framed = b"%d\n%s" % (len(record), record)
        parts.append(b"%x\r\n%s\r\n" % (len(framed), framed))
    parts.append(b"0\r\n\r\n")
    return parts


class _Counter:
    """Stands in for pymesos's ``Process`` callback: counts what the parser delivers."""

    def __init__(self) -> None:
        self.stream_id: str | None = None
        self.events = 0
        self.by_type: dict[str, int] = {}

    def process_event(self, event: dict[str, object]) -> None:
        self.events += 1
        kind = str(event.get("type"))
        self.by_type[kind] = self.by_type.get(kind, 0) + 1

    def on_close(self) -> None:
        pass


class _ChunkSocket:
    """A socket whose ``recv`` hands out pre-cut chunks, then EOF."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)

    def recv(self, _bufsize: int) -> bytes:
        return next(self._chunks, b"")

    def close(self) -> None:
        pass


def one_round(wire: list[bytes], chunk: int) -> dict[str, object]:
    """Parse the whole stream once, ``chunk`` bytes per ``recv`` (0: one HTTP chunk per ``recv``)."""
    from http_parser.http import HttpParser  # type: ignore[import-not-found]
    from pymesos.process import Connection  # type: ignore[import-not-found]

    if chunk > 0:
        data = b"".join(wire)
        chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    else:
        chunks = wire
    counter = _Counter()
    conn = Connection.__new__(Connection)  # skip __init__: it opens a real socket
    conn._addr = ("127.0.0.1", 5050)
    conn._sock = _ChunkSocket(chunks)
    conn.connected = True
    conn._parser = HttpParser()
    conn._callback = counter
    conn._stream_id = None
    conn._request = b""
    conn._response = b""
    reads = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while conn.read():
        reads += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "events": counter.events,
        "by_type": counter.by_type,
        "stream_id": counter.stream_id,
        "reads": reads + 1,
        "seconds": wall,
        "cpu_seconds": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--recordio FILE [--chunk 4096] [--repeat 3]``; prints JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recordio", required=True)
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per recv; 0: one HTTP chunk each")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import importlib.metadata

    import http_parser.http  # type: ignore[import-not-found]
    import http_parser.parser  # type: ignore[import-not-found]

    records = read_records(args.recordio)
    wire = http_wire(records)
    best: dict[str, object] | None = None
    for _ in range(max(1, args.repeat)):
        result = one_round(wire, args.chunk)
        if best is None or float(result["seconds"]) < float(best["seconds"]):  # type: ignore[arg-type]
            best = result
    assert best is not None
    best.update(
        records=len(records),
        wire_bytes=sum(len(part) for part in wire),
        chunk=args.chunk,
        compiled_http_parser=http_parser.http.HttpParser is http_parser.parser.HttpParser,
        pymesos=importlib.metadata.version("pymesos"),
        python=sys.version.split()[0],
    )
    print(json.dumps(best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
