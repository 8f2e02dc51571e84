"""``mesos-framework events --framework NAME``: subscribe a framework of that
name that declines every offer, and print the scheduler events it receives
(``SUBSCRIBED``, ``OFFERS``, ``HEARTBEAT``, ...). The master's operator
events (without ``--framework``) are in `_operator`.
"""

from __future__ import annotations

import contextlib
import getpass
import time
from typing import Any

import click
import orjson

from mesos_framework.errors import APIError, ConnectError, MesosError, NoLeaderError
from mesos_framework.protocol import mesos, to_dict


def _summary(event: dict[str, Any]) -> str:
    kind = str(event.get("type", "UNKNOWN"))
    body = event.get(kind.lower())
    if not body:
        return kind
    text = orjson.dumps(body).decode()
    return f"{kind} {text if len(text) <= 300 else text[:297] + '...'}"


def _echo(event: dict[str, Any], raw: bool) -> None:
    stamp = time.strftime("%H:%M:%S")
    click.echo(orjson.dumps(event).decode() if raw else f"{stamp} {_summary(event)}")


async def framework_events(
    master: str, name: str, *, raw: bool, limit: int | None, give_up_after: float = 30.0
) -> int:
    """Subscribe a framework that declines every offer; print its events.

    SUBSCRIBE is retried for ``give_up_after`` seconds. The TLS and credential options of the
    command (``--ca-file``, ``--insecure``, ``--principal``/``--secret``, ``--token``) apply to the
    scheduler API as to the operator API.
    """
    from mesos_framework.cli._operator import (  # noqa: PLC0415
        CONNECTION,
        credentials_error,
        no_leader_error,
        unreachable_error,
    )
    from mesos_framework.transport import HttpClient  # noqa: PLC0415

    connection = CONNECTION.get()
    info = mesos.FrameworkInfo(user=getpass.getuser(), name=name, failover_timeout=0.0)
    if connection.credentials is not None:  # Mesos checks it against the authenticated principal
        info.principal = connection.credentials.principal
    call = mesos.scheduler.Call(type=mesos.scheduler.Call.SUBSCRIBE, subscribe={"framework_info": info})
    seen = 0
    async with HttpClient(master, **connection.client_options()) as client:
        try:
            stream = await client.subscribe(call, give_up_after=give_up_after)
        except APIError as exc:
            if exc.status in (401, 403):
                raise credentials_error(master, exc) from exc
            raise
        except ConnectError as exc:
            raise unreachable_error(master, exc) from exc
        except NoLeaderError as exc:
            raise no_leader_error(master, client.detector, exc) from exc
        framework_id = None
        try:
            async for message in stream:
                event = message
                _echo(to_dict(event), raw)
                seen += 1
                if event.type == mesos.scheduler.Event.SUBSCRIBED:
                    framework_id = event.subscribed.framework_id
                elif event.type == mesos.scheduler.Event.OFFERS and framework_id is not None:
                    decline = mesos.scheduler.Call(
                        framework_id=framework_id,
                        type=mesos.scheduler.Call.DECLINE,
                        decline={
                            "offer_ids": [o.id for o in event.offers.offers],
                            "filters": {"refuse_seconds": 3600},
                        },
                    )
                    await client.send(decline, stream_id=stream.stream_id)
                if limit is not None and seen >= limit:
                    break
        finally:
            if framework_id is not None:
                teardown = mesos.scheduler.Call(framework_id=framework_id, type=mesos.scheduler.Call.TEARDOWN)
                with contextlib.suppress(MesosError):  # best effort on the way out
                    await client.send(teardown, stream_id=stream.stream_id)
            await stream.close()
    return 0
