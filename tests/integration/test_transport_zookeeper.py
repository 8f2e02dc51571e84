"""Master detection through a real ZooKeeper, with masters published the way Mesos publishes them."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
from kazoo.security import make_digest_acl

from mesos_framework.errors import NoLeaderError
from mesos_framework.transport import Endpoint, HttpClient, ZooKeeperDetector, detector_for
from tests.support.ports import free_port
from tests.support.zookeeper import ZooKeeperServer
from tests.unit.transport.conftest import Serve, serve  # noqa: F401  (fixture)
from tests.unit.transport.test_http import open_stream, quick_backoff, records, subscribe_call, subscribed

pytestmark = [pytest.mark.zookeeper]


def master_info(port: int, *, with_address: bool = True) -> bytes:
    """MasterInfo JSON as a Mesos 1.11 master writes it (keys sorted, ip as a raw s_addr)."""
    ip = struct.unpack("<I", socket.inet_aton("127.0.0.1"))[0]
    info: dict[str, object] = {
        "capabilities": [{"type": "AGENT_UPDATE"}, {"type": "AGENT_DRAINING"}, {"type": "QUOTA_V2"}],
        "hostname": "localhost",
        "id": str(uuid.uuid4()),
        "ip": ip,
        "pid": f"master@127.0.0.1:{port}",
        "port": port,
        "version": "1.11.0",
    }
    if with_address:
        info["address"] = {"hostname": "localhost", "ip": "127.0.0.1", "port": port}
    return json.dumps(info, sort_keys=True, separators=(",", ":")).encode()


class Publisher:
    """A stand-in master contender: its own ZooKeeper session and ephemeral sequential nodes."""

    def __init__(self, hosts: str, path: str, auth: tuple[str, str] | None = None) -> None:
        self.path = path
        self.client = KazooClient(
            hosts=hosts,
            timeout=30.0,
            auth_data=[("digest", ":".join(auth))] if auth else None,
            connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=0.5),
        )
        self.acl = [make_digest_acl(auth[0], auth[1], all=True)] if auth else None

    async def start(self) -> None:
        await asyncio.to_thread(self.client.start, 60)
        await asyncio.to_thread(self.client.ensure_path, self.path, self.acl)

    async def publish(self, port: int, label: str = "json.info_", data: bytes | None = None) -> str:
        node: str = await asyncio.to_thread(
            self.client.create,
            f"{self.path}/{label}",
            master_info(port) if data is None else data,
            acl=self.acl,
            ephemeral=True,
            sequence=True,
        )
        return node

    async def persistent(self, name: str) -> None:
        await asyncio.to_thread(self.client.create, f"{self.path}/{name}", b"", acl=self.acl)

    async def delete(self, node: str) -> None:
        await asyncio.to_thread(self.client.delete, node)

    async def close(self) -> None:
        def stop() -> None:
            self.client.stop()
            self.client.close()

        await asyncio.to_thread(stop)


@pytest.fixture
def zk_path() -> Iterator[str]:
    yield f"/mesos-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def publisher(zookeeper_server: ZooKeeperServer, zk_path: str) -> AsyncIterator[Publisher]:
    pub = Publisher(zookeeper_server.hosts, zk_path)
    await pub.start()
    yield pub
    await pub.close()


async def wait_for_leader(detector: ZooKeeperDetector, port: int, within: float = 30.0) -> None:
    """Wait (woken by changed()) until the detector reports the master on ``port``."""
    wanted = [Endpoint("http", "127.0.0.1", port)]
    async with asyncio.timeout(within):
        while await detector.detect() != wanted:
            await detector.changed()


async def master_server(serve: Serve) -> tuple[str, int]:  # noqa: F811
    url = await serve(lambda r: open_stream(r, [records(subscribed())]))
    return url, int(url.rsplit(":", 1)[1])


async def test_detects_the_lowest_json_info_and_follows_changes(
    zookeeper_server: ZooKeeperServer,
    zk_path: str,
    publisher: Publisher,
    serve: Serve,  # noqa: F811
) -> None:
    url_a, port_a = await master_server(serve)
    url_b, port_b = await master_server(serve)
    # Noise Mesos leaves in the group: a legacy protobuf label with a lower
    # sequence number and the replicated log's znode.
    await publisher.publish(1, label="info_", data=b"\x08\x01binary-protobuf")
    await publisher.persistent("log_replicas")
    node_a = await publisher.publish(port_a)

    detector = detector_for(f"zk://{zookeeper_server.hosts}{zk_path}", zk_session_timeout=15.0)
    assert isinstance(detector, ZooKeeperDetector)
    async with HttpClient(detector, backoff=quick_backoff()) as client:
        assert await detector.detect() == [Endpoint("http", "127.0.0.1", port_a)]
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == url_a
        await stream.close()

        changed = asyncio.create_task(client.leader_changed())
        await publisher.publish(port_b)  # a second contender: still A leads
        await asyncio.sleep(0.3)
        assert not changed.done()
        assert await detector.detect() == [Endpoint("http", "127.0.0.1", port_a)]

        await publisher.delete(node_a)  # A leaves: B leads
        await asyncio.wait_for(changed, 30)
        await wait_for_leader(detector, port_b)
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == url_b
        await stream.close()


async def test_no_leader_then_a_leader_appears(
    zookeeper_server: ZooKeeperServer,
    zk_path: str,
    publisher: Publisher,
    serve: Serve,  # noqa: F811
) -> None:
    await publisher.persistent("log_replicas")
    detector = ZooKeeperDetector(zookeeper_server.hosts, zk_path, initial_wait=30.0)
    async with HttpClient(detector, backoff=quick_backoff()) as client:
        assert await detector.detect() == []
        assert detector.error is not None
        assert "no json.info_ members" in detector.error
        with pytest.raises(NoLeaderError, match=r"no master detected.*no json\.info_ members"):
            await client.subscribe(subscribe_call(), give_up_after=0.1)
        changed = asyncio.create_task(detector.changed())
        url, port = await master_server(serve)
        await publisher.publish(port)
        await asyncio.wait_for(changed, 30)
        await wait_for_leader(detector, port)
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == url


async def test_an_unreachable_zookeeper_is_named_in_the_error() -> None:
    detector = ZooKeeperDetector(f"127.0.0.1:{free_port()}", "/mesos", initial_wait=0.5)
    async with HttpClient(detector, backoff=quick_backoff()) as client:
        with pytest.raises(
            NoLeaderError, match=r"no answer from ZooKeeper at 127\.0\.0\.1:\d+ within 0\.5 s"
        ):
            await client.request(b"{}", call_type="GET_HEALTH")


async def test_missing_group_znode_is_watched_until_created(
    zookeeper_server: ZooKeeperServer,
    zk_path: str,
    serve: Serve,  # noqa: F811
) -> None:
    detector = ZooKeeperDetector(zookeeper_server.hosts, zk_path, initial_wait=30.0)
    try:
        assert await detector.detect() == []
        assert detector.error == f"znode {zk_path} does not exist"
        changed = asyncio.create_task(detector.changed())
        pub = Publisher(zookeeper_server.hosts, zk_path)
        await pub.start()
        try:
            _, port = await master_server(serve)
            await pub.publish(port)
            await asyncio.wait_for(changed, 30)
            await wait_for_leader(detector, port)
        finally:
            await pub.close()
    finally:
        await detector.close()


async def test_several_zookeeper_hosts_and_legacy_master_info(
    zookeeper_server: ZooKeeperServer,
    zk_path: str,
    publisher: Publisher,
    serve: Serve,  # noqa: F811
) -> None:
    _, port = await master_server(serve)
    node = await publisher.publish(port, data=master_info(port, with_address=False))
    assert node.rsplit("/", 1)[1].startswith("json.info_")
    # The first host has no ZooKeeper; kazoo moves on to the next.
    spec = f"zk://127.0.0.1:{free_port()},{zookeeper_server.hosts}{zk_path}"
    detector = detector_for(spec, zk_session_timeout=15.0)
    try:
        assert await detector.detect() == [Endpoint("http", "127.0.0.1", port)]
    finally:
        await detector.close()


async def test_digest_credentials_in_the_spec(
    zookeeper_server: ZooKeeperServer,
    zk_path: str,
    serve: Serve,  # noqa: F811
) -> None:
    pub = Publisher(zookeeper_server.hosts, zk_path, auth=("mesos", "s3cret"))
    await pub.start()
    try:
        _, port = await master_server(serve)
        await pub.publish(port)
        allowed = detector_for(f"zk://mesos:s3cret@{zookeeper_server.hosts}{zk_path}")
        denied = ZooKeeperDetector(zookeeper_server.hosts, zk_path, initial_wait=10)
        try:
            assert await allowed.detect() == [Endpoint("http", "127.0.0.1", port)]
            assert await denied.detect() == []
            assert denied.error is not None
            assert "NoAuth" in denied.error
        finally:
            await allowed.close()
            await denied.close()
    finally:
        await pub.close()


async def test_survives_a_zookeeper_restart(
    zookeeper_fresh: ZooKeeperServer,
    zk_path: str,
    serve: Serve,  # noqa: F811
) -> None:
    pub = Publisher(zookeeper_fresh.hosts, zk_path)
    await pub.start()
    detector = ZooKeeperDetector(zookeeper_fresh.hosts, zk_path, session_timeout=20.0)
    try:
        _, port_a = await master_server(serve)
        _, port_b = await master_server(serve)
        node_a = await pub.publish(port_a)
        assert await detector.detect() == [Endpoint("http", "127.0.0.1", port_a)]
        await asyncio.to_thread(zookeeper_fresh.restart)
        # Sessions outlive the restart: the leader is still known, and the
        # watch still works once the client has reconnected.
        assert detector.leader == Endpoint("http", "127.0.0.1", port_a)
        await pub.publish(port_b)
        await pub.delete(node_a)
        await wait_for_leader(detector, port_b)
    finally:
        await detector.close()
        await pub.close()


async def test_session_expiry_loses_then_recovers_the_leader(
    zookeeper_server: ZooKeeperServer,
    zk_path: str,
    publisher: Publisher,
    serve: Serve,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mesos_framework.transport.zookeeper")
    _, port_a = await master_server(serve)
    _, port_b = await master_server(serve)
    node_a = await publisher.publish(port_a)
    detector = ZooKeeperDetector(zookeeper_server.hosts, zk_path, initial_wait=30.0)
    try:
        assert await detector.detect() == [Endpoint("http", "127.0.0.1", port_a)]
        # Expire the detector's session the classic way: another client joins
        # the same session and closes it.
        session_id, password = detector._client.client_id

        def expire() -> None:
            intruder = KazooClient(hosts=zookeeper_server.hosts, client_id=(session_id, password))
            intruder.start(60)
            intruder.stop()
            intruder.close()

        await asyncio.to_thread(expire)
        await asyncio.wait_for(detector.changed(), 20)
        assert "leading master lost (ZooKeeper session expired)" in caplog.text
        await wait_for_leader(detector, port_a)
        # The new session watches the group again.
        await publisher.publish(port_b)
        await publisher.delete(node_a)
        await wait_for_leader(detector, port_b)
    finally:
        await detector.close()
