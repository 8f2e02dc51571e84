"""``LocalCluster``: a master and agents in this event loop, on loopback.

Like ``mesos-local``, every agent shares the master's port under
``/slave(N)/...``, so executors find their agent through
``MESOS_SLAVE_PID=slave(N)@127.0.0.1:PORT``. With ``masters > 1`` (and a
ZooKeeper URL) each master has its own port, elects a leader in ZooKeeper,
and agents are served on a port of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from mesos_framework.errors import ConfigurationError
from mesos_framework.local import operator_api
from mesos_framework.local._launcher import ForkServer
from mesos_framework.local._registry import Registry
from mesos_framework.local._topology import domain_info, port_ranges, ranges_overlap, shift_ports
from mesos_framework.local.agent import Agent
from mesos_framework.local.config import DEFAULT_RESOURCES, AgentSpec, ClusterConfig
from mesos_framework.local.master import AgentEntry, Framework, Master, MasterTask
from mesos_framework.local.resources import Resources, parse_resources
from mesos_framework.local.server import Endpoint

__all__ = ["LocalCluster"]

log = logging.getLogger(__name__)


class _OperatorViews:
    """The operator API's views of the master's records, handed to each `Master` (which does not
    import the operator API) for its operator event stream."""

    def agent_entry(self, master: Master, entry: AgentEntry) -> dict[str, Any]:
        return operator_api.agent_entry(master, entry)

    def framework_entry(self, master: Master, fw: Framework, active: bool) -> dict[str, Any]:
        return operator_api.framework_entry(master, fw, active)

    def task_entry(self, task: MasterTask) -> dict[str, Any]:
        return operator_api.task_entry(task)

    def get_state(self, master: Master) -> dict[str, Any]:
        return operator_api.get_state(master)


_VIEWS = _OperatorViews()


class LocalCluster:
    """A local Mesos-compatible cluster (async context manager).

        async with LocalCluster(agents=2) as cluster:
            print(cluster.url)   # http://127.0.0.1:PORT

    ``resources`` uses the agent ``--resources`` syntax; agent N gets its
    ``ports`` shifted down by ``N - 1`` times their span (agent 2 of the
    default: ``[29999-30999]``) unless ``distinct_ports=False``.
    ``agent_specs`` (one `AgentSpec` or mapping per agent, from agent 1)
    gives agents their own resources, attributes, hostname or fault domain
    (``domain="region/zone"``, which needs the master's ``domain=`` setting).
    ``config`` (or keyword overrides such as ``status_update_retry=0.5``)
    tunes timeouts. ``masters > 1`` needs ``zk="zk://127.0.0.1:2181/mesos"``.
    """

    def __init__(
        self,
        agents: int = 1,
        resources: str = DEFAULT_RESOURCES,
        *,
        port: int = 0,
        masters: int = 1,
        zk: str | None = None,
        attributes: dict[str, str] | None = None,
        work_dir: str | Path | None = None,
        agent_specs: Sequence[AgentSpec | Mapping[str, Any]] | None = None,
        config: ClusterConfig | None = None,
        **overrides: Any,
    ) -> None:
        if agents < 0:
            raise ConfigurationError("must be >= 0", option="agents")
        if masters < 1:
            raise ConfigurationError("must be >= 1", option="masters")
        if masters > 1 and not zk:
            raise ConfigurationError("several masters need a zk:// URL for leader election", option="zk")
        self.config = config or ClusterConfig()
        for key, value in overrides.items():
            if not hasattr(self.config, key):
                raise ConfigurationError(f"unknown setting {key!r}", option=key)
            setattr(self.config, key, value)
        self._agent_count = agents
        self._resources = resources
        self._base_resources = parse_resources(resources)  # fail early on a bad spec
        self._specs = [_spec(s, i) for i, s in enumerate(agent_specs or (), start=1)]
        if len(self._specs) > agents:
            raise ConfigurationError(
                f"{len(self._specs)} agent specs for {agents} agent(s)", option="agent_specs"
            )
        if self.config.domain:
            domain_info(self.config.domain)
        planned: list[Resources] = []
        for index in range(1, agents + 1):
            spec = self._specs[index - 1] if index <= len(self._specs) else AgentSpec()
            self._check_domain(spec.domain, index)
            planned.append(self._agent_resources(index, spec.resources, planned))
        self._port = port
        self._masters_wanted = masters
        self._zk = zk
        self._attributes = attributes
        self._own_work_dir = work_dir is None
        self._work_dir_arg = Path(work_dir) if work_dir is not None else None
        self.work_dir: Path | None = None
        self.agents: list[Agent] = []
        self.masters: list[Master] = []
        self._endpoints: list[Endpoint] = []
        self._master_endpoints: dict[int, Endpoint] = {}
        self._agent_endpoint: Endpoint | None = None
        self._contenders: list[Any] = []
        self._fork_server: ForkServer | None = None
        self._started = False
        self.registry = Registry()
        """What the masters keep across a restart or fail-over (maintenance, quotas, weights)."""

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> LocalCluster:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start masters, agents and HTTP endpoints."""
        if self._started:
            return
        self._started = True
        self._fork_server = ForkServer() if self.config.fork_executors else None
        if self._work_dir_arg is not None:
            self._work_dir_arg.mkdir(parents=True, exist_ok=True)
            self.work_dir = self._work_dir_arg
        else:
            self.work_dir = Path(tempfile.mkdtemp(prefix="mesos-local-"))
        try:
            if self._masters_wanted == 1:
                endpoint = Endpoint(files_root=self.work_dir)
                port = await endpoint.start(self._port)
                self._endpoints.append(endpoint)
                master = Master(self.config, port, views=_VIEWS, registry=self.registry)
                endpoint.master = master
                master.start()
                self.masters.append(master)
                self._master_endpoints[id(master)] = endpoint
                self._agent_endpoint = endpoint
            else:
                await self._start_ha()
            for _ in range(self._agent_count):
                await self.add_agent()
        except BaseException:
            await self.stop()
            raise

    async def _start_ha(self) -> None:
        from mesos_framework.local.zk import MasterContender  # noqa: PLC0415 - kazoo only when needed

        assert self._zk is not None
        for i in range(self._masters_wanted):
            endpoint = Endpoint(files_root=self.work_dir)
            port = await endpoint.start(self._port + i if self._port else 0)
            self._endpoints.append(endpoint)
            master = Master(self.config, port, views=_VIEWS, registry=self.registry)
            master.leader = False
            endpoint.master = master
            master.start()
            self.masters.append(master)
            self._master_endpoints[id(master)] = endpoint
        agent_endpoint = Endpoint(files_root=self.work_dir)
        await agent_endpoint.start(0)
        self._endpoints.append(agent_endpoint)
        self._agent_endpoint = agent_endpoint
        for master in self.masters:
            contender = MasterContender(self._zk, master, self._on_leader_change)
            self._contenders.append(contender)
            await contender.start()
        await self.wait_for_leader()

    def _on_leader_change(self, leader: Master | None) -> None:
        for agent in self.agents:
            if leader is not None and agent.master is not leader:
                agent.register(leader)

    async def wait_for_leader(self, timeout: float = 30.0) -> Master:  # noqa: ASYNC109
        """Wait until some master leads; returns it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for master in self.masters:
                if master.leader and not master.stopped:
                    return master
            await asyncio.sleep(0.05)
        raise TimeoutError("no master was elected")

    async def stop(self) -> None:
        """Stop every executor, master and endpoint; remove the work dir."""
        for agent in self.agents:
            try:
                await agent.stop()
            except Exception:
                log.exception("stopping agent %s failed", agent.name)
        for contender in self._contenders:
            try:
                await contender.stop()
            except Exception:
                log.exception("stopping ZooKeeper contender failed")
        self._contenders.clear()
        for master in self.masters:
            master.stop()
        if self._fork_server is not None:
            try:
                await self._fork_server.close()
            except Exception:
                log.exception("stopping the executor fork server failed")
            self._fork_server = None
        for endpoint in self._endpoints:
            await endpoint.close()
        self._endpoints.clear()
        if self._own_work_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        self._started = False

    # --------------------------------------------------------------- access
    @property
    def master(self) -> Master:
        """The leading master (the only one without HA)."""
        for master in self.masters:
            if master.leader and not master.stopped:
                return master
        return self.masters[0]

    @property
    def port(self) -> int:
        """Port of the first master."""
        return self._master_endpoints[id(self.masters[0])].port

    @property
    def url(self) -> str:
        """Base URL of the (first) master: ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def urls(self) -> list[str]:
        """Base URLs of every master."""
        return [f"http://127.0.0.1:{self._master_endpoints[id(m)].port}" for m in self.masters]

    @property
    def master_spec(self) -> str:
        """``host:port,host:port`` of every master (for a client's master option)."""
        return ",".join(f"127.0.0.1:{self._master_endpoints[id(m)].port}" for m in self.masters)

    def _check_domain(self, domain: str | None, index: int) -> None:
        if domain is None:
            return
        domain_info(domain, option="domain")
        if not self.config.domain:
            # Mesos's master ignores such an agent's registration; here it is a configuration error.
            raise ConfigurationError(
                f"agent {index} has a fault domain but the master has none (set domain=)",
                option="domain",
            )

    def _agent_resources(self, index: int, explicit: str | None, others: Sequence[Resources]) -> Resources:
        """Agent ``index``'s resources: ``explicit`` as written, else the cluster's with shifted ports;
        a ConfigurationError if its ports overlap another agent's (with ``distinct_ports``)."""
        if explicit is not None:
            res = parse_resources(explicit)
        elif self.config.distinct_ports:
            res = shift_ports(self._base_resources, index)
        else:
            res = self._base_resources.copy()
        if self.config.distinct_ports:
            mine = port_ranges(res)
            for other_index, other in enumerate(others, start=1):
                if ranges_overlap(mine, port_ranges(other)):
                    raise ConfigurationError(
                        f"the ports of agent {index} overlap those of agent {other_index}: tasks on "
                        "both would bind the same loopback ports (distinct_ports=False allows it)",
                        option="resources",
                    )
        return res

    async def add_agent(
        self,
        resources: str | None = None,
        attributes: dict[str, str] | None = None,
        *,
        hostname: str | None = None,
        domain: str | None = None,
    ) -> Agent:
        """Start one more agent; returns it once registered.

        Without ``resources`` it gets its `AgentSpec`'s, else the
        cluster's (ports shifted for its index, as for the first agents).
        """
        assert self._agent_endpoint is not None and self.work_dir is not None
        index = len(self.agents) + 1
        spec = self._specs[index - 1] if index <= len(self._specs) else AgentSpec()
        domain = domain if domain is not None else spec.domain
        self._check_domain(domain, index)
        if attributes is None:
            attributes = spec.attributes if spec.attributes is not None else self._attributes
        total = self._agent_resources(
            index, resources if resources is not None else spec.resources, [a.total for a in self.agents]
        )
        agent = Agent(
            index,
            total,
            self.work_dir / f"agent{index}",
            self.config,
            port=self._agent_endpoint.port,
            attributes=attributes,
            hostname=hostname or spec.hostname,
            domain=domain_info(domain) if domain else None,
            launcher=self._fork_server,
        )
        self.agents.append(agent)
        self._agent_endpoint.add_agent(agent)
        master = self.master
        if master.leader:
            agent.register(master)
        return agent

    # --------------------------------------------------------------- faults
    def drop_framework_stream(self, framework_id: str) -> bool:
        """Close a scheduler's subscription stream as a network failure would."""
        return self.master.drop_stream(framework_id)

    async def restart_master(self) -> Master:
        """Replace the (single) master by a fresh one on the same port.

        Like a master process restart: every stream breaks, the new master has
        a new id and learns agents, executors and tasks when agents re-register;
        frameworks must re-subscribe with their ids.
        """
        if len(self.masters) != 1:
            raise ConfigurationError("use fail_over_master() with several masters", option="masters")
        old = self.masters[0]
        endpoint = self._master_endpoints.pop(id(old))
        old.stop()
        master = Master(self.config, endpoint.port, views=_VIEWS, registry=self.registry)
        endpoint.master = master
        master.start()
        self.masters[0] = master
        self._master_endpoints[id(master)] = endpoint
        for agent in self.agents:
            agent.register(master)
        return master

    async def fail_over_master(self) -> Master:
        """HA: stop the leading master (its ZooKeeper node goes); returns the new leader."""
        if len(self.masters) < 2:
            raise ConfigurationError("fail-over needs several masters", option="masters")
        leader = self.master
        index = self.masters.index(leader)
        contender = self._contenders[index]
        await contender.stop()
        leader.stop()
        endpoint = self._master_endpoints[id(leader)]
        await endpoint.close()  # like a dead master process: connections are refused
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            for master in self.masters:
                if master is not leader and master.leader:
                    return master
            await asyncio.sleep(0.05)
        raise TimeoutError("no new leader after fail-over")

    def _agent(self, index: int) -> Agent:
        for agent in self.agents:
            if agent.index == index:
                return agent
        raise ConfigurationError(f"no agent slave({index})", option="agent")

    def make_agent_unreachable(self, index: int = 1) -> None:
        """Partition an agent: the master marks it unreachable (TASK_UNREACHABLE/TASK_LOST)."""
        agent = self._agent(index)
        agent.reachable = False
        if agent.id is not None:
            self.master.remove_agent(agent.id, unreachable=True)

    def remove_agent(self, index: int = 1) -> None:
        """Mark an agent gone (TASK_GONE_BY_OPERATOR/TASK_LOST) and stop offering it."""
        agent = self._agent(index)
        agent.reachable = False
        if agent.id is not None:
            self.master.remove_agent(agent.id, unreachable=False)

    def reconnect_agent(self, index: int = 1) -> None:
        """An unreachable agent comes back: it re-registers with its tasks and resends pending updates."""
        agent = self._agent(index)
        agent.reachable = True
        agent.register(self.master)
        for fid in list(agent.frameworks):
            agent.updates.resume(fid)

    def stop_agent(self, index: int = 1) -> Agent:
        """Fault: an agent's process stops (crash or restart), its executors and tasks keep running.

        Executor streams are cut and the executor API answers ``503 Agent has
        not finished recovery``; the master sees the agent disconnect,
        rescinds its offers and marks the tasks of frameworks without
        ``checkpoint`` lost. Bring it back with `recover_agent()`.
        """
        agent = self._agent(index)
        agent.crash()
        return agent

    async def recover_agent(self, index: int = 1, *, reregistration_timeout: float | None = None) -> Agent:
        """A stopped agent starts again and recovers, as Mesos's ``--recover=reconnect``.

        Checkpointed executors have ``reregistration_timeout`` seconds (by
        default the cluster's ``executor_reregistration_timeout``: 2, which
        executors also get as ``MESOS_SUBSCRIPTION_BACKOFF_MAX``) to
        re-subscribe with their unacknowledged tasks and updates; then the
        others are destroyed, the agent re-registers with the master and
        resends its pending status updates. Returns once that is done, which
        is as soon as every recovered executor has re-subscribed (a real agent
        always waits the whole timeout). Executors retry after random delays
        of up to their backoff maximum, so one can miss a timeout of the same
        length on a busy machine, as on Mesos: tests that are not about that
        pass a longer ``reregistration_timeout``.
        """
        agent = self._agent(index)
        timeout = agent.reregistration_timeout if reregistration_timeout is None else reregistration_timeout
        if timeout < 0:
            raise ConfigurationError("must be >= 0", option="reregistration_timeout")
        agent.recover()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            agent.recovery_progress.clear()
            remaining = deadline - loop.time()
            if remaining <= 0 or not agent.awaiting_executors():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(agent.recovery_progress.wait(), remaining)
        agent.finish_recovery(self.master, timeout=timeout)
        return agent

    async def restart_agent(
        self, index: int = 1, *, downtime: float = 0.5, reregistration_timeout: float | None = None
    ) -> Agent:
        """`stop_agent()`, wait ``downtime`` seconds, then `recover_agent()`."""
        if downtime < 0:
            raise ConfigurationError("must be >= 0", option="downtime")
        self.stop_agent(index)
        await asyncio.sleep(downtime)
        return await self.recover_agent(index, reregistration_timeout=reregistration_timeout)

    def kill_executor(self, framework_id: str, executor_id: str) -> bool:
        """SIGKILL an executor (and its tasks) on whichever agent runs it."""
        return any(agent.kill_executor(framework_id, executor_id) for agent in self.agents)


def _spec(value: AgentSpec | Mapping[str, Any], index: int) -> AgentSpec:
    """An `AgentSpec` from itself or a mapping (a config file's ``[[agent]]`` table)."""
    if isinstance(value, AgentSpec):
        spec = value
    else:
        known = set(AgentSpec.__dataclass_fields__)
        unknown = set(value) - known
        if unknown:
            raise ConfigurationError(
                f"agent {index}: unknown setting(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known))})",
                option="agent_specs",
            )
        spec = AgentSpec(**value)
    if spec.resources is not None:
        parse_resources(spec.resources)
    if spec.hostname is not None and not spec.hostname.strip():
        raise ConfigurationError(f"agent {index}: empty hostname", option="hostname")
    return spec
