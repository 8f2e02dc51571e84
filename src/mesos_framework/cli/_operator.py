"""The inspecting commands (``state``, ``agents``, ``frameworks``, ``tasks``, ``events``,
``logs``, ``maintenance``), built on `MasterOperator`."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import click

from mesos_framework._redact import without_password
from mesos_framework.errors import (
    APIError,
    ConnectError,
    MesosError,
    MessageError,
    NoLeaderError,
    NotFound,
    ProtocolError,
)
from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import ContentType, mesos, to_dict
from mesos_framework.transport import Credentials, TLSConfig

TERMINAL = {
    mesos.TASK_FINISHED,
    mesos.TASK_FAILED,
    mesos.TASK_KILLED,
    mesos.TASK_ERROR,
    mesos.TASK_LOST,
    mesos.TASK_DROPPED,
    mesos.TASK_GONE,
    mesos.TASK_GONE_BY_OPERATOR,
}


class CommandError(MesosError):
    """A failure of a command, said in one line."""


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Connection:
    """How the commands talk to masters and agents: TLS and credentials (``--ca-file``, ...)."""

    tls: TLSConfig | None = None
    credentials: Credentials | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    master_from: str = "--master"
    """Where ``--master`` came from: ``"--master"``, ``"$MESOS_MASTER"`` or ``"default"``."""

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of `MasterOperator` and `AgentOperator`."""
        return {"tls": self.tls, "credentials": self.credentials, "token": self.token}


CONNECTION: ContextVar[Connection] = ContextVar("mesos_framework_cli_connection", default=Connection())  # noqa: B039 - frozen
"""The connection settings of the running command (set from its options)."""


def credentials_error(master: str, exc: APIError) -> CommandError:
    """The one line for a ``401``/``403`` of ``master``: what to give."""
    what = "needs credentials" if exc.status == 401 else "refused the credentials"
    return CommandError(
        f"{without_password(master)} {what} (HTTP {exc.status}): give --principal/--secret or --token "
        "($MESOS_PRINCIPAL/$MESOS_SECRET, $MESOS_TOKEN)"
    )


def unreachable_error(master: str, exc: ConnectError) -> CommandError:
    """The one line for a master that does not answer: its address, where that came from, what to do."""
    shown = without_password(master)
    return CommandError(f"cannot reach {shown} ({master_hint()}): {_one_line(str(exc), 200)}")


def master_hint() -> str:
    """Where the master address came from, and how to give another one."""
    source = CONNECTION.get().master_from
    where = {"default": "the default master", "$MESOS_MASTER": "from $MESOS_MASTER"}
    return f"{where.get(source, 'from --master')}; give another with --master HOST:PORT or $MESOS_MASTER"


def no_leader_error(master: str, detector: object, exc: NoLeaderError) -> CommandError:
    """The one line for a master spec that found no leading master (ZooKeeper said in words)."""
    hosts, path = getattr(detector, "hosts", None), getattr(detector, "path", None)
    if isinstance(hosts, str) and isinstance(path, str):
        error = getattr(detector, "error", None)
        reason = error if isinstance(error, str) and error else "ZooKeeper answered but no master leads there"
        return CommandError(
            f"no Mesos master found through ZooKeeper {hosts} (path {path}): {_one_line(reason, 200)} "
            f"({master_hint()})"
        )
    shown = without_password(master)
    return CommandError(f"no leading master at {shown}: {_one_line(str(exc), 200)} ({master_hint()})")


