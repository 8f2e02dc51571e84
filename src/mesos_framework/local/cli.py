"""``mesos-framework local``: run a local cluster in the foreground."""

from __future__ import annotations

import logging
import signal
import tomllib
from pathlib import Path
from typing import Any

import click

from mesos_framework.errors import ConfigurationError
from mesos_framework.local.config import DEFAULT_RESOURCES

__all__ = ["load_config", "local_command", "main"]

_CLUSTER_KEYS = {"agents", "port", "resources", "attributes", "masters", "zk", "agent"}


def _attributes(text: str | None, hint: str = "--attributes") -> dict[str, str] | None:
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(";"):
        if part.strip():
            key, sep, value = part.partition(":")
            if not sep:
                raise click.BadParameter(f"expected name:value, got {part!r}", param_hint=hint)
            out[key.strip()] = value.strip()
    return out


def _per_agent(values: tuple[str, ...], hint: str) -> dict[int, str]:
    """``N=VALUE`` options: agent index -> value."""
    out: dict[int, str] = {}
    for item in values:
        index, sep, value = item.partition("=")
        if not sep or not index.strip().isdigit() or int(index) < 1:
            raise click.BadParameter(f"expected N=VALUE with N >= 1, got {item!r}", param_hint=hint)
        out[int(index)] = value
    return out


def load_config(path: Path) -> dict[str, Any]:
    """A TOML cluster description: ``LocalCluster`` options, ``ClusterConfig`` settings and
    ``[[agent]]`` tables (``resources``, ``attributes``, ``hostname``, ``domain``).

        agents = 2
        resources = "cpus:2;mem:2048;ports:[31000-31999]"
        domain = "eu/a"                 # the master's fault domain
        allocation_interval = 0.5

        [[agent]]
        hostname = "web-1"
        domain = "eu/a"

        [[agent]]
        hostname = "web-2"
        domain = "eu/b"
        attributes = { rack = "r2" }
    """
    from mesos_framework.local.config import ClusterConfig  # noqa: PLC0415

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}", option="config") from None
    known = _CLUSTER_KEYS | set(ClusterConfig.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigurationError(f"unknown setting(s) in {path}: {names}", option="config")
    agents = data.pop("agent", [])
    if not isinstance(agents, list) or not all(isinstance(a, dict) for a in agents):
        raise ConfigurationError("'agent' must be an array of tables ([[agent]])", option="config")
    if agents:
        data["agent_specs"] = agents
        data.setdefault("agents", len(agents))
    return data


async def _serve(options: dict[str, Any]) -> None:
    import asyncio  # noqa: PLC0415 - keeps --help fast

    from mesos_framework.local.cluster import LocalCluster  # noqa: PLC0415 - keeps --help fast

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with LocalCluster(**options) as cluster:
            for url in cluster.urls:
                click.echo(url)
            for agent in cluster.agents:
                ports = agent.total.summary().get("ports", "-")
                click.echo(f"  {agent.name} {agent.hostname}: ports {ports}", err=True)
            click.echo(f"mesos-framework local: {len(cluster.agents)} agent(s); Ctrl-C to stop", err=True)
            await stop.wait()
            click.echo("mesos-framework local: shutting down", err=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@click.command("local")
@click.option("--agents", default=None, type=click.IntRange(0), help="Number of agents.  [default: 1]")
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Master port on 127.0.0.1 (0: any free port).  [default: 5050]",
)
@click.option(
    "--resources",
    default=None,
    help=f"Resources of each agent, Mesos --resources syntax; agent N's ports are shifted down by "
    f"N-1 times their span.  [default: {DEFAULT_RESOURCES}]",
)
@click.option("--attributes", default=None, help="Agent attributes, e.g. 'rack:r1;zone:a'.")
@click.option(
    "--agent-resources",
    multiple=True,
    metavar="N=SPEC",
    help="Resources of agent N as written (repeatable).",
)
@click.option("--agent-attributes", multiple=True, metavar="N=SPEC", help="Attributes of agent N.")
@click.option("--agent-hostname", multiple=True, metavar="N=NAME", help="Hostname agent N advertises.")
@click.option("--agent-domain", multiple=True, metavar="N=REGION/ZONE", help="Fault domain of agent N.")
@click.option("--domain", default=None, metavar="REGION/ZONE", help="Fault domain of the master.")
@click.option("--shared-ports", is_flag=True, help="Every agent offers the same ports (as mesos-local).")
@click.option(
    "--config",
    "config_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file with these options, cluster settings and [[agent]] tables; options override it.",
)
@click.option(
    "--masters",
    default=None,
    type=click.IntRange(1),
    help="Number of masters (more than one needs --zk).  [default: 1]",
)
@click.option("--zk", default=None, help="zk://host:port/path for leader election between masters.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the cluster does.")
def local_command(  # noqa: PLR0917
    agents: int | None,
    port: int | None,
    resources: str | None,
    attributes: str | None,
    agent_resources: tuple[str, ...],
    agent_attributes: tuple[str, ...],
    agent_hostname: tuple[str, ...],
    agent_domain: tuple[str, ...],
    domain: str | None,
    shared_ports: bool,
    config_file: Path | None,
    masters: int | None,
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
        options = load_config(config_file) if config_file is not None else {}
        options.setdefault("port", 5050)
        given = {
            "agents": agents,
            "port": port,
            "resources": resources,
            "attributes": _attributes(attributes),
            "masters": masters,
            "zk": zk,
            "domain": domain,
        }
        options.update({k: v for k, v in given.items() if v is not None})
        if shared_ports:
            options["distinct_ports"] = False
        per_agent: dict[str, dict[int, Any]] = {
            "resources": _per_agent(agent_resources, "--agent-resources"),
            "attributes": {
                i: _attributes(v, "--agent-attributes")
                for i, v in _per_agent(agent_attributes, "--agent-attributes").items()
            },
            "hostname": _per_agent(agent_hostname, "--agent-hostname"),
            "domain": _per_agent(agent_domain, "--agent-domain"),
        }
        wanted = max((i for values in per_agent.values() for i in values), default=0)
        if wanted:
            specs: list[dict[str, Any]] = [dict(s) for s in options.get("agent_specs", [])]
            count = options.get("agents", 1)
            if wanted > count:
                raise click.BadParameter(f"agent {wanted} of {count}", param_hint="--agent-*")
            specs += [{} for _ in range(wanted - len(specs))]
            for key, values in per_agent.items():
                for index, value in values.items():
                    specs[index - 1][key] = value
            options["agent_specs"] = specs
        import asyncio  # noqa: PLC0415 - keeps --help fast

        asyncio.run(_serve(options))
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot start the cluster: {exc}") from None


def main() -> None:
    """``python -m mesos_framework.local``."""
    local_command(prog_name="python -m mesos_framework.local")
