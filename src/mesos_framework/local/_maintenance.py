"""Maintenance on the local master: schedules, machine modes and inverse offers.

``UPDATE_MAINTENANCE_SCHEDULE`` puts the machines of each window in
``DRAINING`` mode; from then on, as Mesos's allocator does, every framework
using resources on an agent of such a machine gets an ``INVERSE_OFFERS``
event (with the window's unavailability) whenever it has none outstanding
there and has not answered one within the answer's ``refuse_seconds``
(default 5). ``ACCEPT_INVERSE_OFFERS``/``DECLINE_INVERSE_OFFERS`` are
recorded as the machine's statuses in ``GET_MAINTENANCE_STATUS``. ``START_MAINTENANCE`` takes
draining machines ``DOWN``: as Mesos does, their agents are removed (their tasks end
``TASK_LOST``/``TASK_GONE_BY_OPERATOR``) and shut down; ``STOP_MAINTENANCE`` brings the
machines back up and out of the schedule, and their agents register again when restarted; until
then an agent of a ``DOWN`` machine that (re-)registers is refused and shut down, as Mesos
refuses it (`refuses_registration`). Offers
of an agent on a scheduled machine carry the window's unavailability; when
it changes, the agent's outstanding offers are rescinded. A machine
is matched to an agent by hostname and IP, as Mesos does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mesos_framework.local import _codec
from mesos_framework.protocol._schema import maintenance_pb2, master_pb2, mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local._links import AgentLink
    from mesos_framework.local.master import AgentEntry, Master

log = logging.getLogger(__name__)

Call = master_pb2.Call
CALLS = frozenset(
    {
        Call.GET_MAINTENANCE_STATUS,
        Call.GET_MAINTENANCE_SCHEDULE,
        Call.UPDATE_MAINTENANCE_SCHEDULE,
        Call.START_MAINTENANCE,
        Call.STOP_MAINTENANCE,
    }
)
Machine = tuple[str, str]


DEFAULT_REFUSE_SECONDS = 5.0


@dataclass
class _Outstanding:
    framework_id: str
    agent_id: str
    machine: Machine


class _State:
    def __init__(self) -> None:
        self.schedule = maintenance_pb2.Schedule()
        self.modes: dict[Machine, int] = {}
        self.unavailability: dict[Machine, mesos_pb2.Unavailability] = {}
        self.next_inverse_offer = 0
        self.outstanding: dict[str, _Outstanding] = {}
        """Inverse offers sent and not answered, by id."""
        self.refused_until: dict[tuple[str, str], float] = {}
        """(framework, agent) -> when an answered inverse offer may be sent again."""
        self.statuses: dict[Machine, dict[str, tuple[int, float]]] = {}
        """Per machine, each framework's last answer and its time."""
        self.ticker: asyncio.Task[None] | None = None
        self.shut_down: dict[Machine, list[AgentLink]] = {}
        """Agents shut down by ``START_MAINTENANCE``, by machine (they register anew once it is up)."""
        self.master: Master | None = None
        """The master this state is with (a new one takes it over from the registry)."""


def _state(master: Master) -> _State:
    """The maintenance state, kept in the cluster's registry; a master that finds another
    master's takes it over (`_take_over`)."""
    state = master.registry.maintenance
    if state is None:
        state = master.registry.maintenance = _State()
    if state.master is not master and master.leader and not getattr(master, "_stopped", False):
        _take_over(master, state)
    return state


def _take_over(master: Master, state: _State) -> None:
    """A new leading master recovers the schedule and the machines' modes from the registry, as
    Mesos's does; the inverse offers outstanding and the frameworks' answers were the old
    master's (in memory only) and start afresh."""
    state.master = master
    state.outstanding.clear()
    state.refused_until.clear()
    state.statuses.clear()
    if state.ticker is not None:
        state.ticker.cancel()
        state.ticker = None
    if state.modes:  # DRAINING machines: their inverse offers go out again
        state.ticker = asyncio.get_running_loop().create_task(_tick(master, state))


def _key(mid: mesos_pb2.MachineID) -> Machine:
    return (mid.hostname.lower(), mid.ip)


def _show(mid: mesos_pb2.MachineID) -> str:
    return orjson.dumps(_codec.to_dict(mid)).decode()


