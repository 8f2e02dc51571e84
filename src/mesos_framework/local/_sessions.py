"""Nested containers of the local agent's executors: debug containers
(``LAUNCH_NESTED_CONTAINER_SESSION``) with their process I/O, and others (``LAUNCH_CONTAINER``
with a parent).

As Mesos's agent does for a nested container of class ``DEBUG`` (without a TTY), a session runs a
command under an executor's container, in the executor's sandbox with its ``MESOS_SANDBOX``, and
answers with the command's stdout and stderr as ``ProcessIO`` ``DATA`` records, RecordIO-framed
(``Content-Type`` the ``Accept`` of the call, and for ``application/recordio`` a
``Message-Content-Type`` from ``Message-Accept``). The answer ends when both outputs end; the
container is destroyed then, or when the client hangs up. While it runs,
``ATTACH_CONTAINER_OUTPUT`` streams its output from then on (to any number of clients) and
``ATTACH_CONTAINER_INPUT`` feeds its stdin (a ``DATA`` record with no data ends it).

A nested container launched by ``LAUNCH_CONTAINER`` runs in a sandbox of its own,
``containers/<id>`` in the executor's, writing its ``stdout`` and ``stderr`` there; attaching to
it gets Mesos's ``500`` for a container without an I/O switchboard server.

Either kind goes with its parent; ``KILL_CONTAINER`` signals it, ``WAIT_CONTAINER`` answers when
it ends, and its termination is kept, as Mesos checkpoints a nested container's, until
``REMOVE_CONTAINER`` (which also removes a launched container's sandbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aiohttp import web

from mesos_framework.errors import MessageError, ProtocolError
from mesos_framework.local import _codec
from mesos_framework.local._agent_containers import command_argv
from mesos_framework.protocol._schema import agent_pb2, mesos_pb2

if TYPE_CHECKING:
    from mesos_framework.local._agent_model import AgentTask, Executor
    from mesos_framework.local.agent import Agent

__all__ = ["Session", "Streamed", "sessions"]

log = logging.getLogger(__name__)

RECORDIO = "application/recordio"
ProcessIO = agent_pb2.ProcessIO
_CHUNK = 64 * 1024
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_MAX_RECORD = 4 * 1024 * 1024


def container_name(cid: mesos_pb2.ContainerID) -> str:
    """A ``ContainerID`` as Mesos prints it (``parent.child``)."""
    return f"{container_name(cid.parent)}.{cid.value}" if cid.HasField("parent") else cid.value


def _frame(record: bytes) -> bytes:
    return b"%d\n%s" % (len(record), record)


class Streamed:
    """An answer the server streams itself (a session's or an attached output, an input)."""

    async def respond(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError


class Session:
    """One nested container (a debug one or not): its process, output listeners, termination."""

    def __init__(
        self,
        cid: mesos_pb2.ContainerID,
        executor: Executor,
        *,
        debug: bool = True,
        parent: Session | None = None,
        parent_task: AgentTask | None = None,
    ) -> None:
        self.cid = cid
        self.name = container_name(cid)
        self.executor = executor
        """The executor whose container is the root of this one."""
        self.parent = parent
        """The nested container this one is nested in, when launched through the API."""
        self.parent_task = parent_task
        """The pod task whose container this one is nested in."""
        self.debug = debug
        """A debug container (its I/O through the agent); else its output goes to its sandbox."""
        if not debug:  # as Mesos: containers/<id> in its parent's, from the root's sandbox down
            self.sandbox = sandbox_path(executor, cid)
        elif parent is not None:
            self.sandbox = parent.sandbox  # a debug container shares its parent's sandbox
        else:
            self.sandbox = sandbox_path(executor, cid.parent)
        self.process: asyncio.subprocess.Process | None = None
        self.listeners: set[asyncio.Queue[ProcessIO | None]] = set()
        self.ended = asyncio.Event()
        self.wait_status: int | None = None
        self.input_attached = False
        self.queue: asyncio.Queue[ProcessIO | None] | None = None
        """The output of a debug container's own session."""
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return not self.ended.is_set()

    def listen(self) -> asyncio.Queue[ProcessIO | None]:
        """A queue of the output records from now on (None: the output ended)."""
        queue: asyncio.Queue[ProcessIO | None] = asyncio.Queue()
        self.listeners.add(queue)
        return queue

    async def start(self, command: mesos_pb2.CommandInfo) -> None:
        """Start the command (`OSError` if it cannot be).

        A debug container runs in its parent's sandbox with the parent's ``MESOS_SANDBOX``, its
        stdin and outputs through the agent; another nested container in a sandbox of its own
        (``containers/<id>`` in the parent's), writing its ``stdout`` and ``stderr`` files there,
        with an environment of its own (``MESOS_SANDBOX``, the command's variables, ``PATH``).
        """
        if self.debug:
            env = {**os.environ, "MESOS_SANDBOX": str(self.sandbox)}
        else:
            self.sandbox.mkdir(parents=True, exist_ok=True)
            env = {"PATH": os.environ.get("PATH", _DEFAULT_PATH), "MESOS_SANDBOX": str(self.sandbox)}
        env.update({v.name: v.value for v in command.environment.variables if v.type != v.SECRET})
        argv, program = command_argv(command)
        with contextlib.ExitStack() as files:
            stdin: int | IO[bytes] = asyncio.subprocess.PIPE
            stdout: int | IO[bytes] = asyncio.subprocess.PIPE
            stderr: int | IO[bytes] = asyncio.subprocess.PIPE
            if not self.debug:
                stdin = asyncio.subprocess.DEVNULL
                stdout = files.enter_context((self.sandbox / "stdout").open("ab"))
                stderr = files.enter_context((self.sandbox / "stderr").open("ab"))
            self.process = await asyncio.create_subprocess_exec(
                argv[0],
                *argv[1:],
                executable=program,
                cwd=self.sandbox,
                env=env,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        for coro in (self._supervise(), self._watch_parent()):
            task = loop.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, stream: asyncio.StreamReader | None, kind: int) -> None:
        while stream is not None and (chunk := await stream.read(_CHUNK)):
            record = ProcessIO(type=ProcessIO.DATA)
            record.data.type = kind
            record.data.data = chunk
            for queue in list(self.listeners):
                queue.put_nowait(record)

    async def _supervise(self) -> None:
        process = self.process
        assert process is not None
        try:
            if self.debug:
                await asyncio.gather(
                    self._pump(process.stdout, ProcessIO.Data.STDOUT),
                    self._pump(process.stderr, ProcessIO.Data.STDERR),
                )
        finally:
            for queue in list(self.listeners):
                queue.put_nowait(None)
            self.listeners.clear()
            if self.debug:
                self.destroy()  # the output ended: the session's container goes, as in Mesos
            code = await process.wait()
            self.wait_status = (code & 0xFF) << 8 if code >= 0 else -code
            self.ended.set()
            for task in list(self._tasks):  # the parent's watcher
                if task is not asyncio.current_task():
                    task.cancel()

    async def _watch_parent(self) -> None:
        """A nested container goes with its parent (and with the root, the executor's)."""
        ends: list[asyncio.Future[Any]] = []
        if self.executor.waiter is not None:
            ends.append(asyncio.shield(self.executor.waiter))
        if self.parent is not None:
            ends.append(asyncio.ensure_future(self.parent.ended.wait()))
        if self.parent_task is not None:
            ends.append(asyncio.ensure_future(_task_ended(self.parent_task)))
        if not ends:
            return
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for end in ends:
                end.cancel()
        self.destroy()

    def destroy(self) -> None:
        """Kill the container's processes (its session)."""
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)

    def kill(self, sig: int) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, sig)