@asynccontextmanager
async def master_operator(master: str) -> AsyncIterator[MasterOperator]:
    """A client of ``master`` whose failures become one clear line."""
    options = CONNECTION.get().client_options()
    shown = without_password(master)  # for the messages: never a password in clear
    held: MasterOperator | None = None
    try:
        async with MasterOperator(master, connect_timeout=5.0, request_timeout=30.0, **options) as op:
            held = op
            yield op
    except APIError as exc:
        if exc.status in (401, 403):
            raise credentials_error(master, exc) from exc
        if exc.status in (404, 405, 415, 501) or "(HTML page)" in str(exc):
            raise CommandError(
                f"{shown} does not look like a Mesos master (HTTP {exc.status} on /api/v1): "
                f"{_one_line(str(exc), 160)}"
            ) from exc
        raise CommandError(_one_line(str(exc))) from exc
    except (ProtocolError, MessageError) as exc:
        raise CommandError(f"{shown} does not look like a Mesos master: {_one_line(str(exc), 160)}") from exc
    except ConnectError as exc:
        raise unreachable_error(master, exc) from exc
    except NoLeaderError as exc:
        raise no_leader_error(master, held.http.detector if held is not None else None, exc) from exc
    except MesosError as exc:
        if isinstance(exc, CommandError):
            raise
        raise CommandError(_one_line(str(exc))) from exc


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns with a ruler under the headers."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _resources(resources: Sequence[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    scalars: dict[str, float] = {}
    for r in resources:
        if r.type == mesos.Value.SCALAR:
            scalars[r.name] = scalars.get(r.name, 0.0) + r.scalar.value
        elif r.type == mesos.Value.RANGES:
            spans = [str(g.begin) if g.begin == g.end else f"{g.begin}-{g.end}" for g in r.ranges.range]
            out[r.name] = ",".join(filter(None, [out.get(r.name, ""), *spans]))
    out.update({k: f"{v:g}" for k, v in scalars.items()})
    return out


def _ports(task: Any) -> str:
    ports = _resources(task.resources).get("ports", "")
    if ports:
        return ports
    return ",".join(str(p.number) for p in task.discovery.ports.ports) if task.HasField("discovery") else ""


def _health(task: Any) -> str:
    for status in reversed(task.statuses):
        if status.HasField("healthy"):
            return "healthy" if status.healthy else "unhealthy"
    return "-"


def agents_table(state: Any) -> str:
    rows = []
    for a in state.get_agents.agents:
        total = _resources(a.total_resources)
        used = _resources(a.allocated_resources)
        rows.append(
            (
                a.agent_info.id.value,
                a.agent_info.hostname,
                "active" if a.active else "inactive",
                f"{used.get('cpus', '0')}/{total.get('cpus', '-')}",
                f"{used.get('mem', '0')}/{total.get('mem', '-')}",
                total.get("ports", "-"),
            )
        )
    return table(["ID", "HOSTNAME", "STATUS", "CPUS", "MEM", "PORTS"], rows)


def frameworks_table(state: Any) -> str:
    tasks: dict[str, int] = {}
    for t in state.get_tasks.tasks:
        tasks[t.framework_id.value] = tasks.get(t.framework_id.value, 0) + 1
    rows = [
        (
            f.framework_info.id.value,
            f.framework_info.name,
            "active" if f.active else "inactive",
            tasks.get(f.framework_info.id.value, 0),
            ",".join(f.framework_info.roles) or f.framework_info.role,
        )
        for f in state.get_frameworks.frameworks
    ]
    return table(["ID", "NAME", "STATUS", "TASKS", "ROLES"], rows)


def tasks_table(state: Any, *, all_tasks: bool = False) -> str:
    names = {f.framework_info.id.value: f.framework_info.name for f in state.get_frameworks.frameworks}
    hosts = {a.agent_info.id.value: a.agent_info.hostname for a in state.get_agents.agents}
    tasks = list(state.get_tasks.tasks)
    if all_tasks:
        tasks += list(state.get_tasks.completed_tasks) + list(state.get_tasks.unreachable_tasks)
    rows = [
        (
            t.task_id.value,
            t.name,
            mesos.TaskState.Name(t.state),
            hosts.get(t.agent_id.value, t.agent_id.value),
            _ports(t) or "-",
            _health(t),
            names.get(t.framework_id.value, t.framework_id.value),
        )
        for t in tasks
    ]
    return table(["ID", "NAME", "STATE", "AGENT", "PORTS", "HEALTH", "FRAMEWORK"], rows)


async def show(master: str, what: str, *, all_tasks: bool = False) -> int:
    """Print ``state`` (everything) or one of ``agents``/``frameworks``/``tasks``."""
    async with master_operator(master) as op:
        state = await op.get_state()
        version = (await op.get_version()).version_info.version
        leader = op.leader
    if what == "agents":
        click.echo(agents_table(state))
    elif what == "frameworks":
        click.echo(frameworks_table(state))
    elif what == "tasks":
        click.echo(tasks_table(state, all_tasks=all_tasks))
    else:
        click.echo(
            "\n".join(
                [
                    f"master {leader}  version {version}",
                    "",
                    "AGENTS",
                    agents_table(state),
                    "",
                    "FRAMEWORKS",
                    frameworks_table(state),
                    "",
                    "TASKS",
                    tasks_table(state),
                ]
            )
        )
    return 0