def _check_machine(mid: mesos_pb2.MachineID) -> str | None:
    if not mid.hostname and not mid.ip:
        return "Both 'hostname' and 'ip' for a machine are empty"
    return None


def agent_machine(entry: AgentEntry) -> Machine:
    """The machine an agent runs on: its hostname and IP."""
    return _link_machine(entry.agent)


def _link_machine(agent: AgentLink) -> Machine:
    ip = agent.pid.rpartition("@")[2].rpartition(":")[0]
    return (agent.agent_info().hostname.lower(), ip)


REFUSED_MESSAGE = "Machine is `DOWN`"
"""What Mesos's master tells an agent of a ``DOWN`` machine that (re-)registers (``ShutdownMessage``)."""


def refuses_registration(master: Master, agent: AgentLink) -> bool:
    """Whether the master refuses an agent's (re-)registration: its machine is ``DOWN``.

    As Mesos's ``Master::_registerSlave`` and ``_reregisterSlave``: the agent is told to shut
    down (``Machine is `DOWN```) and the master does not add it, nor learn its tasks. Here
    the agent shuts its executors down and stays unregistered; after ``STOP_MAINTENANCE`` it
    registers, as a new agent, when restarted.
    """
    if master.registry.maintenance is None:
        return False
    state = _state(master)
    machine = _link_machine(agent)
    if state.modes.get(machine) != mesos_pb2.MachineInfo.DOWN:
        return False
    log.warning(
        "Refusing registration of agent at %s because the machine '%s' that it is running on is `DOWN`",
        agent.pid,
        _show(mesos_pb2.MachineID(hostname=machine[0], ip=machine[1])),
    )
    agent.shut_down_by_master()
    refused = state.shut_down.setdefault(machine, [])
    if agent not in refused:
        refused.append(agent)
    return True


def _machine_id(machine: Machine) -> dict[str, str]:
    return {"hostname": machine[0], "ip": machine[1]}


def annotate_offer(master: Master, entry: AgentEntry, offer: mesos_pb2.Offer) -> None:
    """An offer of an agent on a scheduled machine carries the window's unavailability."""
    state = _state(master)
    unavailability = state.unavailability.get(agent_machine(entry))
    if unavailability is not None and agent_machine(entry) in state.modes:
        offer.unavailability.CopyFrom(unavailability)


def operator_call(master: Master, call: master_pb2.Call) -> tuple[int, dict[str, Any] | str]:
    """Answer one of the maintenance calls (`CALLS`)."""
    state = _state(master)
    kind = Call.Type.Name(call.type)
    if call.type == Call.GET_MAINTENANCE_SCHEDULE:
        return 200, {"type": kind, "get_maintenance_schedule": {"schedule": _codec.to_dict(state.schedule)}}
    if call.type == Call.GET_MAINTENANCE_STATUS:
        draining = [
            {"id": _machine_id(m), "statuses": _statuses(state, m)}
            for m, mode in state.modes.items()
            if mode == mesos_pb2.MachineInfo.DRAINING
        ]
        down = [_machine_id(m) for m, mode in state.modes.items() if mode == mesos_pb2.MachineInfo.DOWN]
        status: dict[str, Any] = {}
        if draining:
            status["draining_machines"] = draining
        if down:
            status["down_machines"] = down
        return 200, {"type": kind, "get_maintenance_status": {"status": status}}
    if call.type == Call.UPDATE_MAINTENANCE_SCHEDULE:
        return _update_schedule(master, state, call.update_maintenance_schedule.schedule)
    if call.type == Call.START_MAINTENANCE:
        return _start(master, state, list(call.start_maintenance.machines))
    return _stop(master, state, list(call.stop_maintenance.machines))


