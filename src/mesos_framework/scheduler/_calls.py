"""The raw scheduler calls as methods, shared by `Session` and `Scheduler`."""

from __future__ import annotations

from collections.abc import Iterable

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import calls

__all__ = ["CallsMixin"]


class CallsMixin:
    """One method per scheduler call; each waits (up to `call_timeout`) for a subscription.

    A call made while disconnected raises `CallWhileDisconnected` once that wait is over;
    other failures raise their typed error. Nothing is dropped silently.
    """

    async def _send(self, call: scheduler_pb2.Call, *, wait: bool = True) -> None:
        raise NotImplementedError

    async def accept(
        self,
        offer_ids: Iterable[str | mesos_pb2.OfferID],
        operations: Iterable[mesos_pb2.Offer.Operation] | mesos_pb2.Offer.Operation,
        refuse_seconds: float | None = None,
    ) -> None:
        """ACCEPT offers with operations."""
        ops = [operations] if isinstance(operations, mesos_pb2.Offer.Operation) else list(operations)
        await self._send(calls.accept(offer_ids, ops, refuse_seconds))

    async def decline(
        self, offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
    ) -> None:
        """DECLINE offers."""
        await self._send(calls.decline(offer_ids, refuse_seconds))

    async def accept_inverse_offers(
        self, inverse_offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
    ) -> None:
        """ACCEPT_INVERSE_OFFERS."""
        await self._send(calls.accept_inverse_offers(inverse_offer_ids, refuse_seconds))

    async def decline_inverse_offers(
        self, inverse_offer_ids: Iterable[str | mesos_pb2.OfferID], refuse_seconds: float | None = None
    ) -> None:
        """DECLINE_INVERSE_OFFERS."""
        await self._send(calls.decline_inverse_offers(inverse_offer_ids, refuse_seconds))

    async def revive(self, roles: Iterable[str] = ()) -> None:
        """REVIVE offers."""
        await self._send(calls.revive(roles))

    async def suppress(self, roles: Iterable[str] = ()) -> None:
        """SUPPRESS offers."""
        await self._send(calls.suppress(roles))

    async def kill(
        self,
        task_id: str | mesos_pb2.TaskID,
        agent_id: str | mesos_pb2.AgentID | None = None,
        *,
        grace_period: float | None = None,
    ) -> None:
        """KILL a task (the raw call; a `Scheduler`'s `kill_task` is the managed version)."""
        await self._send(calls.kill(task_id, agent_id, grace_period=grace_period))

    async def shutdown(
        self, *, executor_id: str | mesos_pb2.ExecutorID, agent_id: str | mesos_pb2.AgentID
    ) -> None:
        """SHUTDOWN an executor. Both IDs are keyword-only, so they cannot be swapped by mistake."""
        if isinstance(executor_id, mesos_pb2.AgentID) or isinstance(agent_id, mesos_pb2.ExecutorID):
            raise ConfigurationError("executor_id and agent_id are swapped", option="shutdown")
        await self._send(calls.shutdown(executor_id, agent_id))

    async def acknowledge(
        self,
        status_or_task_id: mesos_pb2.TaskStatus | str | mesos_pb2.TaskID,
        agent_id: str | mesos_pb2.AgentID | None = None,
        uuid: bytes | None = None,
    ) -> None:
        """ACKNOWLEDGE a status update: pass the `TaskStatus`, or task ID, agent ID and uuid."""
        if isinstance(status_or_task_id, mesos_pb2.TaskStatus):
            status = status_or_task_id
            await self._send(calls.acknowledge(status.agent_id, status.task_id, status.uuid))
        else:
            if agent_id is None or uuid is None:
                raise ConfigurationError("needs agent_id and uuid with a task ID", option="acknowledge")
            await self._send(calls.acknowledge(agent_id, status_or_task_id, uuid))

    async def acknowledge_operation_status(
        self,
        agent_id: str | mesos_pb2.AgentID | None,
        resource_provider_id: str | mesos_pb2.ResourceProviderID | None,
        operation_id: str | mesos_pb2.OperationID,
        uuid: bytes,
    ) -> None:
        """ACKNOWLEDGE_OPERATION_STATUS."""
        await self._send(
            calls.acknowledge_operation_status(agent_id, resource_provider_id, operation_id, uuid)
        )

    async def reconcile(
        self, tasks: Iterable[tuple[str | mesos_pb2.TaskID, str | mesos_pb2.AgentID | None]] = ()
    ) -> None:
        """RECONCILE the given `(task_id, agent_id)` pairs, or all tasks (implicit) when none."""
        await self._send(calls.reconcile(tasks))

    async def reconcile_operations(
        self,
        operations: Iterable[
            tuple[
                str | mesos_pb2.OperationID,
                str | mesos_pb2.AgentID | None,
                str | mesos_pb2.ResourceProviderID | None,
            ]
        ] = (),
    ) -> None:
        """RECONCILE_OPERATIONS."""
        await self._send(calls.reconcile_operations(operations))

    async def message(
        self, agent_id: str | mesos_pb2.AgentID, executor_id: str | mesos_pb2.ExecutorID, data: bytes | str
    ) -> None:
        """MESSAGE an executor (bytes are sent unchanged)."""
        await self._send(calls.message(agent_id, executor_id, data))

    async def request(self, requests: Iterable[mesos_pb2.Request] | mesos_pb2.Request) -> None:
        """REQUEST resources."""
        reqs = [requests] if isinstance(requests, mesos_pb2.Request) else list(requests)
        await self._send(calls.request(reqs))
