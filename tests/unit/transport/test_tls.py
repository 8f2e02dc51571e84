"""HTTPS: CA verification, the verify=False opt-out, client certificates (trustme CA made in the test)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from mesos_framework.errors import ConfigurationError, ConnectError
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport import HttpClient, TLSConfig, TLSError
from tests.unit.transport.conftest import Serve
from tests.unit.transport.test_http import (
    decline_call,
    open_stream,
    quick_backoff,
    records,
    subscribe_call,
    subscribed,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, *, require_client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    return ctx


async def master(request: web.Request) -> web.StreamResponse:
    call = scheduler_pb2.Call.FromString(await request.read())
    if call.type == scheduler_pb2.Call.SUBSCRIBE:
        return await open_stream(request, [records(subscribed())])
    return web.Response(status=202)


async def test_https_with_a_trusted_ca(serve: Serve, ca: trustme.CA, tmp_path: Path) -> None:
    url = await serve(master, ssl_context=server_context(ca))
    assert url.startswith("https://127.0.0.1:")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with HttpClient(url, tls=TLSConfig(ca_file=str(ca_file))) as client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == scheduler_pb2.Event.SUBSCRIBED
        assert await client.send(decline_call(), stream_id=stream.stream_id) == b""


async def test_host_port_specs_use_https_when_tls_is_configured(
    serve: Serve, ca: trustme.CA, tmp_path: Path
) -> None:
    url = await serve(master, ssl_context=server_context(ca))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with HttpClient(url.removeprefix("https://"), tls=TLSConfig(ca_file=str(ca_file))) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == url


async def test_untrusted_certificate_fails_at_once_without_retrying(serve: Serve, ca: trustme.CA) -> None:
    url = await serve(master, ssl_context=server_context(ca))
    async with HttpClient(url, tls=TLSConfig(), backoff=quick_backoff()) as client:
        with pytest.raises(TLSError, match="not trusted") as info:
            await client.subscribe(subscribe_call())  # no give_up_after: must not loop
    assert not info.value.retryable


async def test_verify_false_works_and_warns(
    serve: Serve, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    url = await serve(master, ssl_context=server_context(ca))
    with caplog.at_level(logging.WARNING, logger="mesos_framework.transport.config"):
        client = HttpClient(url, tls=TLSConfig(verify=False))
    assert "verification is OFF" in caplog.text
    async with client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == scheduler_pb2.Event.SUBSCRIBED


async def test_client_certificates(serve: Serve, ca: trustme.CA, tmp_path: Path) -> None:
    url = await serve(master, ssl_context=server_context(ca, require_client_cert=True))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client_cert = ca.issue_cert("framework@example.com")
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    for blob in client_cert.cert_chain_pems:
        blob.write_to_path(str(cert_file), append=True)
    client_cert.private_key_pem.write_to_path(str(key_file))

    tls = TLSConfig(ca_file=str(ca_file), cert_file=str(cert_file), key_file=str(key_file))
    async with HttpClient(url, tls=tls) as client:
        stream = await client.subscribe(subscribe_call())
        assert (await anext(stream)).type == scheduler_pb2.Event.SUBSCRIBED

    async with HttpClient(url, tls=TLSConfig(ca_file=str(ca_file)), backoff=quick_backoff()) as client:
        with pytest.raises(ConnectError):
            await client.send(decline_call(), stream_id="s")


def test_unreadable_tls_files_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"tls\.ca_file"):
        TLSConfig(ca_file=str(tmp_path / "missing.pem")).ssl_context()
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(ConfigurationError, match=r"tls\.cert_file"):
        TLSConfig(cert_file=str(tmp_path / "junk.pem")).ssl_context()
    with pytest.raises(ConfigurationError, match=r"tls\.key_file"):
        TLSConfig(key_file="k.pem")
