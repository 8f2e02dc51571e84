"""Background-task helpers shared by the scheduler, its session and its persister (private).

`cancel_and_wait` is the stop-path pattern: `with suppress(CancelledError): await task`
cannot tell the task's own cancellation from a cancellation of the task doing the
waiting, and swallows both (the caller then goes on as if nothing had asked it to stop).
`asyncio.wait` never raises the awaited tasks' outcomes, so a `CancelledError` out of it
is always the caller's own, and passes.

`report_failure` is the done-callback of background tasks: a `MesosError` goes to the
owner's `report`, anything else is logged with its traceback and emitted as `error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from mesos_framework.errors import MesosError

__all__ = ["cancel_and_wait", "report_failure"]


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel ``tasks`` and wait until they have ended; their outcomes are retrieved, not raised.

    A cancellation of the caller while it waits is raised (the tasks go on ending on their own).
    """
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in pending:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at garbage collection


def report_failure(
    task: asyncio.Future[Any],
    report: Callable[[MesosError], None],
    emit_error: Callable[[BaseException], None],
    log: logging.Logger,
) -> None:
    """Report how a background task failed (nothing if it succeeded or was cancelled)."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    if isinstance(exc, MesosError):
        report(exc)
    else:
        log.error("background task failed", exc_info=exc)
        emit_error(exc)