def _update_schedule(master: Master, state: _State, schedule: maintenance_pb2.Schedule) -> tuple[int, str]:
    seen: set[Machine] = set()
    for window in schedule.windows:
        if not window.machine_ids:
            return 400, "List of machines in the maintenance window is empty"
        if window.unavailability.HasField("duration") and window.unavailability.duration.nanoseconds < 0:
            return 400, "Unavailability 'duration' is negative"
        for mid in window.machine_ids:
            problem = _check_machine(mid)
            if problem is not None:
                return 400, problem
            if _key(mid) in seen:
                return 400, f"Machine '{_show(mid)}' appears more than once in the schedule"
            seen.add(_key(mid))
    for machine, mode in state.modes.items():
        if mode == mesos_pb2.MachineInfo.DOWN and machine not in seen:
            shown = orjson.dumps(_machine_id(machine)).decode()
            return 400, f"Machine '{shown}' is deactivated and cannot be removed from the schedule"
    state.schedule.CopyFrom(schedule)
    state.modes = {m: state.modes.get(m, mesos_pb2.MachineInfo.DRAINING) for m in seen}
    before = state.unavailability
    state.unavailability = {
        _key(mid): window.unavailability for window in schedule.windows for mid in window.machine_ids
    }
    changed = {
        m for m in set(before) | set(state.unavailability) if before.get(m) != state.unavailability.get(m)
    }
    for entry in master.agents.values():
        if agent_machine(entry) in changed:
            # As Mesos does: offers made before carry the old unavailability, so they are rescinded.
            for oid in list(entry.offers):
                master.rescind(oid)
    if changed:
        master.allocate_soon()
    state.statuses = {m: v for m, v in state.statuses.items() if m in seen}
    state.outstanding = {k: o for k, o in state.outstanding.items() if o.machine in seen}
    send_inverse_offers(master, state)
    if state.ticker is None and state.modes:
        state.ticker = asyncio.get_running_loop().create_task(_tick(master, state))
    return 200, ""


async def _tick(master: Master, state: _State) -> None:
    """Offer again, each allocation interval, as Mesos's allocator does."""
    with contextlib.suppress(asyncio.CancelledError):
        while state.modes and not getattr(master, "_stopped", False):
            await asyncio.sleep(master.config.allocation_interval)
            send_inverse_offers(master, state)
    if state.ticker is asyncio.current_task():
        state.ticker = None


def _statuses(state: _State, machine: Machine) -> list[dict[str, Any]]:
    return [
        {
            "status": _STATUS_NAMES[status],
            "framework_id": {"value": fid},
            "timestamp": {"nanoseconds": int(when * 1e9)},
        }
        for fid, (status, when) in sorted(state.statuses.get(machine, {}).items())
    ]


_STATUS_NAMES = {1: "UNKNOWN", 2: "ACCEPT", 3: "DECLINE"}


def inverse_offers_answered(master: Master, framework_id: str, call: scheduler_pb2.Call) -> None:
    """A framework's ``ACCEPT_INVERSE_OFFERS`` or ``DECLINE_INVERSE_OFFERS``."""
    state = _state(master)
    accept = call.type == scheduler_pb2.Call.ACCEPT_INVERSE_OFFERS
    answer = call.accept_inverse_offers if accept else call.decline_inverse_offers
    refuse = answer.filters.refuse_seconds if answer.HasField("filters") else DEFAULT_REFUSE_SECONDS
    now = time.time()
    for oid in answer.inverse_offer_ids:
        offer = state.outstanding.get(oid.value)
        if offer is None or offer.framework_id != framework_id:
            continue
        del state.outstanding[oid.value]
        state.statuses.setdefault(offer.machine, {})[framework_id] = (2 if accept else 3, now)
        state.refused_until[(framework_id, offer.agent_id)] = time.monotonic() + refuse


def send_inverse_offers(master: Master, state: _State) -> None:
    """``INVERSE_OFFERS`` to each framework using resources on a draining machine's agents."""
    pending = {(o.framework_id, o.agent_id) for o in state.outstanding.values()}
    now = time.monotonic()
    for entry in master.agents.values():
        machine = agent_machine(entry)
        if state.modes.get(machine) != mesos_pb2.MachineInfo.DRAINING:
            continue
        unavailability = state.unavailability[machine]
        for fid in list(entry.used):
            fw = master.frameworks.get(fid)
            if fw is None or not fw.connected or (fid, entry.id) in pending:
                continue
            if state.refused_until.get((fid, entry.id), 0.0) > now:
                continue
            offer = mesos_pb2.InverseOffer()
            offer.id.value = f"{master.id}-IO{state.next_inverse_offer}"
            state.next_inverse_offer += 1
            offer.url.scheme = "http"
            offer.url.address.hostname = master.config.hostname
            offer.url.address.ip = master.address
            offer.url.address.port = entry.agent.port
            offer.url.path = "/" + entry.agent.pid.partition("@")[0]
            offer.framework_id.value = fid
            offer.agent_id.value = entry.id
            offer.unavailability.CopyFrom(unavailability)
            state.outstanding[offer.id.value] = _Outstanding(fid, entry.id, machine)
            event = scheduler_pb2.Event(type=scheduler_pb2.Event.INVERSE_OFFERS)
            event.inverse_offers.inverse_offers.append(offer)
            fw.send(event)


