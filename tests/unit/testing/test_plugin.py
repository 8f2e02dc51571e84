"""The pytest plugin: free until its fixture is used, and invisible to coverage until then."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INNER = """
import sys

import pytest

def _ours():
    return sorted(m for m in sys.modules if m == "mesos_framework" or m.startswith("mesos_framework."))

def test_a_plain_test_imports_nothing_of_the_package(request):
    assert request.config.pluginmanager.hasplugin("{plugin}")
    assert any(line.startswith("local_cluster(") for line in request.config.getini("markers"))
    assert _ours() == {allowed!r}, _ours()

{extra}
"""

USES_FIXTURE = """
@pytest.mark.local_cluster(resources="cpus:1;mem:128")
async def test_the_fixture_loads_the_package_when_used(local_cluster):
    assert local_cluster.url.startswith("http://127.0.0.1:")
    assert "mesos_framework.local.cluster" in sys.modules
"""


def _pytest(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # The configuration docs/testing.md recommends; with -W error, any warning fails the run.
    (tmp_path / "pyproject.toml").write_text((Path(__file__).parent / "pyproject_example.toml").read_text())
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_the_installed_plugin_imports_nothing_of_the_package(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER.format(plugin="mesos_framework", allowed=[], extra=""))
    out = _pytest(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout


def test_loading_it_by_the_package_name_imports_only_the_lazy_package(tmp_path: Path) -> None:
    allowed = [
        "mesos_framework",
        "mesos_framework._lazy",
        "mesos_framework._version",
        "mesos_framework.testing",
        "mesos_framework.testing.plugin",
    ]
    (tmp_path / "test_inner.py").write_text(
        INNER.format(plugin="mesos_framework.testing.plugin", allowed=allowed, extra="")
    )
    out = _pytest(
        tmp_path,
        *("-p", "pytest_asyncio.plugin", "-p", "mesos_framework.testing.plugin"),
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_coverage_measures_the_package_without_a_warning(tmp_path: Path) -> None:
    pytest.importorskip("pytest_cov")
    (tmp_path / "test_inner.py").write_text(
        INNER.format(plugin="mesos_framework", allowed=[], extra=USES_FIXTURE)
    )
    out = _pytest(tmp_path, "--cov=mesos_framework", "--cov-report=term")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout
    assert "previously imported" not in out.stdout + out.stderr
    # The package's own top-level lines were measured (not imported before coverage started).
    report = {
        line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("src/") or "/" in line
    }
    init = next(line for name, line in report.items() if name.endswith("mesos_framework/__init__.py"))
    assert init.split()[1] != "0"
    assert init.split()[3] == "100%", init
