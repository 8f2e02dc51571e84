"""An agent's operator API (``POST /slave(N)/api/v1``), JSON and protobuf.

Answers the read calls (``GET_HEALTH``, ``GET_FLAGS``, ``GET_VERSION``,
``GET_METRICS``, ``GET_LOGGING_LEVEL``, ``SET_LOGGING_LEVEL``, ``GET_STATE``,
``GET_CONTAINERS``, ``GET_FRAMEWORKS``, ``GET_EXECUTORS``, ``GET_OPERATIONS``,
``GET_TASKS``, ``GET_AGENT``, ``GET_RESOURCE_PROVIDERS``) and ``LIST_FILES``
/ ``READ_FILE`` of its sandboxes. Its containers are its executors' processes:
``KILL_CONTAINER`` signals one, ``WAIT_CONTAINER`` answers when one ends (an answer that
waits: `agent_call` then returns an awaitable), launches answer as Mesos does for a container
its containerizer does not support (``400``), unknown containers get Mesos's ``404``.
``LAUNCH_NESTED_CONTAINER_SESSION`` runs a debug container under an executor's (`_sessions`):
its output streams back, and ``ATTACH_CONTAINER_OUTPUT``/``INPUT``, ``KILL``/``WAIT``/
``REMOVE_CONTAINER`` work on it. ``KILL_CONTAINER`` of a running pod task's nested container
signals its task's process (`_pod_task_process`); ``REMOVE_CONTAINER`` of one that ended
removes its sandbox. Attaching to an executor's own container gets Mesos's answer for a container
launched without a TTY and not as a debug container (``500 I/O switchboard server was disabled
for this container``); resource-provider calls get ``501 Not Implemented``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import signal
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from mesos_framework import protocol
from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.local import _codec, _sessions
from mesos_framework.local._files import Files, FilesError
from mesos_framework.local._process import descendants, kill_tree
from mesos_framework.local.config import VERSION
from mesos_framework.local.operator_api import missing_part, set_logging_level
from mesos_framework.protocol._schema import agent_pb2, mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local.agent import Agent, AgentTask, Executor

__all__ = ["agent_call", "handle"]

Call = agent_pb2.Call
TERMINAL = _codec.TERMINAL_STATES
_START = time.time()


RECORDIO = "application/recordio"
_MEDIA = f"{_codec.JSON} or {_codec.PROTOBUF} or {RECORDIO}"


def media_types(headers: Mapping[str, str]) -> tuple[int, str] | tuple[str, str]:
    """Mesos's header checks of the agent API, in its order: (content type, accept) or the error."""
    ctype = headers.get("Content-Type")
    if ctype is None:
        return 400, "Expecting 'Content-Type' to be present"
    if ctype not in (_codec.JSON, _codec.PROTOBUF, RECORDIO):
        return 415, f"Expecting 'Content-Type' of {_MEDIA}"
    message_ctype = headers.get("Message-Content-Type")
    if ctype == RECORDIO:
        if message_ctype is None:
            return 400, "Expecting 'Message-Content-Type' to be set for streaming requests"
        if message_ctype not in (_codec.JSON, _codec.PROTOBUF):
            return 415, f"Expecting 'Message-Content-Type' of {_codec.JSON} or {_codec.PROTOBUF}"
    elif message_ctype is not None:
        return 415, "Expecting 'Message-Content-Type' to be not set for non-streaming requests"
    accept_header = headers.get("Accept")
    for media in (_codec.JSON, _codec.PROTOBUF, RECORDIO):
        if _codec.accepts(accept_header, media):
            accept = media
            break
    else:
        return 406, f"Expecting 'Accept' to allow {_MEDIA}"
    if accept != RECORDIO and "Message-Accept" in headers:
        return 406, "Expecting 'Message-Accept' to be not set for non-streaming responses"
    return ctype, accept


