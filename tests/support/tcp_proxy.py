"""A TCP proxy on loopback that can cut its connections and stall their traffic (fault injection).

    async with TcpProxy("127.0.0.1", 5050) as proxy:
        scheduler = Scheduler(master=proxy.url, ...)
        proxy.cut()      # every open connection closed at once (RST), as a network failure
        proxy.stall()    # bytes stop flowing both ways; connections stay open
        proxy.resume()   # they flow again (what was held back is delivered)

New connections are accepted while stalled (their bytes wait too). Counters
say how many connections were accepted and cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Self

__all__ = ["TcpProxy"]

_CHUNK = 65536


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port``; faults on command."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        self.cut_connections = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[object]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """Connections open through the proxy now."""
        return len(self._pairs)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.resume()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._handlers:  # they end once their pumps have: not left for the loop's shutdown to cancel
            await asyncio.wait(self._handlers)
        await self._server.wait_closed()

    # ------------------------------------------------------------------ faults
    def cut(self) -> int:
        """Reset every open connection (both sides see a broken connection); returns how many."""
        pairs, self._pairs = self._pairs, set()
        for client, upstream in pairs:
            for writer in (client, upstream):
                _reset(writer)
        self.cut_connections += len(pairs)
        return len(pairs)

    def stall(self) -> None:
        """Hold every byte back, both ways, until `resume()`; connections stay open."""
        self._flowing.clear()

    def resume(self) -> None:
        """Let the held-back bytes flow again."""
        self._flowing.set()

    # ------------------------------------------------------------------ plumbing
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer)),
            asyncio.ensure_future(self._pump(up_reader, writer)),
        ]
        for task in pumps:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
        if any(not t.cancelled() and t.exception() is not None for t in done):
            for w in pair:  # one side broke: so does the other, as through a real network path
                _reset(w)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        if pair in self._pairs:
            self._pairs.discard(pair)
            for w in pair:
                with contextlib.suppress(Exception):
                    w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy until end of file (passed on as a half-close); a broken side raises."""
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                if writer.can_write_eof() and not writer.is_closing():
                    writer.write_eof()
                return
            await self._flowing.wait()
            if writer.is_closing():
                raise ConnectionResetError("the other side is gone")
            writer.write(data)
            await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a connection broken in the network looks to both ends."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
