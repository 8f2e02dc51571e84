"""The aiohttp side of the transport: imported with the first event stream only."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from mesos_framework.transport._calls import Resolver

__all__ = ["FunctionResolver"]


class FunctionResolver(AbstractResolver):
    """Adapts a `Resolver` function to aiohttp (no caching)."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._resolve(host, port)
        if not addresses:
            raise OSError(f"cannot resolve {host!r}: no addresses")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None