@dataclass(frozen=True)
class Media:
    """The media types of a call: of its messages, of the answer, of the answer's records."""

    content: str = _codec.JSON
    accept: str = _codec.JSON
    message_accept: str = _codec.JSON


def message_accept(headers: Mapping[str, str], accept: str) -> str | tuple[int, str]:
    """The type of a streamed answer's records (``Message-Accept``, JSON by default), or the error."""
    if accept != RECORDIO:
        return accept
    wanted = headers.get("Message-Accept")
    for media in (_codec.JSON, _codec.PROTOBUF):
        if _codec.accepts(wanted, media):
            return media
    return 406, f"Expecting 'Message-Accept' to allow {_codec.JSON} or {_codec.PROTOBUF}"


def handle(body: bytes, content_type: str) -> tuple[int, str] | agent_pb2.Call:
    """Parse and validate a request body: the call, or the status and text of the error."""
    if content_type == _codec.PROTOBUF:
        try:
            call = protocol.decode(agent_pb2.Call, body)
        except (ProtocolError, MessageError):
            return 400, "Failed to parse body into a protobuf object"
    else:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return 400, f"Failed to parse body into JSON: {exc}"
        try:
            call = _codec.from_dict(agent_pb2.Call, obj)
        except MessageError as exc:
            return 400, exc.reason if not exc.path else str(exc)
    problem = missing_part(call) or _container_problem(call)
    if problem is not None:
        return 400, f"Failed to validate agent::Call: {problem}"
    return call


_NESTED_ONLY = {
    Call.LAUNCH_NESTED_CONTAINER: "launch_nested_container",
    Call.WAIT_NESTED_CONTAINER: "wait_nested_container",
    Call.KILL_NESTED_CONTAINER: "kill_nested_container",
    Call.REMOVE_NESTED_CONTAINER: "remove_nested_container",
    Call.LAUNCH_NESTED_CONTAINER_SESSION: "launch_nested_container_session",
}
_WITH_CONTAINER_ID = {
    **_NESTED_ONLY,
    Call.LAUNCH_CONTAINER: "launch_container",
    Call.WAIT_CONTAINER: "wait_container",
    Call.KILL_CONTAINER: "kill_container",
    Call.REMOVE_CONTAINER: "remove_container",
    Call.ATTACH_CONTAINER_OUTPUT: "attach_container_output",
}
MAX_CONTAINER_ID_LENGTH = 242
"""Mesos's limit on a ``ContainerID.value``."""


def container_id_problem(cid: mesos_pb2.ContainerID) -> str | None:
    """Mesos's ``validateContainerId``: what is wrong with a container id (and its parents)."""
    value = cid.value
    if not value:
        return "ID must not be empty"
    if len(value) > 255:  # NAME_MAX
        return "ID must not be greater than 255 characters"
    if value in (".", ".."):
        return f"'{value}' is disallowed"
    if any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in value):
        return f"'{value}' contains invalid characters"
    if len(value) > MAX_CONTAINER_ID_LENGTH:
        return f"'ContainerID.value' '{value}' exceeds the maximum length ({MAX_CONTAINER_ID_LENGTH})"
    if "." in value or " " in value:
        return f"'ContainerID.value' '{value}' contains invalid characters"
    if cid.HasField("parent"):
        problem = container_id_problem(cid.parent)
        if problem is not None:
            return f"'ContainerID.parent' is invalid: {problem}"
    return None


def _container_problem(call: agent_pb2.Call) -> str | None:
    """Mesos's checks of the container ids of the container calls (``validation::agent::call``)."""
    if call.type == Call.ATTACH_CONTAINER_INPUT:
        attach = call.attach_container_input
        if not attach.HasField("type"):
            return "Expecting 'attach_container_input.type' to be present"
        if attach.type == Call.AttachContainerInput.UNKNOWN:
            return "'attach_container_input.type' is unknown"
        if attach.type != Call.AttachContainerInput.CONTAINER_ID:
            return None
        field = "attach_container_input"
    else:
        found = _WITH_CONTAINER_ID.get(call.type)
        if found is None:
            return None
        field = found
    cid = getattr(call, field).container_id
    problem = container_id_problem(cid)
    if problem is not None:
        return f"'{field}.container_id' is invalid: {problem}"
    if call.type in _NESTED_ONLY and not cid.HasField("parent"):
        return f"Expecting '{field}.container_id.parent' to be present"
    return None