def _start(master: Master, state: _State, machines: list[mesos_pb2.MachineID]) -> tuple[int, str]:
    if not machines:
        return 400, "List of machines is empty"
    for mid in machines:
        problem = _check_machine(mid)
        if problem is not None:
            return 400, problem
        if _key(mid) not in state.modes:
            return 400, f"Machine '{_show(mid)}' is not part of a maintenance schedule"
        if state.modes[_key(mid)] != mesos_pb2.MachineInfo.DRAINING:
            return 400, f"Machine '{_show(mid)}' is not in DRAINING mode and cannot be brought down"
    for mid in machines:
        machine = _key(mid)
        for entry in [e for e in master.agents.values() if agent_machine(e) == machine]:
            _shut_down(master, state, entry, machine)
        state.modes[machine] = mesos_pb2.MachineInfo.DOWN
    return 200, ""


DOWN_MESSAGE = "Operator initiated 'Machine DOWN'"


def _shut_down(master: Master, state: _State, entry: AgentEntry, machine: Machine) -> None:
    """As Mesos's ``_startMaintenance``: the agent is told to shut down and is removed.

    The master removes it (its tasks ``TASK_LOST``, or ``TASK_GONE_BY_OPERATOR`` for
    partition-aware frameworks, with the message
    ``Agent <hostname> removed: Operator initiated 'Machine DOWN'``;
    ``AGENT_REMOVED``; its outstanding inverse offers rescinded); the agent shuts its
    executors down and forgets its id, as a Mesos agent shut down by its master does. It
    stays unregistered while the machine is down; restarted after ``STOP_MAINTENANCE``
    it registers as a new agent.
    """
    agent = entry.agent
    for oid, outstanding in list(state.outstanding.items()):
        if outstanding.agent_id != entry.id:
            continue
        del state.outstanding[oid]
        fw = master.frameworks.get(outstanding.framework_id)
        if fw is not None:
            event = scheduler_pb2.Event(type=scheduler_pb2.Event.RESCIND_INVERSE_OFFER)
            event.rescind_inverse_offer.inverse_offer_id.value = oid
            fw.send(event)
    master.remove_agent(entry.id, unreachable=False, why=f"Agent {agent.hostname} removed: {DOWN_MESSAGE}")
    master.gone_agents.discard(entry.id)  # removed, not marked gone
    agent.shut_down_by_master()
    state.shut_down.setdefault(machine, []).append(agent)


def _stop(master: Master, state: _State, machines: list[mesos_pb2.MachineID]) -> tuple[int, str]:
    if not machines:
        return 400, "List of machines is empty"
    for mid in machines:
        problem = _check_machine(mid)
        if problem is not None:
            return 400, problem
        if state.modes.get(_key(mid)) != mesos_pb2.MachineInfo.DOWN:
            return 400, f"Machine '{_show(mid)}' is not in DOWN mode and cannot be brought up"
    done = {_key(m) for m in machines}
    for machine in done:
        del state.modes[machine]
        state.statuses.pop(machine, None)
        for agent in state.shut_down.pop(machine, []):
            agent.allow_reregistration()
    kept = maintenance_pb2.Schedule()
    for window in state.schedule.windows:
        ids = [m for m in window.machine_ids if _key(m) not in done]
        if ids:
            new = kept.windows.add()
            new.machine_ids.extend(ids)
            new.unavailability.CopyFrom(window.unavailability)
    state.schedule.CopyFrom(kept)
    master.allocate_soon()
    return 200, ""
