"""A type checker rejects a misspelled Scheduler option and a wrongly typed one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SNIPPET = """
from mesos_framework import Scheduler

ok = Scheduler(master="local", framework_name="fine", tasks={"web": {"instances": 1}})
bad_name = Scheduler(mastr="local")
bad_type = Scheduler(framework_name=3)
"""

LISTENERS = """
from mesos_framework import Scheduler
from mesos_framework.scheduler import EventName
from mesos_framework.tasks import TaskRecord

s = Scheduler(framework_name="x")
s.on("updated_task", lambda t: t.nam)
s.on("updated_task", lambda t: t.name)
s.on("sent_accept", lambda call: call.accept.offer_ids)
s.on("update", lambda u: u.status.task_id.value)
s.on("ready", lambda: None)
s.on(EventName("custom"), lambda *a: None)

@s.on("task_launched")
def launched(rec: TaskRecord) -> None: ...

@s.on("offers")
async def offers(payload: int) -> None: ...
"""


def mypy(tmp_path: Path, source: str) -> tuple[int, list[str], str]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(source)
    (tmp_path / "none.ini").write_text("[mypy]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            str(tmp_path / "none.ini"),
            str(snippet),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    return result.returncode, errors, result.stdout


@pytest.mark.timeout(300)
def test_mypy_rejects_a_misspelled_option_and_a_wrong_type(tmp_path: Path) -> None:
    code, errors, out = mypy(tmp_path, SNIPPET)
    assert code == 1, out
    assert any(":5:" in line and '"mastr"' in line for line in errors), out
    assert any(":6:" in line and "framework_name" in line for line in errors), out
    assert len(errors) == 2, out  # the correct call type-checks


@pytest.mark.timeout(300)
def test_mypy_checks_listener_payloads(tmp_path: Path) -> None:
    code, errors, out = mypy(tmp_path, LISTENERS)
    assert code == 1, out
    assert [line.split(":")[1] for line in errors] == ["7", "17"], out  # t.nam; offers as an int