def encode_response(payload: dict[str, Any], content_type: str) -> bytes:
    """A ``Response`` given as a dict, in either encoding."""
    return _codec.encode(_codec.from_dict(agent_pb2.Response, payload), content_type)


def _task(fid: str, task: AgentTask, executor: Executor, agent_id: str) -> dict[str, Any]:
    t = mesos_pb2.Task(name=task.info.name, state=task.state)
    t.task_id.CopyFrom(task.info.task_id)
    t.framework_id.value = fid
    t.agent_id.value = agent_id
    if executor.kind != "command":
        t.executor_id.value = executor.id
    t.resources.extend(task.info.resources)
    t.statuses.extend(task.statuses)
    if task.info.HasField("labels"):
        t.labels.CopyFrom(task.info.labels)
    if task.info.HasField("container"):
        t.container.CopyFrom(task.info.container)
    return _codec.to_dict(t)


def get_tasks(agent: Agent) -> dict[str, Any]:
    aid = agent.id or ""
    launched: list[dict[str, Any]] = []
    terminated: list[dict[str, Any]] = []
    completed: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    for fid, fw in agent.frameworks.items():
        for ex in [*fw.executors.values(), *fw.completed_executors]:
            for task in ex.tasks.values():
                (terminated if task.state in TERMINAL else launched).append(_task(fid, task, ex, aid))
            completed.extend(_task(fid, task, ex, aid) for task in ex.completed_tasks)
            for group in ex.queued:
                for info in group:
                    q = mesos_pb2.Task(name=info.name, task_id=info.task_id, state=mesos_pb2.TASK_STAGING)
                    q.framework_id.value = fid
                    q.agent_id.value = aid
                    q.resources.extend(info.resources)
                    queued.append(_codec.to_dict(q))
    out = {
        "launched_tasks": launched,
        "terminated_tasks": terminated,
        "completed_tasks": completed,
        "queued_tasks": queued,
    }
    return {k: v for k, v in out.items() if v}


def get_agent(agent: Agent) -> dict[str, Any]:
    """``GET_AGENT``: the agent's info, and its drain while it drains."""
    out: dict[str, Any] = {"agent_info": _codec.to_dict(agent.agent_info())}
    if agent.drain_config is not None:
        out["drain_config"] = _codec.to_dict(agent.drain_config)
        if agent.drain_started is not None:
            out["estimated_drain_start_time"] = {"nanoseconds": int(agent.drain_started * 1e9)}
    return out


def get_executors(agent: Agent) -> dict[str, Any]:
    live = [
        {"executor_info": _codec.to_dict(ex.info)}
        for fw in agent.frameworks.values()
        for ex in fw.executors.values()
    ]
    done = [
        {"executor_info": _codec.to_dict(ex.info)}
        for fw in agent.frameworks.values()
        for ex in fw.completed_executors
    ]
    out = {"executors": live, "completed_executors": done}
    return {k: v for k, v in out.items() if v}


def get_frameworks(agent: Agent) -> dict[str, Any]:
    frameworks = [{"framework_info": _codec.to_dict(fw.info)} for fw in agent.frameworks.values()]
    return {"frameworks": frameworks} if frameworks else {}


