"""HTTP front end of the local cluster (aiohttp): routes paths to a master
and to agents the way one libprocess port does in ``mesos-local``.

Paths: ``/api/v1/scheduler`` and ``/master/api/v1/scheduler``; ``/api/v1``
(operator); ``/version``, ``/master/state``, ``/state``, ``/master/slaves``,
``/master/frameworks``, ``/master/tasks``, ``/health``, ``/master/redirect``;
``/slave(N)/api/v1/executor``, ``/slave(N)/api/v1`` (agent operator),
``/slave(N)/state``, ``/slave(N)/containers``; ``/files/browse``,
``/files/read``, ``/files/download``.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mesos_framework.local import (
    _codec,
    _files,
    _limits,
    _master_state,
    _operator_agent,
    _scheduler_calls,
    _webui,
    operator_api,
)
from mesos_framework.local._stream import EventStream
from mesos_framework.local.agent import valid_uuid
from mesos_framework.local.config import VERSION
from mesos_framework.protocol._schema import executor_pb2, master_pb2, mesos_pb2, scheduler_pb2

if TYPE_CHECKING:
    from mesos_framework.local.agent import Agent
    from mesos_framework.local.master import Master

__all__ = ["Endpoint"]

log = logging.getLogger(__name__)

TEXT = "text/plain; charset=utf-8"
_AGENT_PATH = re.compile(r"^/slave\((\d+)\)(/.*)?$")
Call = scheduler_pb2.Call


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body.encode(), headers={"Content-Type": TEXT, **(headers or {})})


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=_codec.encode_dict(obj), content_type="application/json")


def _method_not_allowed(request: web.Request) -> web.Response:
    return _text(
        405,
        f"405 Method Not Allowed. Expecting one of {{ 'POST' }}, but received '{request.method}'.",
        {"Allow": "POST"},
    )


def _content_type(request: web.Request) -> tuple[str | None, web.Response | None]:
    ctype = request.headers.get("Content-Type")
    if ctype is None:
        return None, _text(400, "Expecting 'Content-Type' to be present")
    if ctype not in (_codec.JSON, _codec.PROTOBUF):
        return None, _text(415, "Expecting 'Content-Type' of application/json or application/x-protobuf")
    return ctype, None


GZIP_MINIMUM = 1024
NOT_ACCEPTABLE = "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"


def validate_scheduler_call(call: scheduler_pb2.Call) -> str | None:
    """Mesos's ``validation::scheduler::call::validate`` (synchronous 400s)."""
    if not call.HasField("type"):
        return "Expecting 'type' to be present"
    t = call.type
    if t == Call.SUBSCRIBE:
        if not call.HasField("subscribe"):
            return "Expecting 'subscribe' to be present"
        info = call.subscribe.framework_info
        if call.HasField("framework_id") != info.HasField("id") or (
            call.HasField("framework_id") and call.framework_id.value != info.id.value
        ):
            return "'framework_id' differs from 'subscribe.framework_info.id'"
        return None
    if not call.HasField("framework_id"):
        return "Expecting 'framework_id' to be present"
    needs = {
        Call.ACCEPT: "accept",
        Call.DECLINE: "decline",
        Call.ACCEPT_INVERSE_OFFERS: "accept_inverse_offers",
        Call.DECLINE_INVERSE_OFFERS: "decline_inverse_offers",
        Call.KILL: "kill",
        Call.SHUTDOWN: "shutdown",
        Call.ACKNOWLEDGE: "acknowledge",
        Call.ACKNOWLEDGE_OPERATION_STATUS: "acknowledge_operation_status",
        Call.RECONCILE: "reconcile",
        Call.RECONCILE_OPERATIONS: "reconcile_operations",
        Call.MESSAGE: "message",
        Call.REQUEST: "request",
        Call.UPDATE_FRAMEWORK: "update_framework",
    }
    sub = needs.get(t)
    if sub is not None and not call.HasField(sub):
        return f"Expecting '{sub}' to be present"
    if t == Call.ACKNOWLEDGE and not valid_uuid(call.acknowledge.uuid):
        return "Not a valid UUID"
    if t == Call.ACKNOWLEDGE_OPERATION_STATUS:
        if not call.acknowledge_operation_status.HasField("agent_id"):
            return "Expecting 'agent_id' to be present"
        if not valid_uuid(call.acknowledge_operation_status.uuid):
            return "Not a valid UUID"
    if (
        t == Call.UPDATE_FRAMEWORK
        and call.framework_id.value != call.update_framework.framework_info.id.value
    ):
        return "'framework_id' differs from 'update_framework.framework_info.id'"
    return None


