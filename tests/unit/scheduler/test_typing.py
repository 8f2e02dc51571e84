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


@pytest.mark.timeout(300)
def test_mypy_rejects_a_misspelled_option_and_a_wrong_type(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
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
    out = result.stdout
    assert result.returncode == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert any(":5:" in line and '"mastr"' in line for line in errors), out
    assert any(":6:" in line and "framework_name" in line for line in errors), out
    assert len(errors) == 2, out  # the correct call type-checks