def get_containers(agent: Agent, *, show_nested: bool = False) -> dict[str, Any]:
    """The executors' containers; with ``show_nested`` the running debug containers too (as
    Mesos lists a nested container: its own id alone, without its parent)."""
    containers = []
    for fid, fw in agent.frameworks.items():
        for ex in fw.executors.values():
            if ex.state == "TERMINATED":
                continue
            entry: dict[str, Any] = {
                "framework_id": {"value": fid},
                "executor_id": {"value": ex.id},
                "executor_name": ex.info.name,
                "container_id": {"value": ex.container_id},
            }
            pid = getattr(ex, "pid", None)
            if pid:
                entry["container_status"] = {"executor_pid": pid}
            containers.append(entry)
    if show_nested:
        for fw in agent.frameworks.values():
            for ex in fw.executors.values():
                if ex.state == "TERMINATED":
                    continue
                containers.extend(
                    {"container_id": {"value": cid}}
                    for cid, task in _pod_containers(ex).items()
                    if task is not None and task.state not in TERMINAL
                )
        containers.extend(
            {"container_id": {"value": session.cid.value}}
            for session in _sessions.sessions(agent).values()
            if session.running
        )
    return {"containers": containers} if containers else {}


def _pod_containers(ex: Executor) -> dict[str, AgentTask | None]:
    """A default executor's tasks' nested containers (the ``tasks/<task id>`` links of its sandbox
    to ``containers/<id>``), each with its task (``None`` when the agent no longer knows it)."""
    found: dict[str, AgentTask | None] = {}
    tasks = ex.directory / "tasks"
    if ex.kind != "default" or not tasks.is_dir():
        return found
    known = {task.info.task_id.value: task for task in ex.completed_tasks}
    known.update(ex.tasks)
    for link in tasks.iterdir():
        if link.is_symlink():
            found[Path(os.readlink(link)).name] = known.get(link.name)
    return found


def _termination(task: AgentTask) -> dict[str, Any]:
    """A pod task's container termination as Mesos saves it (its wait(2) status), from the
    terminal status the executor sent ("Command exited with status N" or "... terminated with
    signal S")."""
    message = task.statuses[-1].message if task.statuses else ""
    exited = re.fullmatch(r"Command exited with status (\d+)", message)
    if exited:
        return {"exit_status": (int(exited[1]) & 0xFF) << 8}
    killed = re.fullmatch(r"Command terminated with signal (.+)", message)
    if killed:
        for sig in signal.Signals:
            if killed[1] in (signal.strsignal(sig), sig.name, str(sig.value)):
                return {"exit_status": int(sig)}
    return {}


async def _wait_pod_task(ex: Executor, task: AgentTask, kind: str) -> Answer:
    """``WAIT_CONTAINER`` of a pod task's container: when its task has ended (or its executor)."""
    # (polled: the agent's task records signal no change; a wait is rare and a tenth of a second)
    while task.state not in TERMINAL and not (ex.waiter is not None and ex.waiter.done()):  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return 200, {"type": kind, kind.lower(): _termination(task) if task.state in TERMINAL else {}}


class _Logging:
    def __init__(self) -> None:
        self.logging_level = 0
        self.logging_reset: asyncio.TimerHandle | None = None


def _logging(agent: Agent) -> _Logging:
    state: _Logging | None = getattr(agent, "_operator_logging", None)
    if state is None:
        state = _Logging()
        setattr(agent, "_operator_logging", state)  # noqa: B010 - kept beside the agent
    return state


Answer = tuple[int, dict[str, Any] | str]
"""Status and a ``Response`` dict or text."""


Streamed = _sessions.Streamed
Reply = Answer | Streamed


