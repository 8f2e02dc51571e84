"""Redirect safety: never from https to plain http; credentials only to the masters the detector knows.

Real servers on 127.0.0.1 play the masters; the "other origin" is a server on
another port, which is another origin (scheme, host, port) as for browsers.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from mesos_framework.errors import InsecureRedirect, ProtocolError, Unauthorized
from mesos_framework.protocol._schema import scheduler_pb2
from mesos_framework.transport import Credentials, HttpClient, TLSConfig
from tests.unit.transport.conftest import Serve
from tests.unit.transport.test_http import decline_call, open_stream, records, subscribe_call, subscribed
from tests.unit.transport.test_tls import server_context

API = "/master/api/v1/scheduler"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


class Master:
    """A master that records each request's Authorization header (or ``None``)."""

    def __init__(self, *, require: str | None = None) -> None:
        self.seen: list[str | None] = []
        self.require = require

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        self.seen.append(auth)
        if self.require is not None and auth != self.require:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="mesos"'})
        if scheduler_pb2.Call.FromString(await request.read()).type == scheduler_pb2.Call.SUBSCRIBE:
            return await open_stream(request, [records(subscribed())])
        return web.Response(status=202)


def redirect_to(location: str) -> object:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.Response(status=307, headers={"Location": location})

    return handler


# -- https never goes down to http -------------------------------------------------------------


async def test_https_master_redirecting_to_http_is_refused(
    serve: Serve, ca: trustme.CA, tmp_path: Path
) -> None:
    plain = Master()
    plain_url = await serve(plain)
    secure_url = await serve(redirect_to(f"{plain_url}{API}"), ssl_context=server_context(ca))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls = TLSConfig(ca_file=str(ca_file))
    async with HttpClient(secure_url, tls=tls, credentials=Credentials("p", "s3cret")) as client:
        with pytest.raises(InsecureRedirect, match="from https to plain http") as info:
            await client.subscribe(subscribe_call())
        assert isinstance(info.value, ProtocolError) and not info.value.retryable
        with pytest.raises(InsecureRedirect, match="from https to plain http"):
            await client.send(decline_call(), stream_id="s")
    assert plain.seen == []  # nothing was sent in clear text


async def test_https_to_https_redirect_is_followed(serve: Serve, ca: trustme.CA, tmp_path: Path) -> None:
    leader = Master()
    leader_url = await serve(leader, ssl_context=server_context(ca))
    port = leader_url.rsplit(":", 1)[1]
    follower_url = await serve(redirect_to(f"//127.0.0.1:{port}{API}"), ssl_context=server_context(ca))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with HttpClient(follower_url, tls=TLSConfig(ca_file=str(ca_file))) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == leader_url
    assert leader.seen == [None]


# -- credentials stay with the masters ---------------------------------------------------------

BASIC = Credentials("fw-principal", "s3cret")


@pytest.mark.parametrize(
    ("auth", "header"),
    [({"credentials": BASIC}, BASIC.authorization()), ({"token": "jwt.token"}, "Bearer jwt.token")],
    ids=["basic", "bearer"],
)
async def test_credentials_are_not_sent_to_an_origin_that_is_not_a_known_master(
    serve: Serve, caplog: pytest.LogCaptureFixture, auth: dict[str, object], header: str
) -> None:
    other = Master()
    other_url = await serve(other)
    configured = Master()

    async def follower(request: web.Request) -> web.StreamResponse:
        configured.seen.append(request.headers.get("Authorization"))
        return web.Response(status=307, headers={"Location": f"{other_url}{API}"})

    follower_url = await serve(follower)
    with caplog.at_level(logging.WARNING, logger="mesos_framework.transport.http"):
        async with HttpClient(follower_url, **auth) as client:  # type: ignore[arg-type]
            stream = await client.subscribe(subscribe_call())
            assert stream.leader == other_url
            await client.send(decline_call(), stream_id=stream.stream_id)
            results = await client.send_many([decline_call(), decline_call()], stream_id=stream.stream_id)
            assert results == [b"", b""]
            client.forget_leader()
            await client.send(decline_call(), stream_id=stream.stream_id)  # via the redirect again
    assert configured.seen == [header, header]  # the configured master gets them
    assert other.seen == [None] * 5  # the other origin never does
    assert "not sending credentials to " + other_url in caplog.text
    assert caplog.text.count("not sending credentials") == 1  # warned once per origin


async def test_a_master_needing_credentials_after_such_a_redirect_answers_401(serve: Serve) -> None:
    other_url = await serve(Master(require=BASIC.authorization()))
    async with HttpClient(await serve(redirect_to(f"{other_url}{API}")), credentials=BASIC) as client:
        with pytest.raises(Unauthorized):
            await client.subscribe(subscribe_call())


async def test_credentials_follow_a_leader_redirect_between_listed_masters(serve: Serve) -> None:
    leader = Master(require=BASIC.authorization())
    leader_url = await serve(leader)
    port = leader_url.rsplit(":", 1)[1]
    follower_url = await serve(redirect_to(f"//127.0.0.1:{port}{API}"))
    # Both masters in the spec, the follower first: Mesos's own leader redirect.
    spec = f"{follower_url.removeprefix('http://')},{leader_url.removeprefix('http://')}"
    async with HttpClient(spec, credentials=BASIC) as client:
        stream = await client.subscribe(subscribe_call())
        assert stream.leader == leader_url
        await client.send(decline_call(), stream_id=stream.stream_id)
        assert await client.send_many([decline_call(), decline_call()], stream_id=stream.stream_id) == [
            b"",
            b"",
        ]
    assert leader.seen == [BASIC.authorization()] * 4
