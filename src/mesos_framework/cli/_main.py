"""Command definitions of the ``mesos-framework`` command line."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn

import click

from mesos_framework.errors import ConfigurationError, MesosError

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


_EXIT_SIGPIPE = 128 + signal.SIGPIPE
"""The exit status when stdout is closed under a command: a Unix tool killed by SIGPIPE's (141)."""


def _pacify_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it on the way out fails no more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's runner): nothing to flush into a pipe
        pass


_TLS_CLOSE_GRACE = 0.1
"""Seconds a command's event loop runs on after the command, for TLS connections to close."""


def _run_async(ctx: click.Context, coro: Coroutine[Any, Any, int]) -> int:
    import asyncio  # noqa: PLC0415 - not on the path of --help

    async def main() -> int:
        try:
            return await coro
        finally:
            # A closed TLS connection still exchanges its close_notify in callbacks of the loop:
            # let them run before asyncio.run() closes it (otherwise the socket is left unclosed).
            await asyncio.sleep(_TLS_CLOSE_GRACE)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read stdout stopped (``... | head``): end quietly, with the status of a Unix
        # tool killed by SIGPIPE. (Sockets' errors reach here wrapped, as ConnectError and the like.)
        _pacify_stdout()
        return _EXIT_SIGPIPE
    except (MesosError, OSError, ValueError) as exc:
        _fail(ctx, exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show debug logs and full tracebacks.")
@click.option("-v", "--verbose", count=True, help="More log output (-v: info, -vv: debug).")
@click.version_option(package_name="mesos-framework")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """Write, run and inspect Apache Mesos frameworks."""
    # Without -v only errors are logged: a failing command says so in one line of its own.
    level = logging.DEBUG if debug or verbose > 1 else logging.INFO if verbose else logging.ERROR
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
@click.option(
    "--agents", type=click.IntRange(min=1), default=1, show_default=True, help="Agents of the local cluster."
)
@click.option(
    "--admin-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Set MESOS_FRAMEWORK_ADMIN_PORT for the file (its AdminServer.from_env serves there).",
)
@click.option(
    "--ha",
    default=None,
    metavar="zk://HOST:PORT[,...]/PATH",
    help="Run as a hot-standby replica electing its leader there (sets MESOS_FRAMEWORK_HA, "
    "which the file's Scheduler reads when it gives no ha option).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    file: Path,
    master: str,
    agents: int,
    admin_port: int | None,
    ha: str | None,
    args: tuple[str, ...],
) -> None:
    """Run the framework in FILE against --master.

    The file runs as a child process with MESOS_MASTER set to the master;
    a file that mentions a --master option also gets "--master URL" as
    arguments. With --master local a local cluster is started first and
    stopped when the file exits.
    """
    if admin_port is not None:
        os.environ["MESOS_FRAMEWORK_ADMIN_PORT"] = str(admin_port)  # the child inherits it
    if ha is not None:
        from mesos_framework.scheduler import HighAvailability  # noqa: PLC0415 - only when asked for
        from mesos_framework.scheduler._ha import ENV_HA  # noqa: PLC0415

        if master == "local":
            raise click.BadParameter("replicas must share a master: give --master too", param_hint="--ha")
        try:
            HighAvailability.from_url(ha)
        except ConfigurationError as exc:
            raise click.BadParameter(str(exc), param_hint="--ha") from None
        os.environ[ENV_HA] = ha
    ctx.exit(_run_async(ctx, _run_file(file, master, agents, args)))


async def _run_file(file: Path, master: str, agents: int, args: tuple[str, ...]) -> int:
    if master != "local":
        return await _child(file, master, args)
    from mesos_framework.local import LocalCluster  # noqa: PLC0415 - only when asked for

    async with LocalCluster(agents=agents) as cluster:
        click.echo(f"local cluster: {cluster.url} ({agents} agent{'s' if agents != 1 else ''})", err=True)
        return await _child(file, cluster.url, args)


def accepts_master_option(file: Path) -> bool:
    """Whether a framework file takes a ``--master`` option (it mentions one)."""
    try:
        return "--master" in file.read_text(errors="replace")
    except OSError:
        return False


async def _child(file: Path, master: str, args: tuple[str, ...]) -> int:
    import asyncio  # noqa: PLC0415 - not on the path of --help

    env = {**os.environ, "MESOS_MASTER": master}
    extra = ("--master", master) if accepts_master_option(file) and "--master" not in args else ()
    proc = await asyncio.create_subprocess_exec(sys.executable, str(file), *extra, *args, env=env)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, proc.send_signal, sig)
    try:
        return await proc.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


