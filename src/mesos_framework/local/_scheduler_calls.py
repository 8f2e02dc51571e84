"""The scheduler API's calls after HTTP validation (``Master::Http::scheduler`` onwards):
ACCEPT with its LAUNCH / LAUNCH_GROUP operations, DECLINE, KILL, ACKNOWLEDGE, RECONCILE,
REVIVE / SUPPRESS, UPDATE_FRAMEWORK, SHUTDOWN, MESSAGE, TEARDOWN, as Mesos 1.11's master
handles them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mesos_framework.local import _maintenance
from mesos_framework.local._limits import resources_problem
from mesos_framework.local._master_model import TERMINAL, AgentEntry, Framework, MasterTask, framework_roles
from mesos_framework.local._master_updates import make_status, operation_error, send_update
from mesos_framework.local._master_validation import (
    task_resources,
    validate_framework_update,
    validate_offers,
    validate_role,
    validate_task,
    without_alloc,
)
from mesos_framework.local.resources import Resources, shared_problem
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import Master

__all__ = ["call"]

Call = scheduler_pb2.Call


def call(master: Master, call: scheduler_pb2.Call, stream_id: str | None) -> tuple[int, str]:
    """A non-SUBSCRIBE call after HTTP validation: the (status, body) to answer."""
    fid = call.framework_id.value
    fw = master.frameworks.get(fid)
    if fw is None:
        return 400, "Framework cannot be found"
    if not fw.connected:
        return 403, "Framework is not subscribed"
    if stream_id is None:
        return 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
    assert fw.stream is not None
    if stream_id != fw.stream.id:
        return (
            400,
            f"The stream ID '{stream_id}' included in this request didn't match the stream ID "
            f"currently associated with framework ID {fid}",
        )
    t = call.type
    if t == Call.TEARDOWN:
        master.remove_framework(fw)
    elif t == Call.ACCEPT:
        accept(master, fw, call.accept)
    elif t == Call.DECLINE:
        for oid in call.decline.offer_ids:
            if oid.value in fw.offers:
                master.discard_offer(oid.value, filters=call.decline.filters)
    elif t == Call.REVIVE:
        revive(master, fw, list(call.revive.roles))
    elif t == Call.SUPPRESS:
        suppress(master, fw, list(call.suppress.roles))
    elif t == Call.KILL:
        kill(master, fw, call.kill)
    elif t == Call.SHUTDOWN:
        entry = master.agents.get(call.shutdown.agent_id.value)
        if entry is not None:
            entry.agent.shutdown_executor(fid, call.shutdown.executor_id.value)
    elif t == Call.ACKNOWLEDGE:
        acknowledge(master, fw, call.acknowledge)
    elif t == Call.RECONCILE:
        reconcile(master, fw, call.reconcile)
    elif t == Call.MESSAGE:
        entry = master.agents.get(call.message.agent_id.value)
        if entry is not None:
            entry.agent.framework_message(fid, call.message.executor_id.value, call.message.data)
    elif t == Call.RECONCILE_OPERATIONS:
        master.operations.reconcile(fw, call.reconcile_operations)
    elif t == Call.UPDATE_FRAMEWORK:
        return update_framework(master, fw, call.update_framework)
    elif t == Call.ACKNOWLEDGE_OPERATION_STATUS:
        master.operations.acknowledge(fw, call.acknowledge_operation_status)
    elif t in (Call.ACCEPT_INVERSE_OFFERS, Call.DECLINE_INVERSE_OFFERS):
        _maintenance.inverse_offers_answered(master, fw.id, call)
    elif t == Call.UNKNOWN:
        return 501, ""
    # REQUEST: accepted, no effect.
    return 202, ""


def acknowledge(master: Master, fw: Framework, ack: scheduler_pb2.Call.Acknowledge) -> None:
    entry = master.agents.get(ack.agent_id.value)
    if entry is None or not entry.connected:
        return  # the agent resends the update once it is back
    task = fw.tasks.get(ack.task_id.value)
    if (
        task is not None
        and task.status_update_uuid == ack.uuid
        and task.status_update_state is not None
        and task.status_update_state in TERMINAL
    ):
        del fw.tasks[task.id]
        fw.completed_tasks.append(task)
    entry.agent.acknowledge(fw.id, ack.task_id.value, ack.uuid)


def reconcile(master: Master, fw: Framework, rec: scheduler_pb2.Call.Reconcile) -> None:
    reason = mesos_pb2.TaskStatus.REASON_RECONCILIATION
    if not rec.tasks:
        for task in fw.tasks.values():
            send_update(fw, latest(fw, task))
        return
    for t in rec.tasks:
        tid = t.task_id.value
        aid = t.agent_id.value if t.HasField("agent_id") else None
        known = fw.tasks.get(tid)
        pa = fw.partition_aware
        if known is not None:
            status = latest(fw, known)
        elif aid is not None and aid in master.agents:
            state = mesos_pb2.TASK_GONE if pa else mesos_pb2.TASK_LOST
            status = make_status(tid, state, "Reconciliation: Task is unknown to the agent", reason, aid)
        elif aid is not None and aid in master.unreachable_agents:
            state = mesos_pb2.TASK_UNREACHABLE if pa else mesos_pb2.TASK_LOST
            status = make_status(tid, state, "Reconciliation: Task is unreachable", reason, aid)
            status.unreachable_time.nanoseconds = int(master.unreachable_agents[aid] * 1e9)
        elif aid is not None and aid in master.gone_agents:
            state = mesos_pb2.TASK_GONE_BY_OPERATOR if pa else mesos_pb2.TASK_LOST
            status = make_status(tid, state, "Reconciliation: Task is gone", reason, aid)
        else:
            state = mesos_pb2.TASK_UNKNOWN if pa else mesos_pb2.TASK_LOST
            status = make_status(tid, state, "Reconciliation: Task is unknown", reason, aid)
        send_update(fw, status)


def latest(fw: Framework, task: MasterTask) -> mesos_pb2.TaskStatus:
    state = task.status_update_state if task.status_update_state is not None else task.state
    status = make_status(
        task.id,
        state,
        "Reconciliation: Latest task state",
        mesos_pb2.TaskStatus.REASON_RECONCILIATION,
        task.agent_id,
    )
    if task.executor_id:
        status.executor_id.value = task.executor_id
    if task.statuses and task.statuses[-1].HasField("container_status"):
        status.container_status.CopyFrom(task.statuses[-1].container_status)
    return status


def kill(master: Master, fw: Framework, kill: scheduler_pb2.Call.Kill) -> None:
    task = fw.tasks.get(kill.task_id.value)
    if task is None:
        rec = scheduler_pb2.Call.Reconcile()
        t = rec.tasks.add()
        t.task_id.CopyFrom(kill.task_id)
        if kill.HasField("agent_id"):
            t.agent_id.CopyFrom(kill.agent_id)
        reconcile(master, fw, rec)
        return
    if kill.HasField("agent_id") and kill.agent_id.value != task.agent_id:
        return
    entry = master.agents.get(task.agent_id)
    if entry is None:
        return
    policy = kill.kill_policy if kill.HasField("kill_policy") else None
    entry.agent.kill_task(fw.id, task.id, policy)


def update_framework(
    master: Master, fw: Framework, upd: scheduler_pb2.Call.UpdateFramework
) -> tuple[int, str]:
    error = validate_framework_update(fw, upd)
    if error is not None:
        return 400, error
    info = mesos_pb2.FrameworkInfo()
    info.CopyFrom(upd.framework_info)
    roles = set(framework_roles(info))
    removed = set(fw.roles) - roles
    fw.info = info
    for oid in [o for o in fw.offers if master.offers[o].role in removed]:
        master.rescind(oid)
    unsuppressed = fw.suppressed - set(upd.suppressed_roles)
    fw.suppressed = set(upd.suppressed_roles)
    fw.filters = [f for f in fw.filters if f.role not in unsuppressed and f.role in roles]
    for entry in master.agents.values():
        entry.agent.update_framework(info)
    master.publish_framework("FRAMEWORK_UPDATED", fw)
    master.allocate_soon()
    return 200, ""


def roles_valid(fw: Framework, roles: list[str]) -> bool:
    subscribed = set(fw.roles)
    return all(validate_role(r) is None and r in subscribed for r in roles)


def revive(master: Master, fw: Framework, roles: list[str]) -> None:
    if not roles_valid(fw, roles):
        return
    targets = set(roles or fw.roles)
    fw.suppressed -= targets
    fw.filters = [f for f in fw.filters if f.role not in targets]
    master.allocate_soon()


def suppress(master: Master, fw: Framework, roles: list[str]) -> None:
    if not roles_valid(fw, roles):
        return
    fw.suppressed |= set(roles or fw.roles)


def accept(master: Master, fw: Framework, accept: scheduler_pb2.Call.Accept) -> None:
    ids = [o.value for o in accept.offer_ids]
    error = validate_offers(master.offers, fw, ids)
    if error is not None:
        for oid in ids:
            if oid in fw.offers:
                master.discard_offer(oid, filters=None)
        state = mesos_pb2.TASK_DROPPED if fw.partition_aware else mesos_pb2.TASK_LOST
        for op in accept.operations:
            if op.type == mesos_pb2.Offer.Operation.LAUNCH:
                tasks: Iterable[mesos_pb2.TaskInfo] = op.launch.task_infos
            elif op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP:
                tasks = op.launch_group.task_group.tasks
            else:
                operation_error(fw, op, f"Operation attempted with invalid offers: {error}")
                continue
            for task in tasks:
                st = make_status(
                    task.task_id.value,
                    state,
                    f"Task launched with invalid offers: {error}",
                    mesos_pb2.TaskStatus.REASON_INVALID_OFFERS,
                    task.agent_id.value,
                )
                send_update(fw, st)
        master.allocate_soon()
        return
    offers = [master.offers[o] for o in ids]
    role = offers[0].role
    agent_id = offers[0].agent_id
    entry = master.agents[agent_id]
    available = Resources()
    for offer in offers:
        available += offer.resources
        master.discard_offer(offer.id, filters=None)
    # The offered shared resources stay usable by every task of the ACCEPT (Master::_accept's
    # `remainingSharedResources`): only a CREATE or DESTROY changes them.
    shared = available.shared()
    for op in accept.operations:
        invalid = invalid_resources(op)
        if invalid is not None:
            if op.type == mesos_pb2.Offer.Operation.LAUNCH:
                for task in op.launch.task_infos:
                    task_error(fw, task, invalid)
            elif op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP:
                for task in op.launch_group.task_group.tasks:
                    task_error(fw, task, invalid, mesos_pb2.TaskStatus.REASON_TASK_GROUP_INVALID)
            else:
                operation_error(fw, op, f"Operation attempted with invalid resources: {invalid}")
            continue
        if op.type == mesos_pb2.Offer.Operation.LAUNCH:
            for task in op.launch.task_infos:
                if op.HasField("id"):
                    task_error(fw, task, "The `id` field cannot be set on LAUNCH operations")
                    continue
                available = launch(master, fw, entry, role, task, available, shared=shared)
        elif op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP:
            available = launch_group(master, fw, entry, role, op, available)
        else:
            available = master.operations.perform(fw, entry, role, op, available)
            shared = available.shared()
    if available:
        filters = accept.filters if accept.HasField("filters") else mesos_pb2.Filters()
        master.add_filter(fw, role, agent_id, available.unallocated(), filters)
    master.allocate_soon()


def invalid_resources(op: mesos_pb2.Offer.Operation) -> str | None:
    """``validateAndUpgradeResources`` of ``Master::accept`` (as far as the local cluster checks
    resources before ``Master::_accept``): a resource shared that is not a persistent volume."""
    Op = mesos_pb2.Offer.Operation
    protos: list[mesos_pb2.Resource] = []
    if op.type == Op.LAUNCH:
        for task in op.launch.task_infos:
            protos.extend([*task.resources, *task.executor.resources])
    elif op.type == Op.LAUNCH_GROUP:
        protos.extend(op.launch_group.executor.resources)
        for task in op.launch_group.task_group.tasks:
            protos.extend([*task.resources, *task.executor.resources])
    elif op.type in (Op.RESERVE, Op.UNRESERVE):
        protos.extend(op.reserve.resources if op.type == Op.RESERVE else op.unreserve.resources)
    elif op.type in (Op.CREATE, Op.DESTROY):
        protos.extend(op.create.volumes if op.type == Op.CREATE else op.destroy.volumes)
    return next((why for why in map(shared_problem, protos) if why), None)


def task_error(
    fw: Framework,
    task: mesos_pb2.TaskInfo,
    message: str,
    reason: int = mesos_pb2.TaskStatus.REASON_TASK_INVALID,
) -> None:
    st = make_status(task.task_id.value, mesos_pb2.TASK_ERROR, message, reason, task.agent_id.value)
    send_update(fw, st)


def launch(  # noqa: PLR0917 - one LAUNCH of an ACCEPT
    master: Master,
    fw: Framework,
    entry: AgentEntry,
    role: str,
    task: mesos_pb2.TaskInfo,
    available: Resources,
    *,
    shared: Resources | None = None,
) -> Resources:
    """One task of a LAUNCH; returns what is left of the offers. ``shared``: the offered shared
    resources, which the task may use even when earlier tasks of the ACCEPT took them."""
    err = validate_task(fw, entry, task)
    if err is not None:
        task_error(fw, task, err)
        return available
    res, err = task_resources(role, task)
    if err is not None:
        task_error(fw, task, err)
        return available
    total = res.copy()
    new_executor = False
    if task.HasField("executor"):
        eid = task.executor.executor_id.value
        if eid not in fw.executors.get(entry.id, {}):
            new_executor = True
            total += Resources.from_protos(task.executor.resources, role)
    usable = available if shared is None else available.non_shared() + shared
    if not usable.contains(total):
        task_error(
            fw,
            task,
            f"Total resources {total} required by task and its executor is more than available {usable}",
        )
        return available
    available = available - total
    info = mesos_pb2.TaskInfo()
    info.CopyFrom(task)
    for r in info.resources:
        if not r.HasField("allocation_info"):
            r.allocation_info.role = role
    if info.HasField("executor"):
        if not info.executor.HasField("framework_id"):
            info.executor.framework_id.value = fw.id
        for r in info.executor.resources:
            if not r.HasField("allocation_info"):
                r.allocation_info.role = role
        if new_executor:
            fw.executors.setdefault(entry.id, {})[info.executor.executor_id.value] = info.executor
            master.use(entry, fw.id, Resources.from_protos(info.executor.resources).unallocated())
    mt = MasterTask(
        info=info,
        framework_id=fw.id,
        agent_id=entry.id,
        role=role,
        resources=res,
        executor_id=info.executor.executor_id.value if info.HasField("executor") else "",
    )
    fw.tasks[mt.id] = mt
    master.use(entry, fw.id, res.unallocated())
    master.publish_task_added(mt)
    entry.agent.run_task(fw.info, info)
    return available


def launch_group(  # noqa: PLR0917 - one LAUNCH_GROUP of an ACCEPT
    master: Master,
    fw: Framework,
    entry: AgentEntry,
    role: str,
    op: mesos_pb2.Offer.Operation,
    available: Resources,
) -> Resources:
    group = op.launch_group
    tasks = list(group.task_group.tasks)
    executor = group.executor
    reason = mesos_pb2.TaskStatus.REASON_TASK_GROUP_INVALID

    def fail(message: str) -> Resources:
        for t in tasks:
            task_error(fw, t, message, reason)
        return available

    if op.HasField("id"):
        return fail("The `id` field cannot be set on LAUNCH operations")
    if not executor.HasField("type"):
        return fail("'ExecutorInfo.type' must be set")
    if executor.type == mesos_pb2.ExecutorInfo.UNKNOWN:
        return fail("Unknown executor type")
    if executor.HasField("container") and executor.container.type == mesos_pb2.ContainerInfo.DOCKER:
        return fail("Docker ContainerInfo is not supported on the executor")
    if executor.type == mesos_pb2.ExecutorInfo.DEFAULT and executor.HasField("command"):
        return fail("'ExecutorInfo.command' must not be set for 'DEFAULT' executor")
    err = resources_problem([*executor.resources, *(r for t in tasks for r in t.resources)])
    if err:
        return fail(err)
    eres = Resources.from_protos(executor.resources, role)
    eid = executor.executor_id.value
    new_executor = eid not in fw.executors.get(entry.id, {})
    if new_executor:
        if eres.scalar("cpus") < 0.01:
            return fail(
                f"Executor '{eid}' uses less cpus ({eres.scalar('cpus'):g}) than the minimum required (0.01)"
            )
        if eres.scalar("mem") < 32:
            return fail(
                f"Executor '{eid}' uses less memory ({eres.scalar('mem'):g}) than the minimum required (32MB)"
            )
        if not any(r.name == "disk" for r in executor.resources):
            return fail(f"Executor '{eid}' uses no disk")
    total = eres.copy() if new_executor else Resources()
    for t in tasks:
        probe = mesos_pb2.TaskInfo()
        probe.CopyFrom(t)
        if probe.HasField("executor"):
            if without_alloc(probe.executor) != without_alloc(executor):
                return fail(
                    f"Task '{t.task_id.value}' is invalid: The `ExecutorInfo` of the task "
                    "must match the executor of the task group"
                )
            probe.ClearField("executor")
        if not probe.HasField("command"):
            probe.command.SetInParent()
        err = validate_task(fw, entry, probe)
        if err is not None:
            return fail(f"Task '{t.task_id.value}' is invalid: {err}")
        if t.HasField("container") and t.container.type == mesos_pb2.ContainerInfo.DOCKER:
            return fail(
                f"Task '{t.task_id.value}' is invalid: Docker ContainerInfo is not supported on the task"
            )
        res, err = task_resources(role, t)
        if err is not None:
            return fail(f"Task '{t.task_id.value}' is invalid: {err}")
        total += res
    ids = [t.task_id.value for t in tasks]
    if len(set(ids)) != len(ids):
        return fail("Duplicate task ids in the task group")
    if not available.contains(total):
        return fail(
            f"Total resources {total} required by task group and its executor "
            f"are more than available {available}"
        )
    available = available - total
    ex = mesos_pb2.ExecutorInfo()
    ex.CopyFrom(executor)
    if not ex.HasField("framework_id"):
        ex.framework_id.value = fw.id
    for r in ex.resources:
        if not r.HasField("allocation_info"):
            r.allocation_info.role = role
    if new_executor:
        fw.executors.setdefault(entry.id, {})[eid] = ex
        master.use(entry, fw.id, Resources.from_protos(ex.resources).unallocated())
    infos = []
    for t in tasks:
        info = mesos_pb2.TaskInfo()
        info.CopyFrom(t)
        info.executor.CopyFrom(ex)
        for r in info.resources:
            if not r.HasField("allocation_info"):
                r.allocation_info.role = role
        res = Resources.from_protos(info.resources, role)
        mt = MasterTask(
            info=info, framework_id=fw.id, agent_id=entry.id, role=role, resources=res, executor_id=eid
        )
        fw.tasks[mt.id] = mt
        master.use(entry, fw.id, res.unallocated())
        master.publish_task_added(mt)
        infos.append(info)
    entry.agent.run_task_group(fw.info, ex, infos)
    return available