def agent_call(
    agent: Agent, call: agent_pb2.Call, media: Media | None = None
) -> Answer | Streamed | Awaitable[Reply]:
    """Answer one validated agent operator call: status and a ``Response`` dict or text; or an
    awaitable for an answer that waits (``WAIT_CONTAINER`` of a running container); or a
    `Streamed` answer (the process I/O of a debug container)."""
    media = media or Media()
    kind = Call.Type.Name(call.type)
    key = kind.lower()
    t = call.type
    if t == Call.GET_HEALTH:
        return 200, {"type": kind, key: {"healthy": True}}
    if t == Call.GET_VERSION:
        info = {"version": VERSION, "build_user": "mesos-framework local", "git_tag": VERSION}
        return 200, {"type": kind, key: {"version_info": info}}
    if t == Call.GET_FLAGS:
        flags = {"port": str(agent.port), "work_dir": str(agent.work_dir), "hostname": agent.config.hostname}
        return 200, {
            "type": kind,
            key: {"flags": [{"name": k, "value": v} for k, v in sorted(flags.items())]},
        }
    if t == Call.GET_METRICS:
        tasks = get_tasks(agent)
        metrics = {
            "slave/uptime_secs": time.time() - _START,
            "slave/registered": 1.0 if agent.id else 0.0,
            "slave/tasks_running": float(len(tasks.get("launched_tasks", []))),
            "slave/executors_running": float(len(get_executors(agent).get("executors", []))),
        }
        return 200, {
            "type": kind,
            key: {"metrics": [{"name": k, "value": v} for k, v in sorted(metrics.items())]},
        }
    if t == Call.GET_LOGGING_LEVEL:
        return 200, {"type": kind, key: {"level": _logging(agent).logging_level}}
    if t == Call.SET_LOGGING_LEVEL:
        set_logging_level(_logging(agent), call.set_logging_level)
        return 200, ""
    if t in (Call.LIST_FILES, Call.READ_FILE):
        files = Files([agent.work_dir])
        try:
            if t == Call.LIST_FILES:
                return 200, {"type": kind, key: {"file_infos": files.browse(call.list_files.path)}}
            read = call.read_file
            size, data = files.read(read.path, read.offset, read.length if read.HasField("length") else None)
        except FilesError as exc:
            return exc.status, exc.text
        return 200, {"type": kind, key: {"size": size, "data": base64.b64encode(data).decode()}}
    if t == Call.GET_STATE:
        state = {
            "get_tasks": get_tasks(agent),
            "get_executors": get_executors(agent),
            "get_frameworks": get_frameworks(agent),
        }
        return 200, {"type": kind, key: state}
    if t == Call.GET_CONTAINERS:
        return 200, {"type": kind, key: get_containers(agent, show_nested=call.get_containers.show_nested)}
    if t == Call.GET_FRAMEWORKS:
        return 200, {"type": kind, key: get_frameworks(agent)}
    if t == Call.GET_EXECUTORS:
        return 200, {"type": kind, key: get_executors(agent)}
    if t == Call.GET_OPERATIONS:
        return 200, {"type": kind, key: {}}
    if t == Call.GET_TASKS:
        return 200, {"type": kind, key: get_tasks(agent)}
    if t == Call.GET_AGENT:
        return 200, {"type": kind, key: get_agent(agent)}
    if t == Call.GET_RESOURCE_PROVIDERS:
        return 200, {"type": kind, key: {}}
    if t in _CONTAINER_CALLS:
        return _container_call(agent, call)
    if t in (Call.ATTACH_CONTAINER_INPUT, Call.ATTACH_CONTAINER_OUTPUT, Call.LAUNCH_NESTED_CONTAINER_SESSION):
        return _process_io(agent, call, media)
    return 501, ""


STREAMING_REQUEST = {Call.ATTACH_CONTAINER_INPUT}
STREAMING_RESPONSE = {Call.ATTACH_CONTAINER_OUTPUT, Call.LAUNCH_NESTED_CONTAINER_SESSION}


def streaming_problem(call: agent_pb2.Call, content_type: str, accept: str) -> tuple[int, str] | None:
    """Mesos's checks of which calls may stream (``Http::_api``): the status and text, or None."""
    kind = Call.Type.Name(call.type)
    if content_type == RECORDIO and call.type not in STREAMING_REQUEST:
        return 415, f"Streaming 'Content-Type' {RECORDIO} is not supported for {kind} call"
    if content_type != RECORDIO and call.type in STREAMING_REQUEST:
        return 415, f"Expecting 'Content-Type' to be {RECORDIO} for {kind} call"
    if accept == RECORDIO and call.type not in STREAMING_RESPONSE:
        return 406, f"Streaming response is not supported for {kind} call"
    return None


