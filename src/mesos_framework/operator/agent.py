"""An agent's operator API (``mesos.v1.agent``): `AgentOperator`."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import aiohttp

from mesos_framework.errors import ConnectError, NoLeaderError, ProtocolError, api_error
from mesos_framework.operator._base import SharedCalls
from mesos_framework.protocol import ContentType, RecordIODecoder, decode, encode, recordio_encode
from mesos_framework.protocol._schema import agent_pb2
from mesos_framework.transport import Backoff, Credentials, Endpoint, TLSConfig
from mesos_framework.transport.http import Resolver

__all__ = ["AgentOperator"]

Response = agent_pb2.Response
RECORDIO = "application/recordio"
MessageOrDict = Any


def _container(container_id: str | MessageOrDict) -> Any:
    return {"value": container_id} if isinstance(container_id, str) else container_id


class AgentOperator(
    SharedCalls[
        agent_pb2.Call,
        agent_pb2.Response,
        agent_pb2.Call,
        agent_pb2.Response.GetHealth,
        agent_pb2.Response.GetFlags,
        agent_pb2.Response.GetVersion,
        agent_pb2.Response.GetMetrics,
        agent_pb2.Response.GetLoggingLevel,
        agent_pb2.Response.ListFiles,
        agent_pb2.Response.ReadFile,
        agent_pb2.Response.GetState,
    ]
):
    """Every call of an agent's v1 operator API as a typed async method.

    ``agent`` is ``"host:port"``, a URL or an `Endpoint`.
    ``api_path`` defaults to ``/slave(1)/api/v1``, which real Mesos agents
    and the local cluster's first agent both serve; the local cluster's
    agent N is at ``/slave(N)/api/v1`` (`for_pid()` builds the client
    from an agent's ``pid`` as ``GET_AGENTS`` reports it). Reads return the
    matching part of ``mesos.agent.Response``; the container I/O calls
    stream ``ProcessIO`` records.
    """

    _call_type = agent_pb2.Call
    _response_type = agent_pb2.Response
    _event_type = agent_pb2.Call  # agents have no operator event stream

    def __init__(
        self,
        agent: str | Endpoint,
        *,
        api_path: str = "/slave(1)/api/v1",
        content_type: ContentType | str = ContentType.PROTOBUF,
        tls: TLSConfig | None = None,
        credentials: Credentials | None = None,
        token: str | None = None,
        connect_timeout: float = 10.0,
        request_timeout: float = 75.0,
        backoff: Backoff | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        super().__init__(
            agent,
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

    @classmethod
    def for_pid(cls, pid: str, **kwargs: Any) -> AgentOperator:
        """The client of the agent whose libprocess ``pid`` is ``slave(N)@host:port``."""
        name, _, address = pid.partition("@")
        if not name or not address:
            from mesos_framework.errors import ConfigurationError  # noqa: PLC0415

            raise ConfigurationError(
                f"not an agent pid (expected 'slave(N)@host:port'): {pid!r}", option="pid"
            )
        scheme = "https" if kwargs.get("tls") is not None else "http"
        return cls(f"{scheme}://{address}", api_path=f"/{name}/api/v1", **kwargs)

    # -- reads ------------------------------------------------------------------

    async def get_containers(
        self, *, show_nested: bool = False, show_standalone: bool = False
    ) -> agent_pb2.Response.GetContainers:
        """``GET_CONTAINERS``."""
        payload = {"show_nested": show_nested, "show_standalone": show_standalone}
        return await self._get(
            "GET_CONTAINERS", "get_containers", Response.GetContainers, "get_containers", payload
        )

    async def get_frameworks(self) -> agent_pb2.Response.GetFrameworks:
        """``GET_FRAMEWORKS``."""
        return await self._get("GET_FRAMEWORKS", "get_frameworks", Response.GetFrameworks)

    async def get_executors(self) -> agent_pb2.Response.GetExecutors:
        """``GET_EXECUTORS``."""
        return await self._get("GET_EXECUTORS", "get_executors", Response.GetExecutors)

    async def get_operations(self) -> agent_pb2.Response.GetOperations:
        """``GET_OPERATIONS``."""
        return await self._get("GET_OPERATIONS", "get_operations", Response.GetOperations)

    async def get_tasks(self) -> agent_pb2.Response.GetTasks:
        """``GET_TASKS``."""
        return await self._get("GET_TASKS", "get_tasks", Response.GetTasks)

    async def get_agent(self) -> agent_pb2.Response.GetAgent:
        """``GET_AGENT``: its ``AgentInfo`` (and drain state)."""
        return await self._get("GET_AGENT", "get_agent", Response.GetAgent)

    async def get_resource_providers(self) -> agent_pb2.Response.GetResourceProviders:
        """``GET_RESOURCE_PROVIDERS``."""
        return await self._get(
            "GET_RESOURCE_PROVIDERS", "get_resource_providers", Response.GetResourceProviders
        )

    # -- containers ---------------------------------------------------------------

    async def launch_container(
        self,
        container_id: str | MessageOrDict,
        *,
        command: MessageOrDict | None = None,
        resources: Iterable[MessageOrDict] = (),
        container: MessageOrDict | None = None,
        limits: Mapping[str, float] | None = None,
    ) -> None:
        """``LAUNCH_CONTAINER`` (standalone, or nested when the id has a ``parent``)."""
        payload: dict[str, Any] = {"container_id": _container(container_id), "resources": list(resources)}
        if command is not None:
            payload["command"] = command
        if container is not None:
            payload["container"] = container
        if limits:
            payload["limits"] = {k: {"value": v} for k, v in limits.items()}
        await self._do("LAUNCH_CONTAINER", "launch_container", payload)

    async def wait_container(self, container_id: str | MessageOrDict) -> agent_pb2.Response.WaitContainer:
        """``WAIT_CONTAINER``: returns when the container has ended.

        The wait has a connection of its own and no time limit, so the
        client's other calls go on meanwhile (cancel the task to give up).
        """
        payload = {"container_id": _container(container_id)}
        call = self._make("WAIT_CONTAINER", "wait_container", payload)
        return (await self._long_call(call)).wait_container

    async def kill_container(self, container_id: str | MessageOrDict, signal: int | None = None) -> None:
        """``KILL_CONTAINER`` (``signal`` defaults to ``SIGKILL`` on the agent)."""
        payload: dict[str, Any] = {"container_id": _container(container_id)}
        if signal is not None:
            payload["signal"] = signal
        await self._do("KILL_CONTAINER", "kill_container", payload)

    async def remove_container(self, container_id: str | MessageOrDict) -> None:
        """``REMOVE_CONTAINER``: forget an ended container (and its sandbox)."""
        await self._do("REMOVE_CONTAINER", "remove_container", {"container_id": _container(container_id)})

    async def launch_nested_container(
        self,
        container_id: MessageOrDict,
        *,
        command: MessageOrDict | None = None,
        container: MessageOrDict | None = None,
    ) -> None:
        """``LAUNCH_NESTED_CONTAINER`` (deprecated upstream for ``LAUNCH_CONTAINER``)."""
        payload: dict[str, Any] = {"container_id": container_id}
        if command is not None:
            payload["command"] = command
        if container is not None:
            payload["container"] = container
        await self._do("LAUNCH_NESTED_CONTAINER", "launch_nested_container", payload)

    async def wait_nested_container(
        self, container_id: MessageOrDict
    ) -> agent_pb2.Response.WaitNestedContainer:
        """``WAIT_NESTED_CONTAINER`` (deprecated upstream for ``WAIT_CONTAINER``)."""
        call = self._make("WAIT_NESTED_CONTAINER", "wait_nested_container", {"container_id": container_id})
        return (await self._long_call(call)).wait_nested_container

    async def kill_nested_container(self, container_id: MessageOrDict, signal: int | None = None) -> None:
        """``KILL_NESTED_CONTAINER`` (deprecated upstream for ``KILL_CONTAINER``)."""
        payload: dict[str, Any] = {"container_id": container_id}
        if signal is not None:
            payload["signal"] = signal
        await self._do("KILL_NESTED_CONTAINER", "kill_nested_container", payload)

    async def remove_nested_container(self, container_id: MessageOrDict) -> None:
        """``REMOVE_NESTED_CONTAINER`` (deprecated upstream for ``REMOVE_CONTAINER``)."""
        await self._do("REMOVE_NESTED_CONTAINER", "remove_nested_container", {"container_id": container_id})

    # -- resource providers and images ------------------------------------------

    async def add_resource_provider_config(self, info: MessageOrDict) -> None:
        """``ADD_RESOURCE_PROVIDER_CONFIG``."""
        await self._do("ADD_RESOURCE_PROVIDER_CONFIG", "add_resource_provider_config", {"info": info})

    async def update_resource_provider_config(self, info: MessageOrDict) -> None:
        """``UPDATE_RESOURCE_PROVIDER_CONFIG``."""
        await self._do("UPDATE_RESOURCE_PROVIDER_CONFIG", "update_resource_provider_config", {"info": info})

    async def remove_resource_provider_config(self, type: str, name: str) -> None:
        """``REMOVE_RESOURCE_PROVIDER_CONFIG``."""
        payload = {"type": type, "name": name}
        await self._do("REMOVE_RESOURCE_PROVIDER_CONFIG", "remove_resource_provider_config", payload)

    async def mark_resource_provider_gone(self, resource_provider_id: str) -> None:
        """``MARK_RESOURCE_PROVIDER_GONE``."""
        payload = {"resource_provider_id": {"value": resource_provider_id}}
        await self._do("MARK_RESOURCE_PROVIDER_GONE", "mark_resource_provider_gone", payload)

    async def prune_images(self, excluded_images: Iterable[MessageOrDict] = ()) -> None:
        """``PRUNE_IMAGES`` of the container image store."""
        await self._do("PRUNE_IMAGES", "prune_images", {"excluded_images": list(excluded_images)})

    # -- process I/O (streaming) ------------------------------------------------

    def launch_nested_container_session(
        self,
        container_id: MessageOrDict,
        *,
        command: MessageOrDict | None = None,
        container: MessageOrDict | None = None,
    ) -> AsyncIterator[agent_pb2.ProcessIO]:
        """``LAUNCH_NESTED_CONTAINER_SESSION``: the new container's output as ``ProcessIO`` records."""
        payload: dict[str, Any] = {"container_id": container_id}
        if command is not None:
            payload["command"] = command
        if container is not None:
            payload["container"] = container
        call = self._make("LAUNCH_NESTED_CONTAINER_SESSION", "launch_nested_container_session", payload)
        return self._output(call)

    def attach_container_output(
        self, container_id: str | MessageOrDict
    ) -> AsyncIterator[agent_pb2.ProcessIO]:
        """``ATTACH_CONTAINER_OUTPUT``: a container's stdout/stderr as ``ProcessIO`` records."""
        call = self._make(
            "ATTACH_CONTAINER_OUTPUT", "attach_container_output", {"container_id": _container(container_id)}
        )
        return self._output(call)

    async def attach_container_input(
        self, container_id: str | MessageOrDict, records: AsyncIterable[agent_pb2.ProcessIO]
    ) -> None:
        """``ATTACH_CONTAINER_INPUT``: stream ``ProcessIO`` records to a container's stdin."""
        first = self._make(
            "ATTACH_CONTAINER_INPUT",
            "attach_container_input",
            {"type": "CONTAINER_ID", "container_id": _container(container_id)},
        )

        async def body() -> AsyncIterator[bytes]:
            yield recordio_encode(encode(first, self.content_type))
            async for record in records:
                call = self._make(
                    "ATTACH_CONTAINER_INPUT",
                    "attach_container_input",
                    {"type": "PROCESS_IO", "process_io": record},
                )
                yield recordio_encode(encode(call, self.content_type))

        headers = {"Content-Type": RECORDIO, "Message-Content-Type": self.content_type.value}
        await self._stream_input(body(), headers, "ATTACH_CONTAINER_INPUT")

    async def _stream_input(self, chunks: AsyncIterator[bytes], headers: dict[str, str], kind: str) -> None:
        """POST a chunked body while reading the answer, which may come (and end the call) early.

        Mesos answers an input stream for an unknown container after its
        first record and closes the connection: a client that only reads
        the answer once its body is sent would see a broken pipe instead.
        """
        endpoints = await self.http.detector.detect()
        if not endpoints:
            raise NoLeaderError(f"{kind}: no agent at {self.http.detector!r}")
        endpoint = endpoints[0]
        path = endpoint.prefix + self.http.api_path
        url = endpoint.url(self.http.api_path)
        context: ssl.SSLContext | None = None
        if endpoint.scheme == "https":
            given = self.http._ssl  # the transport's TLS settings
            context = given if isinstance(given, ssl.SSLContext) else ssl.create_default_context()
        try:
            async with asyncio.timeout(self.http.connect_timeout):
                reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=context)
        except (OSError, TimeoutError) as exc:
            raise ConnectError(f"{kind}: cannot connect to {endpoint}: {exc}") from exc
        auth = self.http._headers(stream=True).get("Authorization")
        lines = [f"POST {path} HTTP/1.1", f"Host: {endpoint.netloc}", "Transfer-Encoding: chunked"]
        lines += [f"{k}: {v}" for k, v in {**headers, "Accept": self.content_type.value}.items()]
        if auth is not None:
            lines.append(f"Authorization: {auth}")
        try:
            answer = asyncio.ensure_future(_read_answer(reader))
            try:
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
                async for chunk in chunks:
                    if answer.done():
                        break
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                else:
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
            except OSError:
                pass  # the agent answered early and hung up: its answer says why
            try:
                async with asyncio.timeout(self.http.request_timeout):
                    status, text = await answer
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                raise ConnectError(f"{kind} to {url}: no answer: {exc!r}") from exc
        finally:
            writer.close()
        if status not in (200, 202):
            raise api_error(status, text[:2000], kind, url=url)

    async def _long_call(self, call: agent_pb2.Call) -> agent_pb2.Response:
        """A call that may wait long (``WAIT_CONTAINER``): on a connection of its own, without a
        time limit, so that it does not hold the connection the client's other calls share."""
        headers = {"Content-Type": self.content_type.value, "Accept": self.content_type.value}
        kind = agent_pb2.Call.Type.Name(call.type)
        async with await self._stream_post(encode(call, self.content_type), headers, kind) as response:
            try:
                body = await response.read()
            except (aiohttp.ClientError, OSError) as exc:
                raise ConnectError(f"{kind} to {response.url}: the answer broke off: {exc}") from exc
        if not body:
            raise ProtocolError(f"{kind} to {response.url}: the answer has no body")
        return decode(agent_pb2.Response, body, self.content_type)

    async def _output(self, call: agent_pb2.Call) -> AsyncIterator[agent_pb2.ProcessIO]:
        headers = {
            "Content-Type": self.content_type.value,
            "Accept": RECORDIO,
            "Message-Accept": self.content_type.value,
        }
        kind = agent_pb2.Call.Type.Name(call.type)
        async with await self._stream_post(encode(call, self.content_type), headers, kind) as response:
            decoder = RecordIODecoder()
            async for chunk in response.content.iter_any():
                for record in decoder.feed(chunk):
                    yield decode(agent_pb2.ProcessIO, record, self.content_type)

    async def _stream_post(self, body: bytes, headers: dict[str, str], kind: str) -> aiohttp.ClientResponse:
        endpoints = await self.http.detector.detect()
        if not endpoints:
            raise NoLeaderError(f"{kind}: no agent at {self.http.detector!r}")
        url = endpoints[0].url(self.http.api_path)
        session = self.http._session()  # the transport's streaming session: TLS, resolver, timeouts
        auth = self.http._headers(stream=True).get("Authorization")
        if auth is not None:
            headers = {**headers, "Authorization": auth}
        try:
            response = await session.post(url, data=body, headers=headers)
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectError(f"{kind} to {url} failed: {exc}") from exc
        if response.status != 200:
            text = await response.text(errors="replace")
            response.release()
            raise api_error(response.status, text[:2000], kind, url=url)
        return response


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, str]:
    """Status and body text of an HTTP/1.1 answer (``Content-Length``, chunked or until EOF)."""
    status_line = (await reader.readline()).decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
    status = int(parts[1])
    fields: dict[str, str] = {}
    while (line := (await reader.readline()).decode("latin-1").strip()) != "":
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        body = await reader.read()
    return status, body.decode("utf-8", "replace")