def summary(event: Any) -> str:
    """One readable line for an operator event."""
    kind = mesos.master.Event.Type.Name(event.type)
    E = mesos.master.Event
    if event.type == E.SUBSCRIBED:
        st = event.subscribed.get_state
        return (
            f"{kind} {len(st.get_agents.agents)} agents, {len(st.get_frameworks.frameworks)} frameworks, "
            f"{len(st.get_tasks.tasks)} tasks; heartbeat every "
            f"{event.subscribed.heartbeat_interval_seconds:g}s"
        )
    if event.type == E.TASK_ADDED:
        t = event.task_added.task
        return f"{kind} {t.task_id.value} ({t.name}) {mesos.TaskState.Name(t.state)} on {t.agent_id.value}"
    if event.type == E.TASK_UPDATED:
        u = event.task_updated
        message = f": {u.status.message}" if u.status.message else ""
        return f"{kind} {u.status.task_id.value} {mesos.TaskState.Name(u.state)}{message}"
    if event.type == E.AGENT_ADDED:
        a = event.agent_added.agent
        return f"{kind} {a.agent_info.id.value} ({a.agent_info.hostname})"
    if event.type == E.AGENT_REMOVED:
        return f"{kind} {event.agent_removed.agent_id.value}"
    if event.type in (E.FRAMEWORK_ADDED, E.FRAMEWORK_UPDATED):
        f = (event.framework_added if event.type == E.FRAMEWORK_ADDED else event.framework_updated).framework
        return f"{kind} {f.framework_info.id.value} ({f.framework_info.name})"
    if event.type == E.FRAMEWORK_REMOVED:
        info = event.framework_removed.framework_info
        return f"{kind} {info.id.value} ({info.name})"
    return kind


async def operator_events(master: str, *, as_json: bool, limit: int | None) -> int:
    """Print the master's operator events (one line each, or JSON) until ``limit``."""
    import orjson  # noqa: PLC0415

    seen = 0
    async with master_operator(master) as op:
        await op.get_health()  # a wrong or dead master fails here, once, not in SUBSCRIBE's retries
        async with op.subscribe(give_up_after=10.0) as events:
            async for event in events:
                if as_json:
                    click.echo(orjson.dumps(to_dict(event)).decode())
                else:
                    click.echo(f"{time.strftime('%H:%M:%S')} {summary(event)}")
                seen += 1
                if limit is not None and seen >= limit:
                    break
    return 0


def find_task(tasks: Sequence[Any], spec: str, where: str) -> Any:
    """The task that ``spec`` names: its task ID, else its name when that is unambiguous.

    Of several tasks of that name the one not yet ended is taken, else (all ended) the one that
    changed state last; several not ended are ambiguous. ``where`` is the master, for errors.
    """
    by_id = [t for t in tasks if t.task_id.value == spec]
    if by_id:
        return by_id[-1]
    named = [t for t in tasks if t.name == spec]
    if not named:
        shown = without_password(where)
        raise CommandError(f"no task with ID or name {spec!r} at {shown} (see: mesos-framework tasks --all)")
    live = [t for t in named if t.state not in TERMINAL]
    if len(live) == 1:
        return live[0]
    if len(live) > 1:
        listed = ", ".join(f"{t.task_id.value} ({mesos.TaskState.Name(t.state)})" for t in live)
        raise CommandError(f"{len(live)} active tasks are named {spec!r}; give one's task ID: {listed}")
    return max(named, key=lambda t: max((st.timestamp for st in t.statuses), default=0.0))