class Reader(Protocol):
    """A request body being read (aiohttp's ``StreamReader``)."""

    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


async def first_record(content: Reader, content_type: str) -> tuple[int, str] | agent_pb2.Call:
    """The call of a streaming request: its first RecordIO record, or the status and text of the error."""
    try:
        line = await content.readline()
        if not line:
            return 400, "Received EOF while reading request body"
        size = int(line.strip())
        if size < 0 or size > _MAX_RECORD:
            raise ValueError(size)
        record = await content.readexactly(size)
    except (ValueError, asyncio.IncompleteReadError):
        return 400, "Failed to decode the RecordIO request body"
    return handle(record, content_type)


_MAX_RECORD = 4 * 1024 * 1024


SWITCHBOARD_DISABLED = _sessions.SWITCHBOARD_DISABLED


def _process_io(agent: Agent, call: agent_pb2.Call, media: Media) -> Answer | Streamed | Awaitable[Reply]:
    """``LAUNCH_NESTED_CONTAINER_SESSION`` (a debug container under an executor's, `_sessions`),
    ``ATTACH_CONTAINER_INPUT``/``OUTPUT`` of one; for the executors' containers (launched
    without a TTY, not as debug containers) Mesos's answer: the I/O switchboard has no server
    for them."""
    if call.type == Call.LAUNCH_NESTED_CONTAINER_SESSION:
        session_call = call.launch_nested_container_session
        cid = session_call.container_id
        if not cid.HasField("parent"):
            return _launch(agent, cid)
        found = _parent(agent, cid.parent)
        if found is None:
            return 400, f"Parent container {_container_name(cid.parent)} does not exist"
        executor, session, task = found
        return _sessions.launch(
            agent,
            executor,
            session_call,
            media.accept,
            media.message_accept,
            parent=session,
            parent_task=task,
        )
    if call.type == Call.ATTACH_CONTAINER_INPUT:
        if call.attach_container_input.type != Call.AttachContainerInput.CONTAINER_ID:
            return 400, "Expecting 'attach_container_input.type' to be CONTAINER_ID"
        cid = call.attach_container_input.container_id
    else:
        cid = call.attach_container_output.container_id
    root = _root(cid)
    if _running_executor(agent, root.value) is None:
        return 404, f"Container {_container_name(cid)} cannot be found"
    session = _sessions.sessions(agent).get(_container_name(cid))
    if session is not None:
        if call.type == Call.ATTACH_CONTAINER_INPUT:
            return _sessions.attach_input(session, media.content)
        return _sessions.attach_output(session, media.accept, media.message_accept)
    if cid.HasField("parent"):
        return 500, f"Unknown container {_container_name(cid)}"
    return 500, SWITCHBOARD_DISABLED


_CONTAINER_CALLS = {
    Call.LAUNCH_CONTAINER: "launch_container",
    Call.LAUNCH_NESTED_CONTAINER: "launch_nested_container",
    Call.KILL_CONTAINER: "kill_container",
    Call.KILL_NESTED_CONTAINER: "kill_nested_container",
    Call.WAIT_CONTAINER: "wait_container",
    Call.WAIT_NESTED_CONTAINER: "wait_nested_container",
    Call.REMOVE_CONTAINER: "remove_container",
    Call.REMOVE_NESTED_CONTAINER: "remove_nested_container",
}
"""Container calls with a plain (non-streaming) answer."""

_container_name = _sessions.container_name


