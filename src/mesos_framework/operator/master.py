"""The master's operator API (``mesos.v1.master``): `MasterOperator`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Self

from mesos_framework.errors import MesosError, StreamClosed, SubscriptionLost
from mesos_framework.operator._base import SharedCalls
from mesos_framework.protocol import ContentType
from mesos_framework.protocol._schema import maintenance_pb2, master_pb2, quota_pb2
from mesos_framework.transport import Backoff, Credentials, Endpoint, EventStream, MasterDetector, TLSConfig
from mesos_framework.transport.http import Resolver

__all__ = ["MasterEvents", "MasterOperator"]

log = logging.getLogger(__name__)

Call = master_pb2.Call
Response = master_pb2.Response
Event = master_pb2.Event

MessageOrDict = Any
"""A message of the expected type, or a dict in its JSON shape."""


class MasterOperator(
    SharedCalls[
        master_pb2.Call,
        master_pb2.Response,
        master_pb2.Event,
        master_pb2.Response.GetHealth,
        master_pb2.Response.GetFlags,
        master_pb2.Response.GetVersion,
        master_pb2.Response.GetMetrics,
        master_pb2.Response.GetLoggingLevel,
        master_pb2.Response.ListFiles,
        master_pb2.Response.ReadFile,
        master_pb2.Response.GetState,
    ]
):
    """Every call of a master's v1 operator API as a typed async method.

    ``master`` is anything the scheduler accepts: ``"host:port"``, a host
    list (``"h1:5050,h2:5050"``), a URL, ``zk://...``, an `Endpoint`
    or a detector; calls follow the redirects of non-leading masters. Calls
    return the matching part of ``mesos.master.Response`` (e.g.
    ``get_health()`` returns a ``Response.GetHealth``); calls that change
    something return ``None``. Failures raise the typed errors of
    `mesos_framework.errors` (``BadRequest``, ``Conflict``, ...).
    """

    _call_type = master_pb2.Call
    _response_type = master_pb2.Response
    _event_type = master_pb2.Event

    def __init__(
        self,
        master: str | Endpoint | MasterDetector,
        *,
        content_type: ContentType | str = ContentType.PROTOBUF,
        tls: TLSConfig | None = None,
        credentials: Credentials | None = None,
        token: str | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 75.0,
        backoff: Backoff | None = None,
        resolver: Resolver | None = None,
        api_path: str = "/api/v1",
    ) -> None:
        super().__init__(
            master,
            api_path=api_path,
            content_type=content_type,
            tls=tls,
            credentials=credentials,
            token=token,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            backoff=backoff,
            resolver=resolver,
        )

    # -- reads ------------------------------------------------------------------

    async def get_agents(self) -> master_pb2.Response.GetAgents:
        """``GET_AGENTS``."""
        return await self._get("GET_AGENTS", "get_agents", Response.GetAgents)

    async def get_frameworks(self) -> master_pb2.Response.GetFrameworks:
        """``GET_FRAMEWORKS``."""
        return await self._get("GET_FRAMEWORKS", "get_frameworks", Response.GetFrameworks)

    async def get_executors(self) -> master_pb2.Response.GetExecutors:
        """``GET_EXECUTORS``."""
        return await self._get("GET_EXECUTORS", "get_executors", Response.GetExecutors)

    async def get_operations(self) -> master_pb2.Response.GetOperations:
        """``GET_OPERATIONS``."""
        return await self._get("GET_OPERATIONS", "get_operations", Response.GetOperations)

    async def get_tasks(self) -> master_pb2.Response.GetTasks:
        """``GET_TASKS``."""
        return await self._get("GET_TASKS", "get_tasks", Response.GetTasks)

    async def get_roles(self) -> master_pb2.Response.GetRoles:
        """``GET_ROLES``."""
        return await self._get("GET_ROLES", "get_roles", Response.GetRoles)

    async def get_weights(self) -> master_pb2.Response.GetWeights:
        """``GET_WEIGHTS``."""
        return await self._get("GET_WEIGHTS", "get_weights", Response.GetWeights)

    async def get_master(self) -> master_pb2.Response.GetMaster:
        """``GET_MASTER``: the leading master's ``MasterInfo`` and times."""
        return await self._get("GET_MASTER", "get_master", Response.GetMaster)

    async def get_maintenance_status(self) -> master_pb2.Response.GetMaintenanceStatus:
        """``GET_MAINTENANCE_STATUS``: draining and down machines."""
        return await self._get(
            "GET_MAINTENANCE_STATUS", "get_maintenance_status", Response.GetMaintenanceStatus
        )

    async def get_maintenance_schedule(self) -> master_pb2.Response.GetMaintenanceSchedule:
        """``GET_MAINTENANCE_SCHEDULE``."""
        return await self._get(
            "GET_MAINTENANCE_SCHEDULE", "get_maintenance_schedule", Response.GetMaintenanceSchedule
        )

    async def get_quota(self) -> master_pb2.Response.GetQuota:
        """``GET_QUOTA``."""
        return await self._get("GET_QUOTA", "get_quota", Response.GetQuota)

    # -- changes ------------------------------------------------------------------

    async def update_weights(self, weights: Mapping[str, float] | Iterable[MessageOrDict]) -> None:
        """``UPDATE_WEIGHTS``: ``{"role": weight}`` or ``WeightInfo`` messages/dicts."""
        if isinstance(weights, Mapping):
            infos: list[Any] = [{"role": role, "weight": w} for role, w in weights.items()]
        else:
            infos = list(weights)
        await self._do("UPDATE_WEIGHTS", "update_weights", {"weight_infos": infos})

    async def reserve_resources(
        self,
        agent_id: str,
        resources: Iterable[MessageOrDict],
        source: Iterable[MessageOrDict] | None = None,
    ) -> None:
        """``RESERVE_RESOURCES`` on an agent (``source``: the resources to reserve from)."""
        payload: dict[str, Any] = {"agent_id": {"value": agent_id}, "resources": list(resources)}
        if source is not None:
            payload["source"] = list(source)
        await self._do("RESERVE_RESOURCES", "reserve_resources", payload)

    async def unreserve_resources(self, agent_id: str, resources: Iterable[MessageOrDict]) -> None:
        """``UNRESERVE_RESOURCES`` on an agent."""
        payload = {"agent_id": {"value": agent_id}, "resources": list(resources)}
        await self._do("UNRESERVE_RESOURCES", "unreserve_resources", payload)

    async def create_volumes(self, agent_id: str, volumes: Iterable[MessageOrDict]) -> None:
        """``CREATE_VOLUMES`` (persistent volumes on reserved disk)."""
        payload = {"agent_id": {"value": agent_id}, "volumes": list(volumes)}
        await self._do("CREATE_VOLUMES", "create_volumes", payload)

    async def destroy_volumes(self, agent_id: str, volumes: Iterable[MessageOrDict]) -> None:
        """``DESTROY_VOLUMES``."""
        payload = {"agent_id": {"value": agent_id}, "volumes": list(volumes)}
        await self._do("DESTROY_VOLUMES", "destroy_volumes", payload)

    async def grow_volume(self, agent_id: str, volume: MessageOrDict, addition: MessageOrDict) -> None:
        """``GROW_VOLUME``: add the ``addition`` disk resource to a persistent volume."""
        payload = {"agent_id": {"value": agent_id}, "volume": volume, "addition": addition}
        await self._do("GROW_VOLUME", "grow_volume", payload)

    async def shrink_volume(self, agent_id: str, volume: MessageOrDict, subtract_mb: float) -> None:
        """``SHRINK_VOLUME`` by ``subtract_mb`` megabytes."""
        payload = {"agent_id": {"value": agent_id}, "volume": volume, "subtract": {"value": subtract_mb}}
        await self._do("SHRINK_VOLUME", "shrink_volume", payload)

    async def update_maintenance_schedule(
        self, schedule: maintenance_pb2.Schedule | Mapping[str, Any]
    ) -> None:
        """``UPDATE_MAINTENANCE_SCHEDULE``: replace the schedule (an empty one clears it)."""
        await self._do("UPDATE_MAINTENANCE_SCHEDULE", "update_maintenance_schedule", {"schedule": schedule})

    async def start_maintenance(self, machines: Iterable[MessageOrDict]) -> None:
        """``START_MAINTENANCE``: the given draining machines go down."""
        await self._do("START_MAINTENANCE", "start_maintenance", {"machines": list(machines)})

    async def stop_maintenance(self, machines: Iterable[MessageOrDict]) -> None:
        """``STOP_MAINTENANCE``: down machines come back up."""
        await self._do("STOP_MAINTENANCE", "stop_maintenance", {"machines": list(machines)})

    async def drain_agent(
        self, agent_id: str, *, max_grace_period: float | None = None, mark_gone: bool = False
    ) -> None:
        """``DRAIN_AGENT``: kill its tasks (within ``max_grace_period`` seconds), optionally mark it gone."""
        payload: dict[str, Any] = {"agent_id": {"value": agent_id}, "mark_gone": mark_gone}
        if max_grace_period is not None:
            whole = int(max_grace_period)
            payload["max_grace_period"] = {"seconds": whole, "nanos": round((max_grace_period - whole) * 1e9)}
        await self._do("DRAIN_AGENT", "drain_agent", payload)

    async def deactivate_agent(self, agent_id: str) -> None:
        """``DEACTIVATE_AGENT``: no more offers of its resources."""
        await self._do("DEACTIVATE_AGENT", "deactivate_agent", {"agent_id": {"value": agent_id}})

    async def reactivate_agent(self, agent_id: str) -> None:
        """``REACTIVATE_AGENT``."""
        await self._do("REACTIVATE_AGENT", "reactivate_agent", {"agent_id": {"value": agent_id}})

    async def update_quota(
        self, configs: Iterable[quota_pb2.QuotaConfig | Mapping[str, Any]], *, force: bool = False
    ) -> None:
        """``UPDATE_QUOTA`` (``QuotaConfig``: role, guarantees and limits per resource name)."""
        await self._do("UPDATE_QUOTA", "update_quota", {"force": force, "quota_configs": list(configs)})

    async def set_quota(self, request: quota_pb2.QuotaRequest | Mapping[str, Any]) -> None:
        """``SET_QUOTA`` (deprecated upstream in favour of ``UPDATE_QUOTA``)."""
        await self._do("SET_QUOTA", "set_quota", {"quota_request": request})

    async def remove_quota(self, role: str) -> None:
        """``REMOVE_QUOTA`` (deprecated upstream in favour of ``UPDATE_QUOTA``)."""
        await self._do("REMOVE_QUOTA", "remove_quota", {"role": role})

    async def teardown(self, framework_id: str) -> None:
        """``TEARDOWN``: remove a framework, killing its tasks."""
        await self._do("TEARDOWN", "teardown", {"framework_id": {"value": framework_id}})

    async def mark_agent_gone(self, agent_id: str) -> None:
        """``MARK_AGENT_GONE``: the agent never comes back; its tasks become ``TASK_GONE_BY_OPERATOR``."""
        await self._do("MARK_AGENT_GONE", "mark_agent_gone", {"agent_id": {"value": agent_id}})

    # -- events -------------------------------------------------------------------

    def subscribe(self, *, reconnect: bool = True, give_up_after: float | None = 60.0) -> MasterEvents:
        """``SUBSCRIBE``: the master's events as an async iterator.

        The first event is ``SUBSCRIBED`` with the whole state; then
        ``TASK_ADDED``, ``TASK_UPDATED``, ``AGENT_ADDED``, ``AGENT_REMOVED``,
        ``FRAMEWORK_ADDED``/``UPDATED``/``REMOVED`` and ``HEARTBEAT``. With
        ``reconnect`` a broken stream (or one silent for three heartbeat
        intervals) is subscribed again, at the leader then, and the next
        event is a fresh ``SUBSCRIBED``; ``give_up_after`` bounds each
        attempt to (re)connect. Use as ``async with op.subscribe() as events:``
        or close it with `MasterEvents.close()`.
        """
        return MasterEvents(self, reconnect=reconnect, give_up_after=give_up_after)