def sandbox_path(executor: Executor, cid: mesos_pb2.ContainerID) -> Path:
    """A nested container's sandbox as Mesos lays it out: ``containers/<id>`` for each level
    below the root, from the executor's sandbox down (the executor's own for the root)."""
    chain: list[str] = []
    while cid.HasField("parent"):
        chain.append(cid.value)
        cid = cid.parent
    path = executor.directory
    for value in reversed(chain):
        path = path / "containers" / value
    return path


async def _task_ended(task: AgentTask) -> None:
    # (polled: the agent's task records signal no change)
    while task.state not in _codec.TERMINAL_STATES:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


class _Output(Streamed):
    """A stream of a session's output records (``LAUNCH_NESTED_CONTAINER_SESSION`` or
    ``ATTACH_CONTAINER_OUTPUT``)."""

    def __init__(
        self,
        session: Session,
        queue: asyncio.Queue[ProcessIO | None],
        accept: str,
        message: str,
        *,
        owner: bool,
    ) -> None:
        self.session = session
        self.queue = queue
        self.accept = accept
        self.message = message if accept == RECORDIO else accept
        self.owner = owner

    async def respond(self, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": self.accept}
        if self.accept == RECORDIO:
            headers["Message-Content-Type"] = self.message
        response = web.StreamResponse(status=200, headers=headers)
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            while (record := await self.queue.get()) is not None:
                await response.write(_frame(_codec.encode(record, self.message)))
            await response.write_eof()
        finally:
            self.session.listeners.discard(self.queue)
            if self.owner:  # the session's connection ended: so does its container
                self.session.destroy()
        return response


class _Input(Streamed):
    """``ATTACH_CONTAINER_INPUT`` of a session: the request's further records feed its stdin."""

    def __init__(self, session: Session, content_type: str) -> None:
        self.session = session
        self.content_type = content_type

    async def respond(self, request: web.Request) -> web.StreamResponse:
        session = self.session
        process = session.process
        assert process is not None and process.stdin is not None
        stdin = process.stdin
        try:
            while line := await request.content.readline():
                try:
                    size = int(line.strip())
                    if size < 0 or size > _MAX_RECORD:
                        raise ValueError(size)
                    raw = await request.content.readexactly(size)
                    call = _codec.parse_body(agent_pb2.Call, raw, self.content_type)
                except (
                    ValueError,
                    asyncio.IncompleteReadError,
                    _codec.BodyError,
                    MessageError,
                    ProtocolError,
                ):
                    return _text(400, "Failed to decode the RecordIO request body")
                attach = call.attach_container_input
                if attach.type != agent_pb2.Call.AttachContainerInput.PROCESS_IO:
                    return _text(400, "Expecting 'attach_container_input.type' to be PROCESS_IO")
                record = attach.process_io
                if record.type != ProcessIO.DATA or record.data.type != ProcessIO.Data.STDIN:
                    continue  # CONTROL records (heartbeats, TTY sizes): nothing to do without a TTY
                if not record.data.data:  # an empty DATA record: the end of stdin
                    stdin.close()
                    break
                with contextlib.suppress(ConnectionError):
                    stdin.write(record.data.data)
                    await stdin.drain()
        finally:
            session.input_attached = False
        return web.Response(status=200)


def _text(status: int, text: str) -> web.Response:
    return web.Response(
        status=status, body=text.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}
    )


