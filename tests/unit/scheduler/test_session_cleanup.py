"""A Session's clean-up after a lost stream never swallows a cancellation of the task running it."""

from __future__ import annotations

import asyncio

import pytest

from mesos_framework.protocol import mesos
from mesos_framework.scheduler import Session


async def test_a_cancellation_during_the_clean_up_of_a_subscription_is_not_swallowed() -> None:
    # stop() cancels the event loop's task; when that lands while the session waits for its
    # subscription tasks to end, the loop must end too (it used to resubscribe for ever).
    session = Session("127.0.0.1:1", mesos.FrameworkInfo(user="u", name="n"))
    cleaning = asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaning.set()
            await asyncio.shield(asyncio.sleep(0.2))  # clean-up that takes a moment

    session.spawn(slow_to_end())
    await asyncio.sleep(0)
    ending = asyncio.get_running_loop().create_task(session.end_subscription_tasks())
    await cleaning.wait()
    ending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ending
    await session.close()
