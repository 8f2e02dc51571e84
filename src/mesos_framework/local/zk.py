"""Leader election of local masters in ZooKeeper, in Mesos's layout.

Each master creates an ephemeral sequential znode ``<path>/json.info_NNNNNNNNNN``
holding its ``MasterInfo`` as compact JSON with sorted keys (what Mesos's
``JSON::protobuf`` + ``stringify`` produce); the member with the lowest
sequence number leads. Other masters answer 307 to the leader, 503 while
there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import KazooState

from mesos_framework._redact import without_password
from mesos_framework.errors import ConfigurationError
from mesos_framework.local import _codec
from mesos_framework.local.master import Master
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["MasterContender", "leader_of", "master_info_json", "parse_zk_url"]

log = logging.getLogger(__name__)

_MEMBER = re.compile(r"^(?:.*_)?(\d+)$")


def parse_zk_url(url: str) -> tuple[str, str, tuple[str, str] | None]:
    """``zk://[user:pass@]h1:2181,h2/path`` -> (hosts, path, credentials)."""
    if not url.startswith("zk://"):
        raise ConfigurationError(f"expected a zk:// URL, got {without_password(url)!r}", option="zk")
    rest = url[len("zk://") :]
    auth: tuple[str, str] | None = None
    if "@" in rest.split("/", 1)[0]:
        creds, rest = rest.split("@", 1)
        user, _, password = creds.partition(":")
        auth = (unquote(user), unquote(password))
    hosts, slash, path = rest.partition("/")
    path = "/" + path.rstrip("/")
    if not hosts or not slash or path == "/":
        shown = without_password(url)
        raise ConfigurationError(f"a zk:// URL needs hosts and a path other than '/': {shown!r}", option="zk")
    return hosts, path, auth


def master_info_json(info: mesos_pb2.MasterInfo) -> bytes:
    """The znode data: MasterInfo as compact JSON with keys in alphabetical order."""
    return orjson.dumps(_codec.to_dict(info), option=orjson.OPT_SORT_KEYS)


def leader_of(children: list[str]) -> str | None:
    """The leading member among znode names (lowest sequence; others skipped)."""
    members = []
    for name in children:
        m = _MEMBER.match(name)
        if m and name.startswith("json.info_"):
            members.append((int(m.group(1)), name))
    return min(members)[1] if members else None


class MasterContender:
    """One master's membership in the election group."""

    def __init__(self, url: str, master: Master, on_change: Callable[[Master | None], None]) -> None:
        self.hosts, self.path, self.auth = parse_zk_url(url)
        self.master = master
        self.on_change = on_change
        self.node: str | None = None
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    async def start(self) -> None:
        """Connect, join the group and watch it."""
        self._loop = asyncio.get_running_loop()
        client = KazooClient(hosts=self.hosts, timeout=10.0)
        if self.auth is not None:
            client.add_auth("digest", f"{self.auth[0]}:{self.auth[1]}")
        self._client = client
        await asyncio.to_thread(client.start, 15.0)
        client.add_listener(self._state_listener)
        await asyncio.to_thread(client.ensure_path, self.path)
        data = master_info_json(self.master.info())
        created = await asyncio.to_thread(client.create, f"{self.path}/json.info_", data, None, True, True)
        self.node = str(created).rsplit("/", 1)[1]
        log.info("master %s joined %s as %s", self.master.id, self.path, self.node)
        client.ChildrenWatch(self.path, self._children_changed)

    def _state_listener(self, state: str) -> None:
        if state == KazooState.LOST and self._loop is not None and not self._stopped:
            self._loop.call_soon_threadsafe(self._demote)

    def _demote(self) -> None:
        if self.master.leader:
            log.warning("master %s lost its ZooKeeper session: no longer leading", self.master.id)
        self.master.leader = False
        self.master.leader_info = None

    def _children_changed(self, children: list[str]) -> bool:
        if self._stopped:
            return False
        leader = leader_of(children)
        info: mesos_pb2.MasterInfo | None = None
        if leader is not None and leader != self.node:
            try:
                data, _stat = self._client.get(f"{self.path}/{leader}")
                info = _codec.from_dict(mesos_pb2.MasterInfo, orjson.loads(data))
            except (NoNodeError, ValueError, orjson.JSONDecodeError) as exc:
                log.warning("cannot read leader node %s: %s", leader, exc)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._apply, leader, info)
        return True

    def _apply(self, leader: str | None, info: mesos_pb2.MasterInfo | None) -> None:
        if self._stopped:
            return
        master = self.master
        was = master.leader
        if leader is not None and leader == self.node:
            master.leader = True
            master.leader_info = None
            if not was:
                master.elected_time = time.time()
                log.info("master %s elected leader", master.id)
                self.on_change(master)
                master.allocate_soon()
        else:
            master.leader = False
            master.leader_info = info
            if was:
                master.stop()

    async def stop(self) -> None:
        """Leave the group (the znode goes) and disconnect."""
        self._stopped = True
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self.node is not None:
                await asyncio.to_thread(_delete_quietly, client, f"{self.path}/{self.node}")
            await asyncio.to_thread(client.stop)
        finally:
            await asyncio.to_thread(client.close)


def _delete_quietly(client: Any, path: str) -> None:
    with contextlib.suppress(NoNodeError):
        client.delete(path)
