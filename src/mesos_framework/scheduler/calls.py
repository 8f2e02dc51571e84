"""Pure constructors of scheduler ``Call`` messages (no I/O).

IDs may be given as strings or as their Mesos messages. The caller (the
`Scheduler`) fills in ``framework_id``
when it sends the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from mesos_framework.errors import MessageError
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

__all__ = [
    "accept",
    "accept_inverse_offers",
    "acknowledge",
    "acknowledge_operation_status",
    "decline",
    "decline_inverse_offers",
    "filters",
    "kill",
    "launch",
    "message",
    "reconcile",
    "reconcile_operations",
    "request",
    "revive",
    "shutdown",
    "subscribe",
    "suppress",
    "teardown",
    "update_framework",
]

Call = scheduler_pb2.Call
IdT = TypeVar("IdT", bound=Message)


def _id(cls: type[IdT], value: str | IdT, what: str) -> IdT:
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value:
        out = cls()
        out.value = value  # type: ignore[attr-defined]
        return out
    raise MessageError(what, f"expected a non-empty string or {cls.DESCRIPTOR.name}, got {value!r}")


def filters(refuse_seconds: float | None) -> mesos_pb2.Filters | None:
    """A ``Filters`` message refusing the resources for ``refuse_seconds`` (``None``: Mesos' default 5 s)."""
    if refuse_seconds is None:
        return None
    return mesos_pb2.Filters(refuse_seconds=float(refuse_seconds))


def subscribe(
    framework_info: mesos_pb2.FrameworkInfo, *, suppressed_roles: Sequence[str] = ()
) -> scheduler_pb2.Call:
    """SUBSCRIBE with ``framework_info`` (its ``id`` makes it a failover re-subscription)."""
    call = Call(type=Call.SUBSCRIBE)
    call.subscribe.framework_info.CopyFrom(framework_info)
    call.subscribe.suppressed_roles.extend(suppressed_roles)
    if framework_info.HasField("id"):
        call.framework_id.CopyFrom(framework_info.id)
    return call


def teardown() -> scheduler_pb2.Call:
    """TEARDOWN: end the framework and kill all its tasks."""
    return Call(type=Call.TEARDOWN)


def launch(task_infos: Iterable[mesos_pb2.TaskInfo]) -> mesos_pb2.Offer.Operation:
    """A LAUNCH operation for ``accept``."""
    op = mesos_pb2.Offer.Operation(type=mesos_pb2.Offer.Operation.LAUNCH)
    op.launch.task_infos.extend(task_infos)
    return op


def accept(
    offer_ids: Iterable[str | mesos_pb2.OfferID],
    operations: Iterable[mesos_pb2.Offer.Operation],
    refuse_seconds: float | None = None,
) -> scheduler_pb2.Call:
    """ACCEPT offers with operations; unused resources are refused for ``refuse_seconds``."""
    call = Call(type=Call.ACCEPT)
    call.accept.offer_ids.extend(_id(mesos_pb2.OfferID, o, "Call.accept.offer_ids") for o in offer_ids)
    call.accept.operations.extend(operations)
    f = filters(refuse_seconds)
    if f is not None:
        call.accept.filters.CopyFrom(f)
    return call


def decline(
    offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
) -> scheduler_pb2.Call:
    """DECLINE offers, refusing their resources for ``refuse_seconds``."""
    call = Call(type=Call.DECLINE)
    call.decline.offer_ids.extend(_id(mesos_pb2.OfferID, o, "Call.decline.offer_ids") for o in offer_ids)
    f = filters(refuse_seconds)
    if f is not None:
        call.decline.filters.CopyFrom(f)
    return call


def accept_inverse_offers(
    inverse_offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
) -> scheduler_pb2.Call:
    """ACCEPT_INVERSE_OFFERS (agree to a maintenance window)."""
    call = Call(type=Call.ACCEPT_INVERSE_OFFERS)
    body = call.accept_inverse_offers
    body.inverse_offer_ids.extend(
        _id(mesos_pb2.OfferID, o, "Call.accept_inverse_offers.inverse_offer_ids") for o in inverse_offer_ids
    )
    f = filters(refuse_seconds)
    if f is not None:
        body.filters.CopyFrom(f)
    return call


def decline_inverse_offers(
    inverse_offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
) -> scheduler_pb2.Call:
    """DECLINE_INVERSE_OFFERS."""
    call = Call(type=Call.DECLINE_INVERSE_OFFERS)
    body = call.decline_inverse_offers
    body.inverse_offer_ids.extend(
        _id(mesos_pb2.OfferID, o, "Call.decline_inverse_offers.inverse_offer_ids") for o in inverse_offer_ids
    )
    f = filters(refuse_seconds)
    if f is not None:
        body.filters.CopyFrom(f)
    return call


def revive(roles: Iterable[str] = ()) -> scheduler_pb2.Call:
    """REVIVE offers (for ``roles``, or all the framework's roles)."""
    call = Call(type=Call.REVIVE)
    call.revive.roles.extend(roles)
    return call


def suppress(roles: Iterable[str] = ()) -> scheduler_pb2.Call:
    """SUPPRESS offers (for ``roles``, or all the framework's roles)."""
    call = Call(type=Call.SUPPRESS)
    call.suppress.roles.extend(roles)
    return call


def kill(
    task_id: str | mesos_pb2.TaskID,
    agent_id: str | mesos_pb2.AgentID | None = None,
    *,
    grace_period: float | None = None,
) -> scheduler_pb2.Call:
    """KILL a task, optionally overriding its kill grace period (seconds)."""
    call = Call(type=Call.KILL)
    call.kill.task_id.CopyFrom(_id(mesos_pb2.TaskID, task_id, "Call.kill.task_id"))
    if agent_id is not None:
        call.kill.agent_id.CopyFrom(_id(mesos_pb2.AgentID, agent_id, "Call.kill.agent_id"))
    if grace_period is not None:
        call.kill.kill_policy.grace_period.nanoseconds = int(grace_period * 1e9)
    return call


def shutdown(
    executor_id: str | mesos_pb2.ExecutorID, agent_id: str | mesos_pb2.AgentID
) -> scheduler_pb2.Call:
    """SHUTDOWN an executor."""
    call = Call(type=Call.SHUTDOWN)
    call.shutdown.executor_id.CopyFrom(_id(mesos_pb2.ExecutorID, executor_id, "Call.shutdown.executor_id"))
    call.shutdown.agent_id.CopyFrom(_id(mesos_pb2.AgentID, agent_id, "Call.shutdown.agent_id"))
    return call


def acknowledge(
    agent_id: str | mesos_pb2.AgentID, task_id: str | mesos_pb2.TaskID, uuid: bytes
) -> scheduler_pb2.Call:
    """ACKNOWLEDGE one status update (its ``uuid`` as raw bytes)."""
    if not isinstance(uuid, bytes) or not uuid:
        raise MessageError("Call.acknowledge.uuid", "expected the status update's non-empty uuid bytes")
    call = Call(type=Call.ACKNOWLEDGE)
    ack = call.acknowledge
    # The messages of the update itself, in the common case (one call per update: no detour).
    if type(agent_id) is not mesos_pb2.AgentID:
        agent_id = _id(mesos_pb2.AgentID, agent_id, "Call.acknowledge.agent_id")
    if type(task_id) is not mesos_pb2.TaskID:
        task_id = _id(mesos_pb2.TaskID, task_id, "Call.acknowledge.task_id")
    ack.agent_id.CopyFrom(agent_id)
    ack.task_id.CopyFrom(task_id)
    ack.uuid = uuid
    return call


def acknowledge_operation_status(
    agent_id: str | mesos_pb2.AgentID | None,
    resource_provider_id: str | mesos_pb2.ResourceProviderID | None,
    operation_id: str | mesos_pb2.OperationID,
    uuid: bytes,
) -> scheduler_pb2.Call:
    """ACKNOWLEDGE_OPERATION_STATUS of an offer operation's update."""
    call = Call(type=Call.ACKNOWLEDGE_OPERATION_STATUS)
    body = call.acknowledge_operation_status
    if agent_id is not None:
        body.agent_id.CopyFrom(_id(mesos_pb2.AgentID, agent_id, "Call.acknowledge_operation_status.agent_id"))
    if resource_provider_id is not None:
        body.resource_provider_id.CopyFrom(
            _id(
                mesos_pb2.ResourceProviderID,
                resource_provider_id,
                "Call.acknowledge_operation_status.resource_provider_id",
            )
        )
    body.operation_id.CopyFrom(
        _id(mesos_pb2.OperationID, operation_id, "Call.acknowledge_operation_status.operation_id")
    )
    if not isinstance(uuid, bytes) or not uuid:
        raise MessageError("Call.acknowledge_operation_status.uuid", "expected non-empty uuid bytes")
    body.uuid = uuid
    return call


def reconcile(
    tasks: Iterable[tuple[str | mesos_pb2.TaskID, str | mesos_pb2.AgentID | None]] = (),
) -> scheduler_pb2.Call:
    """RECONCILE: explicit for the ``(task_id, agent_id)`` pairs given, implicit (all tasks) for none."""
    call = Call(type=Call.RECONCILE)
    for task_id, agent_id in tasks:
        item = call.reconcile.tasks.add()
        item.task_id.CopyFrom(_id(mesos_pb2.TaskID, task_id, "Call.reconcile.tasks.task_id"))
        if agent_id is not None:
            item.agent_id.CopyFrom(_id(mesos_pb2.AgentID, agent_id, "Call.reconcile.tasks.agent_id"))
    # An empty Reconcile must still be present for the master to accept the call.
    call.reconcile.SetInParent()
    return call


def reconcile_operations(
    operations: Iterable[
        tuple[
            str | mesos_pb2.OperationID,
            str | mesos_pb2.AgentID | None,
            str | mesos_pb2.ResourceProviderID | None,
        ]
    ] = (),
) -> scheduler_pb2.Call:
    """RECONCILE_OPERATIONS for ``(operation_id, agent_id, resource_provider_id)`` triples (none: all)."""
    call = Call(type=Call.RECONCILE_OPERATIONS)
    for operation_id, agent_id, provider_id in operations:
        item = call.reconcile_operations.operations.add()
        item.operation_id.CopyFrom(
            _id(mesos_pb2.OperationID, operation_id, "Call.reconcile_operations.operations.operation_id")
        )
        if agent_id is not None:
            item.agent_id.CopyFrom(
                _id(mesos_pb2.AgentID, agent_id, "Call.reconcile_operations.operations.agent_id")
            )
        if provider_id is not None:
            item.resource_provider_id.CopyFrom(
                _id(
                    mesos_pb2.ResourceProviderID,
                    provider_id,
                    "Call.reconcile_operations.operations.resource_provider_id",
                )
            )
    call.reconcile_operations.SetInParent()
    return call


def message(
    agent_id: str | mesos_pb2.AgentID, executor_id: str | mesos_pb2.ExecutorID, data: bytes | str
) -> scheduler_pb2.Call:
    """MESSAGE to an executor; ``str`` data is sent as UTF-8, bytes unchanged."""
    call = Call(type=Call.MESSAGE)
    call.message.agent_id.CopyFrom(_id(mesos_pb2.AgentID, agent_id, "Call.message.agent_id"))
    call.message.executor_id.CopyFrom(_id(mesos_pb2.ExecutorID, executor_id, "Call.message.executor_id"))
    call.message.data = data.encode() if isinstance(data, str) else bytes(data)
    return call


def request(requests: Iterable[mesos_pb2.Request]) -> scheduler_pb2.Call:
    """REQUEST resources from the allocator."""
    call = Call(type=Call.REQUEST)
    call.request.requests.extend(requests)
    call.request.SetInParent()
    return call


def update_framework(
    framework_info: mesos_pb2.FrameworkInfo, *, suppressed_roles: Sequence[str] = ()
) -> scheduler_pb2.Call:
    """UPDATE_FRAMEWORK: change the framework's info (roles, capabilities...) while subscribed."""
    call = Call(type=Call.UPDATE_FRAMEWORK)
    call.update_framework.framework_info.CopyFrom(framework_info)
    call.update_framework.suppressed_roles.extend(suppressed_roles)
    return call
