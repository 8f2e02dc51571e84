"""Finding the leading master: static lists, DNS names and ZooKeeper.

A `MasterDetector` answers "which masters should I try now?"
(`detect()`) and "tell me when that answer changes"
(`changed()`). `detector_for()` builds one from a
master spec string.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mesos_framework._redact import without_password
from mesos_framework.errors import ConfigurationError
from mesos_framework.transport.endpoint import Endpoint, parse_endpoint

if TYPE_CHECKING:
    from mesos_framework.transport.zookeeper import ZooKeeperDetector

__all__ = ["MasterDetector", "StaticDetector", "ZooKeeperDetector", "detector_for"]

log = logging.getLogger(__name__)


@runtime_checkable
class MasterDetector(Protocol):
    """Where the leading master is, and when that changes."""

    async def detect(self) -> list[Endpoint]:
        """The masters to try now, best first; empty when no leader is known."""
        ...

    async def changed(self) -> None:
        """Return once the answer of `detect()` may have changed since it was last called.

        Returns at once if it changed before this call; also returns when the
        detector is closed. Detectors whose answer never changes wait forever.
        """
        ...

    async def close(self) -> None:
        """Release connections and background work (idempotent)."""
        ...


class StaticDetector:
    """A fixed list of masters, tried in order on every attempt.

    Host names are not resolved here: the HTTP client resolves them again for
    every new connection (it keeps no DNS cache), so a name like
    ``leader.mesos`` follows the DNS record as it changes.
    """

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        if not endpoints:
            raise ConfigurationError("no masters given", option="master")
        self.endpoints = list(endpoints)
        self._closed: asyncio.Event | None = None

    async def detect(self) -> list[Endpoint]:
        """The configured masters, in the order given."""
        return list(self.endpoints)

    async def changed(self) -> None:
        """Wait until `close()`: a static list never changes."""
        if self._closed is None:
            self._closed = asyncio.Event()
        await self._closed.wait()

    async def close(self) -> None:
        """Wake `changed()` waiters."""
        if self._closed is None:
            self._closed = asyncio.Event()
        self._closed.set()

    def __repr__(self) -> str:
        return f"StaticDetector({', '.join(map(str, self.endpoints))})"


def _parse_zk(spec: str) -> tuple[str, str, str | None]:
    rest = spec[len("zk://") :]
    shown = without_password(spec)  # for the messages: never the password in clear
    authority, slash, path = rest.partition("/")
    path = "/" + path.rstrip("/") if slash else ""
    if not path or path == "/":
        raise ConfigurationError(
            f"a ZooKeeper master spec needs a path other than '/': {shown!r}", option="master"
        )
    auth: str | None = None
    if "@" in authority:
        auth, _, authority = authority.rpartition("@")
        if ":" not in auth:
            raise ConfigurationError("ZooKeeper credentials must be 'user:password'", option="master")
    hosts = [h.strip() for h in authority.split(",") if h.strip()]
    if not hosts:
        raise ConfigurationError(f"no ZooKeeper hosts in {shown!r}", option="master")
    for host in hosts:
        parse_endpoint(host, default_port=2181)  # validates host[:port]
    return ",".join(hosts), path, auth


def detector_for(spec: str, *, scheme: str = "http", zk_session_timeout: float = 10.0) -> MasterDetector:
    """Build the detector for a master spec.

    * ``"host:port"`` or ``"h1:5050,h2:5050"``: tried in turn (redirects find the leader);
      names such as ``leader.mesos:5050`` are re-resolved on every connection.
    * ``"http://host:port"``, ``"https://host/prefix"``: URLs keep their scheme.
    * ``"zk://[user:pass@]h1:2181,h2:2181/mesos"``: the leader published in ZooKeeper.
    * ``"file:///path"``: a file holding one of the above.

    ``scheme`` applies to entries without one (``https`` when TLS is used).
    """
    spec = spec.strip()
    if spec.startswith("file://"):
        spec_file = Path(spec[len("file://") :])
        try:
            content = spec_file.read_text().strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read master spec file {spec_file}: {exc}", option="master"
            ) from exc
        if content.startswith("file://"):
            raise ConfigurationError(f"master spec file {spec_file} points at another file", option="master")
        return detector_for(content, scheme=scheme, zk_session_timeout=zk_session_timeout)
    if spec.startswith("zk://"):
        hosts, path, auth = _parse_zk(spec)
        # kazoo is imported for zk:// masters only (an executor never needs it).
        from mesos_framework.transport.zookeeper import ZooKeeperDetector  # noqa: PLC0415

        return ZooKeeperDetector(hosts, path, auth=auth, scheme=scheme, session_timeout=zk_session_timeout)
    parts = [p for p in (part.strip() for part in spec.split(",")) if p]
    if not parts:
        raise ConfigurationError("empty master spec", option="master")
    return StaticDetector([parse_endpoint(p, default_scheme=scheme) for p in parts])


if not TYPE_CHECKING:  # type checkers see the import at the top

    def __getattr__(name: str) -> Any:
        # `ZooKeeperDetector` stays importable from here without loading kazoo with this module.
        if name == "ZooKeeperDetector":
            from mesos_framework.transport.zookeeper import ZooKeeperDetector  # noqa: PLC0415

            return ZooKeeperDetector
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
