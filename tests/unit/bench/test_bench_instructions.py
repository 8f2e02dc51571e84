"""The instruction-count benchmark's parts: callgrind's count of a real process, and the arithmetic.

The whole section (two schedulers, two runs each under callgrind) takes minutes, so it is run by
hand (``python -m bench.instructions``); here a short interpreter run stands in for a scheduler.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from bench import instructions


def test_count_reads_callgrinds_total_and_the_last_line() -> None:
    cmd = [sys.executable, "-S", "-c", "print('first'); print('{\"completed\": true}')"]
    if shutil.which("valgrind") is None:
        with pytest.raises(instructions.ValgrindMissing):
            instructions.count(cmd)
        return
    total, last = instructions.count(cmd)
    more, _ = instructions.count([*cmd[:3], "sum(range(200000)); print('x')"])
    assert last == '{"completed": true}'
    assert 1_000_000 < total < more  # the interpreter's start-up, then more work on top


def test_count_reports_a_failing_command() -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("needs valgrind (the other test checks the message without it)")
    with pytest.raises(RuntimeError, match="exited 3 under callgrind"):
        instructions.count([sys.executable, "-S", "-c", "raise SystemExit(3)"])


def test_per_task_is_the_difference_over_the_extra_tasks() -> None:
    assert instructions.per_task((50, 1_000_000), (200, 4_000_000)) == 20_000
    with pytest.raises(ValueError, match="more tasks"):
        instructions.per_task((200, 1), (50, 2))
