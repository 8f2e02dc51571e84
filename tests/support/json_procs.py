"""Scheduler subprocesses that report on stdout, one JSON line per interesting event.

Both sides live here: the child's (`say`, `say_stamped`, `report`, `web_tasks`), used by
``tests/integration/scheduler_proc.py``, ``ha_proc.py`` and the like, and the parent's
(`JsonLinesProcess`, `json_lines_process`), which starts such a module with ``python -m``
and gathers what it prints, and `python_json`, which runs a script in a fresh interpreter and
returns the JSON line it ends with.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from mesos_framework.scheduler import Scheduler

#: The repository's root: the subprocesses run there, so that ``tests.…`` imports.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Short retry backoffs, so that a test's scheduler recovers quickly.
FAST_BACKOFF: dict[str, Any] = {
    "exponential_backoff_minimum": 0.1,
    "exponential_backoff_maximum": 0.5,
    "restart_backoff_minimum": 0.1,
}

Say = Callable[..., None]


# -- the child's side ---------------------------------------------------------
def say(**fields: Any) -> None:
    """Print ``fields`` as one JSON line, at once."""
    print(json.dumps(fields), flush=True)


def say_stamped(**fields: Any) -> None:
    """`say`, with ``t`` (`time.time()`) and the process's ``pid`` first."""
    say(t=time.time(), pid=os.getpid(), **fields)


def web_tasks(instances: int, **options: Any) -> dict[str, Any]:
    """The ``tasks`` option of one long-running ``web`` type (``sleep 300``) of ``instances``."""
    return {
        "web": {
            "instances": instances,
            **options,
            "command": {"value": "sleep 300", "shell": True},
            "resources": {"cpus": 0.1, "mem": 16},
        }
    }


def report(scheduler: Scheduler, say: Say, *, updates: bool = False) -> None:
    """Report ``subscribed``, each ``launch`` and ``kill``, each ``error`` and, after every
    update, the ``running`` instances (name and task ID); with ``updates``, each ``update`` too.
    """
    from mesos_framework.tasks import TaskState

    scheduler.on("subscribed", lambda sub: say(event="subscribed", framework_id=sub.framework_id.value))
    scheduler.on(
        "sent_accept",
        lambda call: [
            say(event="launch", task_id=t.task_id.value, name=t.name)
            for op in call.accept.operations
            for t in op.launch.task_infos
        ],
    )
    scheduler.on("sent_kill", lambda call: say(event="kill", task_id=call.kill.task_id.value))
    scheduler.on("error", lambda exc: say(event="error", error=repr(exc)))
    if updates:
        scheduler.on(
            "update",
            lambda u: say(
                event="update",
                task_id=u.status.task_id.value,
                state=TaskState(u.status.state).name,
                reason=u.status.reason,
                message=u.status.message,
            ),
        )

    def tasks_changed(*_: Any) -> None:
        running = sorted(
            (r.name, r.task_id)
            for r in scheduler.tasks
            if r.state == TaskState.TASK_RUNNING and not r.restarting
        )
        say(event="running", tasks=running)

    scheduler.on("update", tasks_changed)


# -- the parent's side --------------------------------------------------------
class JsonLinesProcess:
    """A subprocess and the JSON lines it printed (other lines are skipped)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.lines: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, module: str, *args: str) -> Self:
        """``python -m module args...`` in the repository's root, its stdout read."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                continue

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]

    def running(self) -> list[tuple[str, str]]:
        """The running instances it reported last (see `report`)."""
        found = self.events("running")
        return [tuple(t) for t in found[-1]["tasks"]] if found else []  # type: ignore[misc]

    async def sigkill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        await self._reader


@asynccontextmanager
async def json_lines_process(module: str, *args: str) -> AsyncIterator[JsonLinesProcess]:
    """`JsonLinesProcess.start`, SIGKILLed at the end of the block."""
    p = await JsonLinesProcess.start(module, *args)
    try:
        yield p
    finally:
        await p.sigkill()


async def python_json(script: str, *args: str) -> Any:
    """Run ``python -c script args...`` in a fresh interpreter; the JSON of its last stdout line.

    The repository's ``src`` comes first on its ``PYTHONPATH`` (the package under test, not an
    installed one). It must exit 0 within three minutes; its stderr is shown if not.
    """
    path = os.pathsep.join([os.path.join(ROOT, "src"), os.environ.get("PYTHONPATH", "")])
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])
