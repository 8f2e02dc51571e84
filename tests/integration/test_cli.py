"""The ``mesos-framework`` command line against a real Mesos master."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.ports import free_port
from tests.support.real_mesos import RealMesos


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesos_framework", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_lists_every_command() -> None:
    out = cli("--help")
    assert out.returncode == 0
    for command in (
        "local",
        "run",
        "state",
        "events",
        "agents",
        "frameworks",
        "tasks",
        "logs",
        "maintenance",
    ):
        assert f"  {command} " in out.stdout


def test_unreachable_master_is_one_clear_line() -> None:
    out = cli("state", "--master", f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 1
    assert out.stderr.startswith("mesos-framework: error: cannot reach http://127.0.0.1:")
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback() -> None:
    out = cli("--debug", "state", "--master", f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 1
    assert "Traceback" in out.stderr


@pytest.mark.real_mesos
def test_state_shows_agents_as_a_table(real_mesos_cluster: RealMesos) -> None:
    out = cli("state", "--master", real_mesos_cluster.url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "version 1.11.0" in lines[0]
    agents = lines.index("AGENTS")
    assert lines[agents + 1].split() == ["ID", "HOSTNAME", "STATUS", "CPUS", "MEM", "PORTS"]
    assert lines[agents + 3].split()[3:5] == ["0/4", "0/4096"]


@pytest.mark.real_mesos
def test_operator_events(real_mesos_cluster: RealMesos) -> None:
    out = cli("events", "--master", real_mesos_cluster.url, "--limit", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[1] == "SUBSCRIBED"


@pytest.mark.real_mesos
def test_framework_events_show_subscribed_and_offers(real_mesos_cluster: RealMesos) -> None:
    out = cli(
        "events", "--master", real_mesos_cluster.url, "--framework", "cli-events", "--limit", "3", "--raw"
    )
    assert out.returncode == 0, out.stderr
    types = [line.split('"type":"')[1].split('"')[0] for line in out.stdout.splitlines()[:3]]
    # Real Mesos's heartbeater is a separate actor: its first HEARTBEAT races
    # the allocator's first OFFERS, so only SUBSCRIBED's position is fixed.
    assert types[0] == "SUBSCRIBED"
    assert sorted(types[1:]) == ["HEARTBEAT", "OFFERS"]
