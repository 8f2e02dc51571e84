"""CPU cost of one scheduler call on a kept-alive connection, the library against the ways peers send.

A scheduler sends one ``ACKNOWLEDGE`` per status update and one ``ACCEPT``/``DECLINE`` per offer:
thousands of small ``POST``\\ s answered by an empty ``202``. What each costs the scheduler process
sets most of its CPU per task (see section 2). Here a server in another process answers ``202``
to every request on one kept-alive connection, and this process sends the same protobuf
``ACKNOWLEDGE`` ``--calls`` times through each client, one after the other:

- ``http.client`` on one kept-alive connection: how pymesos sends its calls (the baseline);
- ``aiohttp.ClientSession.post``: what this library used before its lean calls connection;
- this library's ``HttpClient.send``: encode the call, send it on the calls connection, check the
  answer, as the Scheduler does for every call.

Figures are microseconds of this process's CPU time (user + system) per call, best of
``--repeat`` rounds; the server's CPU is not counted. Run: ``python -m bench.calls``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from mesos_framework.protocol import ContentType, encode, mesos
from mesos_framework.transport import HttpClient

Row = dict[str, Any]
PATH = "/api/v1/scheduler"
STREAM_ID = str(uuid.UUID(int=7))

# A stdlib-only HTTP/1.1 server: 202 with an empty body for every request, connections kept alive.
_SERVER = r"""
import asyncio, sys
ANSWER = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def acknowledge() -> Any:
    call = mesos.scheduler.Call(type=mesos.scheduler.Call.ACKNOWLEDGE)
    call.framework_id.value = f"{uuid.UUID(int=1)}-0000"
    call.acknowledge.agent_id.value = f"{uuid.UUID(int=2)}-S0"
    call.acknowledge.task_id.value = f"web-1.{uuid.UUID(int=3)}"
    call.acknowledge.uuid = uuid.UUID(int=4).bytes
    return call


def _cpu(fn: Callable[[], None], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best / calls * 1e6


def run(calls: int = 3000, repeat: int = 3) -> list[Row]:
    """One row per client: CPU microseconds per call and the ratio to ``http.client``."""
    with subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            return _measure(port, calls, repeat)
        finally:
            server.terminate()


def _measure(port: int, calls: int, repeat: int) -> list[Row]:
    body = encode(acknowledge(), ContentType.PROTOBUF)
    headers = {
        "Content-Type": ContentType.PROTOBUF.value,
        "Accept": ContentType.PROTOBUF.value,
        "Mesos-Stream-Id": STREAM_ID,
    }

    def with_http_client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(calls):
            conn.request("POST", PATH, body, headers)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 202
        conn.close()

    def in_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        return lambda: asyncio.run(main())

    async def with_aiohttp() -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(calls):
                async with session.post(f"http://127.0.0.1:{port}{PATH}", data=body, headers=headers) as r:
                    await r.read()
                    assert r.status == 202

    async def with_library() -> None:
        call = acknowledge()
        async with HttpClient(f"127.0.0.1:{port}") as client:
            for _ in range(calls):
                await client.send(call, stream_id=STREAM_ID)

    measured = [
        ("http.client, one kept-alive connection (how pymesos sends)", with_http_client, True),
        (
            "aiohttp ClientSession.post (what this library used for calls before)",
            in_loop(with_aiohttp),
            False,
        ),
        ("this library: HttpClient.send (encode + lean calls connection)", in_loop(with_library), False),
    ]
    for _, fn, _ in measured:  # warm up: imports, first connections, page faults
        fn()
    rows: list[Row] = []
    base = 0.0
    for name, fn, is_base in measured:
        us = _cpu(fn, calls, repeat)
        if is_base:
            base = us
        rows.append({"name": name, "calls": calls, "cpu_us_per_call": round(us, 1)})
    for row in rows:
        row["vs_http_client"] = f"{row['cpu_us_per_call'] / base:.2f}x"
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    for row in run(args.calls, args.repeat):
        print(f"{row['cpu_us_per_call']:8.1f} us  {row['vs_http_client']:>6}  {row['name']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
