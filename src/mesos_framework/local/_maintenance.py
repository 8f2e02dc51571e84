"""Maintenance on the local master: schedules, machine modes and inverse offers.

``UPDATE_MAINTENANCE_SCHEDULE`` puts the machines of each window in
``DRAINING`` mode and sends every framework using resources on an agent of
such a machine an ``INVERSE_OFFERS`` event (with the window's
unavailability), as Mesos's allocator does. ``START_MAINTENANCE`` takes
draining machines ``DOWN`` (their agents are deactivated: no more offers);
``STOP_MAINTENANCE`` brings them back up and out of the schedule. A machine
is matched to an agent by hostname and IP, as Mesos does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mesos_framework.local import _codec
from mesos_framework.protocol._schema import maintenance_pb2, master_pb2, mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import AgentEntry, Master

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


class _State:
    def __init__(self) -> None:
        self.schedule = maintenance_pb2.Schedule()
        self.modes: dict[Machine, int] = {}
        self.next_inverse_offer = 0


def _state(master: Master) -> _State:
    state: _State | None = getattr(master, "_maintenance", None)
    if state is None:
        state = _State()
        setattr(master, "_maintenance", state)  # noqa: B010 - kept beside the master
    return state


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
    info = entry.agent.agent_info()
    ip = entry.agent.pid.rpartition("@")[2].rpartition(":")[0]
    return (info.hostname.lower(), ip)


def _machine_id(machine: Machine) -> dict[str, str]:
    return {"hostname": machine[0], "ip": machine[1]}


def operator_call(master: Master, call: master_pb2.Call) -> tuple[int, dict[str, Any] | str]:
    """Answer one of the maintenance calls (:data:`CALLS`)."""
    state = _state(master)
    kind = Call.Type.Name(call.type)
    if call.type == Call.GET_MAINTENANCE_SCHEDULE:
        return 200, {"type": kind, "get_maintenance_schedule": {"schedule": _codec.to_dict(state.schedule)}}
    if call.type == Call.GET_MAINTENANCE_STATUS:
        draining = [
            {"id": _machine_id(m)}
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
    for window in schedule.windows:
        for mid in window.machine_ids:
            if state.modes[_key(mid)] == mesos_pb2.MachineInfo.DRAINING:
                _send_inverse_offers(master, state, _key(mid), window.unavailability)
    return 200, ""


def _send_inverse_offers(
    master: Master, state: _State, machine: Machine, unavailability: mesos_pb2.Unavailability
) -> None:
    """``INVERSE_OFFERS`` to each framework using resources on the machine's agents."""
    for entry in master.agents.values():
        if agent_machine(entry) != machine:
            continue
        for fid in list(entry.used):
            fw = master.frameworks.get(fid)
            if fw is None or not fw.connected:
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
        state.modes[_key(mid)] = mesos_pb2.MachineInfo.DOWN
        for entry in master.agents.values():
            if agent_machine(entry) == _key(mid):
                entry.active = False
                for oid in list(entry.offers):
                    master.rescind(oid)
    return 200, ""


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
        for entry in master.agents.values():
            if agent_machine(entry) == machine:
                entry.active = True
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