def _pod_task_process(agent: Agent, cid: mesos_pb2.ContainerID) -> int | None:
    """The process of a running pod task's nested container, or ``None``.

    The default executor started it (the agent has no handle on it): it is the executor's
    descendant that leads its own process group, started with its sandbox (``containers/<id>``
    of the executor's) as ``MESOS_SANDBOX``, as /proc tells."""
    if not cid.HasField("parent") or cid.parent.HasField("parent"):
        return None
    root = _running_executor(agent, cid.parent.value)
    if root is None or root.process is None or root.process.returncode is not None:
        return None
    task = _pod_containers(root).get(cid.value)
    if task is None or task.state in TERMINAL:
        return None
    sandbox = _nested_sandbox(root, cid).resolve()
    for pid in descendants(root.process.pid):
        try:
            if os.getpgid(pid) != pid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        for var in environ:
            if var.startswith(b"MESOS_SANDBOX=") and Path(os.fsdecode(var[14:])).resolve() == sandbox:
                return pid
    return None


def _root(cid: mesos_pb2.ContainerID) -> mesos_pb2.ContainerID:
    while cid.HasField("parent"):
        cid = cid.parent
    return cid


def _running_executor(agent: Agent, container_id: str) -> Executor | None:
    """The executor whose (top-level) container this is, while its container has not ended."""
    for fw in agent.frameworks.values():
        for ex in fw.executors.values():
            if ex.container_id != container_id or ex.state == "TERMINATED":
                continue
            if ex.waiter is not None and ex.waiter.done():
                return None  # ended
            if ex.waiter is None and (ex.process is None or ex.process.returncode is not None):
                return None
            return ex
    return None


def _parent(
    agent: Agent, parent: mesos_pb2.ContainerID
) -> tuple[Executor, _sessions.Session | None, AgentTask | None] | None:
    """The running container ``parent`` to nest a container in: an executor's, a nested one
    launched through the API, or a pod task's; as its root executor with the nested container
    (or pod task), or ``None`` when there is none (Mesos: the parent does not exist)."""
    root = _running_executor(agent, _root(parent).value)
    if root is None or not parent.HasField("parent"):
        return None if root is None else (root, None, None)
    session = _sessions.sessions(agent).get(_container_name(parent))
    if session is not None:
        return (root, session, None) if session.running else None
    if not parent.parent.HasField("parent"):
        task = _pod_containers(root).get(parent.value)
        if task is not None and task.state not in TERMINAL:
            return root, None, task
    return None


def _launch(agent: Agent, cid: mesos_pb2.ContainerID) -> Answer:
    """Launches: Mesos's answer for a missing parent, else for a container the containerizer
    does not support (``400``)."""
    if cid.HasField("parent") and _parent(agent, cid.parent) is None:
        return 400, f"Parent container {_container_name(cid.parent)} does not exist"
    return 400, "The provided ContainerInfo is not supported"


def _wait_status(ex: Executor) -> int | None:
    """The executor's wait(2) status, as Mesos reports a container's ``exit_status``."""
    if ex.process is None or ex.process.returncode is None:
        return None
    code = ex.process.returncode
    return (code & 0xFF) << 8 if code >= 0 else -code


async def _wait(ex: Executor, kind: str) -> Answer:
    """``WAIT_CONTAINER``: answer when the executor's container ends."""
    if ex.waiter is not None:
        await asyncio.shield(ex.waiter)
    elif ex.process is not None:
        await ex.process.wait()
    ended: dict[str, Any] = {}
    status = _wait_status(ex)
    if status is not None:
        ended["exit_status"] = status
    return 200, {"type": kind, kind.lower(): ended}


_nested_sandbox = _sessions.sandbox_path


def _remove(ex: Executor, cid: mesos_pb2.ContainerID) -> Answer:
    """``REMOVE_CONTAINER`` of a nested container, as Mesos's containerizer removes one: its
    sandbox goes once it has ended (``500`` while it runs)."""
    sandbox = _nested_sandbox(ex, cid)
    if not sandbox.is_dir():
        return 200, ""
    if not cid.parent.HasField("parent"):  # a pod task's container: is its task still running?
        for link in (ex.directory / "tasks").glob("*"):
            task = ex.tasks.get(link.name)
            running = task is not None and task.state not in TERMINAL
            if running and link.is_symlink() and link.resolve() == sandbox.resolve():
                return 500, "Nested container has not terminated yet"
    shutil.rmtree(sandbox, ignore_errors=True)
    return 200, ""


