"""The executor fork server: starts the local cluster's own executors by forking a warm process.

The command and default executor (`command_executor`) is Python: started afresh, each one spends
about a quarter of a CPU second importing ``asyncio`` and the rest and holds some 22 MB of its own.
With thousands of short tasks on two cores those start-ups are most of the machine's work, and an
executor that cannot start within the agent's registration timeout fails its task. This process
imports `command_executor` once, then forks one child per executor: the child becomes its own
session (as the agent's ``start_new_session`` did), gets the executor's environment, working
directory and ``stdout``/``stderr`` files, and runs the executor's ``main()`` in place, sharing
the imported code with its parent.

Run by path with ``python -P`` (standard library only, like `command_executor`). It reads one JSON
request per line on standard input and writes one JSON answer per line on standard output:

    {"id": 1, "argv": [...], "env": {...}, "cwd": "/...", "stdout": "/.../stdout", "stderr": "..."}
    {"id": 1, "pid": 4242}                  (or {"id": 1, "error": "..."})
    {"exit": 4242, "returncode": 0}         (when the child ends: negative for a signal, as asyncio)

It reaps its children and ends when standard input closes (the agent is gone); executors it
started keep running (they watch the agent themselves).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import selectors
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def _load_executor() -> ModuleType:
    """`command_executor`, loaded by path (importing the package would import the whole library)."""
    qualname = "mesos_framework.local.command_executor"
    spec = importlib.util.spec_from_file_location(qualname, Path(__file__).with_name("command_executor.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualname] = module
    spec.loader.exec_module(module)
    module._sibling("_fetcher")  # the default executor's fetcher, loaded once here too
    return module


def _child(executor: ModuleType, request: dict[str, Any], keep: set[int]) -> None:
    """In the forked child: become the executor (never returns)."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (null, out, err, *keep):
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"][1:]) or [sys.argv[0]]
        random.seed()
        code = int(executor.main() or 0)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # the executor's own failure: its traceback goes to its stderr
        import traceback  # noqa: PLC0415 - only on failure

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> int:
    """The server loop (until standard input closes)."""
    executor = _load_executor()
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the agent decides when this process ends
    out = sys.stdout.buffer
    children: set[int] = set()

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            send({"exit": pid, "returncode": os.waitstatus_to_exitcode(status)})

    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "in")
    selector.register(rfd, selectors.EVENT_READ, "wake")
    keep = {rfd, wfd, selector.fileno()}
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.data == "wake":
                try:
                    while os.read(rfd, 512):
                        pass
                except BlockingIOError:
                    pass
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return 0
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                try:
                    pid = os.fork()
                except OSError as exc:
                    send({"id": request["id"], "error": str(exc)})
                    continue
                if pid == 0:
                    _child(executor, request, keep)
                children.add(pid)
                send({"id": request["id"], "pid": pid})
        reap()


if __name__ == "__main__":
    sys.exit(serve())