async def logs(master: str, spec: str, *, stderr: bool, follow: bool, interval: float = 0.5) -> int:
    """Print a task's sandbox stdout (or stderr), and with ``follow`` what it writes next.

    ``spec`` is a task ID or a task name (see `find_task`).
    """
    async with master_operator(master) as op:
        state = await op.get_state()
        tasks = [
            *state.get_tasks.tasks,
            *state.get_tasks.completed_tasks,
            *state.get_tasks.unreachable_tasks,
        ]
        task = find_task(tasks, spec, str(op.leader))
        task_id = task.task_id.value
        agent = next((a for a in state.get_agents.agents if a.agent_info.id == task.agent_id), None)
        if agent is None:
            raise CommandError(f"the agent of task {task_id!r} ({task.agent_id.value}) is not registered")
        executor = task.executor_id.value or task_id
        base = f"/frameworks/{task.framework_id.value}/executors/{executor}/runs/latest"
        name = "stderr" if stderr else "stdout"
        async with AgentOperator.for_pid(
            agent.pid, content_type=ContentType.PROTOBUF, **CONNECTION.get().client_options()
        ) as agent_op:
            path = await _log_path(agent_op, base, task_id, name)
            offset = 0
            while True:
                read = await agent_op.read_file(path, offset)
                if read.data:
                    sys.stdout.buffer.write(read.data)
                    sys.stdout.buffer.flush()
                    offset += len(read.data)
                    continue
                if not follow:
                    return 0
                now = await op.get_tasks()
                every = [*now.tasks, *now.completed_tasks, *now.unreachable_tasks]
                if any(t.task_id.value == task_id and t.state in TERMINAL for t in every):
                    final = await agent_op.read_file(path, offset)  # what it wrote just before the end
                    sys.stdout.buffer.write(final.data)
                    sys.stdout.buffer.flush()
                    return 0
                await asyncio.sleep(interval)


async def _log_path(agent_op: AgentOperator, base: str, task_id: str, name: str) -> str:
    """The sandbox file of a task: the executor's, or the task's own under a default executor."""
    for candidate in (f"{base}/tasks/{task_id}/{name}", f"{base}/{name}"):
        try:
            await agent_op.read_file(candidate, 0, 0)
        except NotFound:
            continue
        return candidate
    raise CommandError(f"no {name} in the sandbox of task {task_id!r} ({base})")


def parse_machine(spec: str) -> dict[str, str]:
    """``HOSTNAME``, ``HOSTNAME/IP`` or ``/IP`` as a ``MachineID`` dict."""
    hostname, _, ip = spec.partition("/")
    machine = {}
    if hostname:
        machine["hostname"] = hostname
    if ip:
        machine["ip"] = ip
    if not machine:
        raise CommandError(f"not a machine (HOSTNAME, HOSTNAME/IP or /IP): {spec!r}")
    return machine


async def maintenance(
    master: str,
    *,
    schedule: Sequence[str],
    start_in: float,
    duration: float | None,
    down: Sequence[str],
    up: Sequence[str],
    clear: bool,
) -> int:
    """Change the maintenance schedule or machine modes as asked, then print them."""
    async with master_operator(master) as op:
        if clear:
            await op.update_maintenance_schedule({})
        if schedule:
            existing = [to_dict(w) for w in (await op.get_maintenance_schedule()).schedule.windows]
            window: dict[str, Any] = {
                "machine_ids": [parse_machine(m) for m in schedule],
                "unavailability": {"start": {"nanoseconds": int((time.time() + start_in) * 1e9)}},
            }
            if duration is not None:
                window["unavailability"]["duration"] = {"nanoseconds": int(duration * 1e9)}
            await op.update_maintenance_schedule({"windows": [*existing, window]})
        if down:
            await op.start_maintenance([parse_machine(m) for m in down])
        if up:
            await op.stop_maintenance([parse_machine(m) for m in up])
        current = (await op.get_maintenance_schedule()).schedule
        status = (await op.get_maintenance_status()).status
    modes = {(m.id.hostname, m.id.ip): "DRAINING" for m in status.draining_machines}
    modes.update({(m.hostname, m.ip): "DOWN" for m in status.down_machines})
    rows = []
    for w in current.windows:
        start = w.unavailability.start.nanoseconds / 1e9
        length = (
            f"{w.unavailability.duration.nanoseconds / 1e9:g}s"
            if w.unavailability.HasField("duration")
            else "forever"
        )
        for m in w.machine_ids:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start))
            rows.append((m.hostname or "-", m.ip or "-", modes.get((m.hostname, m.ip), "UP"), when, length))
    click.echo(table(["HOSTNAME", "IP", "MODE", "START", "DURATION"], rows))
    return 0