def _container_call(agent: Agent, call: agent_pb2.Call) -> Answer | Awaitable[Answer]:
    """The container calls, for a runtime whose containers are its executors' processes.

    Launches get Mesos's answer for a container the containerizer does not support (``400 The
    provided ContainerInfo is not supported``, or ``Parent container ... does not exist``); an
    executor's container can be killed (with a signal) and waited on (the answer comes when it
    ends, with its wait status), and so can a running pod task's; a nested container's sandbox
    can be removed once it ended; an unknown or ended container is ``404``, with Mesos's texts.
    ``REMOVE_CONTAINER`` of a top-level container is ``501``: Mesos's agent aborts on it (``CHECK``
    in the containerizer).
    """
    message = getattr(call, _CONTAINER_CALLS[call.type])
    if call.type in (Call.LAUNCH_CONTAINER, Call.LAUNCH_NESTED_CONTAINER):
        found = (
            _parent(agent, message.container_id.parent) if message.container_id.HasField("parent") else None
        )
        if found is not None:  # a nested container under an executor's, or under a nested one
            return _sessions.launch_nested(agent, found[0], message, parent=found[1], parent_task=found[2])
        return _launch(agent, message.container_id)
    cid = message.container_id
    nested = cid.HasField("parent")
    session = _sessions.sessions(agent).get(_container_name(cid)) if nested else None
    if session is not None:
        return _session_call(agent, session, call, message)
    executor = None if nested else _running_executor(agent, cid.value)
    if call.type in (Call.KILL_CONTAINER, Call.KILL_NESTED_CONTAINER):
        sig = message.signal if message.HasField("signal") else signal.SIGKILL
        process = executor.process if executor is not None else None
        if process is not None and process.returncode is None:
            kill_tree(process.pid, sig)
            return 200, ""
        pid = _pod_task_process(agent, cid) if nested else None
        try:
            if pid is None:
                raise ProcessLookupError
            # As Mesos's containerizer, the signal goes to the container's process; once it
            # ends the executor reaps the rest of its group and reports the task ended by it.
            os.kill(pid, sig)
        except ProcessLookupError:
            return 404, f"Container '{_container_name(cid)}' cannot be found (or is already killed)"
        return 200, ""
    if call.type in (Call.WAIT_CONTAINER, Call.WAIT_NESTED_CONTAINER):
        kind = Call.Type.Name(call.type)
        if executor is not None:
            return _wait(executor, kind)
        parent = None if not nested or cid.parent.HasField("parent") else cid.parent.value
        root = _running_executor(agent, parent) if parent is not None else None
        task = _pod_containers(root).get(cid.value) if root is not None else None
        if root is not None and task is not None and _nested_sandbox(root, cid).is_dir():
            return _wait_pod_task(root, task, kind)  # until REMOVE_CONTAINER: its saved termination
        return 404, f"Container {_container_name(cid)} cannot be found"
    if not nested:
        return 501, ""
    root = _running_executor(agent, _root(cid).value)
    if root is None:
        return 500, "Unknown root container"
    return _remove(root, cid)


def _session_call(
    agent: Agent, session: _sessions.Session, call: agent_pb2.Call, message: Any
) -> Answer | Awaitable[Answer]:
    """Kill, wait on or remove a debug container (`_sessions`)."""
    if call.type in (Call.KILL_CONTAINER, Call.KILL_NESTED_CONTAINER):
        if not session.running:
            return 404, f"Container '{session.name}' cannot be found (or is already killed)"
        session.kill(message.signal if message.HasField("signal") else signal.SIGKILL)
        return 200, ""
    if call.type in (Call.WAIT_CONTAINER, Call.WAIT_NESTED_CONTAINER):
        return _sessions.wait(session, Call.Type.Name(call.type))
    return _sessions.remove(agent, session)
