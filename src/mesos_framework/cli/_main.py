"""Command definitions of the ``mesos-framework`` command line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn

import click

from mesos_framework.errors import MesosError

log = logging.getLogger(__name__)


class _Context:
    def __init__(self, debug: bool) -> None:
        self.debug = debug


def _fail(ctx: click.Context, exc: BaseException) -> NoReturn:
    debug = isinstance(ctx.obj, _Context) and ctx.obj.debug
    if debug:
        raise exc
    click.echo(f"mesos-framework: error: {exc}", err=True)
    ctx.exit(1)
    raise AssertionError("unreachable")  # pragma: no cover


def _run_async(ctx: click.Context, coro: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return 130
    except (MesosError, OSError, ValueError) as exc:
        _fail(ctx, exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show debug logs and full tracebacks.")
@click.option("-v", "--verbose", count=True, help="More log output (-v: info, -vv: debug).")
@click.version_option(package_name="mesos-framework")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """Write, run and inspect Apache Mesos frameworks."""
    level = logging.DEBUG if debug or verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = _Context(debug)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--master",
    default="local",
    show_default=True,
    help="'local' (start a local cluster for the run), host:port, a URL, or zk://...",
)
@click.option("--agents", default=1, show_default=True, help="Agents of the local cluster.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, file: Path, master: str, agents: int, args: tuple[str, ...]) -> None:
    """Run the framework in FILE against --master.

    The file runs as a child process with ``--master URL`` appended to its
    arguments and ``MESOS_MASTER`` set; with ``--master local`` a local cluster
    is started first and stopped when the file exits.
    """
    ctx.exit(_run_async(ctx, _run_file(file, master, agents, args)))


async def _run_file(file: Path, master: str, agents: int, args: tuple[str, ...]) -> int:
    if master != "local":
        return await _child(file, master, args)
    from mesos_framework.local import LocalCluster  # noqa: PLC0415 - only when asked for

    async with LocalCluster(agents=agents) as cluster:
        click.echo(f"local cluster: {cluster.url} ({agents} agent{'s' if agents != 1 else ''})", err=True)
        return await _child(file, cluster.url, args)


async def _child(file: Path, master: str, args: tuple[str, ...]) -> int:
    env = {**os.environ, "MESOS_MASTER": master}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(file), "--master", master, *args, env=env)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, proc.send_signal, sig)
    try:
        return await proc.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@cli.command()
@click.option("--master", default="http://127.0.0.1:5050", show_default=True, help="The master's URL.")
@click.pass_context
def state(ctx: click.Context, master: str) -> None:
    """Show the frameworks, agents and tasks of a master."""
    from mesos_framework.cli._state import show_state  # noqa: PLC0415

    ctx.exit(_run_async(ctx, show_state(master)))


@cli.command()
@click.option("--master", default="http://127.0.0.1:5050", show_default=True, help="The master's URL.")
@click.option(
    "--framework",
    "framework",
    default=None,
    metavar="NAME",
    help="Subscribe a framework of this name (declining all offers) and print its events.",
)
@click.option("--raw", is_flag=True, help="Print each event as one line of JSON.")
@click.option("--limit", type=int, default=None, help="Stop after this many events.")
@click.pass_context
def events(ctx: click.Context, master: str, framework: str | None, raw: bool, limit: int | None) -> None:
    """Print a master's events as they arrive (Ctrl-C to stop)."""
    from mesos_framework.cli._events import framework_events, operator_events  # noqa: PLC0415

    if framework is None:
        ctx.exit(_run_async(ctx, operator_events(master, raw=raw, limit=limit)))
    ctx.exit(_run_async(ctx, framework_events(master, framework, raw=raw, limit=limit)))


def _add_optional_commands() -> None:
    try:
        from mesos_framework.local.cli import local_command  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the local cluster is part of the package
        return
    cli.add_command(local_command, name="local")


_add_optional_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mesos-framework")
