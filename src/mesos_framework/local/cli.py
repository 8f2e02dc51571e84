"""``mesos-framework local``: run a local cluster in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from mesos_framework.errors import ConfigurationError
from mesos_framework.local.config import DEFAULT_RESOURCES

__all__ = ["local_command", "main"]


def _attributes(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(";"):
        if part.strip():
            key, sep, value = part.partition(":")
            if not sep:
                raise click.BadParameter(f"expected name:value, got {part!r}", param_hint="--attributes")
            out[key.strip()] = value.strip()
    return out


async def _serve(  # noqa: PLR0917
    agents: int, port: int, resources: str, attributes: dict[str, str] | None, masters: int, zk: str | None
) -> None:
    from mesos_framework.local.cluster import LocalCluster  # noqa: PLC0415 - keeps --help fast

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with LocalCluster(
            agents=agents, resources=resources, port=port, attributes=attributes, masters=masters, zk=zk
        ) as cluster:
            for url in cluster.urls:
                click.echo(url)
            click.echo(f"mesos-framework local: {agents} agent(s); Ctrl-C to stop", err=True)
            await stop.wait()
            click.echo("mesos-framework local: shutting down", err=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@click.command("local")
@click.option("--agents", default=1, show_default=True, type=click.IntRange(0), help="Number of agents.")
@click.option(
    "--port",
    default=5050,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Master port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--resources",
    default=DEFAULT_RESOURCES,
    show_default=True,
    help="Resources of each agent, Mesos --resources syntax.",
)
@click.option("--attributes", default=None, help="Agent attributes, e.g. 'rack:r1;zone:a'.")
@click.option(
    "--masters",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Number of masters (more than one needs --zk).",
)
@click.option("--zk", default=None, help="zk://host:port/path for leader election between masters.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the cluster does.")
def local_command(  # noqa: PLR0917
    agents: int,
    port: int,
    resources: str,
    attributes: str | None,
    masters: int,
    zk: str | None,
    verbose: bool,
) -> None:
    """Run a local Mesos-compatible cluster (master + agents) until Ctrl-C.

    Prints the master URL(s) on standard output, then serves the v1 scheduler,
    executor and operator APIs; tasks run as real processes in temporary
    sandboxes, all removed on exit.
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(_serve(agents, port, resources, _attributes(attributes), masters, zk))
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot start the cluster: {exc}") from None


def main() -> None:
    """``python -m mesos_framework.local``."""
    local_command(prog_name="python -m mesos_framework.local")