class Endpoint:
    """One listening HTTP port hosting a master and/or agents."""

    def __init__(
        self,
        *,
        master: Master | None = None,
        agents: list[Agent] | None = None,
        files_root: Path | None = None,
    ) -> None:
        self.master = master
        self.agents: dict[int, Agent] = {a.index: a for a in agents or []}
        self.files_root = files_root
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._streams: set[EventStream] = set()
        self.start_time = time.time()

    # ------------------------------------------------------------ lifecycle
    async def start(self, port: int = 0, host: str = "127.0.0.1") -> int:
        """Listen on ``host:port`` (0 = any free port); returns the port."""
        app = web.Application(client_max_size=_limits.MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        return self.port

    async def close(self) -> None:
        """Stop listening and end every open stream."""
        for stream in list(self._streams):
            stream.on_lost = None
            stream.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_agent(self, agent: Agent) -> None:
        """Serve an agent under ``/slave(N)``."""
        self.agents[agent.index] = agent

    # ------------------------------------------------------------- routing
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            response = await self._route(request)
        except web.HTTPRequestEntityTooLarge as exc:
            # The unread rest of the refused body is still on the connection: close it after
            # the answer, so that nothing reads that rest as the next request.
            refused = web.Response(status=exc.status, text=exc.text, headers={"Connection": "close"})
            refused.force_close()
            return refused
        # Like libprocess: non-streaming bodies of 1 KiB or more are gzipped when the client allows it.
        if (
            isinstance(response, web.Response)
            and not response.prepared
            and isinstance(response.body, bytes)
            and len(response.body) >= GZIP_MINIMUM
            and "gzip" in request.headers.get("Accept-Encoding", "").lower()
        ):
            response.enable_compression(web.ContentCoding.gzip)
        return response

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        m = _AGENT_PATH.match(path)
        if m:
            agent = self.agents.get(int(m.group(1)))
            if agent is None:
                return _text(404, "")
            return await self._agent(request, agent, m.group(2) or "/")
        if path == "/api/v1/executor" and 1 in self.agents:
            return await self._agent(request, self.agents[1], "/api/v1/executor")
        if path.startswith("/files/"):
            return self._files(request)
        if path in ("/version", "/master/version"):
            return _json(
                {
                    "version": VERSION,
                    "git_tag": VERSION,
                    "build_date": "",
                    "build_time": 0.0,
                    "build_user": "mesos-framework local",
                }
            )
        if self.master is None:
            return _text(404, "")
        return await self._master(request, path)

    # --------------------------------------------------------------- master
    def _redirect(self, request: web.Request, path: str) -> web.Response | None:
        master = self.master
        assert master is not None
        if master.leader:
            return None
        leader = master.leader_info
        if leader is None:
            return _text(503, "No leader elected")
        if path == "/api/v1/scheduler":
            path = "/master/api/v1/scheduler"
        elif path == "/api/v1":
            path = "/master/api/v1"
        query = f"?{request.query_string}" if request.query_string else ""
        host = leader.address.hostname or leader.hostname
        return web.Response(status=307, headers={"Location": f"//{host}:{leader.port}{path}{query}"})

    async def _master(self, request: web.Request, path: str) -> web.StreamResponse:
        master = self.master
        assert master is not None
        if path in ("/master/redirect", "/redirect"):
            leader = master.info() if master.leader else master.leader_info
            if leader is None:
                return _text(503, "No leader elected")
            return web.Response(status=307, headers={"Location": f"//{leader.hostname}:{leader.port}"})
        if path in ("/health", "/master/health"):
            return web.Response(status=200)
        if path in ("/", "/index.html") and request.method == "GET":
            return web.Response(text=_webui.page(), content_type="text/html")
        redirect = self._redirect(request, path)
        if redirect is not None:
            return redirect
        if path in ("/api/v1/scheduler", "/master/api/v1/scheduler"):
            return await self._scheduler(request)
        if path in ("/api/v1", "/master/api/v1"):
            return await self._operator(request)
        if path in ("/master/state", "/state", "/master/state.json", "/state.json"):
            return _json(_master_state.state_json(master))
        if path in ("/master/slaves", "/slaves"):
            return _json(
                {
                    "slaves": [_master_state.agent_json(master, e) for e in master.agents.values()],
                    "recovered_slaves": [],
                }
            )
        if path in ("/master/frameworks", "/frameworks"):
            return _json(
                {
                    "frameworks": [
                        _master_state.framework_json(master, f, active=True)
                        for f in master.frameworks.values()
                    ],
                    "completed_frameworks": [
                        _master_state.framework_json(master, f, active=False)
                        for f in master.completed_frameworks
                    ],
                    "unregistered_frameworks": [],
                }
            )
        if path in ("/master/tasks", "/tasks"):
            tasks = [_master_state.task_json(t) for f in master.frameworks.values() for t in f.tasks.values()]
            return _json({"tasks": tasks})
        if path == "/master/teardown":
            if request.method != "POST":
                return _method_not_allowed(request)
            form = await request.post()
            fid = str(form.get("frameworkId", ""))
            fw = master.frameworks.get(fid)
            if fw is None:
                return _text(400, f"No framework found with specified ID: {fid}")
            master.remove_framework(fw)
            return web.Response(status=200)
        return _text(404, "")

    async def _scheduler(self, request: web.Request) -> web.StreamResponse:
        master = self.master
        assert master is not None
        if request.method != "POST":
            return _method_not_allowed(request)
        ctype, error = _content_type(request)
        if error is not None:
            return error
        assert ctype is not None
        body = await request.read()
        try:
            call = _codec.parse_body(scheduler_pb2.Call, body, ctype)
        except _codec.BodyError as exc:
            return _text(400, exc.text)
        problem = validate_scheduler_call(call)
        if problem is not None:
            return _text(400, f"Failed to validate scheduler::Call: {problem}")
        accept = request.headers.get("Accept")
        if call.type in (Call.SUBSCRIBE, Call.RECONCILE_OPERATIONS) and _codec.negotiate(accept) is None:
            return _text(406, NOT_ACCEPTABLE)
        if call.type == Call.SUBSCRIBE:
            if "Mesos-Stream-Id" in request.headers:
                return _text(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
            stream = EventStream(_codec.negotiate(accept) or _codec.JSON)
            return await self._stream(request, stream, {"Mesos-Stream-Id": stream.id}, master, call)
        status, text = _scheduler_calls.call(master, call, request.headers.get("Mesos-Stream-Id"))
        if status in (200, 202) and not text:
            return web.Response(status=status)
        return _text(status, text)

    async def _stream(
        self,
        request: web.Request,
        stream: EventStream,
        headers: dict[str, str],
        master: Master | None = None,
        call: scheduler_pb2.Call | None = None,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": stream.content_type, **headers})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        self._streams.add(stream)
        if master is not None and call is not None:
            master.subscribe(stream, call.subscribe)
        try:
            while True:
                item = await stream.queue.get()
                if item is None:
                    break
                await resp.write(item)
        except ConnectionError as exc:
            # The subscriber went away (as a real master does, the stream just ends): not an
            # error of the handler's, which aiohttp would log with a traceback.
            log.info("event stream %s: the subscriber went away (%s)", stream.id, exc)
            stream.lost()
            return resp
        except BaseException:  # cancelled (the connection closed), or a failure of ours
            stream.lost()
            raise
        finally:
            self._streams.discard(stream)
        with _suppress_connection():
            await resp.write_eof()
        return resp

    async def _operator(self, request: web.Request) -> web.StreamResponse:
        master = self.master
        assert master is not None
        if request.method != "POST":
            return _method_not_allowed(request)
        ctype, error = _content_type(request)
        if error is not None:
            return error
        assert ctype is not None
        parsed = operator_api.handle(master, await request.read(), ctype)
        if isinstance(parsed, tuple):
            return _text(*parsed)
        accept = _codec.negotiate(request.headers.get("Accept"))
        if accept is None:
            return _text(406, NOT_ACCEPTABLE)
        if parsed.type == master_pb2.Call.SUBSCRIBE:
            stream = EventStream(accept)
            stream.dict_type = master_pb2.Event
            self._streams.add(stream)
            master.operator_subscribe(stream)
            return await self._stream(request, stream, {})
        status, payload = operator_api.operator_call(master, parsed)
        if isinstance(payload, str):
            return _text(status, payload) if payload else web.Response(status=status)
        return web.Response(
            status=status,
            body=operator_api.encode_response(payload, accept),
            headers={"Content-Type": accept},
        )

    # --------------------------------------------------------------- agents
    async def _agent(self, request: web.Request, agent: Agent, path: str) -> web.StreamResponse:
        if not agent.reachable:
            # an unreachable agent: the connection hangs up
            raise web.HTTPServiceUnavailable(text="Agent is unreachable")
        if path == "/api/v1/executor":
            return await self._executor(request, agent)
        if path in ("/state", "/state.json"):
            return _json(agent.state_json())
        if path == "/containers":
            return _json(agent.containers_json())
        if path == "/health":
            return web.Response(status=200)
        if path == "/api/v1":
            return await self._agent_operator(request, agent)
        return _text(404, "")

    async def _agent_operator(self, request: web.Request, agent: Agent) -> web.StreamResponse:
        if request.method != "POST":
            return _method_not_allowed(request)
        ctype, accept = _operator_agent.media_types(request.headers)
        if isinstance(ctype, int):
            return _text(ctype, accept)  # an error: status and text
        message_accept = _operator_agent.message_accept(request.headers, accept)
        if isinstance(message_accept, tuple):
            return _text(*message_accept)
        if ctype == _operator_agent.RECORDIO:  # a streaming request: its first record is the call
            message_ctype = request.headers["Message-Content-Type"]
            parsed = await _operator_agent.first_record(request.content, message_ctype)
        else:
            message_ctype = ctype
            parsed = _operator_agent.handle(await request.read(), ctype)
        if isinstance(parsed, tuple):
            return _text(*parsed)
        problem = _operator_agent.streaming_problem(parsed, ctype, accept)
        if problem is not None:
            return _text(*problem)
        media = _operator_agent.Media(message_ctype, accept, message_accept)
        answer = _operator_agent.agent_call(agent, parsed, media)
        if inspect.isawaitable(answer):  # an answer that waits (WAIT_CONTAINER, a session's start)
            answer = await answer
        if isinstance(answer, _operator_agent.Streamed):  # a debug container's process I/O
            return await answer.respond(request)
        status, payload = answer
        if isinstance(payload, str):
            return _text(status, payload) if payload else web.Response(status=status)
        body = _operator_agent.encode_response(payload, accept)
        return web.Response(status=status, body=body, headers={"Content-Type": accept})

    async def _executor(self, request: web.Request, agent: Agent) -> web.StreamResponse:
        if request.method != "POST":
            return _method_not_allowed(request)
        ctype, error = _content_type(request)
        if error is not None:
            return error
        assert ctype is not None
        try:
            call = _codec.parse_body(executor_pb2.Call, await request.read(), ctype)
        except _codec.BodyError as exc:
            return _text(400, exc.text)
        result = agent.executor_call(call, request.headers.get("Accept"), ctype)
        if isinstance(result, EventStream):
            return await self._stream(request, result, {})
        status, text = result
        if status in (200, 202) and not text:
            return web.Response(status=status)
        return _text(status, text)

    # ---------------------------------------------------------------- files
    def _files(self, request: web.Request) -> web.StreamResponse:
        roots = [a.work_dir for a in self.agents.values()]
        if self.master is not None:
            roots += [e.agent.work_dir for e in self.master.agents.values()]
        return _files.http_files(request, _files.Files(dict.fromkeys(roots)))


class _suppress_connection:
    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, *_: object) -> bool:
        return et is not None and issubclass(et, (ConnectionError, RuntimeError))


_ = mesos_pb2
