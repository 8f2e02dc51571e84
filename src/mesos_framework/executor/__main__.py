"""``python -m mesos_framework.executor``: a Mesos command executor.

Runs `CommandExecutor` with the environment
the agent provides and exits once its task is over and acknowledged. Flags in
the agent's ``--name=value`` form are accepted; ``--task_command=<JSON
CommandInfo>`` overrides the task's command, the others are ignored.
Exit status: 0 after an orderly end, 1 if the executor could not start or
subscribe (the reason is printed on stderr).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

import orjson

from mesos_framework.errors import ConfigurationError, MesosError
from mesos_framework.executor._command import CommandExecutor
from mesos_framework.protocol import from_dict
from mesos_framework.protocol._schema import mesos_pb2

__all__ = ["main"]


def _flags(argv: Sequence[str]) -> dict[str, str]:
    flags: dict[str, str] = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg[2:].partition("=")
            flags[name] = value
    return flags


async def _run(argv: Sequence[str]) -> None:
    flags = _flags(argv)
    task_command: mesos_pb2.CommandInfo | None = None
    if "task_command" in flags:
        try:
            task_command = from_dict(mesos_pb2.CommandInfo, orjson.loads(flags["task_command"]))
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"not JSON: {exc}", option="--task_command") from exc
    executor = CommandExecutor(task_command=task_command, exit_when_done=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: executor.spawn(executor.shutdown()))
    await executor.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command executor; returns the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(_run(sys.argv[1:] if argv is None else argv))
    except MesosError as exc:
        print(f"mesos_framework.executor: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