class MasterEvents:
    """The events of a master operator ``SUBSCRIBE`` (see `MasterOperator.subscribe()`)."""

    def __init__(self, operator: MasterOperator, *, reconnect: bool, give_up_after: float | None) -> None:
        self._operator = operator
        self._reconnect = reconnect
        self._give_up_after = give_up_after
        self._stream: EventStream[master_pb2.Event] | None = None
        self._silence: float | None = None
        self._closed = False
        #: How many times the stream was subscribed (1 after the first event).
        self.subscriptions = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> master_pb2.Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._stream is None:
                call = master_pb2.Call(type=master_pb2.Call.SUBSCRIBE)
                self._stream = await self._operator.http.subscribe(call, give_up_after=self._give_up_after)
                self.subscriptions += 1
            try:
                async with asyncio.timeout(self._silence):
                    event = await anext(self._stream)
            except StopAsyncIteration:
                raise
            except (StreamClosed, TimeoutError) as exc:
                await self._drop()
                if not self._reconnect or self._closed:
                    if isinstance(exc, TimeoutError):
                        raise SubscriptionLost(f"no event from the master for {self._silence:g}s") from exc
                    raise
                log.warning("operator event stream lost (%s); subscribing again", exc or "silence")
                self._operator.http.forget_leader()
                continue
            if event.type == master_pb2.Event.SUBSCRIBED:
                interval = event.subscribed.heartbeat_interval_seconds
                self._silence = 3 * interval if interval > 0 else None
            return event

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(MesosError):
                await stream.close()

    async def close(self) -> None:
        """End the subscription."""
        self._closed = True
        await self._drop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