def sessions(agent: Agent) -> dict[str, Session]:
    """The agent's debug containers by name (``parent.child``), ended ones until removed."""
    found: dict[str, Session] | None = getattr(agent, "_operator_sessions", None)
    if found is None:
        found = {}
        setattr(agent, "_operator_sessions", found)  # noqa: B010 - kept beside the agent
    return found


async def launch(
    agent: Agent,
    executor: Executor,
    call: agent_pb2.Call.LaunchNestedContainerSession,
    accept: str,
    message: str,
    *,
    parent: Session | None = None,
    parent_task: AgentTask | None = None,
) -> tuple[int, str] | Streamed:
    """Start a session under ``executor``'s container (or a nested one in it: ``parent``/``parent_task``
    for `Session`): its output stream, or Mesos's error."""
    started = await _start(agent, executor, call, debug=True, parent=parent, parent_task=parent_task)
    if isinstance(started, tuple):
        return started
    assert started.queue is not None
    return _Output(started, started.queue, accept, message, owner=True)


async def launch_nested(
    agent: Agent,
    executor: Executor,
    call: Any,
    *,
    parent: Session | None = None,
    parent_task: AgentTask | None = None,
) -> tuple[int, str]:
    """``LAUNCH_CONTAINER``/``LAUNCH_NESTED_CONTAINER`` of a nested container under ``executor``'s
    (or under a nested one in it: ``parent``/``parent_task`` for `Session`)."""
    started = await _start(agent, executor, call, debug=False, parent=parent, parent_task=parent_task)
    return started if isinstance(started, tuple) else (200, "")


async def _start(
    agent: Agent,
    executor: Executor,
    call: Any,
    *,
    debug: bool,
    parent: Session | None,
    parent_task: AgentTask | None,
) -> tuple[int, str] | Session:
    known = sessions(agent)
    name = container_name(call.container_id)
    if name in known and known[name].running:
        return 202, ""  # Mesos: the container was launched already (an ended one is launched anew)
    if call.HasField("container") and (
        call.container.HasField("tty_info") or call.container.type != mesos_pb2.ContainerInfo.MESOS
    ):
        return 400, "The provided ContainerInfo is not supported"
    session = Session(call.container_id, executor, debug=debug, parent=parent, parent_task=parent_task)
    if debug:
        session.queue = session.listen()
    try:
        await session.start(call.command)
    except OSError as exc:
        log.warning("failed to launch the nested container %s: %s", name, exc)
        return 400, f"Failed to launch container: {exc}"
    known[name] = session
    return session


SWITCHBOARD_DISABLED = "I/O switchboard server was disabled for this container"
"""Mesos's answer (``500``) to attaching to a container launched without a TTY, not a debug one."""


def attach_output(session: Session, accept: str, message: str) -> tuple[int, str] | Streamed:
    if not session.running:
        return 500, f"Unknown container {session.name}"
    if not session.debug:
        return 500, SWITCHBOARD_DISABLED
    return _Output(session, session.listen(), accept, message, owner=False)


def attach_input(session: Session, content_type: str) -> tuple[int, str] | Streamed:
    if not session.running:
        return 500, f"Unknown container {session.name}"
    if not session.debug:
        return 500, SWITCHBOARD_DISABLED
    if session.input_attached:  # the switchboard's answer
        return 409, "Multiple input connections are not allowed"
    session.input_attached = True
    return _Input(session, content_type)


def remove(agent: Agent, session: Session) -> tuple[int, str]:
    """``REMOVE_CONTAINER`` of an ended nested container: its record and its sandbox go."""
    if session.running:
        return 500, "Nested container has not terminated yet"
    del sessions(agent)[session.name]
    if not session.debug:
        shutil.rmtree(session.sandbox, ignore_errors=True)
    return 200, ""


async def wait(session: Session, kind: str) -> tuple[int, dict[str, Any]]:
    await session.ended.wait()
    ended: dict[str, Any] = {}
    if session.wait_status is not None:
        ended["exit_status"] = session.wait_status
    return 200, {"type": kind, kind.lower(): ended}