_MASTER_HELP = (
    "The master: host:port, a host list, a URL or zk://... (default: $MESOS_MASTER, else 127.0.0.1:5050)."
)


def _master_option(func: Any) -> Any:
    """``--master`` and the connection options (TLS, credentials) of the operator commands."""

    @functools.wraps(func)
    def command(
        *args: Any,
        ca_file: str | None,
        insecure: bool,
        principal: str | None,
        secret: str | None,
        token: str | None,
        **kwargs: Any,
    ) -> Any:
        from mesos_framework.cli._operator import CONNECTION  # noqa: PLC0415

        source = click.get_current_context().get_parameter_source("master")
        master_from = "--master"
        if source is click.core.ParameterSource.DEFAULT:
            master_from = "default"
        elif source is click.core.ParameterSource.ENVIRONMENT:
            master_from = "$MESOS_MASTER"
        CONNECTION.set(_connection(ca_file, insecure, principal, secret, token, master_from))
        return func(*args, **kwargs)

    options = [
        click.option(
            "--master", envvar="MESOS_MASTER", default="127.0.0.1:5050", show_envvar=False, help=_MASTER_HELP
        ),
        click.option(
            "--ca-file",
            envvar="MESOS_CA_FILE",
            type=click.Path(dir_okay=False),
            default=None,
            help="PEM bundle of the CAs to trust for https:// masters and agents ($MESOS_CA_FILE).",
        ),
        click.option(
            "--insecure", is_flag=True, help="Do not check the TLS certificates of masters and agents."
        ),
        click.option(
            "--principal", envvar="MESOS_PRINCIPAL", default=None, help="HTTP principal ($MESOS_PRINCIPAL)."
        ),
        click.option("--secret", envvar="MESOS_SECRET", default=None, help="Its secret ($MESOS_SECRET)."),
        click.option(
            "--token", envvar="MESOS_TOKEN", default=None, help="A bearer token instead ($MESOS_TOKEN)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _connection(  # noqa: PLR0917 - one parameter per option
    ca_file: str | None,
    insecure: bool,
    principal: str | None,
    secret: str | None,
    token: str | None,
    master_from: str = "--master",
) -> Any:
    from mesos_framework.cli._operator import Connection  # noqa: PLC0415
    from mesos_framework.transport import Credentials, TLSConfig  # noqa: PLC0415

    if (principal is None) != (secret is None):
        raise click.UsageError("--principal and --secret go together ($MESOS_PRINCIPAL, $MESOS_SECRET)")
    if principal is not None and token is not None:
        raise click.UsageError("give --principal/--secret or --token, not both")
    tls = TLSConfig(ca_file=ca_file, verify=not insecure) if ca_file is not None or insecure else None
    try:
        credentials = Credentials(principal, secret) if principal is not None and secret is not None else None
    except MesosError as exc:
        raise click.UsageError(f"--principal: {exc}") from exc
    return Connection(tls=tls, credentials=credentials, token=token, master_from=master_from)


@cli.command()
@_master_option
@click.pass_context
def state(ctx: click.Context, master: str) -> None:
    """Show the agents, frameworks and tasks of a master."""
    from mesos_framework.cli._operator import show  # noqa: PLC0415

    ctx.exit(_run_async(ctx, show(master, "state")))


@cli.command()
@_master_option
@click.pass_context
def agents(ctx: click.Context, master: str) -> None:
    """List the agents of a master with their resources (used/total)."""
    from mesos_framework.cli._operator import show  # noqa: PLC0415

    ctx.exit(_run_async(ctx, show(master, "agents")))


@cli.command()
@_master_option
@click.pass_context
def frameworks(ctx: click.Context, master: str) -> None:
    """List the frameworks registered with a master."""
    from mesos_framework.cli._operator import show  # noqa: PLC0415

    ctx.exit(_run_async(ctx, show(master, "frameworks")))


@cli.command()
@_master_option
@click.option("--all", "all_tasks", is_flag=True, help="Also list completed and unreachable tasks.")
@click.pass_context
def tasks(ctx: click.Context, master: str, all_tasks: bool) -> None:
    """List tasks with their state, agent, ports and health."""
    from mesos_framework.cli._operator import show  # noqa: PLC0415

    ctx.exit(_run_async(ctx, show(master, "tasks", all_tasks=all_tasks)))


@cli.command()
@_master_option
@click.option(
    "--framework",
    "framework",
    default=None,
    metavar="NAME",
    help="Subscribe a framework of this name (declining all offers) and print its events.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each event as one line of JSON.")
@click.option("--raw", "as_json", is_flag=True, hidden=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after this many events.")
@click.pass_context
def events(ctx: click.Context, master: str, framework: str | None, as_json: bool, limit: int | None) -> None:
    """Print a master's events as they arrive, one line each (Ctrl-C to stop)."""
    if framework is None:
        from mesos_framework.cli._operator import operator_events  # noqa: PLC0415

        ctx.exit(_run_async(ctx, operator_events(master, as_json=as_json, limit=limit)))
    from mesos_framework.cli._events import framework_events  # noqa: PLC0415

    ctx.exit(_run_async(ctx, framework_events(master, framework, raw=as_json, limit=limit)))


@cli.command()
@_master_option
@click.argument("task")
@click.option("--follow", "-f", is_flag=True, help="Keep printing what the task writes until it ends.")
@click.option("--stderr", is_flag=True, help="Print the task's stderr instead of its stdout.")
@click.pass_context
def logs(ctx: click.Context, master: str, task: str, follow: bool, stderr: bool) -> None:
    """Print the stdout (or stderr) of TASK from its sandbox.

    TASK is a task ID, or a task name (such as web-1) when it names one task:
    the running one, else the one that ended last.
    """
    from mesos_framework.cli._operator import logs as show_logs  # noqa: PLC0415

    ctx.exit(_run_async(ctx, show_logs(master, task, stderr=stderr, follow=follow)))


@cli.command()
@_master_option
@click.option(
    "--schedule",
    multiple=True,
    metavar="MACHINE",
    help="Add a maintenance window for MACHINE (HOSTNAME, HOSTNAME/IP or /IP); repeatable.",
)
@click.option(
    "--start-in", type=float, default=0.0, show_default=True, help="Seconds until the window starts."
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Length of the window in seconds (default: open).",
)
@click.option("--down", multiple=True, metavar="MACHINE", help="Take a draining machine down.")
@click.option("--up", multiple=True, metavar="MACHINE", help="Bring a down machine back up.")
@click.option("--clear", is_flag=True, help="Remove the whole schedule first.")
@click.pass_context
def maintenance(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    master: str,
    schedule: tuple[str, ...],
    start_in: float,
    duration: float | None,
    down: tuple[str, ...],
    up: tuple[str, ...],
    clear: bool,
) -> None:
    """Show the maintenance schedule and machine modes; change them with the options."""
    from mesos_framework.cli._operator import maintenance as run_maintenance  # noqa: PLC0415

    coro = run_maintenance(
        master, schedule=schedule, start_in=start_in, duration=duration, down=down, up=up, clear=clear
    )
    ctx.exit(_run_async(ctx, coro))


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
