"""Master specs, redirect locations, MasterInfo JSON and ZooKeeper child selection (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesos_framework.errors import ConfigurationError, ProtocolError
from mesos_framework.transport import (
    Endpoint,
    StaticDetector,
    ZooKeeperDetector,
    detector_for,
    leader_child,
    master_info_endpoint,
    parse_endpoint,
    resolve_location,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1:5050", Endpoint("http", "127.0.0.1", 5050)),
        ("leader.mesos", Endpoint("http", "leader.mesos", 5050)),
        ("leader.mesos:5051", Endpoint("http", "leader.mesos", 5051)),
        ("[::1]:5050", Endpoint("http", "::1", 5050)),
        ("::1", Endpoint("http", "::1", 5050)),
        ("master@10.0.0.11:5050", Endpoint("http", "10.0.0.11", 5050)),
        ("http://m1:5050", Endpoint("http", "m1", 5050)),
        ("https://m1:5443/", Endpoint("https", "m1", 5443)),
        ("https://proxy.example/mesos", Endpoint("https", "proxy.example", 443, "/mesos")),
        ("http://[::1]:5050", Endpoint("http", "::1", 5050)),
    ],
)
def test_parse_endpoint(spec: str, expected: Endpoint) -> None:
    assert parse_endpoint(spec) == expected


def test_urls_bracket_ipv6_and_keep_the_prefix() -> None:
    assert Endpoint("http", "::1", 5050).url("/api/v1/scheduler") == "http://[::1]:5050/api/v1/scheduler"
    assert Endpoint("https", "p", 443, "/mesos").url("/api/v1") == "https://p:443/mesos/api/v1"


@pytest.mark.parametrize(
    "spec", ["", "host:0", "host:99999", "host:abc", "ftp://m1", "http://m1:5050/?q=1", "[::1", "a/b:5050"]
)
def test_bad_master_addresses(spec: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_endpoint(spec)
    assert info.value.option == "master"


@pytest.mark.parametrize(
    ("location", "endpoint", "path"),
    [
        (
            "//10.0.0.2:5050/master/api/v1/scheduler",
            Endpoint("https", "10.0.0.2", 5050),
            "/master/api/v1/scheduler",
        ),
        ("//[::1]:5050/master/api/v1/scheduler", Endpoint("https", "::1", 5050), "/master/api/v1/scheduler"),
        ("//[fe80::1]:5051/master/api/v1?x=1", Endpoint("https", "fe80::1", 5051), "/master/api/v1?x=1"),
        (
            "//m2.example.com:5050/master/api/v1/scheduler",
            Endpoint("https", "m2.example.com", 5050),
            "/master/api/v1/scheduler",
        ),
        ("http://m3:5050/master/api/v1/scheduler", Endpoint("http", "m3", 5050), "/master/api/v1/scheduler"),
        ("/master/api/v1/scheduler", Endpoint("https", "m1", 5050), "/master/api/v1/scheduler"),
    ],
)
def test_resolve_location_reuses_the_scheme(location: str, endpoint: Endpoint, path: str) -> None:
    assert resolve_location(Endpoint("https", "m1", 5050), location) == (endpoint, path)


@pytest.mark.parametrize("location", ["gopher://x/", "relative/path", "//[::1:5050/x"])
def test_bad_locations_are_protocol_errors(location: str) -> None:
    with pytest.raises(ProtocolError, match="Location"):
        resolve_location(Endpoint("http", "m1", 5050), location)


async def test_detector_for_static_lists() -> None:
    detector = detector_for("m1:5050, m2 ,https://m3:6000")
    assert isinstance(detector, StaticDetector)
    assert await detector.detect() == [
        Endpoint("http", "m1", 5050),
        Endpoint("http", "m2", 5050),
        Endpoint("https", "m3", 6000),
    ]
    tls = detector_for("m1:5050", scheme="https")
    assert await tls.detect() == [Endpoint("https", "m1", 5050)]
    await detector.close()
    await detector.changed()  # returns once closed


async def test_detector_for_file(tmp_path: Path) -> None:
    spec = tmp_path / "masters"
    spec.write_text("m1:5050,m2:5050\n")
    detector = detector_for(f"file://{spec}")
    assert [e.host for e in await detector.detect()] == ["m1", "m2"]
    with pytest.raises(ConfigurationError, match="cannot read"):
        detector_for(f"file://{tmp_path / 'missing'}")


def test_detector_for_zk_specs() -> None:
    detector = detector_for("zk://jo:pw@h1:2181,h2:2182/mesos/", scheme="https")
    assert isinstance(detector, ZooKeeperDetector)
    assert (detector.hosts, detector.path, detector.scheme) == ("h1:2181,h2:2182", "/mesos", "https")
    plain = detector_for("zk://127.0.0.1:2181/a/b")
    assert isinstance(plain, ZooKeeperDetector)
    assert plain.path == "/a/b"


@pytest.mark.parametrize(
    "spec", ["zk://h1:2181/", "zk://h1:2181", "zk:///mesos", "zk://user@h1/mesos", ",", " "]
)
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ConfigurationError):
        detector_for(spec)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("zk://mu:secret@h1:2181/", "path other than '/'"),
        ("zk://mu:secret@h1:2181", "path other than '/'"),
        ("zk://mu:secret@/mesos", "no ZooKeeper hosts"),
        ("http://mu:secret@m1:notaport", "not a URL"),
        ("ftp://mu:secret@m1:5050", "unsupported scheme"),
        ("https://mu:secret@m1:5050/?x=1", "no query or fragment"),
        ("m1:5050,https://mu:secret@m2:5050#f", "no query or fragment"),
        ("mu:secret@m1:5050", "expected host:port"),
    ],
)
def test_a_bad_master_spec_does_not_show_its_password(spec: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        detector_for(spec)
    assert "secret" not in str(info.value)
    assert "mu:***@" in str(info.value)


def test_a_bad_zookeeper_host_is_shown_without_the_credentials() -> None:
    with pytest.raises(ConfigurationError, match="bad port") as info:
        detector_for("zk://mu:secret@h1:99999/mesos")
    assert "secret" not in str(info.value)


MASTER_INFO = (
    b'{"address":{"hostname":"m1.example.com","ip":"10.0.0.11","port":5050},'
    b'"capabilities":[{"type":"AGENT_UPDATE"}],"hostname":"m1.example.com",'
    b'"id":"7f1c2a9e-3b4d-4e5f-8a6b-0c1d2e3f4a5b","ip":184549386,"pid":"master@10.0.0.11:5050",'
    b'"port":5050,"version":"1.11.0"}'
)


def test_master_info_prefers_address() -> None:
    assert master_info_endpoint(MASTER_INFO) == Endpoint("http", "10.0.0.11", 5050)
    assert master_info_endpoint(b'{"address":{"hostname":"m9","port":6000}}', scheme="https") == Endpoint(
        "https", "m9", 6000
    )


def test_master_info_legacy_ip_is_network_order_read_little_endian() -> None:
    # 10.0.0.11 as Mesos writes it (MESOS-1201).
    assert master_info_endpoint(b'{"ip":184549386,"port":5050,"hostname":"m1"}') == Endpoint(
        "http", "10.0.0.11", 5050
    )
    assert master_info_endpoint(b'{"hostname":"m1","port":5050}') == Endpoint("http", "m1", 5050)


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1,2]",
        b'{"port":5050}',
        b'{"hostname":"m1"}',
        b'{"hostname":"m1","port":70000}',
        b"\xff",
    ],
)
def test_bad_master_info(data: bytes) -> None:
    with pytest.raises(ProtocolError, match="MasterInfo"):
        master_info_endpoint(data)


def test_leader_child_takes_lowest_numeric_json_info() -> None:
    children = [
        "json.info_0000000012",
        "log_replicas",
        "info_0000000001",
        "json.info_0000000003",
        "json.info_x",
    ]
    assert leader_child(children) == "json.info_0000000003"
    assert leader_child(["log_replicas", "info_0000000001"]) is None
    assert leader_child([]) is None
    assert leader_child(["json.info_0000000010", "json.info_0000000009"]) == "json.info_0000000009"
